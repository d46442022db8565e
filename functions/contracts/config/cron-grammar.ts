/**
 * The grammar of an EventBridge Scheduler cron field, written once: what each of the six fields accepts
 * and what its text selects. A field parses into the values it selects (minutes, hours, months, years) or,
 * for the two day fields, into one rule for the days of a month; text a field does not accept parses to
 * `undefined`. `schedule-expression.ts` adds the expression-level rules and the messages;
 * `schedule-interval.ts` computes gaps from the parsed form and never reads the text again.
 * Grammar: https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
 */

export const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
/** Cron numbering: SUN = 1 ... SAT = 7. */
export const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
export const SUNDAY = 1;
export const SATURDAY = 7;

/** A cron expression parsed: the values each field selects, ascending, and one rule for the days. */
export interface ParsedCron {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** From whichever of day-of-month and day-of-week is not '?'. */
  readonly days: CronDayRule;
  readonly months: readonly number[];
  readonly years: readonly number[];
}

/** The days of a month a cron fires on. Days of the month count from 1; weekdays as in `WEEKDAYS`. */
export type CronDayRule =
  /** A day-of-month list. */
  | { readonly kind: 'days-of-month'; readonly days: readonly number[] }
  /** `L-n`: n days before the month's last day; `L` is `L-0`. */
  | { readonly kind: 'before-last-day'; readonly days: number }
  /** `LW`: the month's last day from Monday to Friday. */
  | { readonly kind: 'last-weekday' }
  /** `nW`: the day from Monday to Friday nearest to day n, within the month. */
  | { readonly kind: 'nearest-weekday'; readonly day: number }
  /** A day-of-week list; `L` alone is the last day of the week, Saturday. */
  | { readonly kind: 'days-of-week'; readonly weekdays: readonly number[] }
  /** `dL`: the month's last weekday d. `undefined` for three letters that name no weekday: see `weekdayOf`. */
  | { readonly kind: 'last-in-month'; readonly weekday: number | undefined }
  /** `d#k`: the month's k-th weekday d. */
  | { readonly kind: 'nth-in-month'; readonly weekday: number | undefined; readonly occurrence: number };

/** A day field's text parses to a rule, or to '?': no value here, the other day field decides. */
export type DayField = CronDayRule | '?';

/** The numbers a field's values run over, and the names that stand for them. */
export interface ValueRange {
  readonly min: number;
  readonly max: number;
  /** Names for min, min + 1, ..., accepted wherever a number is. */
  readonly names?: readonly string[];
}

export interface CronField<T> extends ValueRange {
  /** How messages name the field. */
  readonly label: string;
  /** Whether the field takes `?` and the L, W and # day forms besides lists. */
  readonly dayForms: boolean;
  /** What `text` selects (case-insensitive), or `undefined` when the field does not accept it. */
  readonly parse: (text: string) => T | undefined;
}

const listField = (label: string, range: ValueRange): CronField<readonly number[]> => ({
  label,
  ...range,
  dayForms: false,
  parse: (text) => parseValueList(text, range),
});

const DAY_OF_MONTH: ValueRange = { min: 1, max: 31 };
const DAY_OF_WEEK: ValueRange = { min: 1, max: 7, names: WEEKDAYS };

/** The six fields of `cron(minutes hours day-of-month month day-of-week year)`, in that order. */
export const CRON_FIELDS = {
  minutes: listField('minutes', { min: 0, max: 59 }),
  hours: listField('hours', { min: 0, max: 23 }),
  dayOfMonth: { label: 'day-of-month', ...DAY_OF_MONTH, dayForms: true, parse: parseDayOfMonth } satisfies CronField<DayField>,
  month: listField('month', { min: 1, max: 12, names: MONTHS }),
  dayOfWeek: { label: 'day-of-week', ...DAY_OF_WEEK, dayForms: true, parse: parseDayOfWeek } satisfies CronField<DayField>,
  year: listField('year', { min: 1970, max: 2199 }),
} as const;

