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

import { type CronFields, parseScheduleExpression } from './schedule-expression.ts';
import type { Alerts, Schedule } from './schema.ts';

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

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const SATURDAY = 7;

/** The longest time, in seconds, between two consecutive runs of a Scheduler `cron()` or `rate()` expression. */
export function longestIntervalSeconds(expression: string): number {
  const parsed = parseScheduleExpression(expression);
  if (parsed.type === 'rate') return parsed.value * RATE_UNIT_SECONDS[parsed.unit];
  // A cron walks 230 years of days; configs repeat a few expressions across many targets, so remember them.
  let gap = cronGaps.get(expression);
  if (gap === undefined) {
    gap = longestCronGap(expression, parsed.fields);
    cronGaps.set(expression, gap);
  }
  return gap;
}

const cronGaps = new Map<string, number>();

/** What `allowedAgeSeconds` needs of a target: its schedule and, when given, its own limit. */
export interface AgedTarget {
  /** Named in the error when the schedule has no interval. */
  readonly name?: string;
  readonly schedule: Pick<Schedule, 'expression' | 'flexibleWindowMinutes'>;
  readonly alerts?: Pick<Alerts, 'maxAgeHours'>;
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

function longestCronGap(expression: string, fields: CronFields): number {
  // Every day that fires has the same times of day, so gaps within a day are the same every day.
  const hours = valueSet(fields.hours, 0, 23);
  const times = valueSet(fields.minutes, 0, 59).flatMap((minute) => hours.map((hour) => hour * HOUR + minute * MINUTE));
  times.sort((a, b) => a - b);
  const firstTime = times[0] ?? 0;
  const lastTime = times.at(-1) ?? 0;
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, (times[i] ?? 0) - (times[i - 1] ?? 0));

  const matchesDay = dayMatcher(fields);
  const months = valueSet(fields.month, 1, 12, MONTHS);
  let previousDay: number | undefined;
  let firingDays = 0;
  for (const year of valueSet(fields.year, FIRST_YEAR, LAST_YEAR)) {
    for (const month of months) {
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

/** Day-of-month or day-of-week, whichever is not '?' (the parser guarantees exactly one is). */
function dayMatcher(fields: CronFields): DayMatcher {
  return fields.dayOfWeek === '?'
    ? dayOfMonthMatcher(fields.dayOfMonth.toUpperCase())
    : dayOfWeekMatcher(fields.dayOfWeek.toUpperCase());
}

function dayOfMonthMatcher(field: string): DayMatcher {
  if (field === 'L') return (day, month) => day === month.length;
  if (field === 'LW') return (day, month) => day === lastWeekday(month);
  const beforeLast = /^L-(\d{1,2})$/.exec(field);
  if (beforeLast) return (day, month) => day === month.length - Number(beforeLast[1]);
  const nearestWeekday = /^(\d{1,2})W$/.exec(field);
  if (nearestWeekday) return (day, month) => day === nearestWeekdayTo(Number(nearestWeekday[1]), month);
  const days = new Set(valueSet(field, 1, 31));
  return (day) => days.has(day);
}

function dayOfWeekMatcher(field: string): DayMatcher {
  // 'L' alone is the last day of the week: Saturday.
  if (field === 'L') return (day, month) => weekday(day, month) === SATURDAY;
  const lastOfMonth = /^(\d|[A-Z]{3})L$/.exec(field);
  if (lastOfMonth) {
    const wanted = weekdayNumber(lastOfMonth[1] ?? '');
    return (day, month) => weekday(day, month) === wanted && day + 7 > month.length;
  }
  const nth = /^(\d|[A-Z]{3})#(\d)$/.exec(field);
  if (nth) {
    const wanted = weekdayNumber(nth[1] ?? '');
    const occurrence = Number(nth[2]);
    return (day, month) => weekday(day, month) === wanted && Math.ceil(day / 7) === occurrence;
  }
  const days = new Set(valueSet(field, 1, 7, WEEKDAYS));
  return (day, month) => days.has(weekday(day, month));
}

/**
 * The values a cron field selects, ascending: lists of `*`, `n`, `a-b` and steps (`a/s` runs from a to the
 * field's maximum). A range whose end comes before its start wraps around (`FRI-MON`, `22-2`).
 */
function valueSet(field: string, min: number, max: number, names?: readonly string[]): number[] {
  const selected = new Set<number>();
  const value = (token: string) => (/^\d+$/.test(token) ? Number(token) : (names?.indexOf(token) ?? -1) + 1);
  for (const item of field.toUpperCase().split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [startText = '', endText] = range.split('-');
    const start = range === '*' ? min : value(startText);
    const end = range === '*' || (endText === undefined && stepText !== undefined) ? max : value(endText ?? startText);
    const span = end >= start ? end - start : end + (max - min + 1) - start;
    for (let offset = 0; offset <= span; offset += step) {
      const n = start + offset;
      selected.add(n > max ? n - (max - min + 1) : n);
    }
  }
  return [...selected].filter((n) => n >= min && n <= max).sort((a, b) => a - b);
}

function weekdayNumber(token: string): number {
  return /^\d$/.test(token) ? Number(token) : WEEKDAYS.indexOf(token) + 1;
}

function lastWeekday(month: MonthCalendar): number {
  const day = weekday(month.length, month);
  return day === SATURDAY ? month.length - 1 : day === 1 ? month.length - 2 : month.length;
}

/** `nW`: the weekday nearest to day n, never crossing into another month; none when the month is shorter. */
function nearestWeekdayTo(n: number, month: MonthCalendar): number | undefined {
  if (n > month.length) return undefined;
  const day = weekday(n, month);
  if (day === SATURDAY) return n === 1 ? n + 2 : n - 1;
  if (day === 1) return n === month.length ? n - 2 : n + 1;
  return n;
}
