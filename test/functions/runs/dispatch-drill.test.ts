/**
 * Starting a restore drill against real peers: manifests in versitygw, the runs table and ECS in moto. The
 * drill task is started with the overrides the drill task reads (run variables with the drill's own id, plus
 * SAFEKEEP_ACTION and SAFEKEEP_DRILL_FROM); a `from` outside the target is refused; no backup is a failed drill.
 */

import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import { drillTaskFamilyOf, WORKER_CONTAINER } from '#functions/contracts/deployment.ts';
import { TASK_DRILL_VARIABLES } from '#functions/contracts/drill.ts';
import { METRIC } from '#functions/contracts/metrics.ts';
import { TASK_RUN_VARIABLES } from '#functions/contracts/run-payloads.ts';
import { awsDispatchPorts } from '#functions/runs/adapters/dispatch-ports.ts';
import { dispatchDrill, NO_BACKUP_TO_DRILL } from '#functions/runs/dispatch-drill.ts';
import { motoClientConfig, s3Client } from '#test/support/aws.ts';
import { deploymentOf } from '#test/support/deployment.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';
import { createVersionedBucket } from '#test/support/worker.ts';

const moto = await peer('moto');
const versitygw = await peer('versitygw');
const NOW = new Date('2026-12-01T05:00:00.000Z');

/** The config of one dump target that drills, in the network moto was given. */
function configIn(network: { vpcId: string; subnetIds: string[]; securityGroupIds: string[] }) {
  return parseConfig(
    {
      defaults: { schedule: { expression: 'rate(1 day)' } },
      targets: [
        {
          name: 'orders',
          kind: 'postgres',
          source: { host: 'db.internal', secret: 'safekeep/orders' },
          network,
          drill: { schedule: { expression: 'rate(7 days)' }, pick: 'latest' },
        },
      ],
    },
    'test config',
  );
}

