/**
 * A worker stopped mid-run, as ECS stops a task: SIGTERM (StopTask, a deployment, a Spot interruption), then
 * SIGKILL after the container's stop timeout. A real `safekeep dump` process backs up a PostgreSQL database
 * of about 200 MB into versitygw and is signalled while its upload is open; the recorder then settles the run
 * from the stopped-task event ECS would send.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKER_CONTAINER } from '#functions/contracts/deployment.ts';
import { EXIT } from '#functions/contracts/errors.ts';
import { taskRunEnvironment } from '#functions/contracts/run-payloads.ts';
import { recordRunEnd } from '#functions/runs/recorder.ts';
import { ecsTaskStopped } from '#functions/runs/run-end-events.ts';
import { WORKER_STOP_TIMEOUT } from '#infra/constructs/dump-tasks.ts';
import { s3Client } from '#test/support/aws.ts';
import { synthApp } from '#test/support/cdk.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';
import {
  CLI,
  createVersionedBucket,
  objectVersions,
  openMultipartUploads,
  peerEnvironment,
  uniqueName,
} from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');
const moto = await peer('moto');

describe('the dump task definition', () => {
  it('sets the stop timeout explicitly: SIGTERM, then SIGKILL 120 s later (the default would be 30 s)', () => {
    const { template } = synthApp();
    const definitions = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as {
      Properties: { ContainerDefinitions: { Name: string; StopTimeout?: number }[] };
    }[];
    expect(definitions.length).toBeGreaterThan(0);
    for (const definition of definitions)
      expect(definition.Properties.ContainerDefinitions.find((c) => c.Name === WORKER_CONTAINER)?.StopTimeout).toBe(
        WORKER_STOP_TIMEOUT.toSeconds(),
      );
  });
});

describe.skipIf(!postgres || !versitygw || !moto)('a worker stopped mid-upload', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const motoPeer = moto as NonNullable<typeof moto>;
  const s3 = s3Client(s3Peer);
  const database = uniqueName('stop_src');
  let bucket: string;

  beforeAll(async () => {
    // About 200 MB of pg_dump output that compresses poorly: the upload is still open seconds in.
    await createPostgresDatabase(pgPeer, database, [
      'CREATE TABLE payload (id int PRIMARY KEY, a text, b text, c text)',
      'INSERT INTO payload SELECT g, md5(g::text), md5((g * 7)::text), md5((g * 13)::text) FROM generate_series(1, 1800000) g',
    ]);
    bucket = await createVersionedBucket(s3, 'stopped');
  }, 300_000);

  /** Starts `safekeep dump` as the task would, and resolves once its multipart upload is open and uploading. */
  async function startDumpAndWaitForUpload(target: string, runId: string) {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'dump',
        '--engine',
        'postgres',
        '--source',
        `postgres://${pgPeer.user}@127.0.0.1:${pgPeer.port}/${database}`,
        '--to',
        `s3://${bucket}/${target}`,
        '--compression',
        'none',
        '--part-size',
        '5MiB',
        '--run-id',
        runId,
        '--json',
      ],
      { env: peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password }), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout?.resume();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const deadline = Date.now() + 60_000;
    while ((await openMultipartUploads(s3, bucket)).filter((key) => key.startsWith(`${target}/`)).length === 0) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no upload opened: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300)); // a few parts in: mid-upload
    return { child, exited, stderr: () => stderr };
  }

  /** The stopped-task event ECS sends for a task whose worker exited with `exitCode`, as the recorder gets it. */
  function stoppedEvent(target: string, runId: string, exitCode: number, stopCode: string, stoppedReason: string) {
    return ecsTaskStopped.parse({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      detail: {
        taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/safekeep/0123456789abcdef',
        taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/Safekeep-${target}:1`,
        lastStatus: 'STOPPED',
        stopCode,
        stoppedReason,
        startedAt: new Date(Date.now() - 10_000).toISOString(),
        stoppedAt: new Date().toISOString(),
        containers: [{ name: WORKER_CONTAINER, exitCode }],
        overrides: {
          containerOverrides: [
            {
              name: WORKER_CONTAINER,
              environment: Object.entries(taskRunEnvironment({ target, runId })).map(([name, value]) => ({ name, value })),
            },
          ],
        },
      },
    });
  }

  async function record(target: string, runId: string, event: ReturnType<typeof stoppedEvent>) {
    const runs = await motoRunsTable(motoPeer.endpoint);
    await runs.store.put({
      target,
      runId,
      kind: 'dump',
      trigger: 'schedule',
      status: 'running',
      startedAt: new Date().toISOString(),
    });
    const metrics: string[] = [];
    const outcome = await recordRunEnd(event, {
      ports: { runs: runs.store, readManifest: async () => undefined },
      now: () => new Date(),
      telemetry: { info: () => {}, warn: () => {}, metric: (name) => metrics.push(name) },
    });
    return { outcome, stored: await runs.store.get(target, runId), metrics };
  }

  it('on SIGTERM aborts every open upload and writes no manifest within the stop timeout, exits 6, and the ledger says why', async () => {
    // Prepare
    const target = 'stopped-term';
    const runId = '20261201T030000Z-sigtrm';
    const { child, exited, stderr } = await startDumpAndWaitForUpload(target, runId);

    // Act: what ECS StopTask does first
    const signalledAt = Date.now();
    (child as ChildProcess).kill('SIGTERM');
    const exit = await exited;

    // Assess: stopped cleanly, in time, leaving nothing
    expect(exit.code, stderr()).toBe(EXIT.stopped);
    expect(exit.at - signalledAt).toBeLessThan(WORKER_STOP_TIMEOUT.toMilliseconds());
    expect(exit.at - signalledAt).toBeLessThan(30_000); // even ECS's default stop timeout would do
    expect(stderr()).toMatch(/was stopped \(SIGTERM\) before it finished; every upload was aborted and no manifest written/);
    expect(await openMultipartUploads(s3, bucket)).toEqual([]);
    expect((await objectVersions(s3, bucket, `${target}/`)).filter((v) => v.key.endsWith('manifest.json'))).toEqual([]);
    expect(await objectVersions(s3, bucket, `${target}/`)).toEqual([]);

    const { outcome, stored, metrics } = await record(
      target,
      runId,
      stoppedEvent(target, runId, exit.code ?? -1, 'UserInitiated', 'Task stopped by user'),
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^stopped by ECS\/SIGTERM \(UserInitiated: Task stopped by user\)/),
    });
    expect(stored).toMatchObject({ status: 'failed', reason: expect.stringMatching(/stopped by ECS\/SIGTERM/) });
    expect(metrics).toEqual(['BackupFailed']);
  }, 120_000);

  it('killed outright (SIGKILL) leaves only open uploads for the lifecycle rule, no manifest, and the run is recorded failed', async () => {
    const target = 'stopped-kill';
    const runId = '20261201T030000Z-sigkil';
    const { child, exited } = await startDumpAndWaitForUpload(target, runId);

    (child as ChildProcess).kill('SIGKILL');
    const exit = await exited;

    expect(exit.signal).toBe('SIGKILL');
    expect((await openMultipartUploads(s3, bucket)).filter((key) => key.startsWith(`${target}/`)).length).toBeGreaterThan(0);
    expect(await objectVersions(s3, bucket, `${target}/`)).toEqual([]);
    // ECS reports a container killed by SIGKILL with exit code 137.
    const { outcome, metrics } = await record(
      target,
      runId,
      stoppedEvent(target, runId, 137, 'SpotInterruption', 'Your Spot Task was interrupted.'),
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^killed \(SIGKILL, exit code 137\) \(SpotInterruption/),
    });
    expect(outcome?.reason).toMatch(/lifecycle removes its open uploads/);
    expect(metrics).toEqual(['BackupFailed']);
  }, 120_000);
});
