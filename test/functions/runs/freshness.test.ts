import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFreshness, type FreshnessRuns, type FreshnessTarget, freshnessOf } from '#functions/runs/freshness.ts';
import type { RunRecord } from '#functions/runs/run-record.ts';

const HOUR = 3_600;
const DAY = 86_400;
const NOW = new Date('2026-11-21T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);

const daily: FreshnessTarget = { name: 'orders', schedule: { expression: 'cron(0 3 * * ? *)' }, alerts: {} };

/** The runs table in memory: good runs per target, and first-seen dates that are recorded once. */
function runsInMemory(good: Record<string, Partial<RunRecord>> = {}, firstSeen: Record<string, Date> = {}) {
  const seen = new Map(Object.entries(firstSeen));
  const runs: FreshnessRuns = {
    async lastSucceeded(target) {
      const run = good[target];
      return (
        run &&
        ({
          target,
          runId: 'r1',
          kind: 'dump',
          trigger: 'schedule',
          status: 'succeeded',
          startedAt: NOW.toISOString(),
          ...run,
        } as RunRecord)
      );
    },
    async firstSeen(target, now) {
      if (!seen.has(target)) seen.set(target, now);
      return seen.get(target) as Date;
    },
  };
  return { runs, seen };
}

describe('checkFreshness', () => {
  it("computes every target on its own: one target's failing read leaves the others' freshness intact", async () => {
    const { runs } = runsInMemory({ orders: { runId: 'good', finishedAt: ago(HOUR).toISOString() } });
    const failing: FreshnessRuns = {
      ...runs,
      async lastSucceeded(target) {
        if (target === 'poisoned') throw new Error('the runs table refused the read');
        return runs.lastSucceeded(target);
      },
    };
    const report = await checkFreshness([{ ...daily, name: 'poisoned' }, daily], failing, NOW);
    expect(report.failed).toEqual([{ target: 'poisoned', error: 'the runs table refused the read' }]);
    expect(report.computed).toMatchObject([{ target: 'orders', ageSeconds: HOUR, late: false }]);
  });

  it('ages a target from when its last good run finished, and calls it late only beyond twice the interval', async () => {
    // Prepare
    const targets = [daily, { ...daily, name: 'stale' }];
    const { runs } = runsInMemory({
      orders: { runId: 'good', startedAt: ago(2 * HOUR).toISOString(), finishedAt: ago(HOUR).toISOString() },
      stale: { runId: 'old', startedAt: ago(3 * DAY).toISOString(), finishedAt: ago(3 * DAY - 600).toISOString() },
    });

    // Act
    const report = (await checkFreshness(targets, runs, NOW)).computed;

    // Assess
    expect(report).toEqual([
      {
        target: 'orders',
        since: { kind: 'last-good-backup', at: ago(HOUR), runId: 'good' },
        ageSeconds: HOUR,
        allowedAgeSeconds: 2 * DAY,
        late: false,
      },
      {
        target: 'stale',
        since: { kind: 'last-good-backup', at: ago(3 * DAY - 600), runId: 'old' },
        ageSeconds: 3 * DAY - 600,
        allowedAgeSeconds: 2 * DAY,
        late: true,
      },
    ]);
  });

  it('ages a target that never had a good run from when it was first seen, recording that on first sight', async () => {
    const { runs, seen } = runsInMemory({}, { 'never-fired': ago(5 * DAY) });
    const {
      computed: [neverFired, brandNew],
    } = await checkFreshness(
      [
        { ...daily, name: 'never-fired' },
        { ...daily, name: 'brand-new' },
      ],
      runs,
      NOW,
    );
    expect(neverFired).toMatchObject({ since: { kind: 'first-seen', at: ago(5 * DAY) }, ageSeconds: 5 * DAY, late: true });
    expect(brandNew).toMatchObject({ since: { kind: 'first-seen', at: NOW }, ageSeconds: 0, late: false });
    expect(seen.get('brand-new')).toEqual(NOW);
  });

  it('falls back to the start of a good run that has no finish time', async () => {
    const { runs } = runsInMemory({ orders: { startedAt: ago(HOUR).toISOString(), finishedAt: undefined } });
    const {
      computed: [orders],
    } = await checkFreshness([daily], runs, NOW);
    expect(orders?.ageSeconds).toBe(HOUR);
  });
});

describe('freshnessOf', () => {
  it('is late exactly when the age exceeds the allowed age, as the alarm compares (>)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * DAY }), fc.integer({ min: 1, max: 24 * 30 }), (age, maxAgeHours) => {
        const target = { ...daily, alerts: { maxAgeHours } };
        const result = freshnessOf(target, { kind: 'first-seen', at: ago(age) }, NOW);
        expect(result.ageSeconds).toBe(age);
        expect(result.allowedAgeSeconds).toBe(maxAgeHours * HOUR);
        expect(result.late).toBe(age > maxAgeHours * HOUR);
      }),
    );
  });

  it('never reports a negative age when the good run finished on a clock slightly ahead', () => {
    const result = freshnessOf(daily, { kind: 'last-good-backup', at: new Date(NOW.getTime() + 5_000), runId: 'r' }, NOW);
    expect(result).toMatchObject({ ageSeconds: 0, late: false });
  });
});
