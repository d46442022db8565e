/**
 * A restore brings back the database itself, not only what is inside it: owner, encoding and locale,
 * `ALTER DATABASE ... SET` and per-role settings, comment and privileges, into a new name, in place (--force)
 * and with --swap.
 */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDatabaseProperties, renameDatabase } from '#functions/dumps/engines/postgres/database-properties.ts';
import { s3Client } from '#test/support/aws.ts';
import { type DatabasePeer, peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');
const OWNER = 'safekeep_db_owner';

async function admin<T>(server: DatabasePeer, use: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ ...server, database: 'postgres' });
  await db.connect();
  try {
    return await use(db);
  } finally {
    await db.end();
  }
}

/** Everything PostgreSQL keeps about a database as a whole, with nothing that names it. */
async function databaseProperties(server: DatabasePeer, name: string) {
  return admin(server, async (db) => {
    const { rows } = await db.query(
      `SELECT r.rolname AS owner, pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate,
              d.datctype AS ctype, d.datlocprovider AS provider, shobj_description(d.oid, 'pg_database') AS comment,
              d.datacl::text AS privileges,
              (SELECT array_agg(coalesce(s.setrole::regrole::text, '(all)') || ': ' || array_to_string(s.setconfig, ', ')
                        ORDER BY 1)
                 FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) AS settings
         FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1`,
      [name],
    );
    return rows[0];
  });
}

describe.skipIf(!postgres || !versitygw)('PostgreSQL database-level properties survive a restore', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password });
  const url = (database: string) => `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${database}`;
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  const source = uniqueName('pg_props');
  let manifest: string;
  let before: Awaited<ReturnType<typeof databaseProperties>>;

  beforeAll(async () => {
    await admin(pgPeer, async (db) => {
      await db.query(`DO $$ BEGIN CREATE ROLE ${OWNER}; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      await db.query(`CREATE DATABASE ${source} OWNER ${OWNER} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`);
      await db.query(`ALTER DATABASE ${source} SET work_mem = '7MB'`);
      await db.query(`ALTER DATABASE ${source} SET search_path = app, public`);
      await db.query(`ALTER ROLE ${OWNER} IN DATABASE ${source} SET statement_timeout = '5s'`);
      await db.query(`COMMENT ON DATABASE ${source} IS 'orders; since 2019 -- it''s the "main" one'`);
      await db.query(`REVOKE ALL ON DATABASE ${source} FROM PUBLIC`);
      await db.query(`GRANT CONNECT ON DATABASE ${source} TO pg_monitor`);
    });
    const db = new pg.Client({ ...pgPeer, database: source });
    await db.connect();
    await db.query('CREATE TABLE t (id int)');
    await db.end();
    before = await databaseProperties(pgPeer, source);
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'pg-props');
    const dump = await runCli(
      ['dump', '--engine', 'postgres', '--source', url(source), '--to', `s3://${bucket}/props`, ...s3Flags, '--json'],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    manifest = manifestUrlOf(dump);
  });

  it('into a new name', async () => {
    // Prepare
    const restored = uniqueName('pg_props_new');

    // Act
    const run = await runCli(['restore', '--from', manifest, '--target', url(restored), ...s3Flags], env);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(before).toMatchObject({ owner: OWNER, encoding: 'LATIN1', collate: 'C' });
    expect(await databaseProperties(pgPeer, restored)).toEqual(before);
  });

  it('in place (--force), replacing the settings the database had', async () => {
    // Prepare: the same database recreated empty, by another owner, with its own setting
    const inPlace = uniqueName('pg_props_force');
    await admin(pgPeer, async (db) => {
      await db.query(`CREATE DATABASE ${inPlace} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`);
      await db.query(`ALTER DATABASE ${inPlace} SET work_mem = '1MB'`);
    });

    // Act
    const run = await runCli(['restore', '--from', manifest, '--target', url(inPlace), '--force', ...s3Flags], env);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(await databaseProperties(pgPeer, inPlace)).toEqual(before);
  });

  it('with --swap', async () => {
    // Prepare
    const live = uniqueName('pg_props_live');
    await admin(pgPeer, (db) => db.query(`CREATE DATABASE ${live}`));

    // Act
    const run = await runCli(['restore', '--from', manifest, '--target', url(live), '--swap', ...s3Flags], env);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(await databaseProperties(pgPeer, live)).toEqual(before);
  });
});

describe('database entries of a pg_restore --create script', () => {
  it('renames only the database a statement is about, not text in a comment', () => {
    expect(renameDatabase(`COMMENT ON DATABASE shop IS 'DATABASE shop; the shop';`, 'shop', '"shop_2"')).toBe(
      `COMMENT ON DATABASE "shop_2" IS 'DATABASE shop; the shop';`,
    );
    expect(renameDatabase('ALTER DATABASE "a b" OWNER TO x;', 'a b', '"c"')).toBe('ALTER DATABASE "c" OWNER TO x;');
  });

  it('keeps a multi-line comment whole and refuses CREATE DATABASE options it does not know', () => {
    const script = (options: string) =>
      [
        '--',
        '-- Name: shop; Type: DATABASE; Schema: -; Owner: app',
        '--',
        '',
        `CREATE DATABASE shop WITH TEMPLATE = template0 ${options};`,
        '',
        '\\connect shop',
        'SET lock_timeout = 0;',
        '--',
        '-- Name: DATABASE shop; Type: COMMENT; Schema: -; Owner: app',
        '--',
        '',
        "COMMENT ON DATABASE shop IS 'line one;",
        "line two';",
        '',
        '--',
        '-- Name: t; Type: TABLE; Schema: public; Owner: app',
        '--',
        'CREATE TABLE public.t (id int);',
      ].join('\n');
    expect(parseDatabaseProperties(script("ENCODING = 'UTF8' LOCALE = 'C'"))).toEqual({
      createOptions: "ENCODING = 'UTF8' LOCALE = 'C'",
      statements: ["COMMENT ON DATABASE shop IS 'line one;\nline two';"],
    });
    expect(() => parseDatabaseProperties(script("ENCODING = 'UTF8'; DROP DATABASE x"))).toThrow(/unexpected CREATE DATABASE/);
  });
});
