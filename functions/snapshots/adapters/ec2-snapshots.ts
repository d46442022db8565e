/** EBS volume and EC2 instance snapshots for the snapshot core. */
import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Snapshot as Ec2Snapshot,
  type Filter,
  paginateDescribeSnapshots,
  paginateDescribeVolumes,
  type SnapshotInfo,
  waitUntilVolumeAvailable,
} from '@aws-sdk/client-ec2';
import { partition } from '@aws-sdk/core/client';
import { build as buildArn } from '@aws-sdk/core/util';
import { TAG } from '../../contracts/snapshot-naming.ts';
import type { Ec2Port, Snapshot } from '../core/ports.ts';
import { fromTags, toTags } from './aws-tags.ts';

function status(state: string | undefined): Snapshot['status'] {
  if (state === 'completed') return 'available';
  if (state === 'error' || state === 'recoverable' || state === 'recovering') return 'failed';
  return 'pending';
}

/** EC2 snapshot ARNs carry no account; the partition is the region's (aws, aws-cn, aws-us-gov, ...). */
function snapshotArn(region: string, snapshotId: string | undefined): string {
  return buildArn({
    partition: partition(region).name,
    service: 'ec2',
    region,
    accountId: '',
    resource: `snapshot/${snapshotId ?? ''}`,
  });
}

function fromSnapshot(s: Ec2Snapshot | SnapshotInfo, region: string, fallbackTags: Record<string, string> = {}): Snapshot {
  return {
    kind: 'ebs',
    id: s.SnapshotId ?? '',
    arn: snapshotArn(region, s.SnapshotId),
    region,
    source: s.VolumeId ?? '',
    status: status(s.State),
    createdAt: s.StartTime,
    tags: s.Tags && s.Tags.length > 0 ? fromTags(s.Tags) : fallbackTags,
    encrypted: s.Encrypted ?? false,
    kmsKeyId: 'KmsKeyId' in s ? s.KmsKeyId : undefined,
  };
}

export function ec2Snapshots(client: EC2Client, region: string): Ec2Port {
  async function describe(Filters: Filter[], SnapshotIds?: string[]): Promise<Ec2Snapshot[]> {
    const out: Ec2Snapshot[] = [];
    // A listing is of our own snapshots, 1000 a page; a lookup by id names its snapshots and sets neither.
    const pages = paginateDescribeSnapshots(
      { client, pageSize: SnapshotIds ? undefined : 1000 },
      { OwnerIds: SnapshotIds ? undefined : ['self'], Filters: Filters.length > 0 ? Filters : undefined, SnapshotIds },
    );
    for await (const page of pages) out.push(...(page.Snapshots ?? []));
    return out;
  }

  return {
    region,
    async volumesByTags(tags) {
      const Filters = Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
      const ids: string[] = [];
      for await (const page of paginateDescribeVolumes({ client, pageSize: 500 }, { Filters })) {
        ids.push(...(page.Volumes ?? []).flatMap((v) => (v.VolumeId ? [v.VolumeId] : [])));
      }
      return ids;
    },
    async volumeExists(id) {
      try {
        return ((await client.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes ?? []).length > 0;
      } catch (error) {
        if ((error as Error).name === 'InvalidVolume.NotFound') return false;
        throw error;
      }
    },
    async instanceExists(id) {
      try {
        const reservations = (await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations ?? [];
        return reservations.some((r) => (r.Instances ?? []).some((i) => i.State?.Name !== 'terminated'));
      } catch (error) {
        if ((error as Error).name === 'InvalidInstanceID.NotFound' || (error as Error).name === 'InvalidInstanceID.Malformed')
          return false;
        throw error;
      }
    },
    async snapshotVolume(volumeId, request) {
      const tags = { Name: request.name, ...request.tags };
      const created = await client.send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          Description: request.name,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: toTags(tags) }],
        }),
      );
      return fromSnapshot({ ...created, VolumeId: created.VolumeId ?? volumeId }, region, tags);
    },
    async snapshotInstanceVolumes(instanceId, excludeBootVolume, request) {
      const tags = { Name: request.name, ...request.tags };
      const { Snapshots } = await client.send(
        new CreateSnapshotsCommand({
          InstanceSpecification: { InstanceId: instanceId, ExcludeBootVolume: excludeBootVolume },
          Description: request.name,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: toTags(tags) }],
        }),
      );
      return (Snapshots ?? []).map((s) => fromSnapshot(s, region, tags));
    },
    async refresh(snapshots) {
      const out: Snapshot[] = [];
      for (let i = 0; i < snapshots.length; i += 200) {
        const batch = snapshots.slice(i, i + 200);
        const found = new Map(
          (
            await describe(
              [],
              batch.map((s) => s.id),
            )
          ).map((s) => [s.SnapshotId, s]),
        );
        for (const snapshot of batch) {
          const current = found.get(snapshot.id);
          out.push(
            current
              ? { ...fromSnapshot(current, region, snapshot.tags), source: current.VolumeId || snapshot.source }
              : { ...snapshot, status: 'failed' },
          );
        }
      }
      return out;
    },
    async listTargetSnapshots(target) {
      return (await describe([{ Name: `tag:${TAG.target}`, Values: [target] }])).map((s) => fromSnapshot(s, region));
    },
    async delete(snapshot) {
      await client.send(new DeleteSnapshotCommand({ SnapshotId: snapshot.id }));
    },
    async copyFrom(snapshot, request) {
      const tags = { Name: request.name, ...request.tags };
      // Encrypted + KmsKeyId: the copy is (re-)encrypted with the target's customer key, whatever the source used.
      const { SnapshotId } = await client.send(
        new CopySnapshotCommand({
          SourceRegion: snapshot.region,
          SourceSnapshotId: snapshot.id,
          Encrypted: true,
          KmsKeyId: request.kmsKeyArn,
          Description: request.name,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: toTags(tags) }],
        }),
      );
      return {
        ...snapshot,
        id: SnapshotId ?? '',
        arn: snapshotArn(region, SnapshotId),
        region,
        status: 'pending',
        tags,
        encrypted: true,
        kmsKeyId: request.kmsKeyArn,
      };
    },
    async createVolumeFromSnapshot(snapshot, availabilityZone, request) {
      // Only our tags: the source volume's (a tag selector's) would make the new volume part of the next backup.
      const created = await client.send(
        new CreateVolumeCommand({
          SnapshotId: snapshot.id,
          AvailabilityZone: availabilityZone,
          VolumeType: request.volumeType,
          // The snapshot's own key, named so a copy restores with its region's key, never the account default.
          ...(snapshot.encrypted ? { Encrypted: true, KmsKeyId: snapshot.kmsKeyId } : {}),
          TagSpecifications: [{ ResourceType: 'volume', Tags: toTags({ Name: request.name, ...request.tags }) }],
        }),
      );
      return {
        kind: 'ebs-volume',
        id: created.VolumeId ?? '',
        region,
        status: created.State ?? 'creating',
        snapshotId: snapshot.id,
      };
    },
    async waitUntilVolumesAvailable(volumeIds, timeoutMs) {
      if (volumeIds.length === 0) return;
      const waiter = { client, maxWaitTime: Math.max(1, Math.ceil(timeoutMs / 1000)), minDelay: 5 };
      await waitUntilVolumeAvailable(waiter, { VolumeIds: [...volumeIds] });
    },
    async copiesInProgress() {
      return (
        await describe([
          { Name: 'status', Values: ['pending'] },
          { Name: 'tag-key', Values: [TAG.copyOf] },
        ])
      ).length;
    },
  };
}
