/**
 * docs/recipes/openmetadata.md end to end: OpenMetadata's database (MySQL 8.3+ or PostgreSQL, its own schema
 * flavour: JSON documents with generated columns, relationship and tag tables, the migration logs) backed up
 * with `safekeep dump`, verified, lost, restored, compared equal; and the upgrade gate, which starts the
 * upgrade only after the backup is proven.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { differences, mysqlFingerprint, postgresFingerprint } from '#test/support/fingerprint.ts';
import { type DatabasePeer, mysqlClientTools, peer, RUN_DIR } from '#test/support/peers.ts';
import {
  CLI,
  type CliRun,
  createVersionedBucket,
  manifestUrlOf,
  peerEnvironment,
  runCli,
  uniqueName,
} from '#test/support/worker.ts';

const mysqlPeer = await peer('mysql');
const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

const ENTITIES = 200;
/** An entity document as OpenMetadata stores it; `n` is the SQL expression numbering it. */
const doc = (n: string) =>
  `JSON_OBJECT('id', UUID(), 'name', CONCAT('orders_', ${n}), 'fullyQualifiedName', CONCAT('mysql_prod.shop.public.orders_', ${n}), 'updatedAt', 1732000000000 + ${n}, 'updatedBy', 'admin', 'deleted', ${n} % 17 = 0, 'columns', JSON_ARRAY(JSON_OBJECT('name', 'id', 'dataType', 'BIGINT'), JSON_OBJECT('name', 'note', 'dataType', 'TEXT', 'description', 'naïve 😀')))`;

/** OpenMetadata's MySQL bootstrap, cut down to a few tables of each kind it has. */
const OPENMETADATA_MYSQL: readonly string[] = [
  "CREATE TABLE table_entity (id VARCHAR(36) GENERATED ALWAYS AS (json ->> '$.id') STORED NOT NULL, json JSON NOT NULL, updatedAt BIGINT UNSIGNED GENERATED ALWAYS AS (json ->> '$.updatedAt') NOT NULL, updatedBy VARCHAR(256) GENERATED ALWAYS AS (json ->> '$.updatedBy') NOT NULL, deleted BOOLEAN GENERATED ALWAYS AS (json_extract(json, '$.deleted')), fqnHash VARCHAR(768) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, name VARCHAR(256) GENERATED ALWAYS AS (json ->> '$.name') NOT NULL, PRIMARY KEY (id), UNIQUE KEY fqnHash (fqnHash), INDEX (updatedAt), INDEX (deleted)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci",
  `INSERT INTO table_entity (json, fqnHash) WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${ENTITIES}) SELECT ${doc('n')}, SHA2(CONCAT('mysql_prod.shop.public.orders_', n), 256) FROM g`,
  'CREATE TABLE entity_relationship (fromId VARCHAR(36) NOT NULL, toId VARCHAR(36) NOT NULL, fromEntity VARCHAR(256) NOT NULL, toEntity VARCHAR(256) NOT NULL, relation TINYINT NOT NULL, jsonSchema VARCHAR(256), json JSON, deleted BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (fromId, toId, relation), INDEX from_index (fromId, relation), INDEX to_index (toId, relation))',
  "INSERT INTO entity_relationship (fromId, toId, fromEntity, toEntity, relation) SELECT a.id, b.id, 'table', 'table', 13 FROM table_entity a JOIN table_entity b ON b.updatedAt = a.updatedAt + 1",
  'CREATE TABLE tag_usage (source TINYINT NOT NULL, tagFQN VARCHAR(256) NOT NULL, tagFQNHash VARCHAR(382) CHARACTER SET ascii COLLATE ascii_bin, targetFQNHash VARCHAR(382) CHARACTER SET ascii COLLATE ascii_bin, labelType TINYINT NOT NULL, state TINYINT NOT NULL, UNIQUE KEY (source, tagFQNHash, targetFQNHash))',
  "INSERT INTO tag_usage SELECT 0, 'PII.Sensitive', SHA2('PII.Sensitive', 256), fqnHash, 1, 1 FROM table_entity WHERE updatedAt % 3 = 0",
  'CREATE TABLE SERVER_CHANGE_LOG (installed_rank SERIAL, version VARCHAR(256) PRIMARY KEY, migrationFileName VARCHAR(256) NOT NULL, checksum VARCHAR(256) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, metrics JSON)',
  "INSERT INTO SERVER_CHANGE_LOG (version, migrationFileName, checksum) VALUES ('1.5.0', 'bootstrap/sql/migrations/native/1.5.0/mysql/schemaChanges.sql', 'a1b2'), ('1.6.0', 'bootstrap/sql/migrations/native/1.6.0/mysql/schemaChanges.sql', 'c3d4')",
  'CREATE TABLE DATABASE_CHANGE_LOG (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time INT NOT NULL, success TINYINT(1) NOT NULL, INDEX DATABASE_CHANGE_LOG_s_idx (success))',
  "INSERT INTO DATABASE_CHANGE_LOG VALUES (1, '001', 'initial', 'SQL', 'v001__create_db_connection_info.sql', -1234, 'openmetadata_user', '2024-11-01 10:00:00', 120, 1)",
];

