/**
 * drill.json and retention (versitygw): a drill's result is something Safekeep made beside a backup, so pruning
 * the backup deletes it too (a delete marker, like the backup's own objects), and a drill.json whose run has no
 * manifest is no backup: it is never listed, kept or pruned.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { drillKeyOf } from '#functions/contracts/drill.ts';
import { listDumpBackups, pruneDumpTarget } from '#functions/dumps/prune.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { s3Client } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, objectVersions } from '#test/support/worker.ts';

const versitygw = await peer('versitygw');

describe.skipIf(!versitygw)('drill.json beside dump backups', () => {
  const s3 = s3Client(versitygw as NonNullable<typeof versitygw>);
  const manifestOf = (day: number) => `meta/2026/11/0${day}/2026110${day}T031500Z-run${day}/manifest.json`;
  const lone = 'meta/2026/11/09/20261109T031500Z-gone/drill.json';
  let bucket = '';

  beforeAll(async () => {
    bucket = await createVersionedBucket(s3, 'drill-prune');
    const put = (Key: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '{}' }));
    for (const day of [1, 2]) {
      await put(manifestOf(day));
      await put(manifestOf(day).replace('manifest.json', 'database-x.pgdump.zst'));
      await put(drillKeyOf(manifestOf(day)));
    }
    await put(lone);
  });

  it('prunes a backup together with its drill.json and leaves a drill.json without a manifest alone', async () => {
    const store = s3ArtifactStore(s3, bucket);
    expect((await listDumpBackups(store, 'meta')).map((backup) => backup.manifestKey).sort()).toEqual([
      manifestOf(1),
      manifestOf(2),
    ]);

    const result = await pruneDumpTarget(store, {
      target: 'meta',
      retention: { policy: { keepLast: 1, minimum: 1 }, timeZone: 'UTC' },
      now: new Date('2026-11-10T00:00:00Z'),
      dryRun: false,
    });

    expect(result.deleted.map(({ backup }) => backup.id)).toEqual(['20261101T031500Z-run1']);
    const current = [];
    for await (const object of store.list('meta/')) current.push(object.key);
    expect(current.sort()).toEqual(
      [manifestOf(2), manifestOf(2).replace('manifest.json', 'database-x.pgdump.zst'), drillKeyOf(manifestOf(2)), lone].sort(),
    );
    // Deleted the Safekeep way: the pruned drill.json stays as a noncurrent version under a delete marker.
    const versions = await objectVersions(s3, bucket, drillKeyOf(manifestOf(1)));
    expect(versions.length).toBe(2);
  });
});
