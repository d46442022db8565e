/**
 * Snapshot restore drills against the shared moto: for every snapshot kind a drill restores the picked run
 * into temporary resources, waits for them, runs the SQL check (RDS kinds; the SQL runner pointed at the local
 * PostgreSQL peer, since moto's endpoints are fake) and deletes everything it made; afterwards nothing tagged
 * with the drill exists. A failure injected at each step (restore refused, never available, SQL fails) still
 * deletes what was made, and the result says FAILED or TIMED_OUT and why.
 */
import {
  AttachVolumeCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateDBInstanceCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import type { SnapshotTarget } from '#functions/contracts/config/schema.ts';
import { drillResultSchema } from '#functions/contracts/drill.ts';
import { drillResourceName, TAG } from '#functions/contracts/snapshot-naming.ts';
import { awsSnapshotPorts } from '#functions/snapshots/adapters/aws-clients.ts';
import { awsDrillPorts } from '#functions/snapshots/adapters/drill-clients.ts';
import { sqlRunner } from '#functions/snapshots/adapters/sql-runner.ts';
import { type DrillContext, finishDrill, runSnapshotDrill } from '#functions/snapshots/core/drill.ts';
import type { DrillPorts, SqlRunner } from '#functions/snapshots/core/drill-ports.ts';
import type { SnapshotPorts } from '#functions/snapshots/core/ports.ts';
import { type FlowContext, runSnapshotFlow } from '#functions/snapshots/core/snapshot-flow.ts';
import { peer, peerCa } from '#test/support/peers.ts';
import {
  createClusters,
  createInstances,
  createVolumes,
  motoClients,
  recordingTelemetry,
  snapshotTargets,
} from '#test/support/snapshots.ts';

const moto = await peer('moto');
const postgres = await peer('postgres');
const REGION = 'eu-west-3';
const loop = { pollMs: 0, timeoutMs: 30_000, sleep: async () => {} };
const NOW = new Date('2026-11-22T04:00:00Z');

describe.skipIf(!moto || !postgres)('snapshot restore drills (moto)', () => {
  const endpoint = (moto as NonNullable<typeof moto>).endpoint;
  const pg = postgres as NonNullable<typeof postgres>;
  const ports = awsSnapshotPorts({ endpointUrl: endpoint });
  const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  const { rds, ec2 } = motoClients(endpoint, REGION);

  /** moto's endpoints are fake: the check runs against the PostgreSQL peer, with the peer's own login. */
  const peerSql = (seen: { password?: string }[] = []): SqlRunner => {
    const real = sqlRunner({ ca: peerCa().pem });
    return {
      run: (connection, sql) => {
        seen.push({ password: connection.password });
        return real.run(
          { ...connection, host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: 'postgres' },
          sql,
        );
      },
    };
  };
  const drillContext = (overrides: { drill?: Partial<DrillPorts>; ports?: SnapshotPorts; sql?: SqlRunner } = {}) => {
    const recorded = recordingTelemetry();
    const drill = awsDrillPorts({ endpointUrl: endpoint, sql: overrides.sql ?? peerSql() });
    const context: DrillContext = {
      ports: overrides.ports ?? ports,
      drill: { ...drill, ...overrides.drill },
      region: REGION,
      now: () => NOW,
      telemetry: recorded.telemetry,
      newPassword: () => `drill-${unique()}-password`,
      sleep: async () => {},
    };
    return { context, ...recorded };
  };
  /** Two backup runs a day apart: a latest pick drills the newer. */
  const twoRuns = async (target: SnapshotTarget) => {
    const runs = [];
    for (const [i, at] of ['2026-11-20T03:00:00Z', '2026-11-21T03:00:00Z'].entries()) {
      const context: FlowContext = { ports, region: REGION, now: () => new Date(at), telemetry: recordingTelemetry().telemetry };
      runs.push(await runSnapshotFlow(target, `2026112${i}T030000Z-drl00${i}`, context, loop));
    }
    return runs.map((run) => run.snapshots);
  };
  const drillId = () => `20261122T040000Z-${unique()}`;
  const taggedVolumes = async (id: string) =>
    (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: `tag:${TAG.drill}`, Values: [id] }] }))).Volumes ?? [];
  const instanceExists = async (client: RDSClient, id: string) =>
    ((await client.send(new DescribeDBInstancesCommand({})).then((r) => r.DBInstances)) ?? []).some(
      (i) => i.DBInstanceIdentifier === id,
    );
  const clusterExists = async (client: RDSClient, id: string) =>
    ((await client.send(new DescribeDBClustersCommand({})).then((r) => r.DBClusters)) ?? []).some(
      (c) => c.DBClusterIdentifier === id,
    );
  const rdsTarget = (name: string, check = true) =>
    snapshotTargets([
      {
        name,
        kind: 'rds-instance',
        source: { instanceId: name },
        drill: { schedule: { expression: 'cron(0 5 ? * SUN *)' }, ...(check ? { check: { sql: 'SELECT 1 AS ok' } } : {}) },
      },
    ])[0] as SnapshotTarget;

  it('drills an RDS instance: restores the newest run small, in the source network, checks SQL, deletes it', async () => {
    // Prepare: a source in its own subnet group and security group.
    const name = `drl-db-${unique()}`;
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }));
    const subnets = await Promise.all(
      ['a', 'b'].map((zone, i) =>
        ec2.send(
          new CreateSubnetCommand({ VpcId: Vpc?.VpcId, CidrBlock: `10.42.${i}.0/24`, AvailabilityZone: `${REGION}${zone}` }),
        ),
      ),
    );
    await rds.send(
      new CreateDBSubnetGroupCommand({
        DBSubnetGroupName: `${name}-subnets`,
        DBSubnetGroupDescription: 'drill test',
        SubnetIds: subnets.map((s) => s.Subnet?.SubnetId ?? ''),
      }),
    );
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: `${name}-sg`, Description: 'drill test', VpcId: Vpc?.VpcId }),
    );
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: name,
        DBInstanceClass: 'db.r6g.xlarge',
        Engine: 'postgres',
        AllocatedStorage: 20,
        MasterUsername: 'admin',
        MasterUserPassword: 'not-a-real-secret',
        DBSubnetGroupName: `${name}-subnets`,
        VpcSecurityGroupIds: [GroupId ?? ''],
      }),
    );
    const target = rdsTarget(name);
    const [, newer] = await twoRuns(target);
    const seen: { password?: string }[] = [];
    const id = drillId();
    const restoredName = drillResourceName(name, id);
    // Watch the restore as the check step sees it, before cleanup removes it.
    const { context, events } = drillContext({ sql: peerSql(seen) });
    const described: unknown[] = [];
    const watching: DrillContext = {
      ...context,
      drill: {
        ...context.drill,
        sql: {
          run: async (connection, sql) => {
            described.push(
              (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: restoredName }))).DBInstances?.[0],
            );
            return context.drill.sql.run(connection, sql);
          },
        },
      },
    };

    // Act
    const result = await runSnapshotDrill(target, { target: name, runId: id, trigger: 'manual' }, watching, loop);

    // Assess
    expect(drillResultSchema.parse(result)).toEqual(result);
    expect(result).toMatchObject({
      validationStatus: 'SUCCESSFUL',
      backupRunId: '20261121T030000Z-drl001',
      restoredFrom: { snapshotId: newer?.[0]?.id },
      restore: { kind: 'rds-instance', engine: 'postgres', createdResources: [restoredName], deletionStatus: 'SUCCESSFUL' },
      counts: { snapshots: 1, instances: 1, clusters: 0, volumes: 0 },
    });
    expect(result.compared).toEqual([
      expect.objectContaining({ what: 'available', subject: restoredName, ok: true }),
      expect.objectContaining({ what: 'sql-check', found: 1, ok: true }),
    ]);
    const [restored] = described as {
      DBInstanceClass?: string;
      DBSubnetGroup?: { DBSubnetGroupName?: string };
      VpcSecurityGroups?: { VpcSecurityGroupId?: string }[];
      TagList?: { Key?: string; Value?: string }[];
    }[];
    expect(restored?.DBInstanceClass).toBe('db.t4g.micro');
    expect(restored?.DBSubnetGroup?.DBSubnetGroupName).toBe(`${name}-subnets`);
    expect(restored?.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([GroupId]);
    expect(Object.fromEntries((restored?.TagList ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
      [TAG.target]: name,
      [TAG.drill]: id,
      [TAG.restoredFrom]: newer?.[0]?.id,
    });
    expect(await instanceExists(rds, restoredName)).toBe(false);
    expect(await instanceExists(rds, name)).toBe(true); // the source is untouched
    // The fresh password reached only the SQL client: no log line, no result field holds it.
    const password = seen[0]?.password ?? '';
    expect(password).toMatch(/^drill-/);
    expect(JSON.stringify([events, result])).not.toContain(password);
  });

  it('drills an Aurora cluster: cluster plus a db.t4g.medium writer, SQL check, both deleted', async () => {
    const name = `drl-aurora-${unique()}`;
    await createClusters(rds, [name]);
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: `${name}-1`,
        DBClusterIdentifier: name,
        Engine: 'aurora-postgresql',
        DBInstanceClass: 'db.r6g.large',
      }),
    );
    const [target] = snapshotTargets([
      {
        name,
        kind: 'rds-cluster',
        source: { clusterId: name },
        drill: { schedule: { expression: 'cron(0 5 ? * SUN *)' }, check: { sql: 'SELECT 1' } },
      },
    ]) as [SnapshotTarget];
    await twoRuns(target);
    const id = drillId();
    const restoredName = drillResourceName(name, id);
    const classes: (string | undefined)[] = [];
    const { context } = drillContext();
    const watching: DrillContext = {
      ...context,
      drill: {
        ...context.drill,
        sql: {
          run: async (connection, sql) => {
            const writer = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${restoredName}-writer` }));
            classes.push(writer.DBInstances?.[0]?.DBInstanceClass);
            return context.drill.sql.run(connection, sql);
          },
        },
      },
    };

    const result = await runSnapshotDrill(target, { target: name, runId: id }, watching, loop);

    expect(result.validationStatus, result.validationStatusMessage).toBe('SUCCESSFUL');
    expect(result.restore).toMatchObject({
      kind: 'rds-cluster',
      engine: 'aurora-postgresql',
      createdResources: [`${restoredName}-writer`, restoredName],
      deletionStatus: 'SUCCESSFUL',
    });
    expect(classes).toEqual(['db.t4g.medium']);
    expect(await clusterExists(rds, restoredName)).toBe(false);
    expect(await instanceExists(rds, `${restoredName}-writer`)).toBe(false);
    expect(await clusterExists(rds, name)).toBe(true);
  });

  it('drills an EBS volume in the source volume zone, and deletes the volume', async () => {
    const name = `drl-vol-${unique()}`;
    const [volume] = await createVolumes(ec2, REGION, 1, { app: name });
    const [target] = snapshotTargets([
      { name, kind: 'ebs-volume', source: { volumeId: volume }, drill: { schedule: { expression: 'cron(0 5 ? * SUN *)' } } },
    ]) as [SnapshotTarget];
    await twoRuns(target);
    const id = drillId();
    const zones: (string | undefined)[] = [];
    const { context } = drillContext();
    const ec2Port = context.drill.ec2(REGION);
    const watching: DrillContext = {
      ...context,
      drill: {
        ...context.drill,
        ec2: () => ({
          ...ec2Port,
          volumesTagged: async (key, value) => {
            for (const v of await taggedVolumes(id)) zones.push(`${v.AvailabilityZone} ${v.VolumeType}`);
            return ec2Port.volumesTagged(key, value);
          },
        }),
      },
    };

    const result = await runSnapshotDrill(target, { target: name, runId: id }, watching, loop);

    expect(result.validationStatus, result.validationStatusMessage).toBe('SUCCESSFUL');
    expect(result.restore.deletionStatus).toBe('SUCCESSFUL');
    expect(result.counts).toMatchObject({ volumes: 1, snapshots: 1 });
    expect(zones[0]).toBe(`${REGION}a gp3`);
    expect(await taggedVolumes(id)).toEqual([]);
  });

  it('drills an EC2 instance: every volume of one run, all deleted', async () => {
    const name = `drl-host-${unique()}`;
    const [image] = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], MaxResults: 5 }))).Images ?? [];
    const [instance] =
      (
        await ec2.send(
          new RunInstancesCommand({
            ImageId: image?.ImageId,
            MinCount: 1,
            MaxCount: 1,
            Placement: { AvailabilityZone: `${REGION}b` },
          }),
        )
      ).Instances ?? [];
    const [data] = await createVolumes(ec2, REGION, 1, { app: name });
    await ec2.send(new AttachVolumeCommand({ VolumeId: data, InstanceId: instance?.InstanceId, Device: '/dev/sdf' }));
    const [target] = snapshotTargets([
      {
        name,
        kind: 'ec2-instance',
        source: { instanceId: instance?.InstanceId },
        drill: { schedule: { expression: 'cron(0 5 ? * SUN *)' } },
      },
    ]) as [SnapshotTarget];
    const [, newer] = await twoRuns(target);
    const id = drillId();

    const result = await runSnapshotDrill(target, { target: name, runId: id }, drillContext().context, loop);

    expect(result.validationStatus, result.validationStatusMessage).toBe('SUCCESSFUL');
    expect(result.backupRunId).toBe('20261121T030000Z-drl001');
    expect(result.counts).toMatchObject({ snapshots: newer?.length, volumes: newer?.length });
    expect(result.restore.createdResources).toHaveLength(newer?.length ?? 0);
    expect(await taggedVolumes(id)).toEqual([]);
  });

  it('a refused restore fails the drill with the reason, and leaves nothing behind', async () => {
    const name = `drl-refused-${unique()}`;
    await createInstances(rds, [name]);
    const target = rdsTarget(name);
    await twoRuns(target);
    const id = drillId();
    const rdsPort = ports.rds(REGION);
    const refusing: SnapshotPorts = {
      ...ports,
      rds: () => ({
        ...rdsPort,
        restoreInstance: async () => {
          throw Object.assign(new Error('The quota for DB instances is exceeded'), { name: 'InstanceQuotaExceededFault' });
        },
      }),
    };

    const result = await runSnapshotDrill(target, { target: name, runId: id }, drillContext({ ports: refusing }).context, loop);

    expect(result.validationStatus).toBe('FAILED');
    expect(result.validationStatusMessage).toBe('restore refused: The quota for DB instances is exceeded');
    expect(result.restore.deletionStatus).toBe('SUCCESSFUL');
    expect(await instanceExists(rds, drillResourceName(name, id))).toBe(false);
  });

  it('a restore that never becomes available times out, and is deleted', async () => {
    const name = `drl-slow-${unique()}`;
    const [volume] = await createVolumes(ec2, REGION, 1, { app: name });
    const [target] = snapshotTargets([
      { name, kind: 'ebs-volume', source: { volumeId: volume }, drill: { schedule: { expression: 'cron(0 5 ? * SUN *)' } } },
    ]) as [SnapshotTarget];
    await twoRuns(target);
    const id = drillId();
    let clock = NOW.getTime();
    const { context } = drillContext();
    const ec2Port = context.drill.ec2(REGION);
    // The volume stays "creating" to the check step; each look moves the clock 10 minutes on.
    const stuck: DrillContext = {
      ...context,
      now: () => new Date(clock),
      sleep: async () => {
        clock += 10 * 60_000;
      },
      drill: {
        ...context.drill,
        ec2: () => ({
          ...ec2Port,
          volumesTagged: async (key, value) =>
            (await ec2Port.volumesTagged(key, value)).map((v) => (v.state === 'available' ? { ...v, state: 'creating' } : v)),
        }),
      },
    };

    const result = await runSnapshotDrill(target, { target: name, runId: id }, stuck, { ...loop, restoreTimeoutMinutes: 30 });

    expect(result.validationStatus).toBe('TIMED_OUT');
    expect(result.validationStatusMessage).toMatch(
      /^the restore was not available within 30 minutes \(vol-[0-9a-f]+ is creating\)$/,
    );
    expect(result.restore.deletionStatus).toBe('SUCCESSFUL');
    expect(await taggedVolumes(id)).toEqual([]);
  });

  it('a failing SQL statement fails the drill with the server error, and the restore is deleted', async () => {
    const name = `drl-sqlfail-${unique()}`;
    await createInstances(rds, [name]);
    const [target] = snapshotTargets([
      {
        name,
        kind: 'rds-instance',
        source: { instanceId: name },
        drill: { schedule: { expression: 'cron(0 5 ? * SUN *)' }, check: { sql: 'SELECT count(*) FROM no_such_table' } },
      },
    ]) as [SnapshotTarget];
    await twoRuns(target);
    const id = drillId();

    const result = await runSnapshotDrill(target, { target: name, runId: id }, drillContext().context, loop);

    expect(result.validationStatus).toBe('FAILED');
    expect(result.validationStatusMessage).toBe('the SQL check failed: relation "no_such_table" does not exist');
    expect(result.compared).toContainEqual(expect.objectContaining({ what: 'sql-check', ok: false }));
    expect(result.restore.deletionStatus).toBe('SUCCESSFUL');
    expect(await instanceExists(rds, drillResourceName(name, id))).toBe(false);
  });

  it('a target without a completed snapshot fails the drill and says how to get one', async () => {
    const name = `drl-none-${unique()}`;
    await createInstances(rds, [name]);
    const result = await runSnapshotDrill(rdsTarget(name), { target: name, runId: drillId() }, drillContext().context, loop);
    expect(result.validationStatus).toBe('FAILED');
    expect(result.validationStatusMessage).toBe(
      `target "${name}" has no completed Safekeep snapshot in ${REGION} to drill; take one with safekeep snapshot`,
    );
    expect(result.restore).toMatchObject({ createdResources: [], deletionStatus: 'SUCCESSFUL' });
  });

  it("cleanup never deletes a resource of the drill's name that lacks the drill's tag", async () => {
    const name = `drl-foreign-${unique()}`;
    const id = drillId();
    const lookalike = drillResourceName(name, id);
    await createInstances(rds, [lookalike]);

    const finished = await finishDrill(rdsTarget(name, false), { target: name, runId: id }, drillContext().context);

    expect(finished.cleanup).toBe('done');
    expect(await instanceExists(rds, lookalike)).toBe(true);
  });
});
