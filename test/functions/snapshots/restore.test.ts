import {
  AttachVolumeCommand,
  CreateSecurityGroupCommand,
  CreateSnapshotCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import type { SnapshotTarget } from '#functions/contracts/config/schema.ts';
import { awsSnapshotPorts } from '#functions/snapshots/adapters/aws-clients.ts';
import type { Ec2Port, Snapshot, SnapshotPorts } from '#functions/snapshots/core/ports.ts';
import { restoreSnapshot } from '#functions/snapshots/core/restore.ts';
import { type FlowContext, runSnapshotFlow } from '#functions/snapshots/core/snapshot-flow.ts';
import { MOTO_CREDENTIALS } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import {
  createClusters,
  createInstances,
  createVolumes,
  motoClients,
  recordingTelemetry,
  snapshotTargets,
} from '#test/support/snapshots.ts';

const moto = await peer('moto');
const REGION = 'ap-southeast-2';
const COPY_REGION = 'ap-southeast-4';
const loop = { pollMs: 10, timeoutMs: 30_000, sleep: async () => {} };
const tagsOf = (tags: readonly { Key?: string; Value?: string }[] | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

describe.skipIf(!moto)('restores from snapshots (moto)', () => {
  const endpoint = (moto as NonNullable<typeof moto>).endpoint;
  const ports = awsSnapshotPorts({ endpointUrl: endpoint });
  const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  /** Two runs a day apart, so --latest and --snapshot pick different snapshots. */
  const twoRuns = async (target: SnapshotTarget) => {
    const runs = [];
    for (const [i, at] of ['2026-11-20T03:00:00Z', '2026-11-21T03:00:00Z'].entries()) {
      const context: FlowContext = { ports, region: REGION, now: () => new Date(at), telemetry: recordingTelemetry().telemetry };
      runs.push(await runSnapshotFlow(target, `2026112${i}T030000Z-rst00${i}`, context, loop));
    }
    return runs.map((run) => run.snapshots);
  };
  const context = { ports, region: REGION };

  it('restores an RDS instance from the newest and from a named snapshot, leaving the source alone', async () => {
    // Prepare
    const { rds } = motoClients(endpoint, REGION);
    const source = `rst-db-${unique()}`;
    await createInstances(rds, [source]);
    const [target] = snapshotTargets([{ name: source, kind: 'rds-instance', source: { instanceId: source } }]) as [
      SnapshotTarget,
    ];
    const [older, newer] = await twoRuns(target);
    const before = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: source }))).DBInstances?.[0];

    // Act
    const latest = await restoreSnapshot(target, { pick: 'latest', as: `${source}-latest`, waitMs: 30_000 }, context);
    const named = await restoreSnapshot(target, { pick: { snapshot: older?.[0]?.id ?? '' }, as: `${source}-named` }, context);

    // Assess
    expect(latest.restored).toEqual([
      expect.objectContaining({ kind: 'rds-instance', id: `${source}-latest`, snapshotId: newer?.[0]?.id }),
    ]);
    expect(named.restored[0]?.snapshotId).toBe(older?.[0]?.id);
    const [restored] =
      (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${source}-latest` }))).DBInstances ?? [];
    expect(restored?.DBInstanceClass).toBe('db.t4g.micro');
    expect(tagsOf(restored?.TagList)).toEqual({ 'safekeep:target': source, 'safekeep:restored-from': newer?.[0]?.id });
    const after = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: source }))).DBInstances?.[0];
    const identity = (i: typeof before) => [
      i?.DBInstanceIdentifier,
      i?.DBInstanceStatus,
      i?.DBInstanceClass,
      i?.Endpoint,
      i?.TagList,
    ];
    expect(identity(after)).toEqual(identity(before));
  });

  it('refuses an identifier that exists (the source included) and a snapshot that is not the target own', async () => {
    const { rds } = motoClients(endpoint, REGION);
    const [source, other] = [`rst-own-${unique()}`, `rst-other-${unique()}`];
    await createInstances(rds, [source, other]);
    const [target, otherTarget] = snapshotTargets([
      { name: source, kind: 'rds-instance', source: { instanceId: source } },
      { name: other, kind: 'rds-instance', source: { instanceId: other } },
    ]) as [SnapshotTarget, SnapshotTarget];
    await twoRuns(target);
    const othersSnapshot = (await twoRuns(otherTarget))[0]?.[0];
    // A manual snapshot of the same instance, by the user: not Safekeep's, so never picked.
    await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: source, DBSnapshotIdentifier: `${source}-by-hand` }));

    await expect(restoreSnapshot(target, { pick: 'latest', as: source }, context)).rejects.toThrow(
      `an RDS instance "${source}" already exists in ${REGION}; a restore never overwrites, so pick another --as`,
    );
    await expect(restoreSnapshot(target, { pick: 'latest', as: other }, context)).rejects.toThrow(/already exists/);
    await expect(
      restoreSnapshot(target, { pick: { snapshot: `${source}-by-hand` }, as: `${source}-x` }, context),
    ).rejects.toThrow(
      `${source}-by-hand is not a Safekeep snapshot of target "${source}" in ${REGION}; restore only the target's own snapshots`,
    );
    await expect(
      restoreSnapshot(target, { pick: { snapshot: othersSnapshot?.id ?? '' }, as: `${source}-y` }, context),
    ).rejects.toThrow(/is not a Safekeep snapshot of target/);
    expect(
      (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${source}-x` })).catch((e) => e)).name,
    ).toMatch(/DBInstanceNotFound/);
  });

  it('restores an Aurora cluster plus its writer, with the source writer class', async () => {
    const { rds } = motoClients(endpoint, REGION);
    const source = `rst-aurora-${unique()}`;
    await createClusters(rds, [source]);
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: `${source}-1`,
        DBClusterIdentifier: source,
        Engine: 'aurora-postgresql',
        DBInstanceClass: 'db.r6g.large',
      }),
    );
    const [target] = snapshotTargets([{ name: source, kind: 'rds-cluster', source: { clusterId: source } }]) as [SnapshotTarget];
    const [older, newer] = await twoRuns(target);

    const latest = await restoreSnapshot(target, { pick: 'latest', as: `${source}-latest`, waitMs: 30_000 }, context);
    await restoreSnapshot(
      target,
      { pick: { snapshot: older?.[0]?.id ?? '' }, as: `${source}-named`, instanceClass: 'db.serverless' },
      context,
    );

    expect(latest.restored.map((r) => [r.kind, r.id, r.snapshotId])).toEqual([
      ['rds-cluster', `${source}-latest`, newer?.[0]?.id],
      ['rds-instance', `${source}-latest-writer`, newer?.[0]?.id],
    ]);
    const [cluster] =
      (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: `${source}-latest` }))).DBClusters ?? [];
    expect(cluster?.Engine).toBe('aurora-postgresql');
    expect(tagsOf(cluster?.TagList)).toEqual({ 'safekeep:target': source, 'safekeep:restored-from': newer?.[0]?.id });
    expect(cluster?.DBClusterMembers).toEqual([
      expect.objectContaining({ DBInstanceIdentifier: `${source}-latest-writer`, IsClusterWriter: true }),
    ]);
    const [writer] =
      (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${source}-latest-writer` }))).DBInstances ?? [];
    expect(writer?.DBInstanceClass).toBe('db.r6g.large');
    const [named] =
      (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${source}-named-writer` }))).DBInstances ?? [];
    expect(named?.DBInstanceClass).toBe('db.serverless');
    const [untouched] = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: source }))).DBClusters ?? [];
    expect(untouched?.DBClusterMembers?.map((m) => m.DBInstanceIdentifier)).toEqual([`${source}-1`]);
    await expect(restoreSnapshot(target, { pick: 'latest', as: `${source}-latest` }, context)).rejects.toThrow(
      `an Aurora cluster "${source}-latest" already exists in ${REGION}`,
    );
  });

  it('asks for --class when the source cluster has no writer to copy it from', async () => {
    const { rds } = motoClients(endpoint, REGION);
    const source = `rst-nowriter-${unique()}`;
    await createClusters(rds, [source]);
    const [target] = snapshotTargets([{ name: source, kind: 'rds-cluster', source: { clusterId: source } }]) as [SnapshotTarget];
    await twoRuns(target);
    await expect(restoreSnapshot(target, { pick: 'latest', as: `${source}-r` }, context)).rejects.toThrow(
      `cannot tell the writer class of Aurora cluster ${source} in ${REGION}; pass --class`,
    );
    expect((await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: `${source}-r` })).catch((e) => e)).name).toMatch(
      /NotFound/,
    );
  });

  it('restores an EBS volume into the given zone, and refuses a taken name and a foreign snapshot', async () => {
    const { ec2 } = motoClients(endpoint, REGION);
    const name = `rst-vol-${unique()}`;
    const [volume] = await createVolumes(ec2, REGION, 1, { app: name });
    const [target] = snapshotTargets([{ name, kind: 'ebs-volume', source: { volumeId: volume } }]) as [SnapshotTarget];
    const [older, newer] = await twoRuns(target);
    const zone = `${REGION}b`;

    const latest = await restoreSnapshot(
      target,
      { pick: 'latest', as: `${name}-latest`, availabilityZone: zone, waitMs: 30_000 },
      context,
    );
    const named = await restoreSnapshot(
      target,
      { pick: { snapshot: older?.[0]?.id ?? '' }, as: `${name}-named`, availabilityZone: zone },
      context,
    );

    const [restored] = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [latest.restored[0]?.id ?? ''] }))).Volumes ?? [];
    expect(restored).toMatchObject({ SnapshotId: newer?.[0]?.id, AvailabilityZone: zone, State: 'available' });
    expect(tagsOf(restored?.Tags)).toEqual({
      Name: `${name}-latest`,
      'safekeep:target': name,
      'safekeep:restored-from': newer?.[0]?.id,
      'safekeep:restored-as': `${name}-latest`,
    });
    expect(named.restored[0]?.snapshotId).toBe(older?.[0]?.id);
    const [untouched] = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volume ?? ''] }))).Volumes ?? [];
    expect(tagsOf(untouched?.Tags)).toEqual({ app: name });
    await expect(
      restoreSnapshot(target, { pick: 'latest', as: `${name}-latest`, availabilityZone: zone }, context),
    ).rejects.toThrow(/an EBS volume named ".*-latest" \(vol-\w+\) already exists/);
    const byHand = await ec2.send(new CreateSnapshotCommand({ VolumeId: volume }));
    await expect(
      restoreSnapshot(target, { pick: { snapshot: byHand.SnapshotId ?? '' }, as: `${name}-x`, availabilityZone: zone }, context),
    ).rejects.toThrow(`${byHand.SnapshotId} is not a Safekeep snapshot of target "${name}"`);
    await expect(restoreSnapshot(target, { pick: 'latest', as: `${name}-y` }, context)).rejects.toThrow(
      `restoring an EBS snapshot needs --availability-zone, e.g. ${REGION}a`,
    );
  });

  it('restores every volume of one EC2 instance run, by run id or by the newest run', async () => {
    const { ec2 } = motoClients(endpoint, REGION);
    const name = `rst-host-${unique()}`;
    const [image] = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], MaxResults: 5 }))).Images ?? [];
    const [instance] =
      (
        await ec2.send(
          new RunInstancesCommand({
            ImageId: image?.ImageId,
            MinCount: 1,
            MaxCount: 1,
            Placement: { AvailabilityZone: `${REGION}a` },
          }),
        )
      ).Instances ?? [];
    const [data] = await createVolumes(ec2, REGION, 1, { app: name });
    await ec2.send(new AttachVolumeCommand({ VolumeId: data, InstanceId: instance?.InstanceId, Device: '/dev/sdf' }));
    const [target] = snapshotTargets([{ name, kind: 'ec2-instance', source: { instanceId: instance?.InstanceId } }]) as [
      SnapshotTarget,
    ];
    const [older, newer] = await twoRuns(target);
    expect(newer).toHaveLength(2);

    const latest = await restoreSnapshot(
      target,
      { pick: 'latest', as: `${name}-latest`, availabilityZone: `${REGION}c` },
      context,
    );
    const byRun = await restoreSnapshot(
      target,
      { pick: { snapshot: '20261120T030000Z-rst000' }, as: `${name}-run`, availabilityZone: `${REGION}c` },
      context,
    );

    expect(latest.runId).toBe('20261121T030000Z-rst001');
    expect(latest.restored.map((r) => r.snapshotId).sort()).toEqual(newer?.map((s) => s.id).sort());
    expect(byRun.restored.map((r) => r.snapshotId).sort()).toEqual(older?.map((s) => s.id).sort());
    const volumes =
      (
        await ec2.send(
          new DescribeVolumesCommand({ Filters: [{ Name: 'tag:safekeep:restored-as', Values: [`${name}-latest`] }] }),
        )
      ).Volumes ?? [];
    expect(volumes.map((v) => tagsOf(v.Tags).Name).sort()).toEqual(newer?.map((s) => `${name}-latest-${s.source}`).sort());
    expect(volumes.every((v) => v.AvailabilityZone === `${REGION}c` && (v.Attachments ?? []).length === 0)).toBe(true);
    await expect(
      restoreSnapshot(target, { pick: 'latest', as: `${name}-latest`, availabilityZone: `${REGION}c` }, context),
    ).rejects.toThrow(/already exists/);
  });

  it('restores an encrypted copy in the copy region with that region key', async () => {
    const { rds, ec2 } = motoClients(endpoint, REGION);
    const name = `rst-copy-${unique()}`;
    await createInstances(rds, [name], { encrypted: true });
    const [volume] = await createVolumes(ec2, REGION, 1, { app: name });
    const kms = new KMSClient({ endpoint, region: COPY_REGION, credentials: MOTO_CREDENTIALS });
    const key = (await kms.send(new CreateKeyCommand({ Description: 'safekeep copies' }))).KeyMetadata?.Arn ?? '';
    const copy = { region: COPY_REGION, kmsKeyArn: key };
    const targets = snapshotTargets([
      { name, kind: 'rds-instance', source: { instanceId: name }, copy },
      { name: `${name}-vol`, kind: 'ebs-volume', source: { volumeId: volume }, copy },
    ]);
    for (const target of targets) {
      const flow: FlowContext = { ports, region: REGION, now: () => new Date(), telemetry: recordingTelemetry().telemetry };
      expect((await runSnapshotFlow(target, '20261121T030000Z-rstcp1', flow, loop)).copies).toHaveLength(1);
    }
    const there = { ports, region: COPY_REGION };

    const db = await restoreSnapshot(targets[0] as SnapshotTarget, { pick: 'latest', as: `${name}-dr` }, there);
    const vol = await restoreSnapshot(
      targets[1] as SnapshotTarget,
      { pick: 'latest', as: `${name}-dr`, availabilityZone: `${COPY_REGION}a` },
      there,
    );

    const far = motoClients(endpoint, COPY_REGION);
    const [instance] =
      (await far.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${name}-dr` }))).DBInstances ?? [];
    expect(instance).toMatchObject({ StorageEncrypted: true, KmsKeyId: key });
    expect(db.snapshots[0]?.region).toBe(COPY_REGION);
    const [restored] = (await far.ec2.send(new DescribeVolumesCommand({ VolumeIds: [vol.restored[0]?.id ?? ''] }))).Volumes ?? [];
    expect(restored).toMatchObject({ Encrypted: true, KmsKeyId: key, SnapshotId: vol.snapshots[0]?.id });
  });
});

