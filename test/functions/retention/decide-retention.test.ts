import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retentionSchema } from '#functions/contracts/config/schema.ts';
import {
  type Backup,
  decideRetention,
  formatRetentionPlan,
  type RetentionDecision,
  type RetentionPolicy,
} from '#functions/retention/decide-retention.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const at = (id: string, iso: string): Backup => ({ id, createdAt: new Date(iso) });
const ids = (entries: readonly { readonly backup: Backup }[]) => entries.map((entry) => entry.backup.id);
const kept = <T extends Backup>(decision: RetentionDecision<T>) => decision.keep.map((entry) => entry.backup);
const summary = (decision: RetentionDecision<Backup>) => ({
  keep: decision.keep.map(({ backup, reasons }) => [backup.id, reasons]),
  remove: decision.remove.map(({ backup, reason }) => [backup.id, reason]),
});

/** Newest first by time, then by the larger id: written out here so the tests do not borrow the code's comparator. */
const newestFirst = (backups: readonly Backup[]) =>
  [...backups].sort((a, b) => {
    if (a.createdAt.getTime() !== b.createdAt.getTime()) return a.createdAt > b.createdAt ? -1 : 1;
    return a.id > b.id ? -1 : 1;
  });

describe('decideRetention on a short known case', () => {
  // Prepare: ids deliberately sort unlike the times, and the input is not in time order.
  // 2026-11-16 is the Monday of ISO week 47; 2026-11-14/15 are in week 46.
  const backups = [
    at('c', '2026-11-14T03:00:00Z'),
    at('e', '2025-12-31T23:00:00Z'),
    at('k', '2026-11-20T03:00:00Z'),
    at('z', '2026-09-30T03:00:00Z'),
    at('a', '2026-11-16T03:00:00Z'),
    at('b', '2026-11-20T01:00:00Z'),
    at('m', '2026-10-31T03:00:00Z'),
    at('x', '2026-11-19T03:00:00Z'),
    at('q', '2026-11-15T03:00:00Z'),
    at('d', '2026-10-01T03:00:00Z'),
  ];
  const now = new Date('2026-11-20T04:00:00Z');
  const policy = { keepLast: 2, gfs: { daily: 3, weekly: 2, monthly: 2, yearly: 2 }, minimum: 1 };
  const unselected = 'beyond keep-last 2 and in no GFS tier';

  it.each([
    {
      name: 'keep-last and every GFS tier',
      policy,
      keep: [
        ['k', ['keep-last', 'daily 2026-11-20', 'weekly 2026-W47', 'monthly 2026-11', 'yearly 2026', 'floor']],
        ['b', ['keep-last']],
        ['x', ['daily 2026-11-19']],
        ['a', ['daily 2026-11-16']],
        ['q', ['weekly 2026-W46']],
        ['m', ['monthly 2026-10']],
        ['e', ['yearly 2025']],
      ],
      remove: [
        ['c', unselected],
        ['d', unselected],
        ['z', unselected],
      ],
    },
    {
      name: 'the same with a 30-day max age (cut-off 2026-10-21T04:00Z)',
      policy: { ...policy, maxAgeDays: 30 },
      keep: [
        ['k', ['keep-last', 'daily 2026-11-20', 'weekly 2026-W47', 'monthly 2026-11', 'yearly 2026', 'floor']],
        ['b', ['keep-last']],
        ['x', ['daily 2026-11-19']],
        ['a', ['daily 2026-11-16']],
        ['q', ['weekly 2026-W46']],
        ['m', ['monthly 2026-10']],
      ],
      remove: [
        ['c', unselected],
        ['d', 'older than 30 days'],
        ['z', 'older than 30 days'],
        ['e', 'older than 30 days'],
      ],
    },
  ])('$name', ({ policy, keep, remove }) => {
    // Act
    const decision = decideRetention(backups, policy, now, 'Etc/UTC');

    // Assess
    expect(summary(decision)).toEqual({ keep, remove });
  });

  it('prints a plan as safekeep prune does: keeps, then removals, newest first, then the counts', () => {
    // Prepare
    const decision = decideRetention(backups.slice(0, 4), { keepLast: 1, minimum: 1 }, now, 'Etc/UTC');

    // Act
    const planned = formatRetentionPlan(decision, { subject: 'orders-db', dryRun: true });
    const applied = formatRetentionPlan(decision, { subject: 'orders-db', dryRun: false });

    // Assess
    expect(planned).toEqual([
      'keep          k  2026-11-20T03:00:00.000Z  keep-last, floor',
      'would delete  c  2026-11-14T03:00:00.000Z  beyond keep-last 1',
      'would delete  z  2026-09-30T03:00:00.000Z  beyond keep-last 1',
      'would delete  e  2025-12-31T23:00:00.000Z  beyond keep-last 1',
      'orders-db: 1 kept, 3 would delete',
    ]);
    expect(applied.at(1)).toBe('deleted       c  2026-11-14T03:00:00.000Z  beyond keep-last 1');
    expect(applied.at(-1)).toBe('orders-db: 1 kept, 3 deleted');
  });
});

