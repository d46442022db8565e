/**
 * Dump retention against versitygw: runs of a configured dump target prune its older backups into delete
 * markers, which `safekeep list --all` shows and `safekeep restore --version-id` restores.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, objectVersions, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

/** Six runs a day apart, as the dispatcher would name them. */
const RUN_IDS = [1, 2, 3, 4, 5, 6].map((day) => `202611${String(day).padStart(2, '0')}T031500Z-run${day}`);
const runKey = (target: string, runId: string) => `${target}/2026/11/${runId.slice(6, 8)}/${runId}/manifest.json`;

interface Listed {
  backups: { url: string; runId: string; target: string; pruned?: boolean; versionId?: string }[];
}

describe.skipIf(!postgres || !versitygw)('dump retention (versitygw)', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const source = uniqueName('prune_src');
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password });
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  let s3: S3Client;
  let bucket: string;
  let config: string;
  const list = async (...extra: string[]) => {
    const run = await runCli(['list', '--bucket', bucket, '--target', 'meta', ...s3Flags, '--json', ...extra], env);
    expect(run.code, run.stderr).toBe(0);
    return (JSON.parse(run.stdout) as Listed).backups;
  };

  beforeAll(async () => {
    await createPostgresDatabase(pgPeer, source, [
      'CREATE TABLE items (id int PRIMARY KEY, name text)',
      "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g",
    ]);
    s3 = s3Client(s3Peer);
    bucket = await createVersionedBucket(s3, 'dump-prune');
    config = join(mkdtempSync(join(tmpdir(), 'safekeep-prune-')), 'safekeep.config.yaml');
    const target = (name: string, retention: string) =>
      `  - name: ${name}\n    kind: postgres\n    schedule: { expression: "cron(15 3 * * ? *)", timezone: Europe/Berlin }\n${retention}` +
      `    source: { host: ${pgPeer.host}, port: ${pgPeer.port}, databases: [${source}], secret: unused }\n` +
      '    network: { vpcId: vpc-0a1b2c3d, subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d] }\n';
    // "meta-archive" shares meta's name as a string prefix but not as a key prefix: it must stay untouched.
    writeFileSync(
      config,
      `targets:\n${target('meta', '    retention: { keepLast: 2 }\n')}${target('meta-archive', '    retention: { keepLast: 1 }\n')}`,
    );
    // Things under meta/ that are not backups: a foreign file, and an abandoned run that never got a manifest.
    for (const Key of ['meta/README.txt', 'meta/2026/10/01/20261001T031500Z-orphan/database-x.dump.zst']) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'not a backup' }));
    }
    const dump = (target: string, runId: string) =>
      runCli(['dump', '--config', config, '--bucket', bucket, '--target', target, '--run-id', runId, ...s3Flags, '--json'], env);
    // meta-archive first: its own keepLast 1 prunes nothing of meta's.
    const archived = await dump('meta-archive', RUN_IDS[0] ?? '');
    expect(archived.code, archived.stderr).toBe(0);
    for (const runId of RUN_IDS) {
      const run = await dump('meta', runId);
      expect(run.code, run.stderr).toBe(0);
    }
  }, 240_000);

  it('leaves 2 visible backups and 4 recoverable ones after 6 runs with keepLast 2', async () => {
    // Act
    const visible = await list();
    const all = await list('--all');

    // Assess
    expect(visible.map((b) => b.runId)).toEqual(RUN_IDS.slice(4));
    expect(all.map((b) => b.runId)).toEqual(RUN_IDS);
    const pruned = all.filter((b) => b.pruned);
    expect(pruned.map((b) => b.runId)).toEqual(RUN_IDS.slice(0, 4));
    expect(pruned.every((b) => typeof b.versionId === 'string' && b.versionId.length > 0)).toBe(true);
    // Every object of a pruned run is a delete marker over its version: nothing was deleted outright.
    const versions = await objectVersions(s3, bucket, 'meta/2026/11/01/');
    expect(versions.filter((v) => v.key.endsWith('(delete marker)')).length).toBeGreaterThanOrEqual(2);
    expect(versions.filter((v) => !v.key.endsWith('(delete marker)')).length).toBe(
      versions.filter((v) => v.key.endsWith('(delete marker)')).length,
    );
  });

  it("touches neither another target's backups nor objects without a manifest", async () => {
    const archive = await objectVersions(s3, bucket, 'meta-archive/');
    expect(archive.length).toBeGreaterThan(0);
    expect(archive.some((v) => v.key.endsWith('(delete marker)'))).toBe(false);
    const foreign = [
      ...(await objectVersions(s3, bucket, 'meta/README.txt')),
      ...(await objectVersions(s3, bucket, 'meta/2026/10/')),
    ];
    expect(foreign.map((v) => v.key).sort()).toEqual([
      'meta/2026/10/01/20261001T031500Z-orphan/database-x.dump.zst',
      'meta/README.txt',
    ]);
  });

  it('plans without changing anything on a dry run', async () => {
    // Prepare
    const before = await objectVersions(s3, bucket);

    // Act
    const run = await runCli(
      ['prune', '--config', config, '--bucket', bucket, '--target', 'meta', '--keep-last', '1', '--dry-run', ...s3Flags],
      env,
    );

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^keep\\s+${RUN_IDS[5]}\\s+2026-11-06T03:15:00.000Z\\s+keep-last, floor$`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^would delete\\s+${RUN_IDS[4]}\\s+\\S+\\s+beyond keep-last 1$`, 'm'));
    expect(run.stdout).toMatch(/^meta: 1 kept, 1 would delete$/m);
    expect(await objectVersions(s3, bucket)).toEqual(before);
  });

  it('restores a pruned backup by its manifest version', async () => {
    // Prepare
    const pruned = (await list('--all')).find((b) => b.runId === RUN_IDS[0]);
    const restored = uniqueName('prune_restored');

    // Act
    const run = await runCli(
      [
        'restore',
        '--from',
        pruned?.url ?? '',
        '--version-id',
        pruned?.versionId ?? '',
        '--target',
        `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${restored}`,
        ...s3Flags,
      ],
      env,
    );

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`restored run ${RUN_IDS[0]}`);
    const db = new pg.Client({ ...pgPeer, database: restored });
    await db.connect();
    try {
      expect((await db.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(50);
    } finally {
      await db.end();
    }
  });

  it('prunes by the flags alone, without a config', async () => {
    // Act
    const run = await runCli(
      ['prune', '--bucket', bucket, '--target', 'meta', '--keep-last', '1', '--max-age-days', '36500', ...s3Flags, '--json'],
      env,
    );

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, dryRun: false, deleted: [{ runId: RUN_IDS[4] }] });
    expect((await list()).map((b) => b.runId)).toEqual([RUN_IDS[5]]);
    expect(runKey('meta', RUN_IDS[5] ?? '')).toBe((await list())[0]?.url.replace(`s3://${bucket}/`, ''));
  });
});