describe.skipIf(!moto)('restore edge cases (moto)', () => {
  const endpoint = (moto as NonNullable<typeof moto>).endpoint;
  const ports = awsSnapshotPorts({ endpointUrl: endpoint });
  const context = { ports, region: REGION };
  const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  const snap = async (target: SnapshotTarget, runId: string) =>
    runSnapshotFlow(
      target,
      runId,
      { ports, region: REGION, now: () => new Date(), telemetry: recordingTelemetry().telemetry },
      loop,
    );

  it('puts a restored database into the subnet group and security groups asked for', async () => {
    const { rds, ec2 } = motoClients(endpoint, REGION);
    const name = `rst-net-${unique()}`;
    await createInstances(rds, [name]);
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc?.VpcId;
    const subnets = await Promise.all(
      ['a', 'b'].map(
        async (zone, i) =>
          (
            await ec2.send(
              new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.42.${i}.0/24`, AvailabilityZone: `${REGION}${zone}` }),
            )
          ).Subnet?.SubnetId ?? '',
      ),
    );
    await rds.send(
      new CreateDBSubnetGroupCommand({ DBSubnetGroupName: name, DBSubnetGroupDescription: 'restores', SubnetIds: subnets }),
    );
    const group =
      (await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: 'restores', VpcId: vpc }))).GroupId ?? '';
    const [target] = snapshotTargets([{ name, kind: 'rds-instance', source: { instanceId: name } }]) as [SnapshotTarget];
    await snap(target, '20261121T030000Z-rstnet');

    await restoreSnapshot(
      target,
      { pick: 'latest', as: `${name}-r`, network: { subnetGroup: name, securityGroupIds: [group] } },
      context,
    );

    const [restored] = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${name}-r` }))).DBInstances ?? [];
    expect(restored?.DBSubnetGroup?.DBSubnetGroupName).toBe(name);
    expect(restored?.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([group]);
    await expect(
      restoreSnapshot(target, { pick: 'latest', as: `${name}-x`, network: { subnetGroup: 'ghost' } }, context),
    ).rejects.toThrow(/ghost/);
  });

  it('asks which volume when the newest run of a tag selector snapshotted several', async () => {
    const { ec2 } = motoClients(endpoint, REGION);
    const name = `rst-many-${unique()}`;
    await createVolumes(ec2, REGION, 2, { app: name });
    const [target] = snapshotTargets([{ name, kind: 'ebs-volume', source: { tags: { app: name } } }]) as [SnapshotTarget];
    const { snapshots } = await snap(target, '20261121T030000Z-rstmny');

    await expect(
      restoreSnapshot(target, { pick: 'latest', as: `${name}-r`, availabilityZone: `${REGION}a` }, context),
    ).rejects.toThrow(`the newest run of target "${name}" snapshotted 2 volumes; pick one with --snapshot <snap-id>`);
    const one = await restoreSnapshot(
      target,
      { pick: { snapshot: snapshots[1]?.id ?? '' }, as: `${name}-r`, availabilityZone: `${REGION}a` },
      context,
    );
    expect(one.restored.map((r) => r.snapshotId)).toEqual([snapshots[1]?.id]);
  });

  it('keeps the restored cluster and says how to finish when its writer cannot be created', async () => {
    const { rds } = motoClients(endpoint, REGION);
    const name = `rst-half-${unique()}`;
    await createClusters(rds, [name]);
    const [target] = snapshotTargets([{ name, kind: 'rds-cluster', source: { clusterId: name } }]) as [SnapshotTarget];
    await snap(target, '20261121T030000Z-rsthlf');
    const failingWriter: SnapshotPorts = {
      ...ports,
      rds: (region) => ({
        ...ports.rds(region),
        createClusterInstance: async () => {
          throw new Error('InsufficientDBInstanceCapacity');
        },
      }),
    };

    await expect(
      restoreSnapshot(
        target,
        { pick: 'latest', as: `${name}-r`, instanceClass: 'db.r6g.large' },
        { ports: failingWriter, region: REGION },
      ),
    ).rejects.toThrow(
      `restored Aurora cluster "${name}-r" but creating its writer "${name}-r-writer" failed (InsufficientDBInstanceCapacity); add an instance to the cluster in the RDS console, or delete the cluster`,
    );
    const [cluster] = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: `${name}-r` }))).DBClusters ?? [];
    expect(cluster?.DBClusterIdentifier).toBe(`${name}-r`);
  });

  it('says the restore exists when waiting for it times out', async () => {
    const { rds } = motoClients(endpoint, REGION);
    const name = `rst-slow-${unique()}`;
    await createInstances(rds, [name]);
    const [target] = snapshotTargets([{ name, kind: 'rds-instance', source: { instanceId: name } }]) as [SnapshotTarget];
    await snap(target, '20261121T030000Z-rstslw');
    const slow: SnapshotPorts = {
      ...ports,
      rds: (region) => ({
        ...ports.rds(region),
        waitUntilAvailable: async () => {
          throw Object.assign(new Error('Waiter has timed out'), { name: 'TimeoutError' });
        },
      }),
    };

    await expect(
      restoreSnapshot(target, { pick: 'latest', as: `${name}-r`, waitMs: 2_000 }, { ports: slow, region: REGION }),
    ).rejects.toThrow(
      `restored RDS instance "${name}-r", but it was not available within 2 s (Waiter has timed out); it exists and is yours: watch it in the console, or delete it`,
    );
  });

  it('refuses RDS network flags and a zone of another region for an EBS restore, before looking anything up', async () => {
    const [target] = snapshotTargets([{ name: 'disk', kind: 'ebs-volume', source: { volumeId: 'vol-0a1b2c3d' } }]) as [
      SnapshotTarget,
    ];
    const unreachable = {} as SnapshotPorts;
    const restore = (options: Partial<Parameters<typeof restoreSnapshot>[1]>) =>
      restoreSnapshot(target, { pick: 'latest', as: 'x', ...options }, { ports: unreachable, region: REGION });
    await expect(restore({ availabilityZone: `${REGION}a`, network: { subnetGroup: 'g' } })).rejects.toThrow(
      '--subnet-group and --security-group-ids apply to RDS restores, not EBS volumes',
    );
    await expect(restore({ availabilityZone: `${REGION}a`, instanceClass: 'db.t4g.micro' })).rejects.toThrow(
      '--class applies to RDS restores, not EBS volumes',
    );
    const [database] = snapshotTargets([{ name: 'db', kind: 'rds-instance', source: { instanceId: 'db' } }]) as [SnapshotTarget];
    await expect(
      restoreSnapshot(
        database,
        { pick: 'latest', as: 'x', availabilityZone: `${REGION}a` },
        { ports: unreachable, region: REGION },
      ),
    ).rejects.toThrow('--availability-zone applies to EBS restores; RDS picks the zone from --subnet-group');
    await expect(restore({ availabilityZone: 'eu-west-1a' })).rejects.toThrow(
      `--availability-zone eu-west-1a is not in ${REGION}; pick one of ${REGION}'s zones, e.g. ${REGION}a`,
    );
  });
});

