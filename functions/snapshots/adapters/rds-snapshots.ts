/** RDS instance and Aurora cluster snapshots for the snapshot core. */
import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  type DBClusterSnapshot,
  type DBSnapshot,
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeAccountAttributesCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBSnapshots,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type Tag,
  waitUntilDBClusterAvailable,
  waitUntilDBInstanceAvailable,
} from '@aws-sdk/client-rds';
import { SnapshotError } from '../../contracts/errors.ts';
import { TAG } from '../../contracts/snapshot-naming.ts';
import { mapWithConcurrency } from '../../platform/concurrency.ts';
import type { RdsPort, Snapshot } from '../core/ports.ts';
import { fromTags, toTags } from './aws-tags.ts';

function status(value: string | undefined): Snapshot['status'] {
  if (value === 'available') return 'available';
  if (value && /fail|error|incompatible/.test(value)) return 'failed';
  return 'pending';
}

function fromInstanceSnapshot(s: DBSnapshot, region: string): Snapshot {
  return {
    kind: 'rds-instance',
    id: s.DBSnapshotIdentifier ?? '',
    arn: s.DBSnapshotArn ?? '',
    region,
    source: s.DBInstanceIdentifier ?? '',
    status: status(s.Status),
    createdAt: s.SnapshotCreateTime,
    tags: fromTags(s.TagList),
    encrypted: s.Encrypted ?? false,
    kmsKeyId: s.KmsKeyId,
  };
}

function fromClusterSnapshot(s: DBClusterSnapshot, region: string): Snapshot {
  return {
    kind: 'rds-cluster',
    id: s.DBClusterSnapshotIdentifier ?? '',
    arn: s.DBClusterSnapshotArn ?? '',
    region,
    source: s.DBClusterIdentifier ?? '',
    status: status(s.Status),
    createdAt: s.SnapshotCreateTime,
    tags: fromTags(s.TagList),
    encrypted: s.StorageEncrypted ?? false,
    kmsKeyId: s.KmsKeyId,
  };
}

/** Service errors that mean "you hit the wall", turned into what to do about it. */
function explain(error: unknown, what: string, region: string): never {
  const name = (error as Error).name;
  if (name === 'SnapshotQuotaExceededFault' || name === 'SnapshotQuotaExceeded') {
    throw new SnapshotError(
      `${what} failed: the RDS manual snapshot quota in ${region} is used up; tighten retention or request a quota increase`,
    );
  }
  if (name === 'InvalidDBInstanceStateFault' || name === 'InvalidDBInstanceState' || name === 'InvalidDBClusterStateFault') {
    throw new SnapshotError(
      `${what} failed: the database is not in a state that allows snapshots (${(error as Error).message}); retry once it is available`,
    );
  }
  throw error;
}

