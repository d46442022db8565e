/**
 * Object Lock on a real S3 server (versitygw): a real `safekeep dump` into a bucket with a default compliance
 * retention. Every version it wrote is locked (a version delete is refused), a lock cannot be weakened, and
 * every write carried the SHA-256 checksum a locked bucket requires (Content-MD5 or x-amz-checksum-*): the
 * multipart dump's parts and the manifest's single put.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { objectVersions, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

describe.skipIf(!postgres || !versitygw)('a dump into an Object Lock bucket (compliance mode, versitygw)', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const s3 = s3Client(s3Peer);
  const source = uniqueName('locked_src');
  const bucket = `locked-${Date.now().toString(36)}`;
  let versions: { key: string; versionId?: string }[];

  beforeAll(async () => {
    // Enough rows for more than one 5 MiB part.
    await createPostgresDatabase(pgPeer, source, [
      'CREATE TABLE filler AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 8) AS payload FROM generate_series(1, 60000) g',
    ]);
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } } },
      }),
    );
    const run = await runCli(
      [
        'dump',
        '--engine',
        'postgres',
        '--source',
        `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${source}`,
        '--to',
        `s3://${bucket}/locked`,
        '--endpoint-url',
        s3Peer.endpoint,
        '--part-size',
        '5MiB',
        '--compression',
        'none',
      ],
      peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password }),
    );
    expect(run.code, run.stderr).toBe(0);
    versions = await objectVersions(s3, bucket);
    expect(versions.some((v) => v.key.endsWith('manifest.json'))).toBe(true);
  });

  it('refuses to delete any version the dump wrote', async () => {
    for (const { key, versionId } of versions) {
      await expect(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })), key).rejects.toThrow(
        /object lock/i,
      );
    }
    expect(await objectVersions(s3, bucket)).toEqual(versions);
  });

  /** An object put with its own compliance retention (versitygw keeps a bucket default apart from the object's). */
  async function lockedProbe(key: string): Promise<string | undefined> {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: 'locked',
        ChecksumAlgorithm: 'SHA256',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
      }),
    );
    return put.VersionId;
  }

  it('refuses to weaken a compliance lock to governance, even with BypassGovernanceRetention', async () => {
    const versionId = await lockedProbe('probe/weaken');
    await expect(
      s3.send(
        new PutObjectRetentionCommand({
          Bucket: bucket,
          Key: 'probe/weaken',
          VersionId: versionId,
          BypassGovernanceRetention: true,
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 3_600_000) },
        }),
      ),
    ).rejects.toThrow(/object lock/i);
  });

  // AWS refuses to shorten a COMPLIANCE retention (only extending is allowed); versitygw accepts it, so this documents
  // the peer's gap and turns red the day versitygw enforces it (then make it a plain `it`). In AWS, Safekeep's bucket
  // policy denies s3:PutObjectRetention to all but the break-glass role on top (test/infra/constructs/artifact-bucket).
  it.fails('refuses to shorten a compliance retention (versitygw does not enforce this yet)', async () => {
    const versionId = await lockedProbe('probe/shorten');
    await expect(
      s3.send(
        new PutObjectRetentionCommand({
          Bucket: bucket,
          Key: 'probe/shorten',
          VersionId: versionId,
          Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 3_600_000) },
        }),
      ),
    ).rejects.toThrow(/object lock/i);
  });

  it("stored every write with the SHA-256 checksum a locked bucket requires: the manifest put and each part of the dump's upload", async () => {
    for (const { key, versionId } of versions) {
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, ChecksumMode: 'ENABLED' }),
      );
      expect(head.ChecksumSHA256, key).toMatch(/^[A-Za-z0-9+/]{43}=(-\d+)?$/);
    }
    // The dump itself: the one object besides the manifest and the small globals file that spans several parts.
    const dump = versions.find((v) => v.key.includes(source));
    expect(dump, JSON.stringify(versions)).toBeDefined();
    // A multipart object's SHA-256 is the composite of its parts' checksums, `<base64>-<parts>`: S3 can only form it
    // when every part was uploaded with its own x-amz-checksum-sha256.
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: dump?.key, VersionId: dump?.versionId, ChecksumMode: 'ENABLED' }),
    );
    expect(Number(head.ChecksumSHA256?.split('-')[1])).toBeGreaterThan(1);
  });
});
