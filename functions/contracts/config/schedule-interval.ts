/**
 * How far apart a schedule's runs can be, and from that how old a target's newest good backup may get
 * before it counts as late.
 *
 * `rate()` is exact. `cron()` is evaluated over every year Scheduler accepts (1970-2199): long enough for
 * monthly and yearly crons and rare days such as 29 February, and the answer never depends on the day
 * synth runs, so synthesized alarm thresholds stay deterministic.
 *
 * Fire times are computed in UTC, though Scheduler evaluates a cron in the schedule's time zone. That is
 * good enough because a time zone only matters through daylight saving time: it moves wall-clock runs by
 * the zone's DST shift (an hour in nearly every zone), so a real gap differs from the UTC one by at most
 * that much; and the one run Scheduler skips when it falls in the spring-forward gap makes one gap at most
 * twice the interval, which is what the factor 2 in `allowedAgeSeconds` absorbs.
 */

import { type CronDayRule, type ParsedCron, SATURDAY, SUNDAY } from './cron-grammar.ts';
import { parseScheduleExpression } from './schedule-expression.ts';

/** A schedule that runs fewer than twice has no interval to alarm on. */
export class ScheduleIntervalError extends Error {
  override name = 'ScheduleIntervalError';
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const RATE_UNIT_SECONDS = { minute: MINUTE, hour: HOUR, day: DAY } as const;

/** The years a Scheduler cron can name; also the window every cron is evaluated over. */
const FIRST_YEAR = 1970;
const LAST_YEAR = 2199;

/** The longest time, in seconds, between two consecutive runs of a Scheduler `cron()` or `rate()` expression. */
export function longestIntervalSeconds(expression: string): number {
  const parsed = parseScheduleExpression(expression);
  if (parsed.type === 'rate') return parsed.value * RATE_UNIT_SECONDS[parsed.unit];
  // A cron walks 230 years of days; configs repeat a few expressions across many targets, so remember them.
  let gap = cronGaps.get(expression);
  if (gap === undefined) {
    gap = longestCronGap(expression, parsed.cron);
    cronGaps.set(expression, gap);
  }
  return gap;
}

const cronGaps = new Map<string, number>();

/**
 * What `allowedAgeSeconds` needs of a target: its schedule and, when given, its own limit. Written out
 * here rather than picked from `schema.ts`, which imports this module to check every target.
 */
export interface AgedTarget {
  /** Named in the error when the schedule has no interval. */
  readonly name?: string;
  readonly schedule: { readonly expression: string; readonly flexibleWindowMinutes?: number };
  readonly alerts?: { readonly maxAgeHours?: number };
}

/**
 * How old a target's newest good backup may be before the target is late: `alerts.maxAgeHours` when set,
 * else two of the schedule's longest intervals (one run may fail or be skipped without an alarm) plus the
 * flexible window Scheduler may start a run late by.
 */
export function allowedAgeSeconds(target: AgedTarget): number {
  const maxAgeHours = target.alerts?.maxAgeHours;
  if (maxAgeHours !== undefined) return Math.round(maxAgeHours * HOUR);
  try {
    return 2 * longestIntervalSeconds(target.schedule.expression) + (target.schedule.flexibleWindowMinutes ?? 0) * MINUTE;
  } catch (error) {
    if (error instanceof ScheduleIntervalError && target.name !== undefined) {
      throw new ScheduleIntervalError(`target "${target.name}": ${error.message}`);
    }
    throw error;
  }
}

function longestCronGap(expression: string, cron: ParsedCron): number {
  // Every day that fires has the same times of day, so gaps within a day are the same every day.
  const times = cron.minutes.flatMap((minute) => cron.hours.map((hour) => hour * HOUR + minute * MINUTE));
  times.sort((a, b) => a - b);
  const firstTime = times[0] ?? 0;
  const lastTime = times.at(-1) ?? 0;
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, (times[i] ?? 0) - (times[i - 1] ?? 0));

  const matchesDay = dayMatcher(cron.days);
  let previousDay: number | undefined;
  let firingDays = 0;
  for (const year of cron.years) {
    for (const month of cron.months) {
      const calendar = monthCalendar(year, month);
      for (let day = 1; day <= calendar.length; day++) {
        if (!matchesDay(day, calendar)) continue;
        const dayNumber = calendar.firstDayNumber + day - 1;
        if (previousDay !== undefined) longest = Math.max(longest, (dayNumber - previousDay) * DAY + firstTime - lastTime);
        previousDay = dayNumber;
        firingDays++;
      }
    }
  }
  if (firingDays * times.length < 2) {
    throw new ScheduleIntervalError(
      `${expression} runs fewer than twice in ${FIRST_YEAR}-${LAST_YEAR}, so it has no interval to judge lateness by; set alerts.maxAgeHours`,
    );
  }
  return longest;
}

/** What the day matchers need to know about a month; computed once per month, not per day. */
interface MonthCalendar {
  readonly length: number;
  /** Days since 1970-01-01 of the month's first day. */
  readonly firstDayNumber: number;
  /** Cron numbering: 1 = Sunday ... 7 = Saturday. */
  readonly firstWeekday: number;
}

type DayMatcher = (day: number, month: MonthCalendar) => boolean;

function monthCalendar(year: number, month: number): MonthCalendar {
  const firstDayNumber = Date.UTC(year, month - 1, 1) / (DAY * 1000);
  return {
    length: new Date(Date.UTC(year, month, 0)).getUTCDate(),
    firstDayNumber,
    // 1970-01-01 was a Thursday (5).
    firstWeekday: ((((firstDayNumber + 4) % 7) + 7) % 7) + 1,
  };
}

function weekday(day: number, month: MonthCalendar): number {
  return ((month.firstWeekday - 1 + day - 1) % 7) + 1;
}

function dayMatcher(rule: CronDayRule): DayMatcher {
  switch (rule.kind) {
    case 'days-of-month': {
      const days = new Set(rule.days);
      return (day) => days.has(day);
    }
    case 'before-last-day':
      return (day, month) => day === month.length - rule.days;
    case 'last-weekday':
      return (day, month) => day === lastWeekday(month);
    case 'nearest-weekday':
      return (day, month) => day === nearestWeekdayTo(rule.day, month);
    case 'days-of-week': {
      const weekdays = new Set(rule.weekdays);
      return (day, month) => weekdays.has(weekday(day, month));
    }
    case 'last-in-month':
      return (day, month) => weekday(day, month) === rule.weekday && day + 7 > month.length;
    case 'nth-in-month':
      return (day, month) => weekday(day, month) === rule.weekday && Math.ceil(day / 7) === rule.occurrence;
  }
}

function lastWeekday(month: MonthCalendar): number {
  const day = weekday(month.length, month);
  return day === SATURDAY ? month.length - 1 : day === SUNDAY ? month.length - 2 : month.length;
}

/** `nW`: the weekday nearest to day n, never crossing into another month; none when the month is shorter. */
function nearestWeekdayTo(n: number, month: MonthCalendar): number | undefined {
  if (n > month.length) return undefined;
  const day = weekday(n, month);
  if (day === SATURDAY) return n === 1 ? n + 2 : n - 1;
  if (day === SUNDAY) return n === month.length ? n - 2 : n + 1;
  return n;
}
