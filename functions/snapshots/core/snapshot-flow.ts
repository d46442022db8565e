/**
 * The snapshot flow of one target, as steps the state machine (or the CLI's local loop) calls in turn:
 *
 *   start -> check (until nothing is pending) -> copy (when configured; as slots allow) -> check copies -> prune
 *
 * Each step is a pure function of its input, the ports and a clock, so a Lambda can run it and return;
 * waiting happens between steps (Step Functions' Wait state), never inside one.
 */

import type { SnapshotTarget } from '../../contracts/config/schema.ts';
import { SnapshotError } from '../../contracts/errors.ts';
import { snapshotName, snapshotTags, TAG } from '../../contracts/snapshot-naming.ts';
import type { Telemetry } from '../../contracts/telemetry.ts';
import { mapWithConcurrency } from '../../platform/concurrency.ts';
import { type Snapshot, type SnapshotPorts, serviceOf, storeOf } from './ports.ts';

/** AWS's limits on concurrent snapshot copies into one destination region, per service (EC2: EBS snapshots). */
export const COPY_LIMITS = { rds: 20, ec2: 20 } as const;
/** Share of the manual-snapshot quota at which a warning metric fires. */
export const QUOTA_WARNING_PERCENT = 80;

export interface FlowContext {
  readonly ports: SnapshotPorts;
  /** The region the target's resources live in. */
  readonly region: string;
  readonly now: () => Date;
  readonly telemetry: Telemetry;
  /** Volumes snapshotted at once for tag selectors. */
  readonly concurrency?: number;
  /** The deployment's stack, tagged on every snapshot (IAM lets prune delete only its own stack's). */
  readonly stack?: string;
}

export interface StartedRun {
  readonly target: string;
  readonly runId: string;
  readonly startedAt: string;
  readonly snapshots: readonly Snapshot[];
}

export async function startSnapshots(target: SnapshotTarget, runId: string, context: FlowContext): Promise<StartedRun> {
  const startedAt = context.now();
  const tags = snapshotTags(target.name, runId, context.stack);
  const name = snapshotName(target.name, startedAt);
  const snapshots = await takeSnapshots(target, name, tags, context);
  context.telemetry.info('snapshots started', { target: target.name, runId, count: snapshots.length });
  return { target: target.name, runId, startedAt: startedAt.toISOString(), snapshots };
}

async function takeSnapshots(
  target: SnapshotTarget,
  name: string,
  tags: Record<string, string>,
  context: FlowContext,
): Promise<Snapshot[]> {
  const { ports, region } = context;
  switch (target.kind) {
    case 'rds-instance': {
      const rds = ports.rds(region);
      const instance = await rds.describeInstance(target.source.instanceId);
      assertSnapshottable('RDS instance', target.source.instanceId, instance?.status, region);
      await checkQuota(target.name, context);
      return [await rds.snapshotInstance(target.source.instanceId, { name, tags })];
    }
    case 'rds-cluster': {
      const rds = ports.rds(region);
      const cluster = await rds.describeCluster(target.source.clusterId);
      assertSnapshottable('Aurora cluster', target.source.clusterId, cluster?.status, region);
      await checkQuota(target.name, context);
      return [await rds.snapshotCluster(target.source.clusterId, { name, tags })];
    }
    case 'ebs-volume': {
      const ec2 = ports.ec2(region);
      const volumes = target.source.volumeId ? [target.source.volumeId] : await ec2.volumesByTags(target.source.tags ?? {});
      if (target.source.volumeId && !(await ec2.volumeExists(target.source.volumeId))) {
        throw new SnapshotError(
          `EBS volume ${target.source.volumeId} of target "${target.name}" does not exist in ${region}; fix source.volumeId`,
        );
      }
      if (volumes.length === 0) {
        throw new SnapshotError(
          `no EBS volume in ${region} carries all of ${JSON.stringify(target.source.tags)} (target "${target.name}"); check source.tags`,
        );
      }
      return mapWithConcurrency(volumes, context.concurrency ?? 10, (volume) =>
        ec2.snapshotVolume(volume, { name: `${name}-${volume}`, tags }),
      );
    }
    case 'ec2-instance': {
      const ec2 = ports.ec2(region);
      if (!(await ec2.instanceExists(target.source.instanceId))) {
        throw new SnapshotError(
          `EC2 instance ${target.source.instanceId} of target "${target.name}" does not exist in ${region}; fix source.instanceId`,
        );
      }
      // One CreateSnapshots call: every volume at the same instant (crash-consistent).
      return ec2.snapshotInstanceVolumes(target.source.instanceId, target.source.excludeBootVolume, { name, tags });
    }
  }
}

/** A database that is stopped, modifying or missing is a failure to alert on, never a silent skip. */
function assertSnapshottable(what: string, id: string, status: string | undefined, region: string): void {
  if (status === undefined) throw new SnapshotError(`${what} ${id} does not exist in ${region}; fix the target's source`);
  if (status !== 'available') {
    throw new SnapshotError(
      `${what} ${id} is ${status}, not available, so it cannot be snapshotted now; start it or wait for the change to finish`,
    );
  }
}

/** RDS allows 100 manual snapshots per region by default: warn before the wall, fail clearly at it. */
async function checkQuota(target: string, context: FlowContext): Promise<void> {
  const quota = await context.ports.rds(context.region).manualSnapshotQuota();
  if (!quota) return;
  const percent = (100 * quota.used) / quota.max;
  context.telemetry.metric('ManualSnapshotQuotaUsedPercent', percent, 'Percent', { Region: context.region });
  if (quota.used >= quota.max) {
    throw new SnapshotError(
      `the RDS manual snapshot quota in ${context.region} is used up (${quota.used} of ${quota.max}); tighten retention, delete old snapshots, or request a quota increase`,
    );
  }
  if (percent >= QUOTA_WARNING_PERCENT) {
    context.telemetry.warn('RDS manual snapshot quota nearly used up', {
      target,
      region: context.region,
      used: quota.used,
      max: quota.max,
    });
  }
}

