import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoRunsStore } from '#functions/runs/adapters/runs-table.ts';
import type { RunRecord } from '#functions/runs/run-record.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';

const moto = await peer('moto');

const run = (runId: string, status: RunRecord['status']): RunRecord => ({
  target: 'orders',
  runId,
  kind: 'dump',
  trigger: 'schedule',
  status,
  startedAt: '2026-11-21T03:00:00.000Z',
});

describe.skipIf(!moto)('the runs table (DynamoDB on moto)', () => {
  it('lists runs newest first and finds the last good one past failures', async () => {
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    await store.put(run('20261119T030000Z-aaaaaa', 'succeeded'));
    await store.put(run('20261120T030000Z-bbbbbb', 'failed'));
    await store.put(run('20261121T030000Z-cccccc', 'running'));
    await store.firstSeen('orders', new Date('2026-11-01T00:00:00Z'));
    expect((await store.recent('orders', 10)).map((r) => r.runId)).toEqual([
      '20261121T030000Z-cccccc',
      '20261120T030000Z-bbbbbb',
      '20261119T030000Z-aaaaaa',
    ]);
    expect((await store.lastSucceeded('orders'))?.runId).toBe('20261119T030000Z-aaaaaa');
  });

  it('settles a running run once; a late event cannot flip it', async () => {
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    await store.put(run('r1', 'running'));
    const settled = await store.settle('orders', 'r1', {
      status: 'succeeded',
      finishedAt: '2026-11-21T03:10:00.000Z',
      bytes: 42,
    });
    expect(settled).toMatchObject({ status: 'succeeded', bytes: 42 });
    expect(await store.settle('orders', 'r1', { status: 'failed', reason: 'late duplicate event' })).toBeUndefined();
    expect((await store.get('orders', 'r1'))?.status).toBe('succeeded');
  });

  it('remembers when a target was first seen', async () => {
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    const first = new Date('2026-11-01T00:00:00Z');
    expect(await store.firstSeen('never-ran', first)).toEqual(first);
    expect(await store.firstSeen('never-ran', new Date('2026-11-21T00:00:00Z'))).toEqual(first);
  });
});

describe.skipIf(!moto)('the runs table: nothing can poison it', () => {
  const endpoint = () => (moto as NonNullable<typeof moto>).endpoint;

  it('never creates a row by settling: a run nobody recorded stays unrecorded without an origin', async () => {
    const { store, client, tableName } = await motoRunsTable(endpoint());
    expect(await store.settle('orders', '20261121T030000Z-ffffff', { status: 'failed', reason: 'x' })).toBeUndefined();
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const raw = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { target: { S: 'orders' }, runId: { S: '20261121T030000Z-ffffff' } } }),
    );
    expect(raw.Item).toBeUndefined();
  });

  it('records a run with no "started" record whole, from its origin, once', async () => {
    const { store } = await motoRunsTable(endpoint());
    const origin = { kind: 'snapshot', trigger: 'manual', startedAt: '2026-11-21T03:00:00.000Z' } as const;
    const outcome = { status: 'succeeded', finishedAt: '2026-11-21T03:05:00.000Z', durationSeconds: 300 } as const;
    const settled = await store.settle('orders', '20261121T030000Z-eeeeee', outcome, origin);
    expect(settled).toEqual({ target: 'orders', runId: '20261121T030000Z-eeeeee', ...origin, ...outcome });
    // A duplicate end event finds it settled: nothing is counted twice.
    expect(await store.settle('orders', '20261121T030000Z-eeeeee', { status: 'failed' }, origin)).toBeUndefined();
    expect((await store.lastSucceeded('orders'))?.runId).toBe('20261121T030000Z-eeeeee');
  });

  it('skips and logs a malformed row: recent and lastSucceeded answer from the good ones', async () => {
    const { client, tableName } = await motoRunsTable(endpoint());
    const warnings: string[] = [];
    const store = dynamoRunsStore(tableName, client, {
      warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    });
    await store.put(run('20261119T030000Z-aaaaaa', 'succeeded'));
    // What the old settle upserted for a console-started run: a status and an end, nothing else.
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          target: { S: 'orders' },
          runId: { S: '20261121T030000Z-bad000' },
          status: { S: 'succeeded' },
          finishedAt: { S: '2026-11-21T03:10:00.000Z' },
        },
      }),
    );
    expect((await store.lastSucceeded('orders'))?.runId).toBe('20261119T030000Z-aaaaaa');
    expect((await store.recent('orders', 10)).map((r) => r.runId)).toEqual(['20261119T030000Z-aaaaaa']);
    expect(warnings[0]).toMatch(/skipped a malformed row of the runs table .*20261121T030000Z-bad000/);
  });
});

