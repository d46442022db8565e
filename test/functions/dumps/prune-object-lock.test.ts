/**
 * Pruning under Object Lock (versitygw enforces it): the prune only adds delete markers, which S3 allows
 * on locked objects, and the locked versions outlive them.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { pruneDumpTarget } from '#functions/dumps/prune.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { s3Client, uniqueBucket } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { objectVersions } from '#test/support/worker.ts';

const versitygw = await peer('versitygw');

describe.skipIf(!versitygw)('dump retention under Object Lock (versitygw)', () => {
  it('delete-marks a locked backup, whose versions stay readable and undeletable', async () => {
    // Prepare
    const s3 = s3Client(versitygw as NonNullable<typeof versitygw>);
    const Bucket = uniqueBucket('prune-lock');
    await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
      }),
    );
    const runs = ['20261101T031500Z-old', '20261102T031500Z-new'];
    const versions = new Map<string, string>();
    for (const runId of runs) {
      for (const file of ['database-metadb.dump.zst', 'manifest.json']) {
        const Key = `meta/2026/11/${runId.slice(6, 8)}/${runId}/${file}`;
        versions.set(Key, (await s3.send(new PutObjectCommand({ Bucket, Key, Body: runId }))).VersionId ?? '');
      }
    }
    const oldObject = 'meta/2026/11/01/20261101T031500Z-old/database-metadb.dump.zst';

    // Act
    const result = await pruneDumpTarget(s3ArtifactStore(s3, Bucket), {
      target: 'meta',
      retention: { policy: { keepLast: 1, minimum: 1 }, timeZone: 'Europe/Berlin' },
      now: new Date('2026-11-02T12:00:00Z'),
      dryRun: false,
    });

    // Assess
    expect(result.deleted.map(({ backup }) => backup.id)).toEqual(['20261101T031500Z-old']);
    const left = await objectVersions(s3, Bucket, 'meta/2026/11/01/');
    expect(left.filter((v) => v.key.endsWith('(delete marker)'))).toHaveLength(2);
    const read = await s3.send(new GetObjectCommand({ Bucket, Key: oldObject, VersionId: versions.get(oldObject) }));
    expect(await read.Body?.transformToString()).toBe('20261101T031500Z-old');
    // The lock, not the prune, decides when the version may go: deleting it outright is still refused.
    await expect(
      s3.send(new DeleteObjectCommand({ Bucket, Key: oldObject, VersionId: versions.get(oldObject) })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
