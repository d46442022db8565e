/**
 * Doltgres 0.56.3's dolt_backup drops sequences, types and functions (dolthub/doltgresql#2836). These tests
 * write them the way an application does, on two branches, and check that Safekeep records every branch's
 * objects, carries the sequences across (nextval continues), and refuses, or with --allow-missing-objects
 * records, what it cannot carry, instead of certifying a backup that lacks them.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoltDatabaseManifest } from '#functions/contracts/manifest.ts';
import { s3Client } from '#test/support/aws.ts';
import { type DatabasePeer, peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';
import { createRemoteTable, readManifest } from './dolt-support.ts';

const doltgres = await peer('doltgres');
const versitygw = await peer('versitygw');
const moto = await peer('moto');

describe.skipIf(!doltgres || !versitygw || !moto)('Doltgres sequences, types and functions', () => {
  const gresPeer = doltgres as NonNullable<typeof doltgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const motoPeer = moto as NonNullable<typeof moto>;
  const s3 = s3Client(s3Peer);
  const dynamoTable = uniqueName('safekeep-gres-objects');
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: gresPeer.password, AWS_ENDPOINT_URL_DYNAMODB: motoPeer.endpoint });
  const url = (database: string) => `doltgres://${gresPeer.user}@${gresPeer.host}:${gresPeer.port}/${database}`;
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  const created: string[] = [];
  let bucket: string;

  const dump = (database: string, extra: string[] = []) =>
    runCli(
      [
        'dump',
        '--engine',
        'doltgres',
        '--source',
        url(database),
        '--to',
        `s3://${bucket}/${database.replaceAll('_', '-')}`,
        '--dolt-dynamodb-table',
        dynamoTable,
        ...s3Flags,
        ...extra,
      ],
      env,
    );

  beforeAll(async () => {
    await createRemoteTable(motoPeer, dynamoTable);
    bucket = await createVersionedBucket(s3, 'doltgres-objects');
  });

  afterAll(async () => {
    await withDatabase(gresPeer, 'postgres', async (db) => {
      for (const database of created) await db.query(`DROP DATABASE IF EXISTS ${database}`);
    });
  });

  it('carries sequences across on every branch, so nextval continues after a restore and verify compares them', async () => {
    // Prepare: a committed sequence on main, moved on in main's working set; another value on a branch
    const source = uniqueName('gres_seq');
    const restored = uniqueName('gres_seq_r');
    created.push(source, restored);
    await createDatabase(gresPeer, source);
    await withDatabase(gresPeer, source, async (db) => {
      await db.query('CREATE SEQUENCE orders_seq START 100');
      await db.query('CREATE TABLE orders (id BIGINT PRIMARY KEY DEFAULT nextval($$orders_seq$$), note TEXT)');
      await db.query("INSERT INTO orders (note) VALUES ('a'), ('b')");
      await db.query("SELECT dolt_commit('-Am', 'orders')");
      await db.query("SELECT dolt_branch('feature')");
      await db.query("INSERT INTO orders (note) VALUES ('c')");
    });
    await withDatabase(gresPeer, `${source}/feature`, async (db) => {
      for (let i = 0; i < 5; i++) await db.query("INSERT INTO orders (note) VALUES ('f')");
      await db.query("SELECT dolt_commit('-am', 'feature orders')");
    });

    // Act
    const backup = await dump(source, ['--json']);
    expect(backup.code, backup.stderr).toBe(0);
    const manifestUrl = manifestUrlOf(backup);
    const manifest = (await readManifest(s3, manifestUrl)) as unknown as { dolt: DoltDatabaseManifest[] };
    const verify = await runCli(['verify', '--from', manifestUrl, ...s3Flags], env);
    const restore = await runCli(['restore', '--from', manifestUrl, '--target', url(restored), ...s3Flags], env);

    // Assess
    const [entry] = manifest.dolt;
    const next = Object.fromEntries(
      (entry?.inventory ?? []).map((b) => [b.branch, b.sequences.find((s) => s.name === 'public.orders_seq')?.next]),
    );
    expect(next).toEqual({ main: '103', feature: '107' });
    expect(entry?.inventory?.find((b) => b.branch === 'main')?.tables).toEqual(['public.orders']);
    expect(entry?.missing).toBeUndefined();
    expect(entry?.notIncluded?.join('\n')).toMatch(/users and grants.*auth\.db/);
    expect(backup.stderr).toMatch(/warning: not in this backup: users and grants/);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/all intact/);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(/warning: recreated 2 sequences .*uncommitted/);
    for (const [branch, value] of [
      ['main', '103'],
      ['feature', '107'],
    ]) {
      await withDatabase(gresPeer, `${restored}/${branch}`, async (db) => {
        const row = await db.query("INSERT INTO orders (note) VALUES ('after restore') RETURNING id");
        expect(String(row.rows[0]?.id), branch).toBe(value);
      });
    }
  });

  it('refuses to back up an enum type and a plpgsql function it cannot carry, naming them', async () => {
    // Prepare
    const source = uniqueName('gres_fn');
    created.push(source);
    await createObjects(gresPeer, source);

    // Act
    const backup = await dump(source);

    // Assess
    expect(backup.code).not.toBe(0);
    expect(backup.stderr.trim().split('\n')).toHaveLength(1);
    expect(backup.stderr).toMatch(
      /drops 4 objects .*type \(e\) public\.mood on feature.*function public\.bump\(int4\) on feature/,
    );
    expect(backup.stderr).toMatch(/--allow-missing-objects/);
  });

  it('with --allow-missing-objects records them as missing and says so in dump and verify, never "all intact"', async () => {
    // Prepare
    const source = uniqueName('gres_allow');
    const restored = uniqueName('gres_allow_r');
    created.push(source, restored);
    await createObjects(gresPeer, source);

    // Act
    const backup = await dump(source, ['--allow-missing-objects', '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    const manifestUrl = manifestUrlOf(backup);
    const manifest = (await readManifest(s3, manifestUrl)) as unknown as { dolt: DoltDatabaseManifest[] };
    const verify = await runCli(['verify', '--from', manifestUrl, ...s3Flags], env);
    const restore = await runCli(['restore', '--from', manifestUrl, '--target', url(restored), ...s3Flags], env);

    // Assess
    const missing = manifest.dolt[0]?.missing?.map((m) => `${m.branch}:${m.kind}:${m.name}`).sort();
    expect(missing).toEqual([
      'feature:function:public.bump(int4)',
      'feature:type (e):public.mood',
      'main:function:public.bump(int4)',
      'main:type (e):public.mood',
    ]);
    expect(backup.stderr).toMatch(/warning: ".*" is backed up without 4 objects/);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).not.toMatch(/all intact/);
    expect(verify.stdout).toMatch(/without 4 objects of the source/);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(/warning: ".*" lacks 4 objects this backup does not hold/);
    await withDatabase(gresPeer, restored, async (db) => {
      expect((await db.query("SELECT nextval('ticket_seq') AS n")).rows[0]?.n).toBe('42');
    });
  });
});

async function withDatabase<T>(server: DatabasePeer, database: string, use: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ ...server, database });
  await db.connect();
  try {
    return await use(db);
  } finally {
    await db.end();
  }
}

async function createDatabase(server: DatabasePeer, database: string): Promise<void> {
  await withDatabase(server, 'postgres', (db) => db.query(`CREATE DATABASE ${database}`));
}

/** A sequence at a non-initial value, an enum and a plpgsql function, committed on main and branched. */
async function createObjects(server: DatabasePeer, database: string): Promise<void> {
  await createDatabase(server, database);
  await withDatabase(server, database, async (db) => {
    await db.query('CREATE SEQUENCE ticket_seq START 40');
    await db.query("SELECT nextval('ticket_seq')");
    await db.query("SELECT nextval('ticket_seq')");
    await db.query("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
    await db.query('CREATE TABLE tickets (id INT PRIMARY KEY, m mood)');
    await db.query("INSERT INTO tickets VALUES (1, 'ok')");
    await db.query('CREATE FUNCTION bump(x INT) RETURNS INT LANGUAGE plpgsql AS $$ BEGIN RETURN x + 1; END; $$');
    await db.query("SELECT dolt_commit('-Am', 'objects')");
    await db.query("SELECT dolt_branch('feature')");
  });
}
