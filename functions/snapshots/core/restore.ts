/**
 * Restoring a target's snapshot into a NEW resource the user names (`--as`): an RDS instance, an Aurora
 * cluster plus its writer, an EBS volume, or every volume of one EC2 instance run. It never touches the
 * source (nothing here modifies, renames or deletes anything), refuses when the new name is taken, and
 * restores only snapshots Safekeep made for that target (isOwnedBy), in the region asked for: the target's
 * own, or its copy region, where the copy is encrypted with that region's key and the restore uses it.
 */

import type { SnapshotTarget } from '../../contracts/config/schema.ts';
import { SnapshotError, UsageError } from '../../contracts/errors.ts';
import { TAG } from '../../contracts/snapshot-naming.ts';
import type { DatabaseNetwork, RestoredResource, Snapshot, SnapshotPorts } from './ports.ts';
import { isOwnedBy, listSnapshots } from './prune.ts';

export interface RestoreOptions {
  /** A snapshot id (for an EC2 instance target: one of the run's snapshots, or the run id), or the newest. */
  readonly pick: { readonly snapshot: string } | 'latest';
  /** The new resource's identifier (RDS) or Name tag (EBS). */
  readonly as: string;
  /** Where new volumes go (EBS volume and EC2 instance targets). */
  readonly availabilityZone?: string;
  /** The new instance's class; by default the source's. */
  readonly instanceClass?: string;
  /** The restored database's subnet group and security groups (RDS only; the writer joins its cluster's). */
  readonly network?: DatabaseNetwork;
  /** Wait until everything restored is available, at most this long. */
  readonly waitMs?: number;
}

export interface RestoreContext {
  readonly ports: SnapshotPorts;
  /** The region to restore in (the snapshots are looked for there). */
  readonly region: string;
}

export interface RestoreOutcome {
  readonly target: string;
  readonly region: string;
  readonly runId: string;
  readonly snapshots: readonly Snapshot[];
  readonly restored: readonly RestoredResource[];
  readonly waited: boolean;
}

export async function restoreSnapshot(
  target: SnapshotTarget,
  options: RestoreOptions,
  context: RestoreContext,
): Promise<RestoreOutcome> {
  refuseBadOptions(target, options, context.region);
  const snapshots = await pickSnapshots(target, options, context);
  const runId = snapshots[0]?.tags[TAG.runId] ?? '';
  const tags = (snapshot: Snapshot) => ({ [TAG.target]: target.name, [TAG.restoredFrom]: snapshot.id });
  const { region } = context;
  const restored: RestoredResource[] = [];
  switch (target.kind) {
    case 'rds-instance': {
      const rds = context.ports.rds(region);
      refuseTaken(await rds.describeInstance(options.as), `an RDS instance "${options.as}"`, region);
      const snapshot = snapshots[0] as Snapshot;
      restored.push(
        await rds.restoreInstance(snapshot, {
          name: options.as,
          tags: tags(snapshot),
          instanceClass: options.instanceClass,
          network: options.network,
        }),
      );
      if (options.waitMs !== undefined) {
        await waitFor(`RDS instance "${options.as}"`, options.waitMs, () =>
          rds.waitUntilAvailable('rds-instance', options.as, options.waitMs as number),
        );
      }
      break;
    }
    case 'rds-cluster': {
      const rds = context.ports.rds(region);
      const writer = `${options.as}-writer`;
      refuseTaken(await rds.describeCluster(options.as), `an Aurora cluster "${options.as}"`, region);
      refuseTaken(await rds.describeInstance(writer), `an RDS instance "${writer}" (the new cluster's writer)`, region);
      // The writer's class: the flag, else the source writer's (when the source lives in this region).
      const instanceClass = options.instanceClass ?? (await rds.clusterWriterClass(target.source.clusterId));
      if (!instanceClass) {
        throw new UsageError(
          `cannot tell the writer class of Aurora cluster ${target.source.clusterId} in ${region}; pass --class (e.g. db.r6g.large or db.serverless)`,
        );
      }
      const snapshot = snapshots[0] as Snapshot;
      const cluster = await rds.restoreCluster(snapshot, { name: options.as, tags: tags(snapshot), network: options.network });
      restored.push(cluster);
      try {
        restored.push(
          await rds.createClusterInstance(options.as, {
            name: writer,
            tags: tags(snapshot),
            engine: cluster.engine,
            instanceClass,
          }),
        );
      } catch (error) {
        // The cluster stays: it is the restored data. Say how to finish rather than undo it.
        throw new SnapshotError(
          `restored Aurora cluster "${options.as}" but creating its writer "${writer}" failed (${(error as Error).message}); add an instance to the cluster in the RDS console, or delete the cluster`,
        );
      }
      if (options.waitMs !== undefined) {
        const waitMs = options.waitMs;
        await waitFor(`Aurora cluster "${options.as}"`, waitMs, () => rds.waitUntilAvailable('rds-cluster', options.as, waitMs));
        await waitFor(`writer "${writer}"`, waitMs, () => rds.waitUntilAvailable('rds-instance', writer, waitMs));
      }
      break;
    }
    case 'ebs-volume':
    case 'ec2-instance': {
      const ec2 = context.ports.ec2(region);
      const zone = options.availabilityZone as string; // checked by refuseBadOptions
      const taken = [
        ...(await ec2.volumesByTags({ Name: options.as })),
        ...(await ec2.volumesByTags({ [TAG.restoredAs]: options.as })),
      ];
      refuseTaken(taken[0] ? { id: taken[0] } : undefined, `an EBS volume named "${options.as}" (${taken[0]})`, region);
      // One volume: Name=<as>. An instance's volumes: <as>-<source volume>, so each says which disk it was.
      for (const snapshot of snapshots) {
        const name = target.kind === 'ebs-volume' ? options.as : `${options.as}-${snapshot.source}`;
        restored.push(
          await ec2.createVolumeFromSnapshot(snapshot, zone, {
            name,
            tags: { ...tags(snapshot), [TAG.restoredAs]: options.as },
          }),
        );
      }
      if (options.waitMs !== undefined) {
        const waitMs = options.waitMs;
        const ids = restored.map((r) => r.id);
        await waitFor(`volumes ${ids.join(', ')}`, waitMs, () => ec2.waitUntilVolumesAvailable(ids, waitMs));
      }
      break;
    }
  }
  return { target: target.name, region, runId, snapshots, restored, waited: options.waitMs !== undefined };
}

