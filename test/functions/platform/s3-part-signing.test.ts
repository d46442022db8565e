/**
 * A part is hashed once: its SHA-256 is both the part's checksum and the payload hash SigV4 signs, so the
 * SDK does not read the body a second time, and the store (versitygw here) still checks what arrives
 * against what was signed.
 */
import { createHash, createHmac } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SourceData } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { TEST_REGION, uniqueBucket } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';

const versitygw = await peer('versitygw');

const bytes = (data: SourceData): Uint8Array =>
  typeof data === 'string'
    ? Buffer.from(data)
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

describe.skipIf(!versitygw)('part uploads (versitygw)', () => {
  it('sign the parts own SHA-256 and land byte for byte', async () => {
    // Prepare: a client that counts the bytes its own hash reads, and records the payload hash it signs.
    const { endpoint, accessKeyId, secretAccessKey } = versitygw as NonNullable<typeof versitygw>;
    let hashedBySdk = 0;
    class CountingSha256 {
      // The signer also asks for HMACs (a secret given): those hash keys and strings, not the body.
      private readonly hash;
      private readonly keyed: boolean;
      constructor(secret?: SourceData) {
        this.keyed = secret !== undefined;
        this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
      }
      update(data: SourceData) {
        if (!this.keyed) hashedBySdk += bytes(data).byteLength;
        this.hash.update(bytes(data));
      }
      async digest() {
        return new Uint8Array(this.hash.digest());
      }
      reset() {}
    }
    const s3 = new S3Client({
      endpoint,
      region: TEST_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      sha256: CountingSha256,
    });
    const signed: string[] = [];
    s3.middlewareStack.add(
      (next) => (args) => {
        const { headers } = args.request as { headers: Record<string, string> };
        if (headers.authorization) signed.push(headers['x-amz-content-sha256'] ?? '');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'recordPayloadHash' },
    );
    const Bucket = uniqueBucket('part-signing');
    await s3.send(new CreateBucketCommand({ Bucket }));
    const store = s3ArtifactStore(s3, Bucket);
    const body = Buffer.from('a part of a backup\n'.repeat(1000));
    signed.length = 0;
    hashedBySdk = 0;

    // Act
    const upload = await store.startUpload('t/part.bin', 'application/octet-stream');
    const part = await upload.uploadPart(1, body);
    await upload.complete([part]);

    // Assess
    const digest = createHash('sha256').update(body).digest();
    expect(signed).toContain(digest.toString('hex'));
    expect(hashedBySdk).toBeLessThan(body.length);
    expect(part.ChecksumSHA256).toBe(digest.toString('base64'));
    const stored = await s3.send(new GetObjectCommand({ Bucket, Key: 't/part.bin' }));
    expect(Buffer.from(await (stored.Body as NonNullable<typeof stored.Body>).transformToByteArray())).toEqual(body);
  });
});
