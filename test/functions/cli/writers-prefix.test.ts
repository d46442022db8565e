/**
 * A writer's files (config `writers:`, under `_writers/<name>/`) share the artifact bucket with Safekeep's
 * backups but are never taken for one: `safekeep list` skips them, and a target's prune never touches them,
 * even when they are shaped exactly like a backup. Against versitygw, with real dumps.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { writerPrefix } from '#functions/contracts/artifact-layout.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

const RUN_IDS = ['20261101T031500Z-run1', '20261102T031500Z-run2'];
const WRITER_KEYS = [
  // Bytebase's own backup, and one laid out like a Safekeep run of a target called "meta", manifest and all.
  `${writerPrefix('bytebase')}backup/db/1/employee.sql`,
  `${writerPrefix('bytebase')}meta/2026/10/01/20261001T031500Z-old/manifest.json`,
  `${writerPrefix('bytebase')}meta/2026/10/01/20261001T031500Z-old/database-x.dump.zst`,
];

describe.skipIf(!postgres || !versitygw)("writers' prefix (versitygw)", () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password });
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  let s3: S3Client;
  let bucket: string;

  beforeAll(async () => {
    const source = uniqueName('writers_src');
    await createPostgresDatabase(pgPeer, source, ['CREATE TABLE items (id int PRIMARY KEY)', 'INSERT INTO items VALUES (1)']);
    s3 = s3Client(s3Peer);
    bucket = await createVersionedBucket(s3, 'writers');
    const config = join(mkdtempSync(join(tmpdir(), 'safekeep-writers-')), 'safekeep.config.yaml');
    writeFileSync(
      config,
      [
        'targets:',
        '  - name: meta',
        '    kind: postgres',
        '    schedule: { expression: "cron(15 3 * * ? *)" }',
        '    retention: { keepLast: 1 }',
        `    source: { host: ${pgPeer.host}, port: ${pgPeer.port}, databases: [${source}], secret: unused }`,
        '    network: { vpcId: vpc-0a1b2c3d, subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d] }',
        'writers:',
        '  - name: bytebase',
        '    staticKeys: true',
        '',
      ].join('\n'),
    );
    for (const Key of WRITER_KEYS) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'written by Bytebase' }));
    // Two runs with keepLast 1: the second prunes the first.
    for (const runId of RUN_IDS) {
      const run = await runCli(
        ['dump', '--config', config, '--bucket', bucket, '--target', 'meta', '--run-id', runId, ...s3Flags, '--json'],
        env,
      );
      expect(run.code, run.stderr).toBe(0);
    }
  }, 240_000);

  it("leaves every writer's object as it was written (no delete marker, one version) after a prune", async () => {
    const { Versions = [], DeleteMarkers = [] } = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: writerPrefix('bytebase') }),
    );
    expect(DeleteMarkers).toEqual([]);
    expect(Versions.map((v) => [v.Key, v.IsLatest]).sort()).toEqual(WRITER_KEYS.map((key) => [key, true]).sort());
  });

  it("lists only Safekeep's backups over the whole bucket, never a writer's manifest-shaped file", async () => {
    for (const extra of [[], ['--all']]) {
      const run = await runCli(['list', '--bucket', bucket, ...s3Flags, '--json', ...extra], env);
      expect(run.code, run.stderr).toBe(0);
      const { backups } = JSON.parse(run.stdout) as { backups: { url: string; runId: string }[] };
      expect(backups.every((b) => b.url.startsWith(`s3://${bucket}/meta/`))).toBe(true);
      expect(backups.map((b) => b.runId).sort()).toEqual(extra.length ? RUN_IDS : [RUN_IDS[1]]);
    }
  });
});
