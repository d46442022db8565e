import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isIanaTimeZone,
  parseScheduleExpression,
  ScheduleExpressionError,
} from '#functions/contracts/config/schedule-expression.ts';

const inRange = (min: number, max: number) => fc.integer({ min, max }).map(String);
const fieldOf = (min: number, max: number) =>
  fc.oneof(
    fc.constant('*'),
    inRange(min, max),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.tuple(fc.constantFrom('*', String(min)), fc.integer({ min: 1, max })).map(([start, step]) => `${start}/${step}`),
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 }).map((values) => values.join(',')),
  );

const validCron = fc
  .record({
    minutes: fieldOf(0, 59),
    hours: fieldOf(0, 23),
    dayOfMonth: fieldOf(1, 31),
    month: fc.oneof(fieldOf(1, 12), fc.constantFrom('JAN', 'JUN-AUG', 'DEC')),
    dayOfWeek: fc.oneof(fieldOf(1, 7), fc.constantFrom('MON-FRI', 'SUN', 'L', '6#3', '2L')),
    year: fc.oneof(fc.constant('*'), inRange(1970, 2199)),
    questionOn: fc.constantFrom('dayOfMonth', 'dayOfWeek'),
  })
  .map((f) => {
    const dom = f.questionOn === 'dayOfMonth' ? '?' : f.dayOfMonth;
    const dow = f.questionOn === 'dayOfWeek' ? '?' : f.dayOfWeek;
    return `cron(${f.minutes} ${f.hours} ${dom} ${f.month} ${dow} ${f.year})`;
  });

describe('parseScheduleExpression', () => {
  it('accepts every well-formed cron expression', () => {
    fc.assert(
      fc.property(validCron, (expression) => {
        expect(parseScheduleExpression(expression).type).toBe('cron');
      }),
    );
  });

  it('rejects an out-of-range value in any field, naming the field', () => {
    const fields = [
      ['minutes', 60, 'cron(X 3 * * ? *)'],
      ['hours', 24, 'cron(0 X * * ? *)'],
      ['day-of-month', 32, 'cron(0 3 X * ? *)'],
      ['month', 13, 'cron(0 3 * X ? *)'],
      ['day-of-week', 8, 'cron(0 3 ? * X *)'],
      ['year', 2200, 'cron(0 3 * * ? X)'],
    ] as const;
    for (const [label, bad, template] of fields) {
      expect(() => parseScheduleExpression(template.replace('X', String(bad)))).toThrow(
        new RegExp(`cron ${label} field "${bad}" is invalid`),
      );
    }
  });

  it('insists on exactly one "?" between day-of-month and day-of-week', () => {
    expect(() => parseScheduleExpression('cron(0 3 * * * *)')).toThrow(/exactly one of day-of-month and day-of-week/);
    expect(() => parseScheduleExpression('cron(0 3 ? * ? *)')).toThrow(/exactly one of day-of-month and day-of-week/);
  });

  it.each([
    ['rate(1 hour)', { type: 'rate', value: 1, unit: 'hour' }],
    ['rate(15 minutes)', { type: 'rate', value: 15, unit: 'minute' }],
    ['rate(2 days)', { type: 'rate', value: 2, unit: 'day' }],
  ])('parses %s', (expression, expected) => {
    expect(parseScheduleExpression(expression)).toEqual(expected);
  });

  it.each([
    'rate(0 hours)',
    'rate(1 hours)',
    'rate(2 hour)',
    'rate(1 week)',
    'rate(x days)',
    'at(2026-01-01T00:00:00)',
    'daily',
    '',
  ])('rejects %j with a ScheduleExpressionError', (expression) => {
    expect(() => parseScheduleExpression(expression)).toThrow(ScheduleExpressionError);
  });

  it('never fails with anything but a ScheduleExpressionError, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `cron(${s})`),
          fc.string().map((s) => `rate(${s})`),
        ),
        (input) => {
          try {
            parseScheduleExpression(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ScheduleExpressionError);
          }
        },
      ),
    );
  });
});

describe('isIanaTimeZone', () => {
  it.each(['Etc/UTC', 'UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Asia/Kolkata'])('accepts %s', (zone) => {
    expect(isIanaTimeZone(zone)).toBe(true);
  });
  it.each(['Mars/Olympus', '+02:00', 'GMT+2 ', '', 'Europe/../etc'])('rejects %j', (zone) => {
    expect(isIanaTimeZone(zone)).toBe(false);
  });
});
