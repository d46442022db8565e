import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRON_FIELDS } from '#functions/contracts/config/cron-grammar.ts';
import { parseScheduleExpression } from '#functions/contracts/config/schedule-expression.ts';
import { cronOverFewYears, DAYS_OF_MONTH, fieldOf, HOURS, MINUTES, MONTHS, WEEKDAYS, YEARS } from './cron-arbitraries.ts';

describe('CRON_FIELDS', () => {
  it('parse a list, range (wrapping around), step or name into the values it selects', () => {
    const fields = [
      [CRON_FIELDS.minutes, MINUTES, (values: readonly number[]) => values],
      [CRON_FIELDS.hours, HOURS, (values: readonly number[]) => values],
      [CRON_FIELDS.month, MONTHS, (values: readonly number[]) => values],
      [CRON_FIELDS.year, YEARS, (values: readonly number[]) => values],
      [CRON_FIELDS.dayOfMonth, DAYS_OF_MONTH, (days: readonly number[]) => ({ kind: 'days-of-month', days })],
      [CRON_FIELDS.dayOfWeek, WEEKDAYS, (weekdays: readonly number[]) => ({ kind: 'days-of-week', weekdays })],
    ] as const;
    for (const [field, range, expected] of fields) {
      fc.assert(
        fc.property(fieldOf(range), ({ text, values }) => {
          expect(field.parse(text), `${field.label} ${text}`).toEqual(expected(values));
        }),
        { numRuns: 200 },
      );
    }
  });

  it.each([
    ['22-2', [0, 1, 2, 22, 23]],
    ['5/10', [5, 15]],
    ['20-4/3', [2, 20, 23]],
    ['*/6', [0, 6, 12, 18]],
    ['1,01,1-1', [1]],
  ])('hours %s selects %j', (text, values) => {
    expect(CRON_FIELDS.hours.parse(text)).toEqual(values);
  });

  it.each([
    ['day-of-month', 'L', { kind: 'before-last-day', days: 0 }],
    ['day-of-month', 'l-3', { kind: 'before-last-day', days: 3 }],
    ['day-of-month', 'LW', { kind: 'last-weekday' }],
    ['day-of-month', '15w', { kind: 'nearest-weekday', day: 15 }],
    ['day-of-month', '?', '?'],
    ['day-of-week', 'L', { kind: 'days-of-week', weekdays: [7] }],
    ['day-of-week', 'FRI-MON', { kind: 'days-of-week', weekdays: [1, 2, 6, 7] }],
    ['day-of-week', '2L', { kind: 'last-in-month', weekday: 2 }],
    ['day-of-week', 'monL', { kind: 'last-in-month', weekday: 2 }],
    ['day-of-week', '6#3', { kind: 'nth-in-month', weekday: 6, occurrence: 3 }],
    ['day-of-week', 'fri#3', { kind: 'nth-in-month', weekday: 6, occurrence: 3 }],
    ['day-of-week', '?', '?'],
    // Accepted as they always were, though Scheduler would refuse them; they select no day.
    ['day-of-week', 'XYZL', { kind: 'last-in-month', weekday: undefined }],
    ['day-of-month', 'L-40', { kind: 'before-last-day', days: 40 }],
  ])('%s %s parses to %j', (label, text, expected) => {
    const field = label === 'day-of-month' ? CRON_FIELDS.dayOfMonth : CRON_FIELDS.dayOfWeek;
    expect(field.parse(text)).toEqual(expected);
  });

  it.each([
    ['minutes', ['60', '5-', '-5', '1-2-3', '1/2/3', '*/0', '*/60', '*-5', '1,,2', 'JAN', 'x', '?', 'L']],
    ['month', ['0', '13', 'JANUARY', 'JAN-', '1/13', 'MON']],
    ['dayOfMonth', ['0', '32', 'L-', 'L-100', 'WL', '100W', 'LW,1', '1#2']],
    ['dayOfWeek', ['0', '8', '8L', '1#6', '1#0', 'L#2', 'MONL,1', 'JAN']],
    ['year', ['1969', '2200', '2199-2200']],
  ] as const)('%s refuses each of %j', (key, texts) => {
    for (const text of texts) expect(CRON_FIELDS[key].parse(text), text).toBeUndefined();
  });
});

describe('parseScheduleExpression for cron', () => {
  it('returns what each field selects, the same values the intervals are computed from', () => {
    fc.assert(
      fc.property(cronOverFewYears, (cron) => {
        const parsed = parseScheduleExpression(cron.expression);
        if (parsed.type !== 'cron') throw new Error(`${cron.expression} parsed as ${parsed.type}`);
        expect(parsed.cron).toMatchObject({
          minutes: cron.minutes.values,
          hours: cron.hours.values,
          months: cron.months.values,
          years: cron.years.values,
        });
      }),
      { numRuns: 300 },
    );
  });
});