describe.skipIf(!moto)('the runs table: late turns', () => {
  it('says a target turned late once, until it is fresh again', async () => {
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    const at = new Date('2026-12-01T00:00:00Z');
    expect(await store.markLate('orders', false, at)).toBe(false);
    expect(await store.markLate('orders', true, at)).toBe(true);
    expect(await store.markLate('orders', true, at)).toBe(false);
    expect(await store.markLate('orders', false, at)).toBe(false);
    expect(await store.markLate('orders', true, at)).toBe(true);
    // The meta item it keeps is still the target's first sight.
    expect(await store.firstSeen('orders', new Date('2026-12-05T00:00:00Z'))).toEqual(at);
  });
});

describe.skipIf(!moto)('the runs table: restore drills in their own partition', () => {
  const drill = (drillId: string, status: RunRecord['status']) =>
    ({
      target: 'orders',
      drillId,
      kind: 'dump',
      trigger: 'schedule',
      status,
      startedAt: '2026-11-21T04:00:00.000Z',
      backupRunId: '20261119T030000Z-aaaaaa',
      manifestKey: 'orders/2026/11/19/20261119T030000Z-aaaaaa/manifest.json',
    }) as const;

  it('keeps drills apart from backups: recent and lastSucceeded never see one', async () => {
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    await store.put(run('20261119T030000Z-aaaaaa', 'succeeded'));
    await store.put(run('20261120T030000Z-bbbbbb', 'failed'));
    await store.putDrill(drill('20261121T040000Z-dddddd', 'running'));
    await store.putDrill(drill('20261122T040000Z-eeeeee', 'running'));
    await store.settleDrill('orders', '20261122T040000Z-eeeeee', {
      status: 'succeeded',
      finishedAt: '2026-11-22T04:10:00.000Z',
      validationStatus: 'SUCCESSFUL',
      durationSeconds: 600,
    });
    expect((await store.recent('orders', 10)).map((r) => r.runId)).toEqual([
      '20261120T030000Z-bbbbbb',
      '20261119T030000Z-aaaaaa',
    ]);
    expect((await store.lastSucceeded('orders'))?.runId).toBe('20261119T030000Z-aaaaaa');
    expect((await store.recentDrills('orders', 10)).map((d) => d.drillId)).toEqual([
      '20261122T040000Z-eeeeee',
      '20261121T040000Z-dddddd',
    ]);
    expect(await store.lastGoodDrill('orders')).toMatchObject({
      target: 'orders',
      drillId: '20261122T040000Z-eeeeee',
      validationStatus: 'SUCCESSFUL',
    });
    expect(await store.getDrill('orders', '20261121T040000Z-dddddd')).toMatchObject({ status: 'running', target: 'orders' });
  });

  it('settles a drill once, and records one nothing started whole from its origin', async () => {
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    await store.putDrill(drill('20261121T040000Z-dddddd', 'running'));
    const failed = { status: 'failed', finishedAt: '2026-11-21T04:05:00.000Z', reason: 'rows differ' } as const;
    expect(await store.settleDrill('orders', '20261121T040000Z-dddddd', failed)).toMatchObject(failed);
    expect(await store.settleDrill('orders', '20261121T040000Z-dddddd', { status: 'succeeded' })).toBeUndefined();
    expect(await store.lastGoodDrill('orders')).toBeUndefined();
    const origin = { kind: 'snapshot', trigger: 'manual', startedAt: '2026-11-21T05:00:00.000Z' } as const;
    expect(await store.settleDrill('orders', '20261121T050000Z-ffffff', { status: 'succeeded' }, origin)).toMatchObject({
      drillId: '20261121T050000Z-ffffff',
      kind: 'snapshot',
    });
  });

  it("ages drills from their own first sight, not the target's", async () => {
    const { store } = await motoRunsTable((moto as NonNullable<typeof moto>).endpoint);
    await store.firstSeen('orders', new Date('2026-01-01T00:00:00Z'));
    const first = new Date('2026-11-01T00:00:00Z');
    expect(await store.drillsFirstSeen('orders', first)).toEqual(first);
    expect(await store.drillsFirstSeen('orders', new Date('2026-11-21T00:00:00Z'))).toEqual(first);
  });
});
