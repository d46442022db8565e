import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allowedAgeSeconds,
  longestIntervalSeconds,
  ScheduleIntervalError,
} from '#functions/contracts/config/schedule-interval.ts';
import { type Cron, cronOverFewYears } from './cron-arbitraries.ts';

const MINUTE = 60;
const HOUR = 3_600;
const DAY = 86_400;

/** A cron field as text together with the values it selects, written out independently of the code. */
interface Field {
  readonly text: string;
  readonly values: readonly number[];
}

const range = (from: number, to: number, step = 1) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

const fieldOf = (min: number, max: number): fc.Arbitrary<Field> =>
  fc.oneof(
    fc.constant({ text: '*', values: range(min, max) }),
    fc.integer({ min, max }).map((n) => ({ text: String(n), values: [n] })),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
      .map(([a, b]) => ({ text: `${Math.min(a, b)}-${Math.max(a, b)}`, values: range(Math.min(a, b), Math.max(a, b)) })),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min: 1, max })).map(([start, step]) => ({
      text: `${start}/${step}`,
      values: range(start, max, step),
    })),
    fc.integer({ min: 1, max }).map((step) => ({ text: `*/${step}`, values: range(min, max, step) })),
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 5 }).map((values) => ({
      text: values.join(','),
      values: [...values].sort((a, b) => a - b),
    })),
  );

/** The longest gap in a pattern that repeats every `cycle` seconds, given the offsets it fires at. */
function longestCircularGap(offsets: readonly number[], cycle: number): number {
  const sorted = [...new Set(offsets)].sort((a, b) => a - b);
  const gaps = sorted.map((offset, i) => (i === 0 ? offset + cycle - (sorted.at(-1) ?? 0) : offset - (sorted[i - 1] ?? 0)));
  return Math.max(...gaps);
}

/** Every day of the cron's years checked with `Date`, every run on the days that fire, gaps between neighbours. */
function bruteForceLongestGap(cron: Cron): { longest: number; runs: number } {
  const times = [...new Set(cron.minutes.values.flatMap((m) => cron.hours.values.map((h) => h * HOUR + m * MINUTE)))];
  times.sort((a, b) => a - b);
  let longest = 0;
  let runs = 0;
  let previous: number | undefined;
  for (const year of cron.years.values) {
    for (let at = Date.UTC(year, 0, 1); at < Date.UTC(year + 1, 0, 1); at += DAY * 1000) {
      const date = new Date(at);
      if (!cron.months.values.includes(date.getUTCMonth() + 1) || !cron.days.fires(date)) continue;
      for (const time of times) {
        const run = at / 1000 + time;
        if (previous !== undefined) longest = Math.max(longest, run - previous);
        previous = run;
        runs++;
      }
    }
  }
  return { longest, runs };
}