export function rdsSnapshots(client: RDSClient, region: string, quotaClient: RDSClient = client): RdsPort {
  let quota: { at: number; value: { used: number; max: number } | undefined } | undefined;
  async function allInstanceSnapshots(DBInstanceIdentifier?: string): Promise<DBSnapshot[]> {
    const out: DBSnapshot[] = [];
    for await (const page of paginateDescribeDBSnapshots(
      { client, pageSize: 100 },
      { SnapshotType: 'manual', DBInstanceIdentifier },
    )) {
      out.push(...(page.DBSnapshots ?? []));
    }
    return out;
  }
  async function allClusterSnapshots(DBClusterIdentifier?: string): Promise<DBClusterSnapshot[]> {
    const out: DBClusterSnapshot[] = [];
    for await (const page of paginateDescribeDBClusterSnapshots(
      { client, pageSize: 100 },
      { SnapshotType: 'manual', DBClusterIdentifier },
    )) {
      out.push(...(page.DBClusterSnapshots ?? []));
    }
    return out;
  }

  return {
    region,
    async describeInstance(id) {
      try {
        const [instance] = (await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances ?? [];
        return instance ? { id, arn: instance.DBInstanceArn ?? '', status: instance.DBInstanceStatus ?? 'unknown' } : undefined;
      } catch (error) {
        if ((error as Error).name.startsWith('DBInstanceNotFound')) return undefined;
        throw error;
      }
    },
    async describeCluster(id) {
      try {
        const [cluster] = (await client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters ?? [];
        return cluster ? { id, arn: cluster.DBClusterArn ?? '', status: cluster.Status ?? 'unknown' } : undefined;
      } catch (error) {
        if ((error as Error).name.startsWith('DBClusterNotFound')) return undefined;
        throw error;
      }
    },
    async snapshotInstance(instanceId, request) {
      try {
        const { DBSnapshot: created } = await client.send(
          new CreateDBSnapshotCommand({
            DBInstanceIdentifier: instanceId,
            DBSnapshotIdentifier: request.name,
            Tags: toTags(request.tags),
          }),
        );
        return fromInstanceSnapshot({ TagList: toTags(request.tags), ...created }, region);
      } catch (error) {
        explain(error, `snapshotting RDS instance ${instanceId}`, region);
      }
    },
    async snapshotCluster(clusterId, request) {
      try {
        const { DBClusterSnapshot: created } = await client.send(
          new CreateDBClusterSnapshotCommand({
            DBClusterIdentifier: clusterId,
            DBClusterSnapshotIdentifier: request.name,
            Tags: toTags(request.tags),
          }),
        );
        return fromClusterSnapshot({ TagList: toTags(request.tags), ...created }, region);
      } catch (error) {
        explain(error, `snapshotting Aurora cluster ${clusterId}`, region);
      }
    },
    async refresh(snapshots) {
      return mapWithConcurrency(snapshots, 5, async (snapshot) => {
        if (snapshot.kind === 'rds-cluster') {
          const [found] =
            (await client.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: snapshot.id })))
              .DBClusterSnapshots ?? [];
          return found
            ? { ...fromClusterSnapshot(found, region), tags: snapshot.tags }
            : { ...snapshot, status: 'failed' as const };
        }
        const [found] =
          (await client.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshot.id }))).DBSnapshots ?? [];
        return found
          ? { ...fromInstanceSnapshot(found, region), tags: snapshot.tags }
          : { ...snapshot, status: 'failed' as const };
      });
    },
    async listTargetSnapshots(kind, target, sourceId) {
      // Scoped to the source server-side: one page per database, not the region's whole list per target.
      const all =
        kind === 'rds-cluster'
          ? (await allClusterSnapshots(sourceId)).map((s) => fromClusterSnapshot(s, region))
          : (await allInstanceSnapshots(sourceId)).map((s) => fromInstanceSnapshot(s, region));
      return all.filter((snapshot) => snapshot.tags[TAG.target] === target);
    },
    async delete(snapshot) {
      if (snapshot.kind === 'rds-cluster') {
        await client.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshot.id }));
      } else {
        await client.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshot.id }));
      }
    },
    async copyFrom(snapshot, request) {
      const common = { KmsKeyId: request.kmsKeyArn, SourceRegion: snapshot.region, Tags: toTags(request.tags) };
      if (snapshot.kind === 'rds-cluster') {
        const { DBClusterSnapshot: copy } = await client.send(
          new CopyDBClusterSnapshotCommand({
            SourceDBClusterSnapshotIdentifier: snapshot.arn,
            TargetDBClusterSnapshotIdentifier: request.name,
            ...common,
          }),
        );
        return fromClusterSnapshot({ TagList: common.Tags, ...copy }, region);
      }
      const { DBSnapshot: copy } = await client.send(
        new CopyDBSnapshotCommand({
          SourceDBSnapshotIdentifier: snapshot.arn,
          TargetDBSnapshotIdentifier: request.name,
          ...common,
        }),
      );
      return fromInstanceSnapshot({ TagList: common.Tags, ...copy }, region);
    },
    async copiesInProgress() {
      const [instances, clusters] = await Promise.all([allInstanceSnapshots(), allClusterSnapshots()]);
      const copying = (s: { Status?: string; TagList?: Tag[] }) =>
        s.Status !== 'available' && (s.TagList ?? []).some((t) => t.Key === TAG.copyOf);
      return instances.filter(copying).length + clusters.filter(copying).length;
    },
    async clusterWriterClass(clusterId) {
      try {
        const [cluster] = (await client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterId }))).DBClusters ?? [];
        const writer = cluster?.DBClusterMembers?.find((m) => m.IsClusterWriter)?.DBInstanceIdentifier;
        if (!writer) return undefined;
        const [instance] =
          (await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: writer }))).DBInstances ?? [];
        return instance?.DBInstanceClass;
      } catch (error) {
        if ((error as Error).name.startsWith('DBClusterNotFound') || (error as Error).name.startsWith('DBInstanceNotFound'))
          return undefined;
        throw error;
      }
    },
    async restoreInstance(snapshot, request) {
      // No KmsKeyId: RDS restores an encrypted snapshot with the key it is encrypted with (a copy's: its region's).
      const { DBInstance: created } = await client.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: request.name,
          DBSnapshotIdentifier: snapshot.id,
          DBInstanceClass: request.instanceClass,
          ...networkOf(request),
          Tags: toTags(request.tags),
        }),
      );
      return {
        kind: 'rds-instance',
        id: created?.DBInstanceIdentifier ?? request.name,
        region,
        status: created?.DBInstanceStatus ?? 'creating',
        snapshotId: snapshot.id,
      };
    },
    async restoreCluster(snapshot, request) {
      const [source] =
        (await client.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: snapshot.id })))
          .DBClusterSnapshots ?? [];
      const engine = source?.Engine;
      if (!engine)
        throw new SnapshotError(`Aurora cluster snapshot ${snapshot.id} in ${region} names no engine; it cannot be restored`);
      const { DBCluster: created } = await client.send(
        new RestoreDBClusterFromSnapshotCommand({
          DBClusterIdentifier: request.name,
          SnapshotIdentifier: snapshot.id,
          Engine: engine,
          EngineVersion: source.EngineVersion,
          // The snapshot's own key, named so a copy restores with its region's key, never a default one.
          KmsKeyId: snapshot.encrypted ? snapshot.kmsKeyId : undefined,
          ...networkOf(request),
          Tags: toTags(request.tags),
        }),
      );
      return {
        kind: 'rds-cluster',
        id: created?.DBClusterIdentifier ?? request.name,
        region,
        status: created?.Status ?? 'creating',
        snapshotId: snapshot.id,
        engine,
      };
    },
    async createClusterInstance(clusterId, request) {
      const { DBInstance: created } = await client.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: request.name,
          DBClusterIdentifier: clusterId,
          Engine: request.engine,
          DBInstanceClass: request.instanceClass,
          Tags: toTags(request.tags),
        }),
      );
      return {
        kind: 'rds-instance',
        id: created?.DBInstanceIdentifier ?? request.name,
        region,
        status: created?.DBInstanceStatus ?? 'creating',
        snapshotId: request.tags[TAG.restoredFrom] ?? '',
      };
    },
    async waitUntilAvailable(kind, id, timeoutMs) {
      const waiter = { client, maxWaitTime: Math.max(1, Math.ceil(timeoutMs / 1000)), minDelay: 5 };
      if (kind === 'rds-cluster') await waitUntilDBClusterAvailable(waiter, { DBClusterIdentifier: id });
      else await waitUntilDBInstanceAvailable(waiter, { DBInstanceIdentifier: id });
    },
    async manualSnapshotQuota() {
      // One lookup a minute is plenty: every target of a fleet run would otherwise ask again.
      if (quota && Date.now() - quota.at < 60_000) return quota.value;
      let value: { used: number; max: number } | undefined;
      try {
        const { AccountQuotas } = await quotaClient.send(new DescribeAccountAttributesCommand({}));
        const found = AccountQuotas?.find((q) => q.AccountQuotaName === 'ManualSnapshots');
        value = found?.Max ? { used: found.Used ?? 0, max: found.Max } : undefined;
      } catch {
        // Not every endpoint answers (moto does not); the create call still fails clearly at the wall.
        value = undefined;
      }
      quota = { at: Date.now(), value };
      return value;
    },
  };
}

/** Where a restored instance or cluster goes: the subnet group and security groups asked for, if any. */
function networkOf(request: { network?: { subnetGroup?: string; securityGroupIds?: readonly string[] } }) {
  return {
    DBSubnetGroupName: request.network?.subnetGroup,
    VpcSecurityGroupIds: request.network?.securityGroupIds ? [...request.network.securityGroupIds] : undefined,
  };
}
