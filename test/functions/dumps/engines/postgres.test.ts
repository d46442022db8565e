import { GetObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { POSTGRES_DATASET } from '#test/support/datasets/postgres.ts';
import { differences, postgresFingerprint } from '#test/support/fingerprint.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

describe.skipIf(!postgres || !versitygw)('PostgreSQL backups', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const source = uniqueName('pg_src');
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password });
  const url = (database: string) => `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${database}`;
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  let bucket: string;
  let manifest: string;

  beforeAll(async () => {
    await createPostgresDatabase(pgPeer, source, POSTGRES_DATASET);
    bucket = await createVersionedBucket(s3Client(s3Peer), 'pg-roundtrip');
    const dump = await runCli(
      ['dump', '--engine', 'postgres', '--source', url(source), '--to', `s3://${bucket}/bytebase-meta`, ...s3Flags, '--json'],
      env,
    );
    expect(dump.stderr).toBe('');
    expect(dump.code).toBe(0);
    manifest = manifestUrlOf(dump);
  });

  it('restores into a new name with every table, view, function, trigger and sequence identical', async () => {
    // Prepare
    const restored = uniqueName('pg_restored');

    // Act
    const run = await runCli(['restore', '--from', manifest, '--target', url(restored), ...s3Flags], env);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    const before = await postgresFingerprint(pgPeer, source);
    const after = await postgresFingerprint(pgPeer, restored);
    const tables = Object.keys(before.tables).length;
    console.log(
      `PostgreSQL round trip: ${tables} tables compared by content checksum, ${Object.keys(before.objects).length} other objects`,
    );
    expect(tables).toBe(7);
    expect(differences(before, after)).toEqual([]);
  });

  it('records what the dump held in the manifest, with row counts read from the archive', async () => {
    const run = await runCli(['list', '--bucket', bucket, ...s3Flags, '--json'], env);
    const listed = JSON.parse(run.stdout) as { backups: { url: string; engine: string; databases: string[] }[] };
    expect(listed.backups).toEqual([expect.objectContaining({ url: manifest, engine: 'postgres', databases: [source] })]);
    const { Body } = await s3Client(s3Peer).send(
      new GetObjectCommand({ Bucket: bucket, Key: manifest.replace(`s3://${bucket}/`, '') }),
    );
    const stored = JSON.parse((await Body?.transformToString()) ?? '{}');
    expect(stored).toMatchObject({
      target: 'bytebase-meta',
      engine: 'postgres',
      client: { tool: 'pg_dump' },
      compression: 'zstd',
    });
    const database = stored.objects.find((o: { role: string }) => o.role === 'database');
    expect(database.rowCounts).toMatchObject({ 'sales.customers': 500, 'sales.orders': 2000, 'public.blobs': 4 });
    expect(stored.objects.map((o: { role: string }) => o.role).sort()).toEqual(['database', 'globals']);
  });

  it('verifies the stored backup', async () => {
    const run = await runCli(['verify', '--from', manifest, ...s3Flags, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, engine: 'postgres' });
  });

  it('refuses to restore over a non-empty database without --force, and restores with it', async () => {
    // Prepare
    const occupied = uniqueName('pg_occupied');
    await createPostgresDatabase(pgPeer, occupied, ['CREATE TABLE keep_me (id int)']);

    // Act
    const refused = await runCli(['restore', '--from', manifest, '--target', url(occupied), ...s3Flags], env);

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/database "pg_occupied_\w+" is not empty \(1 relations\).*--force/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const forced = await runCli(['restore', '--from', manifest, '--target', url(occupied), '--force', ...s3Flags], env);
    expect(forced.code, forced.stderr).toBe(0);
    const after = await postgresFingerprint(pgPeer, occupied);
    expect(after.tables['public.keep_me']).toBe('0:');
    expect(after.tables['sales.orders']).toBe((await postgresFingerprint(pgPeer, source)).tables['sales.orders']);
  });

  it('--swap restores into a temporary database and swaps names, keeping the old one (Bytebase procedure)', async () => {
    // Prepare: a live database that has drifted from the backup
    const live = uniqueName('pg_live');
    await createPostgresDatabase(pgPeer, live, ['CREATE TABLE drifted (id int)']);

    // Act
    const run = await runCli(['restore', '--from', manifest, '--target', url(live), '--swap', ...s3Flags, '--json'], env);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout) as { database: string; previousDatabase: string };
    expect(outcome.database).toBe(live);
    expect(differences(await postgresFingerprint(pgPeer, source), await postgresFingerprint(pgPeer, live))).toEqual([]);
    const old = await postgresFingerprint(pgPeer, outcome.previousDatabase);
    expect(Object.keys(old.tables)).toEqual(['public.drifted']);
  });
});
