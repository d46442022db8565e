import { describe, expect, it } from 'vitest';
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
