import {
  CreateBucketCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { s3Client, uniqueBucket } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';

const versitygw = await peer('versitygw');

describe.skipIf(!versitygw)('versitygw S3 peer', () => {
  it('keeps every version of an overwritten object', async () => {
    // Prepare
    const s3 = s3Client(versitygw as NonNullable<typeof versitygw>);
    const Bucket = uniqueBucket('smoke');
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));

    // Act
    const first = await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.txt', Body: 'one' }));
    const second = await s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.txt', Body: 'two' }));

    // Assess
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status).toBe('Enabled');
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'a/' }));
    expect(versions.Versions?.map((v) => v.VersionId).sort()).toEqual([first.VersionId, second.VersionId].sort());
    const old = await s3.send(new GetObjectCommand({ Bucket, Key: 'a/b.txt', VersionId: first.VersionId }));
    const current = await s3.send(new GetObjectCommand({ Bucket, Key: 'a/b.txt' }));
    expect(await old.Body?.transformToString()).toBe('one');
    expect(await current.Body?.transformToString()).toBe('two');
  });

  it('honours If-None-Match: * (the manifest commit)', async () => {
    const s3 = s3Client(versitygw as NonNullable<typeof versitygw>);
    const Bucket = uniqueBucket('smoke');
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'manifest.json', Body: '{}', IfNoneMatch: '*' }));
    await expect(
      s3.send(new PutObjectCommand({ Bucket, Key: 'manifest.json', Body: '{"again":1}', IfNoneMatch: '*' })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
  });
});