describe('longestIntervalSeconds', () => {
  it('is exact for rate(n unit)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom(['minute', MINUTE], ['hour', HOUR], ['day', DAY]),
        (n, [unit, seconds]) => {
          const expression = `rate(${n} ${n === 1 ? unit : `${unit}s`})`;
          expect(longestIntervalSeconds(expression)).toBe(n * (seconds as number));
        },
      ),
    );
  });

  it('for a cron that runs every day, is the longest gap between its times of day, midnight wrapping around', () => {
    fc.assert(
      fc.property(fieldOf(0, 59), fieldOf(0, 23), (minutes, hours) => {
        const times = minutes.values.flatMap((m) => hours.values.map((h) => h * HOUR + m * MINUTE));
        const expected = longestCircularGap(times, DAY);
        expect(longestIntervalSeconds(`cron(${minutes.text} ${hours.text} * * ? *)`)).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('for a cron on some weekdays, is the longest gap between those days, across the weekend', () => {
    const weekdays = fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 });
    fc.assert(
      fc.property(weekdays, fc.integer({ min: 0, max: 23 }), (days, hour) => {
        const expected = longestCircularGap(
          days.map((d) => d * DAY),
          7 * DAY,
        );
        expect(longestIntervalSeconds(`cron(0 ${hour} ? * ${days.join(',')} *)`)).toBe(expected);
      }),
      { numRuns: 40 },
    );
  });

  it('never grows when a cron gains more days to run on', () => {
    const days = fc.uniqueArray(fc.integer({ min: 1, max: 28 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(days, fc.integer({ min: 1, max: 31 }), (some, extra) => {
        const fewer = longestIntervalSeconds(`cron(0 3 ${some.join(',')} * ? *)`);
        const more = longestIntervalSeconds(`cron(0 3 ${[...some, extra].join(',')} * ? *)`);
        expect(more).toBeLessThanOrEqual(fewer);
      }),
      { numRuns: 30 },
    );
  });

  it.each([
    ['every day at 03:00', 'cron(0 3 * * ? *)', DAY],
    ['every 15 minutes', 'cron(0/15 * * * ? *)', 15 * MINUTE],
    ['twice a day, unevenly', 'cron(0 1,7 * * ? *)', 18 * HOUR],
    ['on weekdays (Friday to Monday)', 'cron(0 3 ? * MON-FRI *)', 3 * DAY],
    ['on weekends, written as a wrapping range', 'cron(0 3 ? * SAT-SUN *)', 6 * DAY],
    ['monthly on the 1st (July to August is 31 days)', 'cron(0 3 1 * ? *)', 31 * DAY],
    ['on the last day of the month', 'cron(0 3 L * ? *)', 31 * DAY],
    ['on the 31st, which most months lack (August to October)', 'cron(0 3 31 * ? *)', 61 * DAY],
    ['on the third Friday', 'cron(0 3 ? * 6#3 *)', 35 * DAY],
    ['on the last Sunday', 'cron(0 3 ? * 1L *)', 35 * DAY],
    ['on the last weekday of the month', 'cron(0 3 LW * ? *)', 33 * DAY],
    ['on the weekday nearest the 1st (a Saturday 1st moves to Monday the 3rd)', 'cron(0 3 1W * ? *)', 33 * DAY],
    ['three days before the last day of the month', 'cron(0 3 L-3 * ? *)', 31 * DAY],
    ['quarterly', 'cron(0 3 1 1,4,7,10 ? *)', 92 * DAY],
    ['yearly on 1 January (a leap year is 366 days)', 'cron(0 0 1 1 ? *)', 366 * DAY],
    ['on 29 February, which 2100 lacks', 'cron(0 0 29 2 ? *)', (8 * 365 + 1) * DAY],
    ['for two years only', 'cron(0 3 * * ? 2027-2028)', DAY],
  ])('%s: %s', (_name, expression, expected) => {
    expect(longestIntervalSeconds(expression)).toBe(expected);
  });

  it('for any valid cron, agrees with a brute-force walk over every minute it fires in its few years', () => {
    fc.assert(
      fc.property(cronOverFewYears, (cron) => {
        const { longest, runs } = bruteForceLongestGap(cron);
        if (runs < 2) expect(() => longestIntervalSeconds(cron.expression)).toThrow(ScheduleIntervalError);
        else expect(longestIntervalSeconds(cron.expression)).toBe(longest);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a cron that runs fewer than twice, and says what to set instead', () => {
    expect(() => longestIntervalSeconds('cron(0 3 1 1 ? 2030)')).toThrow(ScheduleIntervalError);
    expect(() => longestIntervalSeconds('cron(0 3 1 1 ? 2030)')).toThrow(/runs fewer than twice.*set alerts\.maxAgeHours/);
  });
});

describe('allowedAgeSeconds', () => {
  it('is two of the longest intervals plus the flexible window by default', () => {
    expect(allowedAgeSeconds({ schedule: { expression: 'cron(0 3 * * ? *)', flexibleWindowMinutes: 15 } })).toBe(
      2 * DAY + 15 * MINUTE,
    );
    expect(allowedAgeSeconds({ schedule: { expression: 'rate(6 hours)' }, alerts: {} })).toBe(12 * HOUR);
  });

  it('is alerts.maxAgeHours when the target sets it, whatever the schedule', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 * 366 }), (hours) => {
        expect(allowedAgeSeconds({ schedule: { expression: 'cron(0 3 1 1 ? 2030)' }, alerts: { maxAgeHours: hours } })).toBe(
          hours * HOUR,
        );
      }),
    );
  });

  it('names the target whose schedule has no interval', () => {
    expect(() => allowedAgeSeconds({ name: 'orders', schedule: { expression: 'cron(0 3 1 1 ? 2030)' } })).toThrow(
      /^target "orders": cron\(0 3 1 1 \? 2030\) runs fewer than twice/,
    );
  });
});
