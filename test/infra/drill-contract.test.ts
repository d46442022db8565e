/**
 * Contract test of a scheduled restore drill of a dump target, from the synthesized template (as
 * contract.test.ts does for backups): a real backup is made through the target's own task; the drill
 * schedule's exact payload goes to the dispatcher (from source, with the environment the template gives it)
 * against moto; the drill task moto "started" runs on this machine with the environment and overrides moto
 * recorded, restoring into a scratch PostgreSQL 18 it starts itself; its stopped event goes to the recorder,
 * whose metrics drive the synthesized drill alarms. A backup with a flipped byte fails the drill on its hash.
 */
import { join, resolve } from 'node:path';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DrillResult, drillKeyOf, drillResultSchema } from '#functions/contracts/drill.ts';
import { EXIT } from '#functions/contracts/errors.ts';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { METRIC, TARGET_DIMENSION } from '#functions/contracts/metrics.ts';
import { SafekeepFunction } from '#infra/constructs/safekeep-function.ts';
import { Safekeep } from '#infra/safekeep.ts';
import { datapointsFromEmf, evaluateAlarm, findAlarm } from '#test/support/alarms.ts';
import { MOTO_CREDENTIALS, s3Client } from '#test/support/aws.ts';
import { CDK_CONTEXT } from '#test/support/cdk.ts';
import { ACCOUNT, publishParameters, registerTaskDefinitions, resolveCfn, runPendingTasks } from '#test/support/contract.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer, RUN_DIR } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';
import { motoClients } from '#test/support/snapshots.ts';
import { createVersionedBucket, peerEnvironment, uniqueName } from '#test/support/worker.ts';

const moto = await peer('moto');
const versitygw = await peer('versitygw');
const postgres = await peer('postgres');
const postgres18 = await peer('postgres18');
const REGION = 'us-east-1';

/** Everything a handler printed while it ran: Powertools logs and embedded metrics. */
async function capture<T>(work: () => Promise<T>): Promise<{ result?: T; error?: Error; lines: string[] }> {
  const lines: string[] = [];
  const originals = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
  const record = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = record;
  process.stderr.write = record;
  try {
    return { result: await work(), lines };
  } catch (error) {
    return { error: error as Error, lines };
  } finally {
    process.stdout.write = originals.stdout;
    process.stderr.write = originals.stderr;
  }
}

function metricsOf(lines: string[]) {
  const datapoints = datapointsFromEmf(lines);
  const newest = Math.max(0, ...datapoints.map((d) => d.timestamp.getTime()));
  return { datapoints, evaluatedAt: new Date(newest + 60_000) };
}

interface Started {
  readonly drillId: string;
  readonly taskArn: string;
  readonly manifestKey: string;
  readonly backupRunId: string;
  readonly status: string;
}

