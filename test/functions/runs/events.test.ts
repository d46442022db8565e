/**
 * The events Safekeep publishes match the schema published in docs/events.schema.json: the recorder's for
 * each way a run settles (succeeded with its manifest, failed for good, failed and retried), the freshness
 * check's Backup Late, and the retry schedule's Backup Retry Due.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manifestKeyOf } from '#functions/contracts/artifact-layout.ts';
import { DETAIL_TYPE, EVENT_SOURCE, type EventPublisher } from '#functions/contracts/events.ts';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { freshnessOf, lateEventDetail } from '#functions/runs/freshness.ts';
import { recordRunEnd } from '#functions/runs/recorder.ts';
import type { RetryRequest } from '#functions/runs/retry.ts';
import { ecsTaskStopped } from '#functions/runs/run-end-events.ts';
import { schemaProblems } from '#test/support/json-schema.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';

const moto = await peer('moto');
const schema = JSON.parse(readFileSync('docs/events.schema.json', 'utf8')) as Record<string, unknown>;
const NOW = new Date('2026-12-01T03:20:00.000Z');

/** The event as a rule receives it: source, detail-type, detail. */
type Published = { source: string; 'detail-type': string; detail: unknown };

function capture(): { events: Published[]; publisher: EventPublisher } {
  const events: Published[] = [];
  return {
    events,
    publisher: {
      async publish(detailType, detail) {
        // Through JSON, as PutEvents carries it.
        events.push({ source: EVENT_SOURCE, 'detail-type': detailType, detail: JSON.parse(JSON.stringify(detail)) });
      },
    },
  };
}

function taskStopped(target: string, runId: string, exitCode: number) {
  return ecsTaskStopped.parse({
    source: 'aws.ecs',
    'detail-type': 'ECS Task State Change',
    detail: {
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/c/1',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/Safekeep-orders:1',
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      startedAt: '2026-12-01T03:00:00.000Z',
      stoppedAt: '2026-12-01T03:10:00.000Z',
      containers: [{ name: 'worker', exitCode }],
      overrides: {
        containerOverrides: [
          {
            name: 'worker',
            environment: [
              { name: 'SAFEKEEP_TARGET', value: target },
              { name: 'SAFEKEEP_RUN_ID', value: runId },
            ],
          },
        ],
      },
    },
  });
}

describe('the published event schema', () => {
  it('rejects what it must: a wrong detail-type, a missing field, an unknown field', () => {
    const good = {
      source: 'safekeep',
      'detail-type': 'Backup Late',
      detail: lateEventDetail(
        freshnessOf(
          { name: 'orders', schedule: { expression: 'rate(1 day)' }, alerts: {} } as never,
          { kind: 'first-seen', at: new Date('2026-11-01T00:00:00Z') },
          NOW,
        ),
        NOW,
      ),
    };
    expect(schemaProblems(good, schema)).toEqual([]);
    expect(schemaProblems({ ...good, 'detail-type': 'Backup Exploded' }, schema)).not.toEqual([]);
    const { ageSeconds: _age, ...missing } = good.detail;
    expect(schemaProblems({ ...good, detail: missing }, schema).join()).toMatch(/ageSeconds: is required/);
    expect(schemaProblems({ ...good, detail: { ...good.detail, extra: 1 } }, schema).join()).toMatch(
      /extra: is not in the schema/,
    );
  });

  it('holds a Backup Late from the freshness check, and a Backup Retry Due', () => {
    const late = freshnessOf(
      { name: 'orders', schedule: { expression: 'rate(1 day)' }, alerts: {} } as never,
      { kind: 'last-good-backup', at: new Date('2026-11-20T00:00:00Z'), runId: '20261120T000000Z-abc123' },
      NOW,
    );
    expect(late.late).toBe(true);
    expect(
      schemaProblems({ source: 'safekeep', 'detail-type': DETAIL_TYPE.late, detail: lateEventDetail(late, NOW) }, schema),
    ).toEqual([]);
    const retry: RetryRequest = { target: 'orders', trigger: 'schedule', retryOf: '20261201T030000Z-abc123', attempt: 2 };
    expect(schemaProblems({ source: 'safekeep', 'detail-type': DETAIL_TYPE.retryDue, detail: retry }, schema)).toEqual([]);
  });
});

describe.skipIf(!moto)("the recorder's events (runs table on moto)", () => {
  it('publishes Backup Succeeded with the manifest, Backup Attempt Failed with the retry, Backup Failed on the last attempt', async () => {
    // Prepare: three runs of a target with 2 attempts: a good one, a failed first attempt, its failed retry
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    const [good, first, retry] = ['20261201T030000Z-aaaaaa', '20261201T031000Z-bbbbbb', '20261201T032000Z-cccccc'];
    const running = {
      target: 'orders',
      kind: 'dump',
      trigger: 'schedule',
      status: 'running',
      startedAt: '2026-12-01T03:00:00.000Z',
    } as const;
    await store.put({ ...running, runId: good, manifestKey: manifestKeyOf('orders', good) });
    await store.put({ ...running, runId: first });
    await store.put({ ...running, runId: retry, retryOf: first, attempt: 2 });
    const { events, publisher } = capture();
    const scheduled: { request: RetryRequest; at: Date }[] = [];
    const manifest = {
      startedAt: '2026-12-01T03:00:00.000Z',
      finishedAt: '2026-12-01T03:09:00.000Z',
      totals: { storedBytes: 4242 },
    } as Manifest;
    const context = {
      ports: {
        runs: store,
        readManifest: async () => manifest,
        events: publisher,
        retries: { scheduleRetry: async (request: RetryRequest, at: Date) => void scheduled.push({ request, at }) },
      },
      now: () => NOW,
      telemetry: { info: () => {}, warn: () => {}, metric: () => {} },
      retryPolicyOf: () => ({ attempts: 2, backoffMinutes: 10 }),
      bucket: 'my-backups',
    };

    // Act
    await recordRunEnd(taskStopped('orders', good, 0), context);
    await recordRunEnd(taskStopped('orders', first, 4), context);
    await recordRunEnd(taskStopped('orders', retry, 4), context);

    // Assess: each matches the published schema, and says what happened
    expect(events.map((e) => e['detail-type'])).toEqual(['Backup Succeeded', 'Backup Attempt Failed', 'Backup Failed']);
    for (const event of events) expect(schemaProblems(event, schema), JSON.stringify(event)).toEqual([]);
    expect(events[0]?.detail).toMatchObject({
      target: 'orders',
      runId: good,
      kind: 'dump',
      status: 'succeeded',
      bytes: 4242,
      durationSeconds: 600,
      manifest: {
        bucket: 'my-backups',
        key: manifestKeyOf('orders', good),
        url: `s3://my-backups/${manifestKeyOf('orders', good)}`,
      },
    });
    expect(events[1]?.detail).toMatchObject({
      runId: first,
      attempt: 1,
      retryAt: '2026-12-01T03:30:00.000Z',
      reason: expect.stringMatching(/exited with code 4/),
    });
    expect(events[2]?.detail).toMatchObject({ runId: retry, attempt: 2, retryOf: first, status: 'failed' });
    expect(scheduled).toEqual([
      {
        request: { target: 'orders', trigger: 'schedule', retryOf: first, attempt: 2 },
        at: new Date('2026-12-01T03:30:00.000Z'),
      },
    ]);
  });
});