/**
 * A year of daily runs at 03:00 local time, pruned after each run. The local calendar date of every run is
 * known by construction (the zone only decides the instant), so the expected set is brute-forced from
 * those dates with plain period numbers, never through Intl.
 */
describe('a simulated year of daily runs', () => {
  interface Run {
    readonly backup: Backup;
    /** Days since 1970-01-01 of the run's local date. */
    readonly dayNumber: number;
    readonly year: number;
    readonly month: number;
  }

  const YEAR_POLICY = { keepLast: 7, gfs: { daily: 7, weekly: 4, monthly: 12, yearly: 2 }, minimum: 3 } as const;
  const FIRST_DAY = Date.UTC(2025, 5, 1) / DAY; // 2025-06-01; 365 runs end on Sunday 2026-05-31

  const weekdayOf = (dayNumber: number) => (dayNumber + 4) % 7; // 0 = Sunday; 1970-01-01 was a Thursday
  const lastSundayOf = (year: number, month: number) => {
    const lastDay = Date.UTC(year, month, 0) / DAY;
    return lastDay - weekdayOf(lastDay);
  };
  // EU rule: summer time from the last Sunday of March to the last Sunday of October; 03:00 local is past
  // both switches (02:00 -> 03:00 and 03:00 -> 02:00), so the switch days themselves count as after.
  const berlinOffsetAt3am = (dayNumber: number, year: number) =>
    dayNumber >= lastSundayOf(year, 3) && dayNumber < lastSundayOf(year, 10) ? 2 : 1;

  function dailyRuns(utcOffsetHours: (dayNumber: number, year: number) => number): Run[] {
    return Array.from({ length: 365 }, (_, index) => {
      const dayNumber = FIRST_DAY + index;
      const date = new Date(dayNumber * DAY);
      const year = date.getUTCFullYear();
      const instant = dayNumber * DAY + (3 - utcOffsetHours(dayNumber, year)) * HOUR;
      const id = date.toISOString().slice(0, 10);
      return { backup: { id, createdAt: new Date(instant) }, dayNumber, year, month: date.getUTCMonth() + 1 };
    });
  }

  /** The newest run of each of the `count` most recent periods that hold a run, by scanning every period. */
  function newestOfRecentPeriods(runs: readonly Run[], periodOf: (run: Run) => number, count: number): Run[] {
    const recent = [...new Set(runs.map(periodOf))].sort((a, b) => b - a).slice(0, count);
    return recent.flatMap((period) => {
      const inPeriod = runs.filter((run) => periodOf(run) === period);
      return inPeriod.length === 0 ? [] : [inPeriod.reduce((a, b) => (a.backup.createdAt > b.backup.createdAt ? a : b))];
    });
  }

  function expectedIds(runs: readonly Run[]): string[] {
    const { keepLast, gfs, minimum } = YEAR_POLICY;
    const keep = [
      ...runs.slice(-keepLast),
      ...newestOfRecentPeriods(runs, (run) => run.dayNumber, gfs.daily),
      // Monday-start week number: 1970-01-05 (day 4) was the first Monday.
      ...newestOfRecentPeriods(runs, (run) => Math.floor((run.dayNumber + 3) / 7), gfs.weekly),
      ...newestOfRecentPeriods(runs, (run) => run.year * 12 + run.month, gfs.monthly),
      ...newestOfRecentPeriods(runs, (run) => run.year, gfs.yearly),
      ...runs.slice(-minimum),
    ];
    return [...new Set(keep.map((run) => run.backup.id))].sort().reverse();
  }

  // Spelled out for the end of this year: the last 7 days, the Sundays closing the 3 weeks before, the last
  // day of each of the 11 months before, and the last day of 2025 (also a month end).
  const EXPECTED_AT_YEAR_END = [
    ['2026-05-31', '2026-05-30', '2026-05-29', '2026-05-28', '2026-05-27', '2026-05-26', '2026-05-25'],
    ['2026-05-24', '2026-05-17', '2026-05-10'],
    ['2026-04-30', '2026-03-31', '2026-02-28', '2026-01-31', '2025-12-31', '2025-11-30', '2025-10-31'],
    ['2025-09-30', '2025-08-31', '2025-07-31', '2025-06-30'],
  ].flat();

  it.each([
    { zone: 'Europe/Berlin', offset: berlinOffsetAt3am },
    { zone: 'Etc/UTC', offset: () => 0 },
  ])('in $zone keeps exactly the brute-forced set after every run, and at the end', ({ zone, offset }) => {
    // Prepare
    const runs = dailyRuns(offset);
    let survivors: Backup[] = [];

    // Act: back up, then prune five minutes later, every day.
    runs.forEach((run, index) => {
      const now = new Date(run.backup.createdAt.getTime() + 5 * MINUTE);
      survivors = kept(decideRetention([...survivors, run.backup], YEAR_POLICY, now, zone));

      // Assess: after every run, what is left is exactly what the rules say for the runs so far.
      expect(survivors.map((backup) => backup.id)).toEqual(expectedIds(runs.slice(0, index + 1)));
    });

    // Assess: the end state, against the brute force, the literal list and one decision over the whole year.
    const last = runs.at(-1)?.backup.createdAt.getTime() ?? 0;
    const once = decideRetention(
      runs.map((run) => run.backup),
      YEAR_POLICY,
      new Date(last + 5 * MINUTE),
      zone,
    );
    expect(survivors.map((backup) => backup.id)).toEqual(EXPECTED_AT_YEAR_END);
    expect(ids(once.keep)).toEqual(EXPECTED_AT_YEAR_END);
    expect(once.remove).toHaveLength(365 - EXPECTED_AT_YEAR_END.length);
  });

  it('the Berlin runs really straddle both DST switches', () => {
    // Prepare / Act
    const offsets = new Set(dailyRuns(berlinOffsetAt3am).map((run) => run.backup.createdAt.getUTCHours()));

    // Assess: 03:00 CET is 02:00Z, 03:00 CEST is 01:00Z.
    expect(offsets).toEqual(new Set([1, 2]));
  });
});