/** The same tables in OpenMetadata's PostgreSQL flavour (jsonb, stored generated columns). */
const OPENMETADATA_POSTGRES: readonly string[] = [
  "CREATE TABLE table_entity (id varchar(36) GENERATED ALWAYS AS (json ->> 'id') STORED NOT NULL, json jsonb NOT NULL, updatedAt bigint GENERATED ALWAYS AS ((json ->> 'updatedAt')::bigint) STORED NOT NULL, updatedBy varchar(256) GENERATED ALWAYS AS (json ->> 'updatedBy') STORED NOT NULL, deleted boolean GENERATED ALWAYS AS ((json ->> 'deleted')::boolean) STORED, fqnHash varchar(768) NOT NULL UNIQUE, name varchar(256) GENERATED ALWAYS AS (json ->> 'name') STORED NOT NULL, PRIMARY KEY (id))",
  `INSERT INTO table_entity (json, fqnHash) SELECT jsonb_build_object('id', md5(g::text)::uuid, 'name', 'orders_' || g, 'updatedAt', 1732000000000 + g, 'updatedBy', 'admin', 'deleted', g % 17 = 0, 'columns', jsonb_build_array(jsonb_build_object('name', 'note', 'description', 'naïve 😀'))), encode(sha256(('pg_prod.orders_' || g)::bytea), 'hex') FROM generate_series(1, ${ENTITIES}) g`,
  'CREATE TABLE entity_relationship (fromId varchar(36) NOT NULL, toId varchar(36) NOT NULL, fromEntity varchar(256) NOT NULL, toEntity varchar(256) NOT NULL, relation smallint NOT NULL, jsonSchema varchar(256), json jsonb, deleted boolean NOT NULL DEFAULT false, PRIMARY KEY (fromId, toId, relation))',
  "INSERT INTO entity_relationship (fromId, toId, fromEntity, toEntity, relation) SELECT a.id, b.id, 'table', 'table', 13 FROM table_entity a JOIN table_entity b ON b.updatedAt = a.updatedAt + 1",
  'CREATE TABLE SERVER_CHANGE_LOG (installed_rank serial, version varchar(256) PRIMARY KEY, migrationFileName varchar(256) NOT NULL, checksum varchar(256) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), metrics jsonb)',
  "INSERT INTO SERVER_CHANGE_LOG (version, migrationFileName, checksum) VALUES ('1.5.0', 'bootstrap/sql/migrations/native/1.5.0/postgres/schemaChanges.sql', 'a1b2')",
];

interface Flavour {
  readonly name: 'MySQL' | 'PostgreSQL';
  readonly peer: DatabasePeer | undefined;
  readonly engine: 'mysql' | 'postgres';
  readonly tools: Record<string, string>;
  create(peer: DatabasePeer, database: string): Promise<void>;
  drop(peer: DatabasePeer, database: string): Promise<void>;
  fingerprint: typeof mysqlFingerprint;
}