function parseDayOfMonth(text: string): DayField | undefined {
  const field = text.toUpperCase();
  if (field === '?') return '?';
  if (field === 'L') return { kind: 'before-last-day', days: 0 };
  if (field === 'LW') return { kind: 'last-weekday' };
  // One or two digits, not checked against the month: L-40 and 40W are accepted and never fire.
  const beforeLast = /^L-(\d{1,2})$/.exec(field);
  if (beforeLast) return { kind: 'before-last-day', days: Number(beforeLast[1]) };
  const nearest = /^(\d{1,2})W$/.exec(field);
  if (nearest) return { kind: 'nearest-weekday', day: Number(nearest[1]) };
  const days = parseValueList(field, DAY_OF_MONTH);
  return days && { kind: 'days-of-month', days };
}

function parseDayOfWeek(text: string): DayField | undefined {
  const field = text.toUpperCase();
  if (field === '?') return '?';
  if (field === 'L') return { kind: 'days-of-week', weekdays: [SATURDAY] };
  const last = /^([1-7]|[A-Z]{3})L$/.exec(field);
  if (last) return { kind: 'last-in-month', weekday: weekdayOf(last[1] ?? '') };
  const nth = /^([1-7]|[A-Z]{3})#([1-5])$/.exec(field);
  if (nth) return { kind: 'nth-in-month', weekday: weekdayOf(nth[1] ?? ''), occurrence: Number(nth[2]) };
  const weekdays = parseValueList(field, DAY_OF_WEEK);
  return weekdays && { kind: 'days-of-week', weekdays };
}

/**
 * The weekday a digit or name stands for in `dL` and `d#k`. These forms accept any three letters, as they
 * always have; letters that name no weekday select no day (Scheduler itself would reject them).
 */
function weekdayOf(token: string): number | undefined {
  if (/^\d$/.test(token)) return Number(token);
  const index = WEEKDAYS.indexOf(token as (typeof WEEKDAYS)[number]);
  return index >= 0 ? index + 1 : undefined;
}

/**
 * The values a comma-separated list selects, ascending and distinct. Each item is `*`, `n` or `a-b`,
 * optionally followed by `/step`; `n/step` runs from n to the maximum, and a range whose end comes before
 * its start wraps around (`FRI-MON`, `22-2`).
 */
export function parseValueList(text: string, range: ValueRange): number[] | undefined {
  const selected = new Set<number>();
  for (const item of text.toUpperCase().split(',')) {
    const values = parseListItem(item, range);
    if (values === undefined) return undefined;
    for (const value of values) selected.add(value);
  }
  return [...selected].sort((a, b) => a - b);
}

function parseListItem(item: string, range: ValueRange): number[] | undefined {
  const [span = '', stepText, extra] = item.split('/');
  if (extra !== undefined || span === '') return undefined;
  if (stepText !== undefined && !/^\d+$/.test(stepText)) return undefined;
  const step = stepText === undefined ? 1 : Number(stepText);
  if (step < 1 || step > range.max) return undefined;
  const bounds = span === '*' ? [range.min, range.max] : span.split('-').map((bound) => numberOf(bound, range));
  const [start, last] = bounds;
  if (start === undefined || bounds.length > 2 || bounds.includes(undefined)) return undefined;
  const end = last ?? (stepText === undefined ? start : range.max);
  const size = range.max - range.min + 1;
  const length = end >= start ? end - start : end + size - start;
  const values: number[] = [];
  for (let offset = 0; offset <= length; offset += step) {
    const value = start + offset;
    values.push(value > range.max ? value - size : value);
  }
  return values;
}

function numberOf(token: string, range: ValueRange): number | undefined {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    return value >= range.min && value <= range.max ? value : undefined;
  }
  const index = range.names?.indexOf(token) ?? -1;
  return index >= 0 ? range.min + index : undefined;
}