describe.skipIf(!moto || !versitygw)('dispatching a restore drill (moto ECS and DynamoDB, versitygw S3)', () => {
  const motoPeer = moto as NonNullable<typeof moto>;
  const s3 = s3Client(versitygw as NonNullable<typeof versitygw>);
  const ecs = new ECSClient(motoClientConfig(motoPeer));
  const ec2 = new EC2Client(motoClientConfig(motoPeer));
  let clusterArn: string;
  let config: ReturnType<typeof configIn>;
  let drillGroup: string;

  beforeAll(async () => {
    // ECS checks the task's subnets and security groups exist: make the network the config names.
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.43.0.0/16' }))).Vpc?.VpcId ?? '';
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
    const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.43.1.0/24' }))).Subnet?.SubnetId ?? '';
    const group = async (name: string) =>
      (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `${name}-${Date.now()}`, Description: name })))
        .GroupId ?? '';
    config = configIn({ vpcId, subnetIds: [subnet], securityGroupIds: [await group('source')] });
    drillGroup = await group('drill');
    clusterArn = (await ecs.send(new CreateClusterCommand({ clusterName: `drills-${Date.now().toString(36)}` }))).cluster
      ?.clusterArn as string;
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: drillTaskFamilyOf({ taskFamilyPrefix: 'Test' }, 'orders'),
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '1024',
        memory: '4096',
        // moto sums container memory to place tasks: it must be set per container too.
        containerDefinitions: [
          { name: WORKER_CONTAINER, image: 'safekeep', memory: 4096, command: ['drill', 'orders', '--json'] },
        ],
      }),
    );
  });

  async function setUp(manifests: string[]) {
    const prefixBucket = await createVersionedBucket(s3, 'drill-dispatch');
    for (const key of manifests) await s3.send(new PutObjectCommand({ Bucket: prefixBucket, Key: key, Body: '{}' }));
    const table = await motoRunsTable(motoPeer.endpoint);
    const deployment = deploymentOf(config, {
      bucket: prefixBucket,
      runsTable: table.tableName,
      cluster: clusterArn,
      drillSecurityGroups: { orders: drillGroup },
    });
    const metrics: { name: string; value: number }[] = [];
    const context = {
      deployment,
      ports: awsDispatchPorts({ runsTable: table.tableName, bucket: prefixBucket, endpointUrl: motoPeer.endpoint, s3 }),
      now: () => NOW,
      randomSuffix: () => 'd1d1d1',
      telemetry: { info: () => {}, warn: () => {}, metric: (name: string, value: number) => metrics.push({ name, value }) },
    };
    return { context, table, metrics };
  }

  it('runs the drill task of the newest backup with the drill overrides, and records the drill as running', async () => {
    const older = 'orders/2026/11/29/20261129T030000Z-aaaaaa/manifest.json';
    const newest = 'orders/2026/11/30/20261130T030000Z-bbbbbb/manifest.json';
    const { context, table } = await setUp([
      older,
      newest,
      'orders/2026/11/30/20261130T030000Z-bbbbbb/data.dump.zst',
      'other/2026/11/30/20261130T040000Z-cccccc/manifest.json',
    ]);
    const started = await dispatchDrill(config.targets[0] as never, 'schedule', context);
    expect(started).toMatchObject({
      status: 'started',
      kind: 'dump',
      manifestKey: newest,
      backupRunId: '20261130T030000Z-bbbbbb',
    });
    const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [started.taskArn as string] }));
    const override = tasks?.[0]?.overrides?.containerOverrides?.find((o) => o.name === WORKER_CONTAINER);
    expect(Object.fromEntries((override?.environment ?? []).map((e) => [e.name, e.value]))).toEqual({
      [TASK_RUN_VARIABLES.target]: 'orders',
      [TASK_RUN_VARIABLES.runId]: started.drillId,
      [TASK_DRILL_VARIABLES.action]: 'drill',
      [TASK_DRILL_VARIABLES.from]: newest,
    });
    expect(tasks?.[0]?.taskDefinitionArn).toContain('Test-orders_drill');
    expect(await table.store.getDrill('orders', started.drillId)).toMatchObject({ status: 'running', manifestKey: newest });
    // A drill is never a backup run.
    expect(await table.store.recent('orders', 10)).toEqual([]);
  });

  it('drills the backup --from names, and refuses one outside the target in one line, recording nothing', async () => {
    const named = 'orders/2026/11/29/20261129T030000Z-aaaaaa/manifest.json';
    const { context, table } = await setUp([named, 'orders/2026/11/30/20261130T030000Z-bbbbbb/manifest.json']);
    expect(await dispatchDrill(config.targets[0] as never, 'manual', context, named)).toMatchObject({
      status: 'started',
      manifestKey: named,
    });
    for (const from of [
      'other/2026/11/30/20261130T040000Z-cccccc/manifest.json',
      'orders/../other/2026/11/30/20261130T040000Z-cccccc/manifest.json',
      'orders/2026/11/30/20261130T030000Z-bbbbbb/data.dump.zst',
    ]) {
      await expect(dispatchDrill(config.targets[0] as never, 'manual', context, from)).rejects.toThrow(
        /^--from .* is not a manifest of target "orders"; give a key under orders\/ that ends in \/manifest\.json/,
      );
    }
    expect(await table.store.recentDrills('orders', 10)).toHaveLength(1);
  });

  it('fails the drill at once when there is no backup to drill: recorded and counted as DrillFailed', async () => {
    const { context, table, metrics } = await setUp([]);
    const started = await dispatchDrill(config.targets[0] as never, 'schedule', context);
    expect(started).toMatchObject({ status: 'failed', reason: NO_BACKUP_TO_DRILL });
    expect(await table.store.getDrill('orders', started.drillId)).toMatchObject({ status: 'failed', reason: NO_BACKUP_TO_DRILL });
    expect(metrics).toEqual([{ name: METRIC.drillFailed, value: 1 }]);
  });
});