const flavours: Flavour[] = [
  {
    name: 'MySQL',
    peer: mysqlPeer,
    engine: 'mysql',
    tools: { SAFEKEEP_MYSQLDUMP: mysqlClientTools().mysqldump, SAFEKEEP_MYSQL: mysqlClientTools().mysql },
    async create(peer, database) {
      const db = await mysql.createConnection({ ...peer });
      await db.query(`CREATE DATABASE ${database}`);
      await db.query(`USE ${database}`);
      for (const statement of OPENMETADATA_MYSQL) await db.query(statement);
      await db.end();
    },
    async drop(peer, database) {
      const db = await mysql.createConnection({ ...peer });
      await db.query(`DROP DATABASE IF EXISTS ${database}`);
      await db.end();
    },
    fingerprint: mysqlFingerprint,
  },
  {
    name: 'PostgreSQL',
    peer: postgres,
    engine: 'postgres',
    tools: {},
    create: (peer, database) => createPostgresDatabase(peer, database, OPENMETADATA_POSTGRES),
    async drop(peer, database) {
      const db = new pg.Client({ ...peer, database: 'postgres' });
      await db.connect();
      await db.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await db.end();
    },
    fingerprint: postgresFingerprint,
  },
];

const scheme = (engine: Flavour['engine']) => (engine === 'mysql' ? 'mysql' : 'postgres');

describe.each(flavours)(
  'OpenMetadata recipe on $name',
  ({ name, peer: flavourPeer, engine, tools, create, drop, fingerprint }) => {
    if (!flavourPeer || !versitygw) return it.skip('needs the peer and versitygw');
    const dbPeer = flavourPeer;
    const s3Peer = versitygw;
    const database = uniqueName('openmetadata_db');
    const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: dbPeer.password, ...tools });
    const url = (db: string) => `${scheme(engine)}://${dbPeer.user}@${dbPeer.host}:${dbPeer.port}/${db}`;

    afterAll(() => drop(dbPeer, database));

    it('backs up, verifies, loses the database, restores it under its own name, and compares equal', async () => {
      // Prepare
      await create(dbPeer, database);
      const bucket = await createVersionedBucket(s3Client(s3Peer), 'openmetadata');
      const before = await fingerprint(dbPeer, database);

      // Act: the recipe's steps
      const dump = await runCli(
        ['dump', '--engine', engine, '--source', url(database), '--to', `s3://${bucket}/openmetadata`, '--json'],
        env,
      );
      expect(dump.code, dump.stderr).toBe(0);
      const manifest = manifestUrlOf(dump);
      const verify = await runCli(['verify', '--from', manifest], env);
      expect(verify.code, verify.stderr).toBe(0);
      await drop(dbPeer, database); // the failed upgrade: the database is gone
      const restore = await runCli(['restore', '--from', manifest, '--target', url(database)], env);

      // Assess
      expect(restore.code, restore.stderr).toBe(0);
      const after = await fingerprint(dbPeer, database);
      console.log(
        `OpenMetadata on ${name}: ${Object.keys(before.tables).length} tables compared by content checksum after loss and restore`,
      );
      expect(Object.keys(before.tables).length).toBeGreaterThanOrEqual(3);
      expect(Object.values(before.tables)).toContainEqual(expect.stringMatching(new RegExp(`^${ENTITIES}:`)));
      expect(differences(before, after)).toEqual([]);
    });
  },
);