describe('local periods around DST and year ends', () => {
  const EVERY_TIER = { gfs: { daily: 1, weekly: 1, monthly: 1, yearly: 1 }, minimum: 1 };
  const now = new Date('2027-06-01T00:00:00Z');

  it.each([
    // Spring forward in Berlin: Sunday 2026-03-29, 02:00 CET -> 03:00 CEST (01:00Z).
    ['Europe/Berlin', '2026-03-28T22:59:59Z', '2026-03-28', '2026-W13'],
    ['Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-29', '2026-W13'],
    ['Europe/Berlin', '2026-03-29T00:59:59Z', '2026-03-29', '2026-W13'],
    ['Europe/Berlin', '2026-03-29T01:00:00Z', '2026-03-29', '2026-W13'],
    ['Europe/Berlin', '2026-03-29T21:59:59Z', '2026-03-29', '2026-W13'],
    ['Europe/Berlin', '2026-03-29T22:00:00Z', '2026-03-30', '2026-W14'],
    ['Etc/UTC', '2026-03-29T22:00:00Z', '2026-03-29', '2026-W13'],
    // Fall back in Berlin: Sunday 2026-10-25, 03:00 CEST -> 02:00 CET (01:00Z); 02:30 happens twice.
    ['Europe/Berlin', '2026-10-24T21:59:59Z', '2026-10-24', '2026-W43'],
    ['Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-25', '2026-W43'],
    ['Europe/Berlin', '2026-10-25T00:30:00Z', '2026-10-25', '2026-W43'],
    ['Europe/Berlin', '2026-10-25T01:30:00Z', '2026-10-25', '2026-W43'],
    ['Europe/Berlin', '2026-10-25T22:59:59Z', '2026-10-25', '2026-W43'],
    ['Europe/Berlin', '2026-10-25T23:00:00Z', '2026-10-26', '2026-W44'],
    ['Etc/UTC', '2026-10-25T23:00:00Z', '2026-10-25', '2026-W43'],
  ])('%s: %s is on %s in %s', (zone, instant, day, week) => {
    // Act
    const [entry] = decideRetention([at('only', instant)], EVERY_TIER, now, zone).keep;

    // Assess
    expect(entry?.reasons).toEqual([
      `daily ${day}`,
      `weekly ${week}`,
      `monthly ${day.slice(0, 7)}`,
      `yearly ${day.slice(0, 4)}`,
      'floor',
    ]);
  });

  it.each([
    // 2026 starts on a Thursday, so it has 53 ISO weeks and 2027-01-01 (a Friday) is in the last of them.
    ['Europe/Berlin', '2026-12-31T23:30:00Z', ['daily 2027-01-01', 'weekly 2026-W53', 'monthly 2027-01', 'yearly 2027']],
    ['Etc/UTC', '2026-12-31T23:30:00Z', ['daily 2026-12-31', 'weekly 2026-W53', 'monthly 2026-12', 'yearly 2026']],
    // Monday 2025-12-29 opens ISO week 1 of 2026 but is still in calendar 2025.
    ['Europe/Berlin', '2025-12-28T23:30:00Z', ['daily 2025-12-29', 'weekly 2026-W01', 'monthly 2025-12', 'yearly 2025']],
    ['America/New_York', '2025-12-29T03:00:00Z', ['daily 2025-12-28', 'weekly 2025-W52', 'monthly 2025-12', 'yearly 2025']],
  ])('%s: %s falls in the ISO week of its local date', (zone, instant, reasons) => {
    // Act
    const [entry] = decideRetention([at('only', instant)], EVERY_TIER, now, zone).keep;

    // Assess
    expect(entry?.reasons).toEqual([...reasons, 'floor']);
  });

  it.each([
    // Berlin: 22:00Z on 10-24 and both 02:30s are 2026-10-25, so only the later 02:30 (CET) is that day's pick.
    ['Europe/Berlin', ['2026-10-25T23:00:00Z', '2026-10-25T01:30:00Z'], ['2026-10-25T00:30:00Z', '2026-10-24T22:00:00Z']],
    // UTC: the same instants fall on 10-24 and 10-25 instead.
    ['Etc/UTC', ['2026-10-25T23:00:00Z', '2026-10-24T22:00:00Z'], ['2026-10-25T01:30:00Z', '2026-10-25T00:30:00Z']],
  ])('in %s the daily tier picks the newest backup of each local day', (zone, keep, remove) => {
    // Prepare
    const instants = ['2026-10-24T22:00:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z', '2026-10-25T23:00:00Z'];
    const backups = instants.map((instant) => at(instant, instant));

    // Act
    const decision = decideRetention(backups, { gfs: { daily: 3 }, minimum: 1 }, now, zone);

    // Assess
    expect({ keep: ids(decision.keep), remove: ids(decision.remove) }).toEqual({ keep, remove });
  });
});