/** A waiter's timeout or failure, said as what it means: the restore was made, it is just not ready (yet). */
async function waitFor(what: string, waitMs: number, wait: () => Promise<void>): Promise<void> {
  try {
    await wait();
  } catch (error) {
    throw new SnapshotError(
      `restored ${what}, but it was not available within ${Math.round(waitMs / 1000)} s (${(error as Error).message.split('\n')[0]}); it exists and is yours: watch it in the console, or delete it`,
    );
  }
}

/** Mistakes in the options, before anything is looked up. */
function refuseBadOptions(target: SnapshotTarget, options: RestoreOptions, region: string): void {
  if (target.kind !== 'ebs-volume' && target.kind !== 'ec2-instance') {
    if (options.availabilityZone)
      throw new UsageError('--availability-zone applies to EBS restores; RDS picks the zone from --subnet-group');
    return;
  }
  if (options.instanceClass) throw new UsageError('--class applies to RDS restores, not EBS volumes');
  if (options.network) throw new UsageError('--subnet-group and --security-group-ids apply to RDS restores, not EBS volumes');
  const zone = options.availabilityZone;
  if (!zone) throw new UsageError(`restoring an EBS snapshot needs --availability-zone, e.g. ${region}a`);
  if (!zone.startsWith(region)) {
    throw new UsageError(`--availability-zone ${zone} is not in ${region}; pick one of ${region}'s zones, e.g. ${region}a`);
  }
}

function refuseTaken(existing: { id: string } | undefined, what: string, region: string): void {
  if (existing) throw new UsageError(`${what} already exists in ${region}; a restore never overwrites, so pick another --as`);
}

/** The snapshots to restore: one, or for an EC2 instance the whole run it belongs to. All available, all the target's. */
async function pickSnapshots(target: SnapshotTarget, options: RestoreOptions, context: RestoreContext): Promise<Snapshot[]> {
  const { region } = context;
  const owned = (await listSnapshots(target, region, context)).filter((s) => isOwnedBy(target.name, s));
  const available = owned.filter((s) => s.status === 'available');
  const list = `the ${target.kind.startsWith('rds') ? 'RDS' : 'EC2'} console's Snapshots page in ${region} lists them, tagged ${TAG.target}=${target.name}`;
  let chosen: Snapshot[];
  if (options.pick === 'latest') {
    // An EC2 instance's newest backup is its newest run whose every snapshot is available.
    const candidates =
      target.kind === 'ec2-instance'
        ? available.filter((s) => owned.every((o) => o.tags[TAG.runId] !== s.tags[TAG.runId] || o.status === 'available'))
        : available;
    const newest = [...candidates].sort(byCreationDesc)[0];
    if (!newest)
      throw new UsageError(
        `target "${target.name}" has no available Safekeep snapshot in ${region}; take one with safekeep snapshot`,
      );
    chosen = [newest];
  } else {
    const wanted = options.pick.snapshot;
    const match = owned.filter((s) => s.id === wanted || (target.kind === 'ec2-instance' && s.tags[TAG.runId] === wanted));
    if (match.length === 0) {
      throw new UsageError(
        `${wanted} is not a Safekeep snapshot of target "${target.name}" in ${region}; restore only the target's own snapshots (${list})`,
      );
    }
    const pending = match.find((s) => s.status !== 'available');
    if (pending)
      throw new UsageError(
        `snapshot ${pending.id} of target "${target.name}" is ${pending.status}, not available; wait for it or pick another`,
      );
    chosen = match;
  }
  if (target.kind === 'ec2-instance') {
    // An instance's backup is every volume of its run: restore them together, or not at all.
    const runId = chosen[0]?.tags[TAG.runId];
    const run = owned.filter((s) => s.tags[TAG.runId] === runId);
    const incomplete = run.find((s) => s.status !== 'available');
    if (incomplete)
      throw new UsageError(
        `run ${runId} of target "${target.name}" is incomplete (${incomplete.id} is ${incomplete.status}); pick another run`,
      );
    return run.sort((a, b) => a.source.localeCompare(b.source));
  }
  if (options.pick === 'latest' && target.kind === 'ebs-volume') {
    // A tag selector snapshots several volumes per run: "the newest" would be an arbitrary one of them.
    const runId = chosen[0]?.tags[TAG.runId];
    const volumes = new Set(available.filter((s) => s.tags[TAG.runId] === runId).map((s) => s.source));
    if (volumes.size > 1) {
      throw new UsageError(
        `the newest run of target "${target.name}" snapshotted ${volumes.size} volumes; pick one with --snapshot <snap-id> (${list})`,
      );
    }
  }
  return chosen;
}

/** Newest first; within one second (EC2's StartTime resolution), the later stamp in the Safekeep name wins. */
const byCreationDesc = (a: Snapshot, b: Snapshot) =>
  (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0) || nameOf(b).localeCompare(nameOf(a));
const nameOf = (s: Snapshot) => (s.kind === 'ebs' ? (s.tags.Name ?? s.id) : s.id);