export interface CheckResult {
  readonly state: 'pending' | 'complete' | 'failed';
  readonly snapshots: readonly Snapshot[];
}

/** Refreshes the snapshots of a run: complete when all are available, failed when any failed. */
export async function checkSnapshots(snapshots: readonly Snapshot[], context: Pick<FlowContext, 'ports'>): Promise<CheckResult> {
  const refreshed: Snapshot[] = [];
  for (const group of Map.groupBy(snapshots, (s) => `${s.region}|${serviceOf(s.kind)}`).values()) {
    const { kind, region } = group[0] as Snapshot; // groupBy makes no empty group
    refreshed.push(...(await storeOf(context.ports, kind, region).refresh(group)));
  }
  const state = refreshed.some((s) => s.status === 'failed')
    ? 'failed'
    : refreshed.some((s) => s.status === 'pending')
      ? 'pending'
      : 'complete';
  return { state, snapshots: refreshed };
}

export interface CopyProgress {
  /** Copies started so far (in the destination region). */
  readonly copies: readonly Snapshot[];
  /** Source snapshots still waiting for a free copy slot. */
  readonly waiting: readonly Snapshot[];
}

/**
 * Starts cross-region copies of completed snapshots, at most as many as the destination region has free
 * copy slots (AWS allows 20 concurrent copies per destination region). What does not fit waits for the
 * next call. The destination key is checked first: a missing key is a clear error, not a failed copy.
 */
export async function startCopies(target: SnapshotTarget, progress: CopyProgress, context: FlowContext): Promise<CopyProgress> {
  if (!target.copy) return { copies: [], waiting: [] };
  const { region: destination, kmsKeyArn } = target.copy;
  if (!(await context.ports.kms(destination).keyUsable(kmsKeyArn))) {
    throw new SnapshotError(
      `the copy key ${kmsKeyArn} of target "${target.name}" does not exist or is disabled in ${destination}; create it there or fix copy.kmsKeyArn`,
    );
  }
  const copies = [...progress.copies];
  const waiting: Snapshot[] = [];
  // Free slots per service in the destination, asked for once, when the first snapshot needs one.
  const slots = new Map<keyof typeof COPY_LIMITS, number>();
  for (const snapshot of progress.waiting) {
    const service = serviceOf(snapshot.kind);
    const store = storeOf(context.ports, snapshot.kind, destination);
    const free = slots.get(service) ?? Math.max(0, COPY_LIMITS[service] - (await store.copiesInProgress()));
    slots.set(service, Math.max(0, free - 1));
    if (free === 0) {
      waiting.push(snapshot);
      continue;
    }
    const request = {
      // RDS copies keep the identifier (it is unique per region); EBS snapshots are named by tag.
      name: snapshot.kind === 'ebs' ? (snapshot.tags.Name ?? snapshot.id) : snapshot.id,
      tags: { ...snapshot.tags, [TAG.copyOf]: snapshot.arn },
      kmsKeyArn,
    };
    copies.push(await store.copyFrom(snapshot, request));
  }
  if (waiting.length > 0) {
    context.telemetry.info('copy slots full in the destination region; waiting', {
      target: target.name,
      destination,
      waiting: waiting.length,
    });
  }
  return { copies, waiting };
}

export interface RunOutcome {
  readonly started: StartedRun;
  readonly snapshots: readonly Snapshot[];
  readonly copies: readonly Snapshot[];
  readonly state: 'complete' | 'failed';
}

export interface LoopOptions {
  readonly pollMs: number;
  readonly timeoutMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * The whole flow in one process, the way the state machine runs it across Lambda invocations: start,
 * check until done, copy as slots allow, check the copies. Used by `safekeep snapshot` and the fleet tests.
 */
export async function runSnapshotFlow(
  target: SnapshotTarget,
  runId: string,
  context: FlowContext,
  loop: LoopOptions,
): Promise<RunOutcome> {
  const deadline = context.now().getTime() + loop.timeoutMs;
  const waitUntilSettled = async (snapshots: readonly Snapshot[], what: string): Promise<CheckResult> => {
    for (;;) {
      const checked = await checkSnapshots(snapshots, context);
      if (checked.state !== 'pending') return checked;
      if (context.now().getTime() > deadline) {
        throw new SnapshotError(
          `${what} of target "${target.name}" still pending after ${Math.round(loop.timeoutMs / 1000)} s; check them in the console`,
        );
      }
      await loop.sleep(loop.pollMs);
    }
  };
  const started = await startSnapshots(target, runId, context);
  const taken = await waitUntilSettled(started.snapshots, 'snapshots');
  if (taken.state === 'failed') return { started, snapshots: taken.snapshots, copies: [], state: 'failed' };
  let progress: CopyProgress = { copies: [], waiting: target.copy ? taken.snapshots : [] };
  while (progress.waiting.length > 0) {
    progress = await startCopies(target, progress, context);
    if (progress.waiting.length > 0) await loop.sleep(loop.pollMs);
  }
  const copied =
    progress.copies.length > 0
      ? await waitUntilSettled(progress.copies, 'copies')
      : { state: 'complete' as const, snapshots: [] };
  return {
    started,
    snapshots: taken.snapshots,
    copies: copied.snapshots,
    state: copied.state === 'failed' ? 'failed' : 'complete',
  };
}
