/**
 * Starting a restore drill against real peers: manifests in versitygw, the runs table and ECS in moto. The
 * drill task is started with the overrides the drill task reads (run variables with the drill's own id, plus
 * SAFEKEEP_ACTION and SAFEKEEP_DRILL_FROM); a `from` outside the target is refused; no backup is a failed drill.
 */

import { PassThrough } from 'node:stream';
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
import { defaultContext } from '#functions/cli/context.ts';
import { startDeployedDrill } from '#functions/cli/deployed-drill.ts';
import { parseConfig } from '#functions/contracts/config/load.ts';
import { deploymentTarget, drillTaskFamilyOf, WORKER_CONTAINER } from '#functions/contracts/deployment.ts';
import { drillKeyOf, TASK_DRILL_VARIABLES } from '#functions/contracts/drill.ts';
import { METRIC } from '#functions/contracts/metrics.ts';
import { TASK_RUN_VARIABLES } from '#functions/contracts/run-payloads.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
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

// moto's first RunTask of a process takes half a minute (more on a busy machine).
describe.skipIf(!moto || !versitygw)(
  'dispatching a restore drill (moto ECS and DynamoDB, versitygw S3)',
  { timeout: 300_000 },
  () => {
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
      const subnet =
        (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.43.1.0/24' }))).Subnet?.SubnetId ?? '';
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
        ports: awsDispatchPorts({
          runsTable: table.tableName,
          bucket: prefixBucket,
          endpointUrl: motoPeer.endpoint,
          artifacts: s3ArtifactStore(s3, prefixBucket),
        }),
        now: () => NOW,
        randomSuffix: () => 'd1d1d1',
        telemetry: { info: () => {}, warn: () => {}, metric: (name: string, value: number) => metrics.push({ name, value }) },
      };
      return { context, table, metrics, deployment, bucket: prefixBucket };
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
        [TASK_DRILL_VARIABLES.trigger]: 'schedule',
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
      expect(await table.store.getDrill('orders', started.drillId)).toMatchObject({
        status: 'failed',
        reason: NO_BACKUP_TO_DRILL,
      });
      expect(metrics).toEqual([{ name: METRIC.drillFailed, value: 1 }]);
    });

    it('startDeployedDrill (`safekeep drill <target> --wait`) starts the drill as its schedule would and follows it to its result', async () => {
      const newest = 'orders/2026/11/30/20261130T030000Z-bbbbbb/manifest.json';
      const { table, deployment, bucket } = await setUp([newest]);
      const stack = {
        deployment,
        target: async (name: string) => deploymentTarget(deployment, name),
        targetNames: async () => ['orders'],
      };
      const terminal = { stdout: new PassThrough(), stderr: new PassThrough() };
      const cli = { ...defaultContext(terminal), now: () => new Date(), openStore: () => s3ArtifactStore(s3, bucket) };
      const ecsAndSfn = { ecs, sfn: undefined as never, dynamo: table.client };
      const following = startDeployedDrill(
        { target: 'orders', wait: true, pollMs: 100, timeoutMs: 60_000, endpointUrl: motoPeer.endpoint },
        stack,
        ecsAndSfn,
        cli,
      );
      // What the drill task and the recorder do meanwhile: drill.json beside the manifest, the record settled.
      let drillId: string | undefined;
      for (let i = 0; i < 300 && !drillId; i++) {
        drillId = (await table.store.recentDrills('orders', 1))[0]?.drillId;
        if (!drillId) await new Promise((r) => setTimeout(r, 100));
      }
      const result = {
        safekeepDrill: 1,
        target: 'orders',
        drillId,
        backupRunId: '20261130T030000Z-bbbbbb',
        restoredFrom: { manifestKey: newest },
        trigger: 'manual',
        startedAt: '2026-12-01T05:00:00.000Z',
        finishedAt: '2026-12-01T05:10:00.000Z',
        durationSeconds: 600,
        validationStatus: 'SUCCESSFUL',
        validationStatusMessage: '3 tables, 1200 rows, all as recorded',
        restore: { kind: 'scratch-server' },
        compared: [],
        counts: { tables: 3, rows: 1200 },
      };
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: drillKeyOf(newest), Body: JSON.stringify(result) }));
      await table.store.settleDrill('orders', drillId as string, { status: 'succeeded', validationStatus: 'SUCCESSFUL' });
      const followed = await following;
      expect(followed).toMatchObject({
        status: 'succeeded',
        detail: 'SUCCESSFUL: 3 tables, 1200 rows, all as recorded',
        started: { drillId, manifestKey: newest, status: 'started' },
        result: { counts: { rows: 1200 } },
      });
    });

    it('startDeployedDrill refuses a --from of another target before starting anything', async () => {
      const { deployment, table } = await setUp([]);
      const stack = {
        deployment,
        target: async (name: string) => deploymentTarget(deployment, name),
        targetNames: async () => ['orders'],
      };
      const cli = {
        ...defaultContext({ stdout: new PassThrough(), stderr: new PassThrough() }),
        openStore: () => s3ArtifactStore(s3, 'x'),
      };
      await expect(
        startDeployedDrill(
          {
            target: 'orders',
            from: 'billing/2026/11/30/20261130T030000Z-bbbbbb/manifest.json',
            wait: false,
            endpointUrl: motoPeer.endpoint,
          },
          stack,
          { ecs, sfn: undefined as never, dynamo: table.client },
          cli,
        ),
      ).rejects.toThrow(/is not a manifest of target "orders"/);
      expect(await table.store.recentDrills('orders', 5)).toEqual([]);
    });
  },
);
