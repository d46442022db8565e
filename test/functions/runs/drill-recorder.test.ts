/**
 * Settling restore drills from how they ended, against real peers: drill.json in versitygw (written where a
 * drill writes it, beside the backup's manifest), the runs table in moto. A drill task's stop is a drill, never
 * a backup: it is settled in the drill partition and counted as DrillSucceeded or DrillFailed only.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { manifestKeyOf } from '#functions/contracts/artifact-layout.ts';
import { WORKER_CONTAINER } from '#functions/contracts/deployment.ts';
import { type DrillResult, drillKeyOf, TASK_DRILL_VARIABLES } from '#functions/contracts/drill.ts';
import { METRIC } from '#functions/contracts/metrics.ts';
import { TASK_RUN_VARIABLES } from '#functions/contracts/run-payloads.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { recordEnd } from '#functions/runs/recorder.ts';
import { ecsTaskStopped, executionStatusChange } from '#functions/runs/run-end-events.ts';
import { s3Client } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';
import { createVersionedBucket } from '#test/support/worker.ts';

const moto = await peer('moto');
const versitygw = await peer('versitygw');
const NOW = new Date('2026-12-01T05:20:00.000Z');
const BACKUP = '20261201T030000Z-aaaaaa';
const MANIFEST = manifestKeyOf('orders', BACKUP) as string;

function result(drillId: string, status: DrillResult['validationStatus'], message = 'every table matched'): DrillResult {
  return {
    safekeepDrill: 1,
    target: 'orders',
    drillId,
    backupRunId: BACKUP,
    restoredFrom: { manifestKey: MANIFEST },
    trigger: 'schedule',
    startedAt: '2026-12-01T05:00:00.000Z',
    finishedAt: '2026-12-01T05:12:00.000Z',
    durationSeconds: 720,
    validationStatus: status,
    validationStatusMessage: message,
    restore: { kind: 'scratch-server', engine: 'postgres', serverVersion: '18.1' },
    compared: [
      {
        what: 'rows',
        subject: 'public.orders',
        expected: 10,
        found: status === 'SUCCESSFUL' ? 10 : 9,
        ok: status === 'SUCCESSFUL',
      },
    ],
    counts: { tables: 1, rows: 10 },
  };
}

/** The stopped-task event ECS sends for a drill task, overrides as the dispatcher set them. */
function drillTaskStopped(drillId: string, exitCode: number | undefined) {
  return ecsTaskStopped.parse({
    source: 'aws.ecs',
    'detail-type': 'ECS Task State Change',
    detail: {
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/c/1',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/Safekeep-orders_drill:1',
      lastStatus: 'STOPPED',
      stopCode: exitCode === undefined ? 'TaskFailedToStart' : 'EssentialContainerExited',
      stoppedReason: exitCode === undefined ? 'CannotPullContainerError: pull access denied' : undefined,
      startedAt: exitCode === undefined ? undefined : '2026-12-01T05:00:00.000Z',
      createdAt: '2026-12-01T04:59:30.000Z',
      stoppedAt: '2026-12-01T05:13:00.000Z',
      containers: [{ name: WORKER_CONTAINER, ...(exitCode === undefined ? {} : { exitCode }) }],
      overrides: {
        containerOverrides: [
          {
            name: WORKER_CONTAINER,
            environment: [
              { name: TASK_RUN_VARIABLES.target, value: 'orders' },
              { name: TASK_RUN_VARIABLES.runId, value: drillId },
              { name: TASK_DRILL_VARIABLES.action, value: 'drill' },
              { name: TASK_DRILL_VARIABLES.from, value: MANIFEST },
            ],
          },
        ],
      },
    },
  });
}