describe.skipIf(!moto || !versitygw || !postgres || !postgres18)(
  'drill contract: drill schedule -> dispatcher -> drill task (scratch PostgreSQL 18) -> recorder -> alarms',
  () => {
    const motoPeer = moto as NonNullable<typeof moto>;
    const s3Peer = versitygw as NonNullable<typeof versitygw>;
    const pgPeer = postgres as NonNullable<typeof postgres>;
    const suffix = Date.now().toString(36);
    const stackName = `DrillContract${suffix}`;
    const database = uniqueName('drill_contract_db');
    const target = `drilled-${suffix}`;
    const clients = {
      ecs: new ECSClient({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS }),
      secrets: new SecretsManagerClient({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS }),
      ssm: new SSMClient({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS }),
    };
    const s3 = s3Client(s3Peer);
    // What a real task's role and image give it: AWS credentials and endpoints, and (the image carries
    // them) the newest PostgreSQL server binaries; nothing from the target.
    const hostEnvironment = peerEnvironment(s3Peer, {
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: motoPeer.endpoint,
      SAFEKEEP_PG_SERVER_BIN: join(RUN_DIR, 'postgres18', 'dist', 'bin'),
    });
    const done = new Set<string>();
    const everything: string[] = [];
    let template: Template;
    let values: Record<string, string>;
    let bucket: string;
    let clusterArn: string;
    let handlers: Map<string, string>;
    let deploymentFiles: Map<string, string>;
    let runs: Awaited<ReturnType<typeof motoRunsTable>>;
    let backupKeys: string[] = [];

    async function invoke(fn: 'Dispatcher' | 'Recorder' | 'Freshness', event: unknown) {
      const id = [...handlers.keys()].find((key) => key.toLowerCase().includes(fn.toLowerCase()));
      const entry = id ? handlers.get(id) : undefined;
      if (!id || !entry) throw new Error(`no function ${fn}`);
      const functionResource = template.toJSON().Resources[id] as {
        Properties: { Environment?: { Variables?: Record<string, unknown> } };
      };
      const environment = resolveCfn(functionResource.Properties.Environment?.Variables ?? {}, REGION, values) as Record<
        string,
        string
      >;
      Object.assign(process.env, environment, { SAFEKEEP_DEPLOYMENT_FILE: deploymentFiles.get(id) });
      const { handler } = (await import(resolve(entry))) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
      const outcome = await capture(() =>
        handler(event, { functionName: id, awsRequestId: 'drill-contract', getRemainingTimeInMillis: () => 60_000 }),
      );
      everything.push(...outcome.lines, JSON.stringify(outcome.result ?? null), outcome.error?.message ?? '');
      return outcome;
    }

    /** The schedule's exact payloads, by what they start. */
    function schedulePayloads() {
      const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as {
        Properties: { Target: { Input: string } };
      }[];
      return schedules.map((s) => JSON.parse(s.Properties.Target.Input) as Record<string, unknown>);
    }

    /** A backup through the target's own path: its schedule's payload, its task, the recorder. */
    async function backup(): Promise<string> {
      const payload = schedulePayloads().find((p) => p.target === target && p.action === undefined);
      const dispatched = await invoke('Dispatcher', payload);
      expect(dispatched.error?.message).toBeUndefined();
      const [task] = await runPendingTasks(clients, clusterArn, hostEnvironment, done);
      expect(task?.exitCode, task?.stderr).toBe(0);
      const recorded = await invoke('Recorder', task?.stoppedEvent);
      expect(recorded.result).toMatchObject({ status: 'succeeded' });
      return (recorded.result as { manifestKey: string }).manifestKey;
    }

    async function readText(key: string, versionId?: string): Promise<Buffer> {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
      return Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
    }

    /** Fires the drill schedule: its exact payload to the dispatcher; returns what it started and ECS's task. */
    async function fireDrillSchedule() {
      const payload = schedulePayloads().find((p) => p.target === target && p.action === 'drill');
      expect(payload).toEqual({ target, trigger: 'schedule', action: 'drill' });
      const dispatched = await invoke('Dispatcher', payload);
      expect(dispatched.error?.message).toBeUndefined();
      const started = dispatched.result as Started;
      const [task] =
        (await clients.ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [started.taskArn] }))).tasks ?? [];
      return { started, task };
    }

    async function runDrillTask() {
      const [task] = await runPendingTasks(clients, clusterArn, hostEnvironment, done);
      if (!task) throw new Error('moto holds no drill task to run');
      everything.push(task.stdout, task.stderr, JSON.stringify(task.recorded));
      return task;
    }

    beforeAll(async () => {
      await createPostgresDatabase(pgPeer, database, [
        "CREATE TABLE orders (id int PRIMARY KEY, v text); INSERT INTO orders SELECT g, 'row ' || g FROM generate_series(1, 1000) g",
        'CREATE VIEW recent_orders AS SELECT * FROM orders WHERE id > 900',
      ]);
      await clients.secrets.send(
        new CreateSecretCommand({
          Name: `safekeep/${target}`,
          SecretString: JSON.stringify({ username: pgPeer.user, password: pgPeer.password }),
        }),
      );
      bucket = await createVersionedBucket(s3, 'drill-contract');
      const { ec2 } = motoClients(motoPeer.endpoint, REGION);
      const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.43.0.0/16' }))).Vpc?.VpcId ?? '';
      await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }));
      const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.43.1.0/24' }))).Subnet?.SubnetId ?? '';
      const group = async (name: string) =>
        (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: `${name}-${suffix}`, Description: name })))
          .GroupId ?? '';
      const network = { vpcId: vpc, subnetIds: [subnet], securityGroupIds: [await group('dump-tasks')] };
      // The drill task's own security group, as CloudFormation would create it from the template.
      const drillGroup = await group('drill-task');

      const stack = new Stack(new App({ context: CDK_CONTEXT }), stackName, { env: { account: ACCOUNT, region: REGION } });
      const safekeep = new Safekeep(stack, 'Safekeep', {
        targets: [
          {
            name: target,
            kind: 'postgres',
            source: { host: '127.0.0.1', port: pgPeer.port, databases: [database], secret: `safekeep/${target}` },
            network,
            schedule: { expression: 'rate(1 day)' },
            retries: { attempts: 1 },
            drill: { schedule: { expression: 'cron(0 5 ? * SUN *)' } },
          },
        ],
      } as never);
      template = Template.fromStack(stack);
      const functions = stack.node.findAll().filter((c): c is SafekeepFunction => c instanceof SafekeepFunction);
      const idOf = (fn: SafekeepFunction) => stack.getLogicalId(fn.function.node.defaultChild as never);
      handlers = new Map(functions.map((fn) => [idOf(fn), fn.entry]));
      deploymentFiles = new Map(functions.map((fn) => [idOf(fn), fn.deploymentFile]));

      runs = await motoRunsTable(motoPeer.endpoint, REGION);
      clusterArn =
        (await clients.ecs.send(new CreateClusterCommand({ clusterName: `${stackName}-cluster` }))).cluster?.clusterArn ?? '';
      const logicalId = (type: string) => Object.keys(template.findResources(type))[0] ?? '';
      const drillGroupId = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).find(([, r]) =>
        JSON.stringify(r).includes('restore drill'),
      )?.[0];
      values = {
        [stack.getLogicalId(safekeep.artifacts.bucket.node.defaultChild as never)]: bucket,
        [stack.getLogicalId(safekeep.ledger.runsTable.node.defaultChild as never)]: runs.tableName,
        [`${logicalId('AWS::ECS::Cluster')}.Arn`]: clusterArn,
        [`${drillGroupId}.GroupId`]: drillGroup,
      };
      await registerTaskDefinitions(clients.ecs, template, REGION, values);
      await publishParameters(clients.ssm, template, REGION, values);
      Object.assign(process.env, {
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL: motoPeer.endpoint,
        AWS_ENDPOINT_URL_S3: s3Peer.endpoint,
        AWS_ACCESS_KEY_ID: s3Peer.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3Peer.secretAccessKey,
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
      backupKeys = [await backup()];
    });

    it('drills the latest backup on schedule: a running drill record, a task that restores it and passes, DrillSucceeded', async () => {
      const started = Date.now();
      // Act 1: the drill schedule fires
      const { started: drill, task: ecsTask } = await fireDrillSchedule();

      // Assess 1: the target's drill task, told the backup and the drill, and a running drill record
      expect(drill).toMatchObject({
        status: 'started',
        manifestKey: backupKeys[0],
        taskArn: expect.stringMatching(/^arn:aws:ecs:/),
      });
      expect(ecsTask?.taskDefinitionArn).toContain(`task-definition/${stackName}-${target}_drill:`);
      const overrides = Object.fromEntries(
        (ecsTask?.overrides?.containerOverrides?.[0]?.environment ?? []).map((e) => [e.name, e.value]),
      );
      expect(overrides).toMatchObject({
        SAFEKEEP_ACTION: 'drill',
        SAFEKEEP_DRILL_FROM: backupKeys[0],
        SAFEKEEP_RUN_ID: drill.drillId,
      });
      expect(await runs.store.getDrill(target, drill.drillId)).toMatchObject({
        status: 'running',
        trigger: 'schedule',
        kind: 'dump',
        manifestKey: backupKeys[0],
      });
      // Nothing of a backup run: the drill lives in its own partition.
      expect(await runs.store.get(target, drill.drillId)).toBeUndefined();

      // Act 2: the drill task runs with what moto recorded
      const task = await runDrillTask();

      // Assess 2: it exits 0, and its drill.json beside the manifest says SUCCESSFUL
      expect(task.exitCode, task.stderr).toBe(0);
      const printed = drillResultSchema.parse(JSON.parse(task.stdout));
      const written = drillResultSchema.parse(JSON.parse((await readText(drillKeyOf(backupKeys[0] ?? ''))).toString()));
      expect(written).toEqual(printed);
      expect(written).toMatchObject({
        target,
        drillId: drill.drillId,
        trigger: 'schedule',
        validationStatus: 'SUCCESSFUL',
        restore: { kind: 'scratch-server', engine: 'postgres', serverVersion: expect.stringMatching(/^PostgreSQL 18\./) },
      } satisfies Partial<DrillResult> & Record<string, unknown>);
      expect(written.compared).toContainEqual(
        expect.objectContaining({ what: 'rows', subject: `${database}: public.orders`, expected: 1000, found: 1000, ok: true }),
      );

      // Act 3: ECS reports the task stopped
      const recorded = await invoke('Recorder', task.stoppedEvent);

      // Assess 3: settled succeeded, counted as a drill and never as a backup
      expect(recorded.error?.message).toBeUndefined();
      expect(recorded.result).toMatchObject({ target, drillId: drill.drillId, status: 'succeeded', settledNow: true });
      expect(await runs.store.getDrill(target, drill.drillId)).toMatchObject({
        status: 'succeeded',
        validationStatus: 'SUCCESSFUL',
        resultKey: drillKeyOf(backupKeys[0] ?? ''),
      });
      const { datapoints, evaluatedAt } = metricsOf(recorded.lines);
      expect(datapoints).toContainEqual(
        expect.objectContaining({ name: METRIC.drillSucceeded, value: 1, dimensions: { [TARGET_DIMENSION]: target } }),
      );
      expect(datapoints.find((d) => d.name === METRIC.drillDurationSeconds)?.value).toBeGreaterThan(0);
      expect(datapoints.filter((d) => d.name.startsWith('Backup'))).toEqual([]);
      expect(
        evaluateAlarm(findAlarm(template, METRIC.drillFailed, { [TARGET_DIMENSION]: target }), datapoints, evaluatedAt),
      ).toBe('OK');

      // The freshness check sees the good drill; the no-good-drill alarm is quiet
      const freshness = await invoke('Freshness', {});
      expect(freshness.error?.message).toBeUndefined();
      const ages = metricsOf(freshness.lines);
      const age = ages.datapoints.find(
        (d) => d.name === METRIC.secondsSinceLastGoodDrill && d.dimensions[TARGET_DIMENSION] === target,
      );
      expect(age?.value).toBeLessThan(600);
      expect(
        evaluateAlarm(
          findAlarm(template, METRIC.secondsSinceLastGoodDrill, { [TARGET_DIMENSION]: target }),
          ages.datapoints,
          ages.evaluatedAt,
        ),
      ).toBe('OK');
      console.info(`drill contract: good drill end to end in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    });

    it('fails the drill of a backup whose data object has a flipped byte: exit 3, DrillFailed, the drill-failed alarm', async () => {
      const started = Date.now();
      // Prepare: a newer backup (the latest pick takes it), one byte of its data flipped in a new version the manifest pins
      const flippedKey = await backup();
      backupKeys.push(flippedKey);
      const manifest = JSON.parse((await readText(flippedKey)).toString()) as Manifest;
      const data = manifest.objects.find((o) => o.role === 'database') as Manifest['objects'][number];
      const body = await readText(data.key, data.versionId);
      const middle = Math.floor(body.length / 2);
      body[middle] = (body[middle] ?? 0) ^ 0x5a;
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: data.key, Body: body }));
      manifest.objects = manifest.objects.map((o) => (o.key === data.key ? { ...o, versionId: put.VersionId } : o));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: flippedKey, Body: JSON.stringify(manifest) }));

      // Act: the drill schedule fires, the task runs, ECS reports it stopped
      const { started: drill } = await fireDrillSchedule();
      expect(drill.manifestKey).toBe(flippedKey);
      const task = await runDrillTask();
      const recorded = await invoke('Recorder', task.stoppedEvent);

      // Assess: the task exits "integrity", drill.json says FAILED on the hash, the drill is failed and alarms
      expect(task.exitCode, task.stderr).toBe(EXIT.integrity);
      const written = drillResultSchema.parse(JSON.parse((await readText(drillKeyOf(flippedKey))).toString()));
      expect(written.validationStatus).toBe('FAILED');
      expect(written.compared).toContainEqual(expect.objectContaining({ what: 'sha256', subject: data.key, ok: false }));
      expect(recorded.error?.message).toBeUndefined();
      expect(recorded.result).toMatchObject({
        drillId: drill.drillId,
        status: 'failed',
        reason: expect.stringMatching(/^FAILED: .* is corrupt/),
      });
      expect(await runs.store.getDrill(target, drill.drillId)).toMatchObject({ status: 'failed', validationStatus: 'FAILED' });
      const { datapoints, evaluatedAt } = metricsOf(recorded.lines);
      expect(datapoints).toContainEqual(
        expect.objectContaining({ name: METRIC.drillFailed, value: 1, dimensions: { [TARGET_DIMENSION]: target } }),
      );
      expect(datapoints.filter((d) => d.name === METRIC.drillSucceeded || d.name.startsWith('Backup'))).toEqual([]);
      expect(
        evaluateAlarm(findAlarm(template, METRIC.drillFailed, { [TARGET_DIMENSION]: target }), datapoints, evaluatedAt),
      ).toBe('ALARM');
      // The first backup's result is its own still.
      expect(drillResultSchema.parse(JSON.parse((await readText(drillKeyOf(backupKeys[0] ?? ''))).toString()))).toMatchObject({
        validationStatus: 'SUCCESSFUL',
      });
      console.info(`drill contract: flipped-byte drill end to end in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    });

    it('a drill started by hand (`safekeep drill --from`, the console) says "manual" in its record and its drill.json alike', async () => {
      // Act: what `safekeep drill <target> --from <key>` sends the dispatcher (no trigger: manual)
      const dispatched = await invoke('Dispatcher', { target, action: 'drill', from: backupKeys[0] });
      expect(dispatched.error?.message).toBeUndefined();
      const drill = dispatched.result as Started;
      const task = await runDrillTask();
      const recorded = await invoke('Recorder', task.stoppedEvent);

      // Assess: both say manual
      expect(task.exitCode, task.stderr).toBe(0);
      expect(recorded.result).toMatchObject({ drillId: drill.drillId, status: 'succeeded' });
      expect(await runs.store.getDrill(target, drill.drillId)).toMatchObject({ trigger: 'manual', status: 'succeeded' });
      const written = drillResultSchema.parse(JSON.parse((await readText(drillKeyOf(backupKeys[0] ?? ''))).toString()));
      expect(written).toMatchObject({ drillId: drill.drillId, trigger: 'manual', validationStatus: 'SUCCESSFUL' });
    });

    it('gives the drill task no database credential: none in its definition, its overrides, its output or the logs', () => {
      const [drillDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition')).filter((r) =>
        JSON.stringify(r).includes('_drill'),
      ) as { Properties: { ContainerDefinitions: Record<string, unknown>[] } }[];
      const [container] = drillDefinition?.Properties.ContainerDefinitions ?? [];
      expect(container?.Secrets).toBeUndefined();
      expect(JSON.stringify(container)).not.toMatch(/SAFEKEEP_DB_(USER|PASSWORD)/);
      expect(everything.length).toBeGreaterThan(10);
      for (const text of everything) {
        expect(text).not.toContain(pgPeer.password);
        expect(text).not.toMatch(/SAFEKEEP_DB_PASSWORD/);
      }
    });
  },
);
