/**
 * docs/recipes/bytebase.md end to end: Bytebase's metadata database (external PostgreSQL, `--pg`) backed up
 * with `safekeep dump`, lost, and restored by both of Bytebase's options: under the same name (`--swap`,
 * option 1) and under a new name with migration_history.namespace rewritten (`--recipe bytebase`, option 2).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { differences, type Fingerprint, postgresFingerprint } from '#test/support/fingerprint.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

/** A few of Bytebase's metadata tables, as its migrator writes them; namespace rows name the database itself. */
function bytebaseMetadata(database: string, otherNamespace: string): string[] {
  const history = (namespace: string, sequence: number, version: string) =>
    `INSERT INTO migration_history (created_by, updated_by, release_version, namespace, sequence, source, type, status, version, description, statement, schema, schema_prev, execution_duration_ns, payload) VALUES ('bb', 'bb', '2.13.0', '${namespace}', ${sequence}, 'LIBRARY', 'MIGRATE', 'DONE', '${version}', 'Migrate version ${version}', 'ALTER TABLE instance ADD COLUMN x int;', 'CREATE TABLE instance (...);', '', ${1000 * sequence}, '{}')`;
  return [
    "CREATE TABLE principal (id serial PRIMARY KEY, row_status text NOT NULL DEFAULT 'NORMAL', type text NOT NULL, name text NOT NULL, email text NOT NULL UNIQUE, password_hash text NOT NULL)",
    "INSERT INTO principal (type, name, email, password_hash) VALUES ('SYSTEM_BOT', 'Bytebase', 'support@bytebase.com', ''), ('END_USER', 'Demo', 'demo@example.com', '$2a$10$abcdefghijklmnopqrstuv')",
    "CREATE TABLE setting (id serial PRIMARY KEY, name text NOT NULL UNIQUE, value text NOT NULL, description text NOT NULL DEFAULT '')",
    "INSERT INTO setting (name, value) VALUES ('bb.auth.secret', 'c2VjcmV0'), ('bb.workspace.id', '6c86d081-379d-4366-be6f-481425e6f397')",
    "CREATE TABLE instance (id serial PRIMARY KEY, resource_id text NOT NULL UNIQUE, name text NOT NULL, engine text NOT NULL, metadata jsonb NOT NULL DEFAULT '{}')",
    "INSERT INTO instance (resource_id, name, engine, metadata) VALUES ('prod-pg', 'Prod', 'POSTGRES', '{\"version\": \"15.4\"}')",
    // Mentions of the database's name outside migration_history are not Bytebase's namespace: they stay.
    `CREATE TABLE db (id serial PRIMARY KEY, instance_id int REFERENCES instance(id), name text NOT NULL)`,
    `INSERT INTO db (instance_id, name) VALUES (1, '${database}')`,
    `CREATE TABLE migration_history (id bigserial PRIMARY KEY, created_by text NOT NULL, created_ts bigint NOT NULL DEFAULT extract(epoch from now()), updated_by text NOT NULL, updated_ts bigint NOT NULL DEFAULT extract(epoch from now()), release_version text NOT NULL, namespace text NOT NULL, sequence bigint NOT NULL CHECK (sequence >= 0), source text NOT NULL, type text NOT NULL, status text NOT NULL, version text NOT NULL, description text NOT NULL, statement text NOT NULL, schema text NOT NULL, schema_prev text NOT NULL, execution_duration_ns bigint NOT NULL, issue_id text, payload jsonb NOT NULL DEFAULT '{}')`,
    'CREATE UNIQUE INDEX idx_migration_history_unique_namespace_sequence ON migration_history (namespace, sequence)',
    'CREATE UNIQUE INDEX idx_migration_history_unique_namespace_version ON migration_history (namespace, version)',
    history(database, 1, '0002.0011.0000'),
    history(database, 2, '0002.0012.0000'),
    history(database, 3, '0002.0013.0000'),
    history(otherNamespace, 1, '0001.0000.0000'),
  ];
}