describe('decideRetention edge cases', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  const daysAgo = (days: number, id = `d${days}`): Backup => ({ id, createdAt: new Date(now.getTime() - days * DAY) });

  it.each([
    ['no policy', undefined],
    ['keep-last', { keepLast: 3, minimum: 1 }],
    ['max age with a high floor', { maxAgeDays: 1, minimum: 5 }],
    ['GFS', { gfs: { daily: 7 }, minimum: 2 }],
  ])('an empty list decides nothing (%s)', (_, policy) => {
    // Act / Assess
    expect(decideRetention([], policy, now, 'Europe/Berlin')).toEqual({ keep: [], remove: [] });
  });

  it('keeps everything when there is no policy', () => {
    // Prepare
    const backups = [daysAgo(400), daysAgo(1)];

    // Act
    const decision = decideRetention(backups, undefined, now, 'Etc/UTC');

    // Assess
    expect(summary(decision)).toEqual({
      keep: [
        ['d1', ['no retention policy']],
        ['d400', ['no retention policy']],
      ],
      remove: [],
    });
  });

  it('keeps every backup when the floor is above the count', () => {
    // Prepare: all three are far too old, but the floor asks for five.
    const backups = [daysAgo(300), daysAgo(200), daysAgo(100)];

    // Act
    const decision = decideRetention(backups, { maxAgeDays: 30, minimum: 5 }, now, 'Etc/UTC');

    // Assess
    expect(summary(decision)).toEqual({
      keep: [
        ['d100', ['floor']],
        ['d200', ['floor']],
        ['d300', ['floor']],
      ],
      remove: [],
    });
  });

  it('with keep-last only, keeps the newest N', () => {
    // Prepare
    const backups = [1, 2, 3, 4, 5].map((days) => daysAgo(days));

    // Act
    const decision = decideRetention(backups, { keepLast: 2, minimum: 1 }, now, 'Etc/UTC');

    // Assess
    expect(summary(decision)).toEqual({
      keep: [
        ['d1', ['keep-last', 'floor']],
        ['d2', ['keep-last']],
      ],
      remove: [
        ['d3', 'beyond keep-last 2'],
        ['d4', 'beyond keep-last 2'],
        ['d5', 'beyond keep-last 2'],
      ],
    });
  });

  it('with max age only, keeps the young ones', () => {
    // Prepare
    const backups = [daysAgo(1), daysAgo(29), daysAgo(31), daysAgo(90)];

    // Act
    const decision = decideRetention(backups, { maxAgeDays: 30, minimum: 1 }, now, 'Etc/UTC');

    // Assess
    expect(summary(decision)).toEqual({
      keep: [
        ['d1', ['within 30 days', 'floor']],
        ['d29', ['within 30 days']],
      ],
      remove: [
        ['d31', 'older than 30 days'],
        ['d90', 'older than 30 days'],
      ],
    });
  });

  it('with max age only, the floor holds when backups stopped months ago', () => {
    // Prepare: daily backups that stopped 120 days ago.
    const backups = Array.from({ length: 30 }, (_, index) => daysAgo(120 + index));

    // Act
    const decision = decideRetention(backups, { maxAgeDays: 30, minimum: 3 }, now, 'Etc/UTC');

    // Assess
    expect(summary(decision).keep).toEqual([
      ['d120', ['floor']],
      ['d121', ['floor']],
      ['d122', ['floor']],
    ]);
    expect(decision.remove).toHaveLength(27);
    expect(new Set(decision.remove.map((entry) => entry.reason))).toEqual(new Set(['older than 30 days']));
  });

  it('keeps a backup exactly max-age old and removes one a millisecond older (inclusive boundary)', () => {
    // Prepare
    const boundary = { id: 'boundary', createdAt: new Date(now.getTime() - 30 * DAY) };
    const past = { id: 'past', createdAt: new Date(now.getTime() - 30 * DAY - 1) };
    const newest = daysAgo(0, 'newest');

    // Act
    const decision = decideRetention([past, boundary, newest], { maxAgeDays: 30, minimum: 1 }, now, 'Etc/UTC');

    // Assess
    expect(summary(decision)).toEqual({
      keep: [
        ['newest', ['within 30 days', 'floor']],
        ['boundary', ['within 30 days']],
      ],
      remove: [['past', 'older than 30 days']],
    });
  });

  it('counts max age in 24-hour days, not local calendar days, across a DST switch', () => {
    // Prepare: 2026-10-25 has 25 hours in Berlin, so 7 × 24 h before 03:00 on 10-29 is 02:00 local on 10-22.
    const run = new Date('2026-10-29T02:00:00Z'); // 03:00 CET
    const sevenLocalDaysBefore = at('local-03:00', '2026-10-22T01:00:00Z'); // 03:00 CEST
    const newest = { id: 'newest', createdAt: run };

    // Act
    const decision = decideRetention([sevenLocalDaysBefore, newest], { maxAgeDays: 7, minimum: 1 }, run, 'Europe/Berlin');

    // Assess: one hour too old by the clock, so it goes, although it is seven calendar days back.
    expect(ids(decision.remove)).toEqual(['local-03:00']);
  });

  it('orders equal times by id and never by the order given', () => {
    // Prepare
    const same = '2026-05-01T00:00:00Z';
    const backups = [at('b', same), at('c', same), at('a', same)];

    // Act
    const decision = decideRetention(backups, { keepLast: 1, minimum: 1 }, now, 'Etc/UTC');

    // Assess
    expect(ids(decision.keep)).toEqual(['c']);
    expect(ids(decision.remove)).toEqual(['b', 'a']);
  });

  it.each([
    ['GFS without any tier above zero', { gfs: {}, minimum: 1 }, 'no keep-last, GFS or max-age rule'],
    ['GFS tiers of zero and a max age', { gfs: { daily: 0, weekly: 0 }, maxAgeDays: 500, minimum: 1 }, 'within 500 days'],
  ])('%s selects nothing for deletion rather than everything', (_, policy, reason) => {
    // Prepare
    const backups = [daysAgo(1), daysAgo(2), daysAgo(3)];

    // Act
    const decision = decideRetention(backups, policy, now, 'Etc/UTC');

    // Assess
    expect(decision.remove).toEqual([]);
    expect(decision.keep.map((entry) => entry.reasons[0])).toEqual([reason, reason, reason]);
  });

  it('names an unknown time zone, even with nothing to decide', () => {
    // Act / Assess
    expect(() => decideRetention([], undefined, now, 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => decideRetention([], undefined, now, 'Mars/Olympus_Mons')).toThrow(/"Mars\/Olympus_Mons"/);
  });

  it.each([
    ['keepLast', { keepLast: 0, minimum: 1 }],
    ['keepLast', { keepLast: Number.NaN, minimum: 1 }],
    ['maxAgeDays', { maxAgeDays: 1.5, minimum: 1 }],
    ['minimum', { keepLast: 3, minimum: 0 }],
    ['gfs.weekly', { gfs: { weekly: -1 }, minimum: 1 }],
  ])('refuses a policy with a bad %s', (field, policy) => {
    // Act / Assess
    expect(() => decideRetention([daysAgo(1)], policy, now, 'Etc/UTC')).toThrow(new RegExp(`retention ${field} must be`));
  });

  it('refuses a listing that repeats an id, or holds an invalid date', () => {
    // Act / Assess
    expect(() => decideRetention([daysAgo(1, 'x'), daysAgo(2, 'x')], undefined, now, 'Etc/UTC')).toThrow(/"x" is listed twice/);
    expect(() => decideRetention([at('bad', 'not a date')], undefined, now, 'Etc/UTC')).toThrow(/"bad" is not a valid date/);
    expect(() => decideRetention([], undefined, new Date(Number.NaN), 'Etc/UTC')).toThrow(/now is not a valid date/);
  });
});

