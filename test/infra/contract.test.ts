/**
 * Contract tests from the synthesized template. For every schedule, the exact payload it sends is fed to
 * the dispatcher (from source, with the environment the template gives it) against moto; the exact task
 * definitions are registered in moto; RunTask is called; the task's command then runs on this machine with
 * the environment, secrets and overrides moto recorded, producing a verified backup in versitygw; and the
 * stopped-task event goes to the recorder, whose metrics are asserted. Snapshot targets run the synthesized
 * state machine through the test interpreter. Finally nothing anywhere holds the database password.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskRunEnvironment } from '#functions/contracts/run-payloads.ts';
import { SafekeepFunction } from '#infra/constructs/safekeep-function.ts';
import { Safekeep } from '#infra/safekeep.ts';
import { datapointsFromEmf, evaluateAlarm, findAlarm } from '#test/support/alarms.ts';
import { execute, stateMachineDefinition } from '#test/support/asl.ts';
import { MOTO_CREDENTIALS, s3Client } from '#test/support/aws.ts';
import { CDK_CONTEXT } from '#test/support/cdk.ts';
import { ACCOUNT, publishParameters, registerTaskDefinitions, resolveCfn, runPendingTasks } from '#test/support/contract.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';
import { createInstances, motoClients } from '#test/support/snapshots.ts';
import { CLI, createVersionedBucket, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const moto = await peer('moto');
const versitygw = await peer('versitygw');
const postgres = await peer('postgres');
// The S3 peer (versitygw) signs for us-east-1, and the task's region must be the bucket's, as in AWS.
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

/** The container environment RunTask overrides carry for a run, as the dispatcher sends it. */
function overrideEnvironment(target: string, runId: string) {
  return Object.entries(taskRunEnvironment({ target, runId })).map(([name, value]) => ({ name, value }));
}

/** The datapoints a handler published, as CloudWatch would store them, and the time to evaluate alarms at. */
function metricsOf(lines: string[]) {
  const datapoints = datapointsFromEmf(lines);
  const newest = Math.max(0, ...datapoints.map((d) => d.timestamp.getTime()));
  return { datapoints, evaluatedAt: new Date(newest + 60_000) };
}