async function query<T extends pg.QueryResultRow>(peer: pg.ClientConfig, database: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ ...peer, database });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!postgres || !versitygw)('Bytebase recipe: metadata in an external PostgreSQL', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const metadb = uniqueName('metadb');
  const other = uniqueName('bb_other');
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password });
  const url = (database: string) => `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${database}`;
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  const created: string[] = [];
  const databaseNames = async () =>
    (await query<{ datname: string }>(pgPeer, 'postgres', 'SELECT datname FROM pg_database')).map((r) => r.datname);
  let manifest: string;
  let bucket: string;
  let before: Fingerprint;

  beforeAll(async () => {
    await createPostgresDatabase(pgPeer, metadb, bytebaseMetadata(metadb, other));
    bucket = await createVersionedBucket(s3Client(s3Peer), 'bytebase');
    const dump = await runCli(
      ['dump', '--engine', 'postgres', '--source', url(metadb), '--to', `s3://${bucket}/bytebase-meta`, ...s3Flags, '--json'],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    manifest = manifestUrlOf(dump);
    before = await postgresFingerprint(pgPeer, metadb);
    // Lost.
    await query(pgPeer, 'postgres', `DROP DATABASE ${metadb}`);
  });

  afterAll(async () => {
    for (const name of [...created, metadb]) await query(pgPeer, 'postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  it('option 2: restores under a new name with migration_history.namespace rewritten to it, nothing else changed', async () => {
    // Prepare
    const metadb2 = uniqueName('metadb2');
    created.push(metadb2);

    // Act
    const run = await runCli(['restore', '--from', manifest, '--target', url(metadb2), '--recipe', 'bytebase', ...s3Flags], env);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`migration_history: 3 row(s) now name "${metadb2}"`);
    const namespaces = await query<{ namespace: string; n: string }>(
      pgPeer,
      metadb2,
      'SELECT namespace, count(*) AS n FROM migration_history GROUP BY namespace ORDER BY namespace',
    );
    expect(namespaces).toEqual(
      [
        { namespace: metadb2, n: '3' },
        { namespace: other, n: '1' },
      ].sort((a, b) => a.namespace.localeCompare(b.namespace)),
    );
    // Undo exactly the rewrite: what is left must equal the lost database, row for row.
    await query(pgPeer, metadb2, `UPDATE migration_history SET namespace = '${metadb}' WHERE namespace = '${metadb2}'`);
    expect(differences(before, await postgresFingerprint(pgPeer, metadb2))).toEqual([]);
  });

  it('option 1: --swap brings the database back under its own name, so the namespace stays as it was', async () => {
    const run = await runCli(
      ['restore', '--from', manifest, '--target', url(metadb), '--swap', '--recipe', 'bytebase', ...s3Flags],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`migration_history: 0 row(s) now name "${metadb}"`);
    created.push(...(await databaseNames()).filter((name) => name.startsWith(`${metadb}_`)));
    expect(differences(before, await postgresFingerprint(pgPeer, metadb))).toEqual([]);
  });

  it('--swap refuses while a session is open on the target, and renames nothing', async () => {
    // Prepare: Bytebase still running, holding its metadata database
    const live = uniqueName('metadb_live');
    await createPostgresDatabase(pgPeer, live, ['CREATE TABLE still_here (id int)']);
    created.push(live);
    const session = new pg.Client({ ...pgPeer, database: live });
    await session.connect();
    try {
      // Act
      const run = await runCli(['restore', '--from', manifest, '--target', url(live), '--swap', ...s3Flags], env);

      // Assess
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(
        new RegExp(`^safekeep: "${live}" still has 1 open connection\\(s\\), so it cannot be renamed; stop the application`),
      );
      const names = await databaseNames();
      const staging = names.filter((name) => name.startsWith(`${live}_safekeep_`));
      created.push(...staging);
      expect(names).toContain(live);
      expect(names.filter((name) => name.startsWith(`${live}_old_`))).toEqual([]);
      expect(staging).toHaveLength(1);
      expect(await query(pgPeer, live, 'SELECT count(*)::int AS n FROM still_here')).toEqual([{ n: 0 }]);
    } finally {
      await session.end();
    }
  });

  it('refuses to hand over history to a name the backup already has rows for, and leaves no database behind', async () => {
    const run = await runCli(['restore', '--from', manifest, '--target', url(other), '--recipe', 'bytebase', ...s3Flags], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      new RegExp(`^safekeep: --recipe bytebase: migration_history already has 1 row\\(s\\) for namespace "${other}"`),
    );
    expect(await databaseNames()).not.toContain(other);
  });

  it('refuses a backup that is not Bytebase metadata, and leaves no database behind', async () => {
    // Prepare
    const plain = uniqueName('not_bytebase');
    await createPostgresDatabase(pgPeer, plain, ['CREATE TABLE t (id int)']);
    created.push(plain);
    const dump = await runCli(
      ['dump', '--engine', 'postgres', '--source', url(plain), '--to', `s3://${bucket}/plain`, ...s3Flags, '--json'],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    const target = uniqueName('not_bytebase_restored');

    // Act
    const run = await runCli(
      ['restore', '--from', manifestUrlOf(dump), '--target', url(target), '--recipe', 'bytebase', ...s3Flags],
      env,
    );

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^safekeep: --recipe bytebase: the backup has no migration_history table/);
    expect(await databaseNames()).not.toContain(target);
  });
});
