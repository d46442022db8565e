/**
 * Pruning a target's snapshots by its retention policy. It only ever considers snapshots that carry
 * `safekeep:target=<target>` AND a `safekeep:run-id` AND a Safekeep name for that target (and, inside a
 * deployment, its `safekeep:stack`: snapshots from before that tag, or of another stack, are left alone); anything else
 * (AWS's own, the user's, look-alikes) is invisible to it. It never runs after a failed backup of the
 * target, and orders by creation time, never by name.
 */

import type { SnapshotTarget } from '../../contracts/config/schema.ts';
import { isSafekeepSnapshotOf, TAG } from '../../contracts/snapshot-naming.ts';
import { mapWithConcurrency } from '../../platform/concurrency.ts';
import { type Backup, decideRetention, type RetentionDecision } from '../../retention/decide-retention.ts';
import { type Snapshot, storeOf } from './ports.ts';
import type { FlowContext } from './snapshot-flow.ts';

/** What retention decides about: one backup, which is one snapshot, or for an EC2 instance one run's set. */
export interface SnapshotBackup extends Backup {
  readonly snapshots: readonly Snapshot[];
}

export interface PruneResult {
  readonly target: string;
  readonly dryRun: boolean;
  /** Why nothing was pruned, when nothing was considered. */
  readonly skipped?: string;
  readonly kept: readonly { readonly snapshot: Snapshot; readonly reasons: readonly string[] }[];
  readonly deleted: readonly { readonly snapshot: Snapshot; readonly reason: string }[];
}

export interface PruneOptions {
  readonly dryRun: boolean;
  /** The run that triggered this prune failed: prune nothing. */
  readonly afterFailedRun?: boolean;
}

/** Whether a snapshot is one Safekeep made for `target`: its tags and its name must both say so. */
export function isOwnedBy(target: string, snapshot: Snapshot, stack?: string): boolean {
  const name = snapshot.kind === 'ebs' ? (snapshot.tags.Name ?? '') : snapshot.id;
  // Inside a deployment, only its own stack's snapshots: IAM would refuse the others' deletes anyway.
  const ours = stack === undefined || snapshot.tags[TAG.stack] === stack;
  return ours && snapshot.tags[TAG.target] === target && Boolean(snapshot.tags[TAG.runId]) && isSafekeepSnapshotOf(target, name);
}

export async function pruneTarget(target: SnapshotTarget, context: FlowContext, options: PruneOptions): Promise<PruneResult> {
  const empty = { target: target.name, dryRun: options.dryRun, kept: [], deleted: [] };
  if (options.afterFailedRun) return { ...empty, skipped: `the last backup of "${target.name}" failed, so nothing is pruned` };
  const regions = [context.region, ...(target.copy ? [target.copy.region] : [])];
  const kept: PruneResult['kept'][number][] = [];
  const deleted: PruneResult['deleted'][number][] = [];
  for (const region of regions) {
    const owned = (await listSnapshots(target, region, context)).filter((s) => isOwnedBy(target.name, s, context.stack));
    const newest = [...owned].sort(byCreationDesc)[0];
    if (newest?.status === 'failed') {
      return {
        ...empty,
        skipped: `the newest backup of "${target.name}" (${newest.id} in ${region}) failed, so nothing is pruned; fix the failure first`,
      };
    }
    const available = owned.filter((s) => s.status === 'available');
    for (const series of seriesOf(target, available)) {
      const decision = decideRetention(series, target.retention, context.now(), target.schedule.timezone);
      kept.push(...decision.keep.flatMap(({ backup, reasons }) => backup.snapshots.map((snapshot) => ({ snapshot, reasons }))));
      deleted.push(...removals(decision));
    }
  }
  if (!options.dryRun)
    await deleteAll(
      deleted.map((d) => d.snapshot),
      context,
    );
  context.telemetry.info(options.dryRun ? 'prune planned' : 'pruned', {
    target: target.name,
    kept: kept.length,
    deleted: deleted.length,
  });
  if (!options.dryRun) context.telemetry.metric('SnapshotsPruned', deleted.length, 'Count', { Target: target.name });
  return { target: target.name, dryRun: options.dryRun, kept, deleted };
}

function removals(decision: RetentionDecision<SnapshotBackup>): PruneResult['deleted'][number][] {
  return decision.remove.flatMap(({ backup, reason }) => backup.snapshots.map((snapshot) => ({ snapshot, reason })));
}

/** Every snapshot in `region` that may be the target's (owned or not: filter with isOwnedBy). */
export async function listSnapshots(
  target: SnapshotTarget,
  region: string,
  context: Pick<FlowContext, 'ports'>,
): Promise<Snapshot[]> {
  switch (target.kind) {
    case 'rds-instance':
      return context.ports.rds(region).listTargetSnapshots(target.kind, target.name, target.source.instanceId);
    case 'rds-cluster':
      return context.ports.rds(region).listTargetSnapshots(target.kind, target.name, target.source.clusterId);
    case 'ebs-volume':
    case 'ec2-instance':
      return context.ports.ec2(region).listTargetSnapshots(target.name);
  }
}

/**
 * Retention applies per series: every volume or database has its own history, except an EC2 instance,
 * whose backup is the set of its volumes' snapshots taken together (one run id).
 */
function seriesOf(target: SnapshotTarget, snapshots: readonly Snapshot[]): SnapshotBackup[][] {
  if (target.kind === 'ec2-instance') {
    const runs = Map.groupBy(snapshots, (snapshot) => snapshot.tags[TAG.runId] ?? snapshot.id);
    return [[...runs].map(([runId, set]) => asBackup(runId, set))];
  }
  const bySource = Map.groupBy(snapshots, (snapshot) => snapshot.source);
  return [...bySource.values()].map((series) => series.map((snapshot) => asBackup(snapshot.id, [snapshot])));
}

function asBackup(id: string, snapshots: Snapshot[]): SnapshotBackup {
  const times = snapshots.map((s) => s.createdAt?.getTime() ?? 0);
  return { id, createdAt: new Date(Math.min(...times)), snapshots };
}

const byCreationDesc = (a: Snapshot, b: Snapshot) =>
  (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0) || a.id.localeCompare(b.id);

async function deleteAll(snapshots: readonly Snapshot[], context: FlowContext): Promise<void> {
  await mapWithConcurrency(snapshots, context.concurrency ?? 10, (snapshot) =>
    storeOf(context.ports, snapshot.kind, snapshot.region).delete(snapshot),
  );
}