describe.skipIf(!moto || !versitygw || !postgres)(
  'contract: schedules -> dispatcher -> Fargate task / state machine -> recorder',
  () => {
    const motoPeer = moto as NonNullable<typeof moto>;
    const s3Peer = versitygw as NonNullable<typeof versitygw>;
    const pgPeer = postgres as NonNullable<typeof postgres>;
    const suffix = Date.now().toString(36);
    const stackName = `Contract${suffix}`;
    const database = uniqueName('contract_db');
    const [dumpTarget, brokenTarget, snapshotTarget] = [`meta-${suffix}`, `broken-${suffix}`, `rds-${suffix}`];
    /** A target with the default retries (2 attempts, 10 minutes apart); the others run once, so each failure alarms. */
    const retriedTarget = `retried-${suffix}`;
    const instance = `contract-${suffix}`;
    const clients = {
      ecs: new ECSClient({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS }),
      secrets: new SecretsManagerClient({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS }),
      sfn: new SFNClient({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS }),
      ssm: new SSMClient({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS }),
    };
    const everything: string[] = [];
    const hostEnvironment = peerEnvironment(s3Peer, { AWS_REGION: REGION, AWS_ENDPOINT_URL: motoPeer.endpoint });
    let template: Template;
    let stack: Stack;
    let safekeep: Safekeep;
    let values: Record<string, string>;
    let bucket: string;
    let clusterArn: string;
    let handlers: Map<string, string>;
    let deploymentFiles: Map<string, string>;
    let runs: Awaited<ReturnType<typeof motoRunsTable>>;

    let network: { vpcId: string; subnetIds: string[]; securityGroupIds: string[] };
    const config = () => ({
      defaults: { schedule: { expression: 'cron(15 3 * * ? *)', timezone: 'Europe/Berlin', flexibleWindowMinutes: 10 } },
      targets: [
        {
          name: dumpTarget,
          kind: 'postgres',
          source: { host: '127.0.0.1', port: pgPeer.port, databases: [database], secret: `safekeep/${dumpTarget}` },
          network,
          timeoutMinutes: 10,
          retries: { attempts: 1 },
        },
        {
          name: brokenTarget,
          kind: 'postgres',
          source: { host: '127.0.0.1', port: pgPeer.port, databases: [database], secret: `safekeep/${brokenTarget}` },
          network,
          schedule: { expression: 'rate(6 hours)' },
          retries: { attempts: 1 },
        },
        {
          name: snapshotTarget,
          kind: 'rds-instance',
          source: { instanceId: instance },
          retention: { keepLast: 3, minimum: 1 },
          retries: { attempts: 1 },
        },
        {
          name: retriedTarget,
          kind: 'postgres',
          source: { host: '127.0.0.1', port: pgPeer.port, databases: [database], secret: `safekeep/${retriedTarget}` },
          network,
        },
      ],
    });

    /** Runs a function's handler from source with the environment its synthesized function carries. */
    async function invoke(fn: 'dispatcher' | 'recorder' | string, event: unknown) {
      const id = [...handlers.keys()].find((key) => key.toLowerCase().includes(fn.toLowerCase()));
      const entry = id ? handlers.get(id) : handlers.get(fn);
      if (!id || !entry) throw new Error(`no function ${fn}`);
      const functionResource = template.toJSON().Resources[id] as {
        Properties: { Environment?: { Variables?: Record<string, unknown> } };
      };
      const environment = resolveCfn(functionResource.Properties.Environment?.Variables ?? {}, REGION, values) as Record<
        string,
        string
      >;
      // What the function's bundle holds (the document's synth-time half) and its environment (the rest).
      Object.assign(process.env, environment, { SAFEKEEP_DEPLOYMENT_FILE: deploymentFiles.get(id) });
      const { handler } = (await import(resolve(entry))) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
      const outcome = await capture(() =>
        handler(event, { functionName: id, awsRequestId: 'contract', getRemainingTimeInMillis: () => 60_000 }),
      );
      everything.push(...outcome.lines, JSON.stringify(outcome.result ?? null), outcome.error?.message ?? '');
      return outcome;
    }

    beforeAll(async () => {
      // The data, the secrets, the bucket and the database instance the config names.
      await createPostgresDatabase(pgPeer, database, [
        "CREATE TABLE bytebase_metadata (id int PRIMARY KEY, v text); INSERT INTO bytebase_metadata SELECT g, 'row ' || g FROM generate_series(1, 1000) g",
      ]);
      await clients.secrets.send(
        new CreateSecretCommand({
          Name: `safekeep/${dumpTarget}`,
          SecretString: JSON.stringify({ username: pgPeer.user, password: pgPeer.password }),
        }),
      );
      await clients.secrets.send(
        new CreateSecretCommand({
          Name: `safekeep/${brokenTarget}`,
          SecretString: JSON.stringify({ username: pgPeer.user, password: 'not-the-password-0' }),
        }),
      );
      // Wrong at first, as a database restarting would refuse it; the retry test puts the right one in.
      await clients.secrets.send(
        new CreateSecretCommand({
          Name: `safekeep/${retriedTarget}`,
          SecretString: JSON.stringify({ username: pgPeer.user, password: 'not-yet-the-password-0' }),
        }),
      );
      bucket = await createVersionedBucket(s3Client(s3Peer), 'contract');
      await createInstances(motoClients(motoPeer.endpoint, REGION).rds, [instance]);
      // ECS checks the task's subnets and security groups exist: make the network the config names.
      const { ec2 } = motoClients(motoPeer.endpoint, REGION);
      const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc?.VpcId ?? '';
      // moto gives task network interfaces a DNS name only in VPCs with DNS hostnames on (and fails without one).
      await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }));
      const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.42.1.0/24' }))).Subnet?.SubnetId ?? '';
      const group =
        (
          await ec2.send(
            new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: `safekeep-${suffix}`, Description: 'dump tasks' }),
          )
        ).GroupId ?? '';
      network = { vpcId: vpc, subnetIds: [subnet], securityGroupIds: [group] };

      // The stack, synthesized as `cdk synth` would (bundling skipped: handlers run from source).
      stack = new Stack(new App({ context: CDK_CONTEXT }), stackName, { env: { account: ACCOUNT, region: REGION } });
      safekeep = new Safekeep(stack, 'Safekeep', config() as never);
      template = Template.fromStack(stack);
      const functions = stack.node.findAll().filter((c): c is SafekeepFunction => c instanceof SafekeepFunction);
      const idOf = (fn: SafekeepFunction) => stack.getLogicalId(fn.function.node.defaultChild as never);
      handlers = new Map(functions.map((fn) => [idOf(fn), fn.entry]));
      deploymentFiles = new Map(functions.map((fn) => [idOf(fn), fn.deploymentFile]));

      // What CloudFormation would create, in moto: the runs table, the cluster, the state machine.
      runs = await motoRunsTable(motoPeer.endpoint, REGION);
      clusterArn =
        (await clients.ecs.send(new CreateClusterCommand({ clusterName: `${stackName}-cluster` }))).cluster?.clusterArn ?? '';
      const logicalId = (type: string) => Object.keys(template.findResources(type))[0] ?? '';
      const bucketId = stack.getLogicalId(safekeep.artifacts.bucket.node.defaultChild as never);
      const machineId = logicalId('AWS::StepFunctions::StateMachine');
      const definition = stateMachineDefinition(template);
      const machine = await clients.sfn.send(
        new CreateStateMachineCommand({
          name: `${stackName}-snapshots`,
          definition: JSON.stringify(definition),
          roleArn: `arn:aws:iam::${ACCOUNT}:role/sfn`,
        }),
      );
      values = {
        [bucketId]: bucket,
        [stack.getLogicalId(safekeep.ledger.runsTable.node.defaultChild as never)]: runs.tableName,
        [`${logicalId('AWS::ECS::Cluster')}.Arn`]: clusterArn,
        [machineId]: machine.stateMachineArn ?? '',
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
    });

    afterAll(() => {
      process.env.AWS_ACCESS_KEY_ID = 'testing';
      process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    });

    it('gives every target one schedule in its time zone, with retries and a dead-letter queue, invoking the dispatcher', () => {
      const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as {
        Properties: Record<string, any>;
      }[];
      expect(schedules).toHaveLength(4);
      const byTarget = new Map(schedules.map((s) => [JSON.parse(s.Properties.Target.Input).target, s.Properties]));
      expect(byTarget.get(dumpTarget)).toMatchObject({
        ScheduleExpression: 'cron(15 3 * * ? *)',
        ScheduleExpressionTimezone: 'Europe/Berlin',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 10 },
        Target: {
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: expect.anything() },
        },
      });
      expect(byTarget.get(brokenTarget)).toMatchObject({ ScheduleExpression: 'rate(6 hours)' });
      const dispatcherId = [...handlers.keys()].find((k) => k.includes('Dispatcher'));
      for (const schedule of schedules) expect(JSON.stringify(schedule.Properties.Target.Arn)).toContain(dispatcherId);
    });

    it("runs each schedule's exact payload end to end into a verified backup the recorder counts", async () => {
      const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as {
        Properties: { Target: { Input: string } };
      }[];
      const payload = schedules.map((s) => JSON.parse(s.Properties.Target.Input)).find((p) => p.target === dumpTarget);
      expect(payload).toEqual({ target: dumpTarget, trigger: 'schedule' });

      // Act: the schedule fires, the task "runs", ECS reports it stopped
      const dispatched = await invoke('Dispatcher', payload);
      expect(dispatched.error?.message).toBeUndefined();
      const started = dispatched.result as { taskArn: string; runId: string; status: string };
      expect(started).toMatchObject({ status: 'started', kind: 'dump', taskArn: expect.stringMatching(/^arn:aws:ecs:/) });
      const [task] = await runPendingTasks(clients, clusterArn, hostEnvironment);
      expect(task?.exitCode, task?.stderr).toBe(0);
      everything.push(task?.stdout ?? '', task?.stderr ?? '', JSON.stringify(task?.recorded));
      const recorded = await invoke('Recorder', task?.stoppedEvent);

      // Assess: a verified backup at the dispatcher's run id, counted once
      expect(recorded.error?.message).toBeUndefined();
      expect(recorded.result).toMatchObject({ target: dumpTarget, runId: started.runId, status: 'succeeded' });
      const manifest = `s3://${bucket}/${(recorded.result as { manifestKey: string }).manifestKey}`;
      expect(manifest).toContain(started.runId);
      const verify = await runCli(['verify', '--from', manifest], hostEnvironment);
      expect(verify.stdout).toMatch(/all intact/);
      const { datapoints, evaluatedAt } = metricsOf(recorded.lines);
      expect(datapoints.find((m) => m.name === 'BackupSucceeded')).toMatchObject({
        value: 1,
        dimensions: { Target: dumpTarget },
      });
      expect(datapoints.find((m) => m.name === 'BackupBytes')?.value).toBeGreaterThan(1000);
      expect(datapoints.find((m) => m.name === 'BackupDurationSeconds')?.value).toBeGreaterThanOrEqual(0);
      expect(evaluateAlarm(findAlarm(template, 'BackupFailed', { Target: dumpTarget }), datapoints, evaluatedAt)).toBe('OK');
    });

    it("records a task that exits non-zero as a failed run, counted, raising that target's failure alarm", async () => {
      const dispatched = await invoke('Dispatcher', { target: brokenTarget, trigger: 'schedule' });
      const [task] = await runPendingTasks(clients, clusterArn, hostEnvironment);
      expect(task?.exitCode).toBe(4);
      expect(task?.stderr).toMatch(/rejected the credentials of user "postgres"/);
      everything.push(task?.stdout ?? '', task?.stderr ?? '');
      const recorded = await invoke('Recorder', task?.stoppedEvent);
      expect(recorded.result).toMatchObject({
        runId: (dispatched.result as { runId: string }).runId,
        status: 'failed',
        reason: expect.stringMatching(/exited with code 4/),
      });
      const { datapoints, evaluatedAt } = metricsOf(recorded.lines);
      expect(datapoints).toContainEqual(
        expect.objectContaining({ name: 'BackupFailed', value: 1, dimensions: { Target: brokenTarget } }),
      );
      // The synthesized failure alarm of that target fires on it; a healthy target's stays quiet.
      expect(evaluateAlarm(findAlarm(template, 'BackupFailed', { Target: brokenTarget }), datapoints, evaluatedAt)).toBe('ALARM');
      expect(evaluateAlarm(findAlarm(template, 'BackupFailed', { Target: dumpTarget }), datapoints, evaluatedAt)).toBe('OK');
    });

    it('records a task that never started as a failed run, counted, raising the failure alarm', async () => {
      const dispatched = await invoke('Dispatcher', { target: dumpTarget, trigger: 'schedule' });
      const { runId, taskArn } = dispatched.result as { runId: string; taskArn: string };
      const family = `${stackName}-${dumpTarget}`;
      const neverStarted = {
        source: 'aws.ecs',
        'detail-type': 'ECS Task State Change',
        detail: {
          taskArn,
          taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:1`,
          lastStatus: 'STOPPED',
          stopCode: 'TaskFailedToStart',
          stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
          containers: [{ name: 'worker', lastStatus: 'STOPPED' }],
          overrides: { containerOverrides: [{ name: 'worker', environment: overrideEnvironment(dumpTarget, runId) }] },
        },
      };
      const recorded = await invoke('Recorder', neverStarted);
      expect(recorded.result).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(/the task never started \(TaskFailedToStart: CannotPullContainerError/),
      });
      const { datapoints, evaluatedAt } = metricsOf(recorded.lines);
      expect(datapoints).toContainEqual(
        expect.objectContaining({ name: 'BackupFailed', value: 1, dimensions: { Target: dumpTarget } }),
      );
      expect(evaluateAlarm(findAlarm(template, 'BackupFailed', { Target: dumpTarget }), datapoints, evaluatedAt)).toBe('ALARM');
      await runPendingTasks(clients, clusterArn, hostEnvironment); // clear it from moto's running tasks
    });

    it('records a task that exited 0 without writing a manifest as a failed run: no manifest, no backup', async () => {
      const dispatched = await invoke('Dispatcher', { target: dumpTarget, trigger: 'schedule' });
      const { runId, taskArn } = dispatched.result as { runId: string; taskArn: string };
      const exitedWithoutManifest = {
        source: 'aws.ecs',
        'detail-type': 'ECS Task State Change',
        detail: {
          taskArn,
          taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${stackName}-${dumpTarget}:1`,
          lastStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          containers: [{ name: 'worker', lastStatus: 'STOPPED', exitCode: 0 }],
          overrides: { containerOverrides: [{ name: 'worker', environment: overrideEnvironment(dumpTarget, runId) }] },
        },
      };
      const recorded = await invoke('Recorder', exitedWithoutManifest);
      expect(recorded.error?.message).toBeUndefined();
      expect(recorded.result).toMatchObject({ runId, status: 'failed', reason: expect.stringMatching(/wrote no manifest/) });
      await runPendingTasks(clients, clusterArn, hostEnvironment); // clear it from moto's running tasks
    });

    it('starts the snapshot state machine for a snapshot target, and records its end', async () => {
      const dispatched = await invoke('Dispatcher', { target: snapshotTarget, trigger: 'schedule' });
      const { executionArn, runId } = dispatched.result as { executionArn: string; runId: string };
      const execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      expect(JSON.parse(execution.input ?? '{}')).toEqual({ target: snapshotTarget, runId });
      // moto stores the execution; the test interpreter runs it with the state machine's own handlers.
      const run = await execute(
        stateMachineDefinition(template),
        JSON.parse(execution.input ?? '{}'),
        async (resource, payload) => {
          const { result, error } = await invoke(resource.replace(/^lambda:/, ''), payload);
          if (error) throw error;
          return result;
        },
      );
      expect(run.status, run.cause).toBe('SUCCEEDED');
      const recorded = await invoke('Recorder', {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn,
          status: 'SUCCEEDED',
          startDate: Date.now() - 5_000,
          stopDate: Date.now(),
          input: execution.input,
        },
      });
      expect(recorded.result).toMatchObject({ target: snapshotTarget, runId, status: 'succeeded' });
      expect(metricsOf(recorded.lines).datapoints).toContainEqual(
        expect.objectContaining({ name: 'BackupSucceeded', value: 1, dimensions: { Target: snapshotTarget } }),
      );
    });

    it('safekeep run --wait follows a run to its manifest, and exits non-zero when the worker fails', async () => {
      const env = { ...hostEnvironment, AWS_ENDPOINT_URL_S3: s3Peer.endpoint };
      const run = (target: string) =>
        runCli(
          ['run', target, '--wait', '--stack', stackName, '--region', REGION, '--poll-interval', '1s', '--timeout', '3m'],
          env,
        );
      const agent = async (waiting: Promise<unknown>) => {
        // Plays ECS while the CLI waits: runs the task it started, and the recorder on its stop.
        let finished = false;
        void waiting.then(() => {
          finished = true;
        });
        while (!finished) {
          for (const task of await runPendingTasks(clients, clusterArn, hostEnvironment)) {
            everything.push(task.stdout, task.stderr);
            await invoke('Recorder', task.stoppedEvent);
          }
          await new Promise((r) => setTimeout(r, 300));
        }
      };
      const good = run(dumpTarget);
      await agent(good);
      const ok = await good;
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(
        new RegExp(`run \\d{8}T\\d{6}Z-\\w+ of ${dumpTarget} succeeded: manifest s3://${bucket}/${dumpTarget}/`),
      );

      // OpenMetadata's upgrade gate against the deployed stack: run --wait, verify the manifest, then upgrade.
      const gateDir = mkdtempSync(join(tmpdir(), 'gate-'));
      const cli = join(gateDir, 'safekeep');
      writeFileSync(cli, `#!/bin/sh\nexec "${process.execPath}" "${resolve(CLI)}" "$@"\n`, { mode: 0o755 });
      const gate = new Promise<{ code: number; stderr: string }>((done) => {
        execFile(
          'bash',
          [
            'scripts/recipes/openmetadata-upgrade-gate.sh',
            dumpTarget,
            ...['--stack', stackName, '--region', REGION, '--poll-interval', '1s', '--timeout', '3m'],
            '--',
            'touch',
            join(gateDir, 'upgraded'),
          ],
          { env: { ...env, SAFEKEEP: cli } },
          (error, _stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stderr }),
        );
      });
      await agent(gate);
      const gated = await gate;
      expect(gated.code, gated.stderr).toBe(0);
      expect(gated.stderr).toMatch(
        new RegExp(`upgrade gate: backup verified: s3://${bucket}/${dumpTarget}/\\S+/manifest\\.json`),
      );
      expect(existsSync(join(gateDir, 'upgraded'))).toBe(true);
      everything.push(gated.stderr);

      const bad = run(brokenTarget);
      await agent(bad);
      const failed = await bad;
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(new RegExp(`safekeep: run \\S+ of ${brokenTarget} failed: the dump task exited with code 4`));
      everything.push(ok.stdout, ok.stderr, failed.stdout, failed.stderr);

      const status = await runCli(['status', '--stack', stackName, '--region', REGION, '--json'], env);
      const rows = JSON.parse(status.stdout).targets as {
        target: string;
        lastGood?: { ageSeconds: number };
        lastFailure?: { reason: string };
      }[];
      expect(rows.find((r) => r.target === dumpTarget)?.lastGood?.ageSeconds).toBeLessThan(600);
      expect(rows.find((r) => r.target === brokenTarget)?.lastFailure?.reason).toMatch(/exited with code 4/);
      everything.push(status.stdout, status.stderr);
    });

    it('records a dispatcher test event ({"target"} only) as a manual run, on the same road as a scheduled one', async () => {
      const dispatched = await invoke('Dispatcher', { target: snapshotTarget });
      const { runId, executionArn } = dispatched.result as { runId: string; executionArn: string };
      expect(await runs.store.get(snapshotTarget, runId)).toMatchObject({
        trigger: 'manual',
        status: 'running',
        kind: 'snapshot',
      });
      const execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const recorded = await invoke('Recorder', {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn,
          status: 'FAILED',
          startDate: Date.now() - 2_000,
          stopDate: Date.now(),
          input: execution.input,
          cause: 'copy failed',
        },
      });
      expect(recorded.result).toMatchObject({ runId, status: 'failed', reason: 'the snapshot run failed: copy failed' });
      const { datapoints, evaluatedAt } = metricsOf(recorded.lines);
      expect(evaluateAlarm(findAlarm(template, 'BackupFailed', { Target: snapshotTarget }), datapoints, evaluatedAt)).toBe(
        'ALARM',
      );
      expect(await runs.store.get(snapshotTarget, runId)).toMatchObject({ trigger: 'manual', status: 'failed' });
    });

    it('records a Step Functions execution started by hand, once, whole, beside a malformed row that poisons nothing', async () => {
      // Prepare: a row the old settle upserted (status and end only) for another target, and a console start
      await runs.client.send(
        new PutItemCommand({
          TableName: runs.tableName,
          Item: {
            target: { S: brokenTarget },
            runId: { S: '20261121T120000Z-poison' },
            status: { S: 'succeeded' },
            finishedAt: { S: '2026-11-21T12:05:00.000Z' },
          },
        }),
      );
      const runId = '20261121T120000Z-manual';
      const input = JSON.stringify({ target: snapshotTarget, runId });
      const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${stackName}-snapshots:console-${suffix}`;
      const ended = {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: { executionArn, status: 'SUCCEEDED', startDate: Date.now() - 60_000, stopDate: Date.now(), input },
      };

      // Act: the execution ends; EventBridge delivers its end twice; the freshness check runs
      const recorded = await invoke('Recorder', ended);
      const again = await invoke('Recorder', ended);
      const freshness = await invoke('Freshness', {});

      // Assess: recorded once, complete, as manual; counted once
      expect(recorded.error?.message).toBeUndefined();
      expect(recorded.result).toMatchObject({ target: snapshotTarget, runId, status: 'succeeded' });
      expect(await runs.store.get(snapshotTarget, runId)).toMatchObject({
        kind: 'snapshot',
        trigger: 'manual',
        status: 'succeeded',
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
      });
      const counted = [...metricsOf(recorded.lines).datapoints, ...metricsOf(again.lines).datapoints].filter(
        (m) => m.name === 'BackupSucceeded',
      );
      expect(counted).toHaveLength(1);
      // Every target's freshness is published; the poisoned row is skipped and logged, the broken target ages from first sight
      expect(freshness.error?.message).toBeUndefined();
      const { datapoints, evaluatedAt } = metricsOf(freshness.lines);
      const ages = datapoints.filter((m) => m.name === 'SecondsSinceLastGoodBackup');
      expect(ages.map((m) => m.dimensions.Target).sort()).toEqual(
        [brokenTarget, dumpTarget, snapshotTarget, retriedTarget].sort(),
      );
      expect(freshness.lines.join('\n')).toMatch(/skipped a malformed row of the runs table/);
      for (const target of [dumpTarget, snapshotTarget, brokenTarget, retriedTarget])
        expect(
          evaluateAlarm(findAlarm(template, 'SecondsSinceLastGoodBackup', { Target: target }), datapoints, evaluatedAt),
        ).toBe('OK');
    });

    it('retries a failed run as a new run naming the one it retries: the first attempt fails, the second succeeds, the failure alarm stays OK', async () => {
      // Act 1: the schedule fires; the task fails (the database refuses the credentials); the recorder settles it
      const first = await invoke('Dispatcher', { target: retriedTarget, trigger: 'schedule' });
      const firstRunId = (first.result as { runId: string }).runId;
      const [failedTask] = await runPendingTasks(clients, clusterArn, hostEnvironment);
      expect(failedTask?.exitCode).toBe(4);
      everything.push(failedTask?.stdout ?? '', failedTask?.stderr ?? '');
      const settledFirst = await invoke('Recorder', failedTask?.stoppedEvent);
      expect(settledFirst.error?.message).toBeUndefined();
      const retryAt = (settledFirst.result as { retryAt?: string }).retryAt;
      expect(retryAt).toBeDefined();
      expect(Date.parse(retryAt ?? '') - Date.now()).toBeGreaterThan(9 * 60_000); // the default backoff, 10 minutes

      // The one-time schedule the recorder created in Scheduler (moto): at the backoff, onto the default bus
      const name = `safekeep-retry-${firstRunId}-${createHash('sha256').update(retriedTarget).digest('hex').slice(0, 8)}`;
      const schedule = await new SchedulerClient({
        endpoint: motoPeer.endpoint,
        region: REGION,
        credentials: MOTO_CREDENTIALS,
      }).send(new GetScheduleCommand({ Name: name }));
      expect(schedule).toMatchObject({
        ScheduleExpression: `at(${(retryAt ?? '').slice(0, 19)})`,
        ActionAfterCompletion: 'DELETE',
        Target: {
          Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
          EventBridgeParameters: { DetailType: 'Backup Retry Due', Source: 'safekeep' },
        },
      });
      // The rule that hands the event's detail to the dispatcher
      const rules = Object.values(template.findResources('AWS::Events::Rule')) as { Properties: Record<string, any> }[];
      const retryRule = rules.find((r) => r.Properties.EventPattern?.['detail-type']?.includes('Backup Retry Due'));
      expect(retryRule?.Properties).toMatchObject({
        EventPattern: { source: ['safekeep'] },
        Targets: [{ InputPath: '$.detail' }],
      });
      expect(JSON.stringify(retryRule?.Properties.Targets[0].Arn)).toContain('Dispatcher');
      // A failed dispatch is not re-run by Lambda into another failed run: one delivery, at most one run.
      const dispatcherId = [...handlers.keys()].find((k) => k.includes('Dispatcher'));
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: dispatcherId },
        MaximumRetryAttempts: 0,
      });

      // Act 2: the database is back; the schedule fires, the rule delivers its detail to the dispatcher
      await clients.secrets.send(
        new PutSecretValueCommand({
          SecretId: `safekeep/${retriedTarget}`,
          SecretString: JSON.stringify({ username: pgPeer.user, password: pgPeer.password }),
        }),
      );
      const second = await invoke('Dispatcher', JSON.parse(schedule.Target?.Input ?? '{}'));
      expect(second.error?.message).toBeUndefined();
      const secondRunId = (second.result as { runId: string }).runId;
      const [goodTask] = await runPendingTasks(clients, clusterArn, hostEnvironment);
      expect(goodTask?.exitCode, goodTask?.stderr).toBe(0);
      everything.push(goodTask?.stdout ?? '', goodTask?.stderr ?? '');
      const settledSecond = await invoke('Recorder', goodTask?.stoppedEvent);

      // Assess: two runs, linked; one attempt failure and one success counted; the failure alarm stays OK
      expect(settledSecond.result).toMatchObject({ runId: secondRunId, status: 'succeeded' });
      expect(secondRunId).not.toBe(firstRunId);
      expect(await runs.store.get(retriedTarget, firstRunId)).toMatchObject({ status: 'failed', trigger: 'schedule' });
      expect(await runs.store.get(retriedTarget, secondRunId)).toMatchObject({
        status: 'succeeded',
        trigger: 'schedule',
        retryOf: firstRunId,
        attempt: 2,
      });
      const datapoints = [...metricsOf(settledFirst.lines).datapoints, ...metricsOf(settledSecond.lines).datapoints];
      const named = (metric: string) => datapoints.filter((m) => m.name === metric && m.dimensions.Target === retriedTarget);
      expect(named('BackupAttemptFailed')).toHaveLength(1);
      expect(named('BackupFailed')).toHaveLength(0);
      expect(named('BackupSucceeded')).toHaveLength(1);
      const alarm = findAlarm(template, 'BackupFailed', { Target: retriedTarget });
      const newest = Math.max(...datapoints.map((d) => d.timestamp.getTime()));
      expect(evaluateAlarm(alarm, datapoints, new Date(newest + 60_000))).toBe('OK');
    });

    it('never lets the database password appear in a log line, task override, task definition or CLI output', async () => {
      const registered = JSON.stringify(template.findResources('AWS::ECS::TaskDefinition'));
      expect(everything.length).toBeGreaterThan(20);
      for (const text of [...everything, registered]) expect(text).not.toContain(pgPeer.password);
    });
  },
);
