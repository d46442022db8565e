/**
 * What the dump prune counts as a backup and how it dates it, against versitygw: only manifests of the
 * target's own run layout, dated by their run id, with GFS days taken in the schedule's time zone.
 */
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { listDumpBackups, pruneDumpTarget, runOfKey } from '#functions/dumps/prune.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { s3Client, uniqueBucket } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';

const versitygw = await peer('versitygw');

describe('runOfKey', () => {
  it.each([
    ['meta/2026/11/02/20261102T003000Z-a1/manifest.json', '20261102T003000Z-a1'],
    ['meta/2026/11/02/20261102T003000Z-a1/dolt/shop/chunk', '20261102T003000Z-a1'],
    ['meta/2026/11/03/20261102T003000Z-a1/manifest.json', undefined], // the date path is not the run id's
    ['meta-archive/2026/11/02/20261102T003000Z-a1/manifest.json', undefined], // another target
    ['meta/2026/11/02/not-a-run/manifest.json', undefined],
    ['meta/manifest.json', undefined],
  ])('%s belongs to run %s', (key, runId) => {
    expect(runOfKey('meta', key)?.runId).toBe(runId);
  });
});

describe.skipIf(!versitygw)('dump prune decisions (versitygw)', () => {
  it("keeps one backup per day of the schedule's time zone, not of UTC", async () => {
    // Prepare: 23:30 and 00:30 UTC fall on two UTC days but one Berlin day (00:30 and 01:30 CET).
    const s3 = s3Client(versitygw as NonNullable<typeof versitygw>);
    const Bucket = uniqueBucket('prune-tz');
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const keys = [
      'meta/2026/11/01/20261101T233000Z-late/manifest.json',
      'meta/2026/11/02/20261102T003000Z-early/manifest.json',
      'meta/2026/11/02/20261102T003000Z-early/database-metadb.dump.zst',
    ];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: '{}' }));
    const store = s3ArtifactStore(s3, Bucket);
    const plan = (timeZone: string) =>
      pruneDumpTarget(store, {
        target: 'meta',
        retention: { policy: { gfs: { daily: 2 }, minimum: 1 }, timeZone },
        now: new Date('2026-11-02T12:00:00Z'),
        dryRun: true,
      });

    // Act
    const utc = await plan('Etc/UTC');
    const berlin = await plan('Europe/Berlin');

    // Assess
    expect(utc.deleted).toEqual([]);
    expect(berlin.kept.map(({ backup, reasons }) => [backup.id, reasons])).toEqual([
      ['20261102T003000Z-early', ['daily 2026-11-02', 'floor']],
    ]);
    expect(berlin.deleted.map(({ backup }) => backup.id)).toEqual(['20261101T233000Z-late']);
    expect((await listDumpBackups(store, 'meta')).map((b) => b.objectKeys.length).sort()).toEqual([0, 1]);
  });
});
