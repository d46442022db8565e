/**
 * Random valid cron fields and expressions, each with what it means written out independently of the
 * grammar under test: the values a field selects, and for the day fields a predicate on a UTC date.
 */
import fc from 'fast-check';

/** A cron field as text together with the values it selects, ascending. */
export interface Field {
  readonly text: string;
  readonly values: readonly number[];
}

export interface ValueRange {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

export const MINUTES: ValueRange = { min: 0, max: 59 };
export const HOURS: ValueRange = { min: 0, max: 23 };
export const DAYS_OF_MONTH: ValueRange = { min: 1, max: 31 };
export const MONTHS: ValueRange = {
  min: 1,
  max: 12,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
};
export const WEEKDAYS: ValueRange = { min: 1, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] };
export const YEARS: ValueRange = { min: 1970, max: 2199 };

/** From `start`, every `step`-th value up to `length` places on, counting round from max back to min. */
function walk(range: ValueRange, start: number, length: number, step: number): number[] {
  const size = range.max - range.min + 1;
  const values: number[] = [];
  for (let offset = 0; offset <= length; offset += step) values.push(range.min + ((start - range.min + offset) % size));
  return values;
}

const ascending = (values: Iterable<number>) => [...new Set(values)].sort((a, b) => a - b);

/** A value as a number or, where the field has names, as its name in any letter case. */
const token = (range: ValueRange) =>
  fc.tuple(fc.integer({ min: range.min, max: range.max }), fc.boolean(), fc.boolean()).map(([value, asName, lower]) => {
    const name = range.names?.[value - range.min];
    const text = asName && name ? name : String(value);
    return { value, text: lower ? text.toLowerCase() : text };
  });

/** One list item: `*`, `n`, `a-b` (wrapping when b < a), each maybe with `/step`. */
const itemOf = (range: ValueRange): fc.Arbitrary<Field> => {
  const size = range.max - range.min + 1;
  const step = fc.integer({ min: 1, max: range.max });
  return fc.oneof(
    fc.constant({ text: '*', values: walk(range, range.min, size - 1, 1) }),
    token(range).map((n) => ({ text: n.text, values: [n.value] })),
    fc.tuple(token(range), token(range)).map(([a, b]) => ({
      text: `${a.text}-${b.text}`,
      values: walk(range, a.value, (b.value - a.value + size) % size, 1),
    })),
    fc
      .tuple(token(range), step)
      .map(([a, s]) => ({ text: `${a.text}/${s}`, values: walk(range, a.value, range.max - a.value, s) })),
    fc.tuple(token(range), token(range), step).map(([a, b, s]) => ({
      text: `${a.text}-${b.text}/${s}`,
      values: walk(range, a.value, (b.value - a.value + size) % size, s),
    })),
    step.map((s) => ({ text: `*/${s}`, values: walk(range, range.min, size - 1, s) })),
  );
};

/** A whole field: one item, or a comma-separated list of them. */
export const fieldOf = (range: ValueRange): fc.Arbitrary<Field> =>
  fc.array(itemOf(range), { minLength: 1, maxLength: 4 }).map((items) => ({
    text: items.map((item) => item.text).join(','),
    values: ascending(items.flatMap((item) => item.values)),
  }));

/** A few years, so a brute-force walk over every day they hold stays quick. */
export const fewYears: fc.Arbitrary<Field> = fc.oneof(
  fc
    .integer({ min: 1970, max: 2197 })
    .chain((first) =>
      fc
        .integer({ min: first, max: first + 2 })
        .map((last) => ({ text: `${first}-${last}`, values: walk(YEARS, first, last - first, 1) })),
    ),
  fc.uniqueArray(fc.integer({ min: 1970, max: 2199 }), { minLength: 1, maxLength: 3 }).map((years) => ({
    text: years.join(','),
    values: ascending(years),
  })),
);

