/**
 * How long ago each target last had a good backup, and whether that is longer than it may be.
 *
 * The age runs from when the last good run finished (a backup exists once it is verified). A target that
 * never had one ages from when Safekeep first saw it, so a schedule that never fired, or a task that never
 * started, makes a target late just like a run that keeps failing.
 */

import { type AgedTarget, allowedAgeSeconds } from '../contracts/config/schedule-interval.ts';
import { drillAllowedAgeSeconds } from '../contracts/drill.ts';
import type { LateEventDetail } from '../contracts/events.ts';
import { mapWithConcurrency } from '../platform/concurrency.ts';
import type { RunRecord, RunsStore } from './run-record.ts';

export interface FreshnessTarget extends AgedTarget {
  readonly name: string;
}

/** What the check needs of the runs table; `firstSeen` records `now` for a target seen for the first time. */
export type FreshnessRuns = Pick<RunsStore, 'lastSucceeded' | 'firstSeen'>;

/** What a target's age counts from. */
export type AgeReference =
  | { readonly kind: 'last-good-backup'; readonly at: Date; readonly runId: string }
  | { readonly kind: 'first-seen'; readonly at: Date };

export interface TargetFreshness {
  readonly target: string;
  readonly since: AgeReference;
  readonly ageSeconds: number;
  readonly allowedAgeSeconds: number;
  /** Older than allowed: exactly the freshness alarm's condition (age > allowed). */
  readonly late: boolean;
}

/** Parallel reads per check: enough for a fleet of targets, few enough to stay clear of DynamoDB throttling. */
const CONCURRENT_TARGETS = 8;

/** A target whose freshness could not be computed this time, and why. */
export interface FreshnessFailure {
  readonly target: string;
  readonly error: string;
}

export interface FreshnessReport {
  /** Every target computed, in config order. */
  readonly computed: TargetFreshness[];
  /** Targets that failed, each on its own: the others are still computed and published. */
  readonly failed: FreshnessFailure[];
}

/** Every target's freshness at `now`, in config order, each target on its own. */
export async function checkFreshness(
  targets: readonly FreshnessTarget[],
  runs: FreshnessRuns,
  now: Date,
): Promise<FreshnessReport> {
  const results = await mapWithConcurrency(
    targets,
    CONCURRENT_TARGETS,
    async (target): Promise<TargetFreshness | FreshnessFailure> => {
      try {
        const lastGood = await runs.lastSucceeded(target.name);
        const since: AgeReference = lastGood
          ? { kind: 'last-good-backup', at: goodSince(lastGood), runId: lastGood.runId }
          : { kind: 'first-seen', at: await runs.firstSeen(target.name, now) };
        return freshnessOf(target, since, now);
      } catch (error) {
        return { target: target.name, error: (error as Error).message };
      }
    },
  );
  return {
    computed: results.filter((r): r is TargetFreshness => 'late' in r),
    failed: results.filter((r): r is FreshnessFailure => 'error' in r),
  };
}

/** A target that drills, as the drill freshness needs it: its drill's schedule and limit. */
export interface DrillingTarget {
  readonly name: string;
  readonly drill?: { readonly schedule: AgedTarget['schedule']; readonly maxAgeHours?: number };
}

/** What the drill freshness reads of the runs table: the drill partitions only. */
export type DrillFreshnessRuns = Pick<RunsStore, 'lastGoodDrill' | 'drillsFirstSeen'>;

export interface DrillFreshness {
  readonly target: string;
  /** The last drill that passed, or when Safekeep first looked for one (a drill that never ran still ages). */
  readonly since:
    | { readonly kind: 'last-good-drill'; readonly at: Date; readonly drillId: string }
    | { readonly kind: 'first-seen'; readonly at: Date };
  readonly ageSeconds: number;
  /** `drill.maxAgeHours`, else twice the drill schedule's longest interval (plus its flexible window). */
  readonly allowedAgeSeconds: number;
  readonly late: boolean;
}

/**
 * How long ago each drilling target last passed a restore drill (SecondsSinceLastGoodDrill), in config order;
 * targets without `drill:` are left out. Each target on its own, like the backups' freshness.
 */
export async function checkDrillFreshness(
  targets: readonly DrillingTarget[],
  runs: DrillFreshnessRuns,
  now: Date,
): Promise<{ computed: DrillFreshness[]; failed: FreshnessFailure[] }> {
  const drilling = targets.filter((t) => t.drill !== undefined);
  const results = await mapWithConcurrency(
    drilling,
    CONCURRENT_TARGETS,
    async (target): Promise<DrillFreshness | FreshnessFailure> => {
      try {
        const lastGood = await runs.lastGoodDrill(target.name);
        const since: DrillFreshness['since'] = lastGood
          ? { kind: 'last-good-drill', at: goodSince(lastGood), drillId: lastGood.drillId }
          : { kind: 'first-seen', at: await runs.drillsFirstSeen(target.name, now) };
        const ageSeconds = Math.max(0, Math.floor((now.getTime() - since.at.getTime()) / 1000));
        const allowed = drillAllowedAgeSeconds({
          name: target.name,
          drill: target.drill as NonNullable<DrillingTarget['drill']>,
        });
        return { target: target.name, since, ageSeconds, allowedAgeSeconds: allowed, late: ageSeconds > allowed };
      } catch (error) {
        return { target: target.name, error: (error as Error).message };
      }
    },
  );
  return {
    computed: results.filter((r): r is DrillFreshness => 'late' in r),
    failed: results.filter((r): r is FreshnessFailure => 'error' in r),
  };
}

/** One target's freshness, from what its age counts from. */
export function freshnessOf(target: FreshnessTarget, since: AgeReference, now: Date): TargetFreshness {
  // A clock a little ahead elsewhere must not produce a negative age.
  const ageSeconds = Math.max(0, Math.floor((now.getTime() - since.at.getTime()) / 1000));
  const allowed = allowedAgeSeconds(target);
  return { target: target.name, since, ageSeconds, allowedAgeSeconds: allowed, late: ageSeconds > allowed };
}

function goodSince(run: Pick<RunRecord, 'startedAt' | 'finishedAt'>): Date {
  return new Date(run.finishedAt ?? run.startedAt);
}

/** The published detail of "Backup Late" (docs/events.schema.json). */
export function lateEventDetail(entry: TargetFreshness, checkedAt: Date): LateEventDetail {
  return {
    version: 1,
    target: entry.target,
    ageSeconds: entry.ageSeconds,
    allowedAgeSeconds: entry.allowedAgeSeconds,
    since: {
      kind: entry.since.kind,
      at: entry.since.at.toISOString(),
      ...(entry.since.kind === 'last-good-backup' ? { runId: entry.since.runId } : {}),
    },
    checkedAt: checkedAt.toISOString(),
  };
}