/** Runs the gate script with a `safekeep` whose `run` answers as told and whose other commands are the real CLI. */
async function gate(
  args: string[],
  runAnswer: { code: number; json: object },
  env: Record<string, string>,
): Promise<CliRun & { upgraded: boolean }> {
  const dir = await mkdtemp(join(tmpdir(), 'om-gate-'));
  const stub = join(dir, 'safekeep');
  const marker = join(dir, 'upgraded');
  await writeFile(join(dir, 'run.json'), JSON.stringify(runAnswer.json));
  // A deployed stack's `run --wait` cannot run here; everything after it (verify) is the real CLI.
  await writeFile(
    stub,
    `#!/bin/sh\nif [ "$1" = run ]; then cat "${dir}/run.json"; echo; exit ${runAnswer.code}; fi\nexec "${process.execPath}" "${resolve(CLI)}" "$@"\n`,
    { mode: 0o755 },
  );
  try {
    return await new Promise((done) => {
      execFile(
        'bash',
        ['scripts/recipes/openmetadata-upgrade-gate.sh', ...args, '--', 'touch', marker],
        { env: { ...env, SAFEKEEP: stub } },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          done({ code, stdout, stderr, upgraded: existsSync(marker) });
        },
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!mysqlPeer || !versitygw)('the OpenMetadata upgrade gate', () => {
  const dbPeer = mysqlPeer as NonNullable<typeof mysqlPeer>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const database = uniqueName('om_gate');
  const env = peerEnvironment(s3Peer, {
    SAFEKEEP_DB_PASSWORD: dbPeer.password,
    SAFEKEEP_MYSQLDUMP: mysqlClientTools().mysqldump,
  });
  const started = { target: 'openmetadata-db', runId: '20261201T000000Z-abc123', kind: 'dump', status: 'succeeded' };
  let manifest: string;
  let bucket: string;
  let objects: Manifest['objects'];

  beforeAll(async () => {
    await flavours[0]?.create(dbPeer, database);
    bucket = await createVersionedBucket(s3Client(s3Peer), 'om-gate');
    const dump = await runCli(
      [
        'dump',
        '--engine',
        'mysql',
        '--source',
        `mysql://${dbPeer.user}@${dbPeer.host}:${dbPeer.port}/${database}`,
        '--to',
        `s3://${bucket}/openmetadata-db`,
        '--json',
      ],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    manifest = manifestUrlOf(dump);
    objects = (JSON.parse(dump.stdout) as Manifest).objects;
  });

  afterAll(() => flavours[0]?.drop(dbPeer, database));

  it('starts the upgrade once the run succeeded and its backup verifies', async () => {
    const run = await gate(['openmetadata-db'], { code: 0, json: { ...started, ok: true, manifest } }, env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`upgrade gate: backup verified: ${manifest}`);
    expect(run.upgraded).toBe(true);
  });

  it('does not start the upgrade when the run fails, and exits with its code', async () => {
    const run = await gate(['openmetadata-db'], { code: 1, json: { ...started, ok: false, status: 'failed' } }, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the backup of openmetadata-db did not succeed; the upgrade was NOT started');
    expect(run.upgraded).toBe(false);
  });

  it('does not start the upgrade when the stored backup is corrupt', async () => {
    // Prepare: one byte of the database dump rots on the storage
    const object = objects.find((o) => o.role === 'database') as Manifest['objects'][number];
    const file = join(RUN_DIR, 'versitygw', 'buckets', bucket, object.key);
    const original = readFileSync(file);
    const rotten = Buffer.from(original);
    rotten[Math.floor(rotten.length / 2)] = (rotten[Math.floor(rotten.length / 2)] ?? 0) ^ 0x5a;
    writeFileSync(file, rotten);
    try {
      // Act
      const run = await gate(['openmetadata-db'], { code: 0, json: { ...started, ok: true, manifest } }, env);

      // Assess
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(object.key);
      expect(run.stderr).toContain('did not verify; the upgrade was NOT started');
      expect(run.upgraded).toBe(false);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('passes an RDS snapshot target once its snapshots are available (run --wait succeeded)', async () => {
    const run = await gate(
      ['openmetadata-rds'],
      { code: 0, json: { ...started, target: 'openmetadata-rds', kind: 'snapshot' } },
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('every snapshot of openmetadata-rds is available');
    expect(run.upgraded).toBe(true);
  });

  it('does not start the upgrade when a timed-out run reported nothing readable', async () => {
    const run = await gate(['openmetadata-db'], { code: 5, json: { ...started, ok: false, status: 'timeout' } }, env);
    expect(run.code).toBe(5);
    expect(run.upgraded).toBe(false);
  });
});