/** Which days fire, as the day-of-month and day-of-week texts (one of them '?') and a predicate on a UTC date. */
export interface Days {
  readonly dayOfMonth: string;
  readonly dayOfWeek: string;
  readonly fires: (date: Date) => boolean;
}

const monthLength = (date: Date) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
const onDay = (date: Date, day: number) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), day));
const isMondayToFriday = (date: Date) => date.getUTCDay() >= 1 && date.getUTCDay() <= 5;

/** `nW` as AWS documents it: the nearest Monday-to-Friday day, never leaving the month. */
function nearestWeekday(date: Date, n: number): number | undefined {
  const length = monthLength(date);
  if (n > length) return undefined;
  const weekday = onDay(date, n).getUTCDay();
  if (weekday === 6) return n === 1 ? 3 : n - 1;
  if (weekday === 0) return n === length ? n - 2 : n + 1;
  return n;
}

function lastMondayToFriday(date: Date): number {
  let day = monthLength(date);
  while (!isMondayToFriday(onDay(date, day))) day--;
  return day;
}

const weekdayToken = fc
  .integer({ min: 1, max: 7 })
  .chain((weekday) => fc.constantFrom(String(weekday), WEEKDAYS.names?.[weekday - 1] ?? '').map((text) => ({ weekday, text })));

const onDaysOfMonth = (dayOfMonth: string, fires: (date: Date) => boolean): Days => ({ dayOfMonth, dayOfWeek: '?', fires });
const onDaysOfWeek = (dayOfWeek: string, fires: (date: Date) => boolean): Days => ({ dayOfMonth: '?', dayOfWeek, fires });

export const days: fc.Arbitrary<Days> = fc.oneof(
  fieldOf(DAYS_OF_MONTH).map((field) => onDaysOfMonth(field.text, (date) => field.values.includes(date.getUTCDate()))),
  fieldOf(WEEKDAYS).map((field) => onDaysOfWeek(field.text, (date) => field.values.includes(date.getUTCDay() + 1))),
  fc.constant(onDaysOfMonth('L', (date) => date.getUTCDate() === monthLength(date))),
  fc.integer({ min: 0, max: 30 }).map((n) => onDaysOfMonth(`L-${n}`, (date) => date.getUTCDate() === monthLength(date) - n)),
  fc.constant(onDaysOfMonth('LW', (date) => date.getUTCDate() === lastMondayToFriday(date))),
  fc.integer({ min: 1, max: 31 }).map((n) => onDaysOfMonth(`${n}W`, (date) => date.getUTCDate() === nearestWeekday(date, n))),
  fc.constant(onDaysOfWeek('L', (date) => date.getUTCDay() === 6)),
  weekdayToken.map(({ weekday, text }) =>
    onDaysOfWeek(`${text}L`, (date) => date.getUTCDay() + 1 === weekday && date.getUTCDate() > monthLength(date) - 7),
  ),
  fc
    .tuple(weekdayToken, fc.integer({ min: 1, max: 5 }))
    .map(([{ weekday, text }, k]) =>
      onDaysOfWeek(
        `${text}#${k}`,
        (date) => date.getUTCDay() + 1 === weekday && Math.floor((date.getUTCDate() - 1) / 7) + 1 === k,
      ),
    ),
);

/** A valid cron over a few years, with each field's meaning. */
export interface Cron {
  readonly expression: string;
  readonly minutes: Field;
  readonly hours: Field;
  readonly days: Days;
  readonly months: Field;
  readonly years: Field;
}

export const cronOverFewYears: fc.Arbitrary<Cron> = fc
  .record({ minutes: fieldOf(MINUTES), hours: fieldOf(HOURS), days, months: fieldOf(MONTHS), years: fewYears })
  .map((cron) => ({
    ...cron,
    expression: `cron(${cron.minutes.text} ${cron.hours.text} ${cron.days.dayOfMonth} ${cron.months.text} ${cron.days.dayOfWeek} ${cron.years.text})`,
  }));
