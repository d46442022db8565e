/**
 * Real-world sample databases nobody on this project wrote, through a whole backup and restore: Sakila through
 * MySQL and through MariaDB, Pagila through PostgreSQL. Content (every table's rows), schema (every table's
 * definition, index, constraint) and objects (views, routines, triggers, sequences) compare equal.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { main } from '#functions/cli/main.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { datasetsDir, loadPagila, loadSakila } from '#test/support/datasets/samples.ts';
import { differences, mysqlFingerprint, postgresFingerprint } from '#test/support/fingerprint.ts';
import { mysqlServers } from '#test/support/mysql-servers.ts';
import { type DatabasePeer, mysqlClientTools, peer } from '#test/support/peers.ts';
import { captureTerminal, createVersionedBucket, manifestUrlOf, uniqueName } from '#test/support/worker.ts';

const versitygw = await peer('versitygw');
const postgres = await peer('postgres');
const datasets = datasetsDir();
if (!datasets) console.warn('SKIP sample databases: no ../shared/datasets (set SAFEKEEP_DATASETS)');

/**
 * The CLI in-process (a process per command costs seconds on a busy machine); client tools such as
 * SAFEKEEP_MYSQLDUMP are read from process.env, so they are stubbed there for the test.
 */
async function runCli(args: string[], env: Record<string, string>) {
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const capture = captureTerminal();
  const code = await main(args, {
    env,
    terminal: capture.terminal,
    now: () => new Date(),
    openStore: (name) => s3ArtifactStore(s3Client(s3Peer), name),
    readSecret: () => Promise.reject(new Error('no secrets here')),
  });
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

function useTools(tools: Record<string, string>): void {
  for (const [name, value] of Object.entries(tools)) vi.stubEnv(name, value);
  onTestFinished(() => {
    vi.unstubAllEnvs();
  });
}

/** Every base table's CREATE TABLE as the server prints it (columns, keys, indexes, FULLTEXT, SPATIAL, engine). */
async function mysqlSchema(peer: DatabasePeer, database: string): Promise<Record<string, string>> {
  const db = await mysql.createConnection({ ...peer, database });
  try {
    const [tables] = (await db.query(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
    )) as unknown as [{ name: string }[]];
    const schema: Record<string, string> = {};
    for (const { name } of tables) {
      const [[row]] = (await db.query(`SHOW CREATE TABLE \`${name}\``)) as unknown as [[Record<string, string>]];
      schema[name] = row?.['Create Table'] ?? '';
    }
    return schema;
  } finally {
    await db.end();
  }
}

/** Columns, constraints, indexes, domains and partition bounds, as PostgreSQL deparses them. */
async function postgresSchema(peer: DatabasePeer, database: string): Promise<string[]> {
  const db = new pg.Client({ ...peer, database });
  await db.connect();
  try {
    const rows = async (sql: string) => (await db.query<{ d: string }>(sql)).rows.map((r) => r.d);
    return [
      ...(await rows(
        `SELECT concat_ws(' ', table_schema, table_name, ordinal_position, column_name, data_type, udt_name, domain_name, column_default, is_nullable, is_generated, generation_expression) AS d
         FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
      )),
      ...(await rows(
        `SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS d FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace ORDER BY 1`,
      )),
      ...(await rows(
        "SELECT indexdef AS d FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
      )),
      ...(await rows(
        `SELECT c.relname || ' ' || coalesce(pg_get_expr(c.relpartbound, c.oid), '') || ' ' || coalesce(pg_get_partkeydef(c.oid), '') AS d
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`,
      )),
      ...(await rows(
        `SELECT 'aggregate ' || p.oid::regprocedure AS d FROM pg_proc p WHERE p.prokind = 'a' AND p.pronamespace = 'public'::regnamespace ORDER BY 1`,
      )),
    ];
  } finally {
    await db.end();
  }
}

describe.skipIf(!datasets || !versitygw).each(await mysqlServers())(
  'Sakila through $server',
  ({ server, peer: serverPeer, tools }) => {
    if (!serverPeer || !versitygw) return it.skip('needs the peer and versitygw');
    const myPeer = serverPeer;
    const s3Peer = versitygw;
    const source = uniqueName('sakila');
    const env = { SAFEKEEP_DB_PASSWORD: myPeer.password };
    const url = (name: string) => `mysql://${myPeer.user}@${myPeer.host}:${myPeer.port}/${name}`;

    beforeAll(async () => {
      const client = server === 'MySQL' ? mysqlClientTools().mysql : 'mariadb';
      await loadSakila(myPeer, client, source, server === 'MySQL' ? 'mysql' : 'mariadb');
    });

    it('round-trips every table, row, view, routine and trigger exactly, geometry included', async () => {
      // Prepare
      const bucket = await createVersionedBucket(s3Client(s3Peer), 'sakila');
      const restored = uniqueName('sakila_restored');
      useTools(tools);

      // Act
      const started = Date.now();
      const dump = await runCli(
        [
          'dump',
          '--engine',
          'mysql',
          '--source',
          url(source),
          '--to',
          `s3://${bucket}/sakila`,
          '--endpoint-url',
          s3Peer.endpoint,
          '--json',
        ],
        env,
      );
      expect(dump.code, dump.stderr).toBe(0);
      const restore = await runCli(['restore', '--from', manifestUrlOf(dump), '--target', url(restored)], env);
      const seconds = (Date.now() - started) / 1000;

      // Assess
      expect(restore.code, restore.stderr).toBe(0);
      const [before, after] = [await mysqlFingerprint(myPeer, source), await mysqlFingerprint(myPeer, restored)];
      const rows = Object.values(before.tables).reduce((sum, value) => sum + Number(value.split(':')[0]), 0);
      console.log(
        `Sakila through ${server}: ${Object.keys(before.tables).length} tables, ${rows} rows, ${Object.keys(before.objects).length} other objects; dump + restore ${seconds.toFixed(1)} s`,
      );
      expect(Object.keys(before.tables)).toHaveLength(16);
      expect(before.tables.address).toMatch(/^603:/);
      expect(before.objects).toHaveProperty('view film_list');
      expect(before.objects).toHaveProperty('PROCEDURE rewards_report');
      expect(before.objects).toHaveProperty('trigger ins_film');
      expect(differences(before, after)).toEqual([]);
      expect(await mysqlSchema(myPeer, restored)).toEqual(await mysqlSchema(myPeer, source));
      expect((await mysqlSchema(myPeer, restored)).address).toMatch(/SPATIAL KEY `idx_location`/);
    });
  },
);

describe.skipIf(!datasets || !postgres || !versitygw)('Pagila through PostgreSQL', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const source = uniqueName('pagila');
  const env = { SAFEKEEP_DB_PASSWORD: pgPeer.password };
  const url = (name: string) => `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${name}`;

  beforeAll(async () => {
    await createPostgresDatabase(pgPeer, source);
    await loadPagila(pgPeer, source);
  });

  // Three streams: the schema, then the data parts loaded at once, then indexes and constraints.
  it.each([1, 3])(
    'round-trips partitions, domains, the enum, triggers, views, the materialized view, functions and the aggregate, in %i stream(s)',
    async (streams) => {
      // Prepare
      const bucket = await createVersionedBucket(s3Client(s3Peer), 'pagila');
      const restored = uniqueName('pagila_restored');

      // Act
      const started = Date.now();
      const dump = await runCli(
        [
          'dump',
          '--engine',
          'postgres',
          '--source',
          url(source),
          '--to',
          `s3://${bucket}/pagila`,
          '--endpoint-url',
          s3Peer.endpoint,
          '--parallelism',
          String(streams),
          '--json',
        ],
        env,
      );
      expect(dump.code, dump.stderr).toBe(0);
      const restore = await runCli(['restore', '--from', manifestUrlOf(dump), '--target', url(restored)], env);
      const seconds = (Date.now() - started) / 1000;

      // Assess
      expect(restore.code, restore.stderr).toBe(0);
      const [before, after] = [await postgresFingerprint(pgPeer, source), await postgresFingerprint(pgPeer, restored)];
      const rows = Object.values(before.tables).reduce((sum, value) => sum + Number(value.split(':')[0]), 0);
      console.log(
        `Pagila through PostgreSQL in ${streams} stream(s): ${Object.keys(before.tables).length} tables, ${rows} rows (partitions counted with their parent too), ${Object.keys(before.objects).length} other objects; dump + restore ${seconds.toFixed(1)} s`,
      );
      expect(before.tables['public.rental_by_category']).not.toMatch(/^0:/);
      expect(before.tables['public.payment_p2022_01']).toBeDefined();
      expect(before.objects).toHaveProperty('enum mpaa_rating');
      expect(differences(before, after)).toEqual([]);
      const schema = await postgresSchema(pgPeer, source);
      expect(schema).toContainEqual(expect.stringMatching(/^aggregate group_concat\(text\)$/));
      expect(await postgresSchema(pgPeer, restored)).toEqual(schema);
    },
  );
});