describe('which run an EC2 instance restore picks', () => {
  const snapshot = (id: string, runId: string, at: string, status: Snapshot['status'], volume: string): Snapshot => ({
    kind: 'ebs',
    id,
    arn: `arn:${id}`,
    region: REGION,
    source: volume,
    status,
    createdAt: new Date(at),
    tags: {
      Name: `safekeep-host-${at.slice(0, 10).replaceAll('-', '')}t030000z`,
      'safekeep:target': 'host',
      'safekeep:run-id': runId,
    },
    encrypted: false,
  });
  const listed = [
    snapshot('snap-old-root', 'run-old', '2026-11-20T03:00:00Z', 'available', 'vol-root'),
    snapshot('snap-old-data', 'run-old', '2026-11-20T03:00:00Z', 'available', 'vol-data'),
    snapshot('snap-new-root', 'run-new', '2026-11-21T03:00:00Z', 'available', 'vol-root'),
    snapshot('snap-new-data', 'run-new', '2026-11-21T03:00:00Z', 'pending', 'vol-data'),
  ];
  const ports = (created: string[]): SnapshotPorts =>
    ({
      ec2: () =>
        ({
          listTargetSnapshots: async () => listed,
          volumesByTags: async () => [],
          createVolumeFromSnapshot: async (s: Snapshot) => {
            created.push(s.id);
            return { kind: 'ebs-volume', id: `vol-from-${s.id}`, region: REGION, status: 'creating', snapshotId: s.id };
          },
        }) as unknown as Ec2Port,
    }) as unknown as SnapshotPorts;
  const [target] = snapshotTargets([{ name: 'host', kind: 'ec2-instance', source: { instanceId: 'i-0a1b2c3d' } }]) as [
    SnapshotTarget,
  ];
  const options = { as: 'host-r', availabilityZone: `${REGION}a` };

  it('--latest takes the newest run whose every volume is available', async () => {
    const created: string[] = [];
    const outcome = await restoreSnapshot(target, { ...options, pick: 'latest' }, { ports: ports(created), region: REGION });
    expect(outcome.runId).toBe('run-old');
    expect(created.sort()).toEqual(['snap-old-data', 'snap-old-root']);
  });

  it('refuses a named run that is not complete, restoring nothing', async () => {
    const created: string[] = [];
    await expect(
      restoreSnapshot(target, { ...options, pick: { snapshot: 'snap-new-root' } }, { ports: ports(created), region: REGION }),
    ).rejects.toThrow('run run-new of target "host" is incomplete (snap-new-data is pending); pick another run');
    expect(created).toEqual([]);
  });
});