describe('retention properties', () => {
  const START = Date.UTC(2023, 0, 1);
  const END = Date.UTC(2026, 11, 31);

  const instant = fc.oneof(
    fc.integer({ min: START, max: END }), // spread over four years
    fc.integer({ min: END - 40 * DAY, max: END }), // dense: several per day and week
    fc.constantFrom(START + 100 * DAY, END - 3 * HOUR), // the very same instant, many times
  );
  const id = fc.string({ unit: fc.constantFrom(...'abxyz019-'), minLength: 1, maxLength: 5 });
  const backupsArb = fc.uniqueArray(fc.record({ id, createdAt: instant.map((time) => new Date(time)) }), {
    selector: (backup) => backup.id,
    maxLength: 60,
  });
  const nowArb = fc.integer({ min: START, max: END + 400 * DAY }).map((time) => new Date(time));

  const option = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  /** Exactly the policies the config schema accepts, as it outputs them. */
  const policyArb: fc.Arbitrary<RetentionPolicy> = fc
    .record({
      keepLast: option(fc.integer({ min: 1, max: 12 })),
      maxAgeDays: option(fc.integer({ min: 1, max: 900 })),
      gfs: option(
        fc.record(
          {
            daily: fc.integer({ min: 0, max: 10 }),
            weekly: fc.integer({ min: 0, max: 6 }),
            monthly: fc.integer({ min: 0, max: 14 }),
            yearly: fc.integer({ min: 0, max: 3 }),
          },
          { requiredKeys: [] },
        ),
      ),
      minimum: fc.integer({ min: 1, max: 12 }),
    })
    .map((policy) => ({ ...policy, minimum: Math.min(policy.minimum, policy.keepLast ?? policy.minimum) }))
    .filter((policy) => retentionSchema.safeParse(policy).success)
    .map((policy) => retentionSchema.parse(policy));

  const zoneArb = fc.constantFrom(
    'Etc/UTC',
    'Europe/Berlin',
    'America/New_York',
    'Australia/Lord_Howe', // 30-minute DST
    'Pacific/Chatham', // +12:45 / +13:45
    'Pacific/Kiritimati', // +14: a different date from UTC most of the day
  );

  const cutoffOf = (policy: RetentionPolicy, now: Date) =>
    policy.maxAgeDays === undefined ? Number.NEGATIVE_INFINITY : now.getTime() - policy.maxAgeDays * DAY;
  const selects = (policy: RetentionPolicy) =>
    policy.keepLast !== undefined || Object.values(policy.gfs ?? {}).some((count) => (count ?? 0) > 0);

  it('keeps or removes every backup exactly once, each list newest first by time, then id', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, zoneArb, (backups, policy, now, zone) => {
        // Act
        const decision = decideRetention(backups, policy, now, zone);

        // Assess
        const decided = [...kept(decision), ...decision.remove.map((entry) => entry.backup)];
        expect(decided).toHaveLength(backups.length);
        expect(new Set(decided)).toEqual(new Set(backups));
        for (const list of [kept(decision), decision.remove.map((entry) => entry.backup)]) {
          expect(list).toEqual(newestFirst(list));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never crosses the floor: the newest `minimum` backups are always kept', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, zoneArb, (backups, policy, now, zone) => {
        // Act
        const decision = decideRetention(backups, policy, now, zone);

        // Assess
        const floor = newestFirst(backups).slice(0, policy.minimum);
        expect(decision.keep.length).toBeGreaterThanOrEqual(Math.min(policy.minimum, backups.length));
        expect(decision.keep.slice(0, floor.length).map((entry) => entry.backup)).toEqual(floor);
        expect(decision.keep.filter((entry) => entry.reasons.includes('floor')).map((entry) => entry.backup)).toEqual(floor);
      }),
      { numRuns: 300 },
    );
  });

  it('removes a backup only for its age or for falling outside every selecting rule; only the floor outlives max age', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, zoneArb, (backups, policy, now, zone) => {
        // Act
        const decision = decideRetention(backups, policy, now, zone);

        // Assess
        const cutoff = cutoffOf(policy, now);
        const newestKeepLast = new Set(newestFirst(backups).slice(0, policy.keepLast ?? 0));
        for (const { backup, reason } of decision.remove) {
          if (backup.createdAt.getTime() < cutoff) {
            expect(reason).toBe(`older than ${policy.maxAgeDays} days`);
          } else {
            // Young enough: only keepLast / GFS can have dropped it, and keep-last did not pick it.
            expect(selects(policy)).toBe(true);
            expect(newestKeepLast.has(backup)).toBe(false);
            expect(reason).toMatch(/^(beyond keep-last \d+|in no GFS tier|beyond keep-last \d+ and in no GFS tier)$/);
          }
        }
        for (const { backup, reasons } of decision.keep) {
          if (!reasons.includes('floor')) expect(backup.createdAt.getTime()).toBeGreaterThanOrEqual(cutoff);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order backups are listed in', () => {
    const listed = backupsArb.chain((backups) =>
      fc.tuple(fc.constant(backups), fc.shuffledSubarray(backups, { minLength: backups.length, maxLength: backups.length })),
    );
    fc.assert(
      fc.property(listed, policyArb, nowArb, zoneArb, ([backups, shuffled], policy, now, zone) => {
        // Act / Assess
        expect(decideRetention(shuffled, policy, now, zone)).toEqual(decideRetention(backups, policy, now, zone));
      }),
      { numRuns: 300 },
    );
  });

  it('is idempotent: deciding again on what it kept removes nothing', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, zoneArb, (backups, policy, now, zone) => {
        // Prepare
        const survivors = kept(decideRetention(backups, policy, now, zone));

        // Act
        const again = decideRetention(survivors, policy, now, zone);

        // Assess
        expect(again.remove).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('pruning after every arrival ends with the same set as deciding once, in any arrival order', () => {
    // Prepare: backups arrive in random order (late listings, clock skew); prunes run at non-decreasing times.
    const arrivals = backupsArb.chain((backups) =>
      fc.tuple(
        fc.constant(backups),
        fc
          .array(fc.integer({ min: START, max: END + 400 * DAY }), { minLength: backups.length, maxLength: backups.length })
          .map((times) => times.sort((a, b) => a - b).map((time) => new Date(time))),
      ),
    );
    fc.assert(
      fc.property(arrivals, policyArb, zoneArb, ([backups, nows], policy, zone) => {
        // Act
        let survivors: Backup[] = [];
        backups.forEach((backup, index) => {
          survivors = kept(decideRetention([...survivors, backup], policy, nows[index] ?? new Date(END), zone));
        });

        // Assess
        const once = kept(decideRetention(backups, policy, nows.at(-1) ?? new Date(END), zone));
        expect(survivors).toEqual(once);
      }),
      { numRuns: 200 },
    );
  });

  /**
   * The whole decision against a brute-force model that reads the definitions literally, in zones with a
   * fixed UTC offset, where the local date is plain arithmetic: a backup is the newest of its period if no
   * other backup of that period is newer, and the period is among the N most recent if fewer than N
   * periods holding a backup are newer.
   */
  describe('against a brute-force model', () => {
    const FIXED_OFFSETS = {
      'Etc/UTC': 0,
      'Etc/GMT-14': 14 * HOUR,
      'Etc/GMT+12': -12 * HOUR,
      'Asia/Kathmandu': 5 * HOUR + 45 * MINUTE,
    } as const;
    type FixedZone = keyof typeof FIXED_OFFSETS;

    interface Period {
      readonly order: number;
      readonly label: string;
    }
    const two = (n: number) => String(n).padStart(2, '0');
    const periodsOf = (backup: Backup, offset: number): Record<'daily' | 'weekly' | 'monthly' | 'yearly', Period> => {
      const dayNumber = Math.floor((backup.createdAt.getTime() + offset) / DAY);
      const local = new Date(dayNumber * DAY);
      const year = local.getUTCFullYear();
      const month = local.getUTCMonth() + 1;
      // Week w runs from Monday (day 7w - 3) to Sunday; its Thursday (day 7w) names the ISO week-year.
      const week = Math.floor((dayNumber + 3) / 7);
      const weekYear = new Date(week * 7 * DAY).getUTCFullYear();
      const weekOfYear = Math.floor((week * 7 - Date.UTC(weekYear, 0, 1) / DAY) / 7) + 1;
      return {
        daily: { order: dayNumber, label: local.toISOString().slice(0, 10) },
        weekly: { order: week, label: `${weekYear}-W${two(weekOfYear)}` },
        monthly: { order: year * 12 + month, label: `${year}-${two(month)}` },
        yearly: { order: year, label: String(year) },
      };
    };

    function model(backups: readonly Backup[], policy: RetentionPolicy, now: Date, zone: FixedZone) {
      const ordered = newestFirst(backups);
      const periods = ordered.map((backup) => periodsOf(backup, FIXED_OFFSETS[zone]));
      const cutoff = cutoffOf(policy, now);
      const keep: [string, string[]][] = [];
      const remove: [string, string][] = [];
      ordered.forEach((backup, rank) => {
        const reasons: string[] = [];
        if (rank < (policy.keepLast ?? 0)) reasons.push('keep-last');
        for (const tier of ['daily', 'weekly', 'monthly', 'yearly'] as const) {
          const count = policy.gfs?.[tier] ?? 0;
          const mine = periods[rank]?.[tier];
          if (count === 0 || mine === undefined) continue;
          const newestOfPeriod = periods.every((other, otherRank) => other[tier].order !== mine.order || otherRank >= rank);
          const newerPeriods = new Set(periods.map((other) => other[tier].order).filter((order) => order > mine.order));
          if (newestOfPeriod && newerPeriods.size < count) reasons.push(`${tier} ${mine.label}`);
        }
        if (!selects(policy))
          reasons.push(policy.maxAgeDays ? `within ${policy.maxAgeDays} days` : 'no keep-last, GFS or max-age rule');
        const old = backup.createdAt.getTime() < cutoff;
        const all = [...(old ? [] : reasons), ...(rank < policy.minimum ? ['floor'] : [])];
        if (all.length > 0) keep.push([backup.id, all]);
        else if (old) remove.push([backup.id, `older than ${policy.maxAgeDays} days`]);
        else {
          const gfs = Object.values(policy.gfs ?? {}).some((count) => (count ?? 0) > 0);
          const why = [policy.keepLast && `beyond keep-last ${policy.keepLast}`, gfs && 'in no GFS tier'].filter(Boolean);
          remove.push([backup.id, why.join(' and ')]);
        }
      });
      return { keep, remove };
    }

    it('makes exactly the decision the model makes, reasons included', () => {
      const zone = fc.constantFrom(...(Object.keys(FIXED_OFFSETS) as FixedZone[]));
      fc.assert(
        fc.property(backupsArb, policyArb, nowArb, zone, (backups, policy, now, zone) => {
          // Act
          const decision = decideRetention(backups, policy, now, zone);

          // Assess
          expect(summary(decision)).toEqual(model(backups, policy, now, zone));
        }),
        { numRuns: 500 },
      );
    });
  });
});