describe.skipIf(!moto || !versitygw)('recording restore drills (drill.json on versitygw, runs table on moto)', () => {
  const s3 = s3Client(versitygw as NonNullable<typeof versitygw>);
  let bucket: string;

  beforeAll(async () => {
    bucket = await createVersionedBucket(s3, 'drill-recorder');
  });

  async function setUp(drillId: string, written?: DrillResult) {
    if (written)
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: drillKeyOf(MANIFEST), Body: JSON.stringify(written) }));
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    const running = {
      target: 'orders',
      kind: 'dump',
      trigger: 'schedule',
      status: 'running',
      startedAt: '2026-12-01T05:00:00.000Z',
    } as const;
    await store.putDrill({ ...running, drillId, manifestKey: MANIFEST, backupRunId: BACKUP });
    const artifacts = s3ArtifactStore(s3, bucket);
    const metrics: { name: string; value: number }[] = [];
    const context = {
      ports: {
        runs: store,
        // As the recorder's handler reads it: absent is undefined.
        async readDrillResult(key: string) {
          try {
            return JSON.parse(await artifacts.readText(key));
          } catch (error) {
            if ((error as { cause?: { name?: string } }).cause?.name === 'NoSuchKey') return undefined;
            throw error;
          }
        },
        readManifest: async () => {
          throw new Error('a drill must not read a manifest as a backup would');
        },
      },
      now: () => NOW,
      telemetry: { info: () => {}, warn: () => {}, metric: (name: string, value: number) => void metrics.push({ name, value }) },
    };
    return { store, context, metrics };
  }

  it('settles a drill task whose drill.json says SUCCESSFUL: DrillSucceeded and its duration, once, and no backup counted', async () => {
    const drillId = '20261201T050000Z-d00001';
    const { store, context, metrics } = await setUp(drillId, result(drillId, 'SUCCESSFUL'));
    const ended = await recordEnd(drillTaskStopped(drillId, 0), context);
    expect(ended).toMatchObject({ status: 'succeeded', validationStatus: 'SUCCESSFUL', resultKey: drillKeyOf(MANIFEST) });
    expect(metrics).toEqual([
      { name: METRIC.drillSucceeded, value: 1 },
      { name: METRIC.drillDurationSeconds, value: 720 },
    ]);
    expect(await store.lastGoodDrill('orders')).toMatchObject({ drillId, status: 'succeeded', durationSeconds: 720 });
    expect(await store.recent('orders', 10)).toEqual([]);
    // A duplicate delivery is counted no second time.
    await recordEnd(drillTaskStopped(drillId, 0), context);
    expect(metrics).toHaveLength(2);
  });

  it('fails a drill whose drill.json says FAILED, with its message: DrillFailed, never retried as a backup', async () => {
    const drillId = '20261201T050000Z-d00002';
    const { store, context, metrics } = await setUp(
      drillId,
      result(drillId, 'FAILED', 'rows differ in public.orders: 10 recorded, 9 restored'),
    );
    const ended = await recordEnd(drillTaskStopped(drillId, 1), context);
    expect(ended).toMatchObject({ status: 'failed', validationStatus: 'FAILED' });
    expect(ended?.reason).toMatch(
      /^FAILED: rows differ in public.orders: 10 recorded, 9 restored \(the drill task exited with code 1/,
    );
    expect(metrics).toEqual([{ name: METRIC.drillFailed, value: 1 }]);
    expect(await store.getDrill('orders', drillId)).toMatchObject({ status: 'failed', validationStatus: 'FAILED' });
    expect(await store.lastGoodDrill('orders')).toBeUndefined();
  });

  it("fails a drill that wrote no drill.json, or only another drill's, or whose task never started", async () => {
    const bare = '20261201T050000Z-d00003';
    const { context, metrics } = await setUp(bare);
    // The bucket may hold an older drill's result for the same backup: it is not this drill's.
    expect((await recordEnd(drillTaskStopped(bare, 0), context))?.reason).toMatch(/not 20261201T050000Z-d00003's|wrote no/);
    const never = '20261201T050000Z-d00004';
    const second = await setUp(never);
    expect(await recordEnd(drillTaskStopped(never, undefined), second.context)).toMatchObject({
      status: 'failed',
      reason: 'the drill task never started (TaskFailedToStart: CannotPullContainerError: pull access denied)',
    });
    expect([...metrics, ...second.metrics]).toEqual([
      { name: METRIC.drillFailed, value: 1 },
      { name: METRIC.drillFailed, value: 1 },
    ]);
  });

  it('fails a drill task that exited 0 without a drill.json', async () => {
    const fresh = await createVersionedBucket(s3, 'drill-recorder');
    const drillId = '20261201T050000Z-d00005';
    const { context } = await setUp(drillId);
    const artifacts = s3ArtifactStore(s3, fresh);
    context.ports.readDrillResult = async (key: string) => {
      for await (const object of artifacts.list(key)) if (object.key === key) return JSON.parse(await artifacts.readText(key));
      return undefined;
    };
    expect(await recordEnd(drillTaskStopped(drillId, 0), context)).toMatchObject({
      status: 'failed',
      reason: `the drill wrote no ${drillKeyOf(MANIFEST)} though it exited 0`,
    });
  });

  it('settles snapshot drill executions from their end: the output result, or the failure', async () => {
    const { store, context, metrics } = await setUp('20261201T050000Z-s00001');
    const execution = (drillId: string, status: string, extra: Record<string, unknown>) =>
      executionStatusChange.parse({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: `arn:aws:states:us-east-1:123456789012:execution:drills:${drillId}`,
          status,
          startDate: Date.parse('2026-12-01T05:00:00.000Z'),
          stopDate: Date.parse('2026-12-01T05:30:00.000Z'),
          input: JSON.stringify({ target: 'orders', drillId }),
          ...extra,
        },
      });
    const passed = { ...result('20261201T050000Z-s00002', 'SUCCESSFUL'), restore: { kind: 'rds-instance' as const } };
    expect(
      await recordEnd(execution('20261201T050000Z-s00002', 'SUCCEEDED', { output: JSON.stringify(passed) }), context),
    ).toMatchObject({ kind: 'snapshot', status: 'succeeded' });
    expect(
      await recordEnd(
        execution('20261201T050000Z-s00003', 'FAILED', { error: 'States.TaskFailed', cause: 'DBInstanceNotFound' }),
        context,
      ),
    ).toMatchObject({ kind: 'snapshot', status: 'failed', reason: 'the snapshot drill failed: DBInstanceNotFound' });
    expect(metrics.map((m) => m.name)).toEqual([METRIC.drillSucceeded, METRIC.drillDurationSeconds, METRIC.drillFailed]);
    expect((await store.lastGoodDrill('orders'))?.drillId).toBe('20261201T050000Z-s00002');
    expect(await store.recent('orders', 10)).toEqual([]);
  });
});
