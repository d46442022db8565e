import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { canonicalRow } from '#test/support/fingerprint.ts';
import { type DatabasePeer, peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';
import {
  ALL_BYTES,
  corruptObject,
  createRemoteTable,
  expectNoSecrets,
  readManifest,
  type StoredManifest,
} from './dolt-support.ts';

const doltgres = await peer('doltgres');
const versitygw = await peer('versitygw');
const moto = await peer('moto');

const WIDE_COLUMNS = 40;
const BRANCHES = ['feature', 'main', 'release', 'wip'];

describe.skipIf(!doltgres || !versitygw || !moto)('Doltgres backups', () => {
  const gresPeer = doltgres as NonNullable<typeof doltgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const motoPeer = moto as NonNullable<typeof moto>;
  const s3 = s3Client(s3Peer);
  const source = uniqueName('gres_src');
  const restored = uniqueName('gres_restored');
  const dynamoTable = uniqueName('safekeep-doltgres');
  const branchUser = uniqueName('sk_user');
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: gresPeer.password, AWS_ENDPOINT_URL_DYNAMODB: motoPeer.endpoint });
  const url = (database: string) => `doltgres://${gresPeer.user}@${gresPeer.host}:${gresPeer.port}/${database}`;
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  const secrets = [gresPeer.password, s3Peer.secretAccessKey];
  const created: string[] = [];
  let bucket: string;
  let manifestUrl: string;
  let manifest: StoredManifest;

  beforeAll(async () => {
    await createDataset(gresPeer, source, branchUser);
    created.push(source);
    await createRemoteTable(motoPeer, dynamoTable);
    bucket = await createVersionedBucket(s3, 'doltgres-backups');
    const dump = await runCli(
      [
        'dump',
        '--engine',
        'doltgres',
        '--source',
        url(source),
        '--to',
        `s3://${bucket}/doltgres-main`,
        '--dolt-dynamodb-table',
        dynamoTable,
        ...s3Flags,
        // Doltgres 0.56.3's backup drops the trigger and its plpgsql function, and Safekeep cannot read their definitions.
        '--allow-missing-objects',
        '--json',
      ],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    expectNoSecrets(dump.stdout + dump.stderr, secrets);
    manifestUrl = manifestUrlOf(dump);
    manifest = await readManifest(s3, manifestUrl);
    // Gone from the server, so restoring --with-globals has something to bring back.
    await withDatabase(gresPeer, source, (db) => db.query('DELETE FROM dolt_branch_control WHERE "user" = $1', [branchUser]));
  });

  afterAll(async () => {
    await withDatabase(gresPeer, 'postgres', async (db) => {
      for (const database of created) await db.query(`DROP DATABASE IF EXISTS ${database}`);
    });
  });

  it('records branch heads, tags, dirty branches and a SHA-256 of every file Doltgres wrote', () => {
    const [entry] = manifest.dolt;
    expect(entry?.database).toBe(source);
    expect(entry?.url).toMatch(new RegExp(`^aws://\\[${dynamoTable}:${bucket}\\]/doltgres-main/.+/dolt/${source}$`));
    expect(entry?.branches.map((b) => b.name)).toEqual(BRANCHES);
    expect(entry?.tags.map((t) => t.name)).toEqual(['v1.0']);
    expect(entry?.dirtyBranches).toEqual(['wip']);
    const files = manifest.objects.filter((o) => o.role === 'dolt-file');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(file).toMatchObject({ database: source, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const missing = (entry as { missing?: { branch: string; name: string }[] } | undefined)?.missing;
    expect(missing?.map((m) => `${m.branch}:${m.name}`).sort()).toEqual(
      BRANCHES.flatMap((branch) => [`${branch}:public.audit_wide()`, `${branch}:public.wide.wide_audit`]),
    );
    // Doltgres shows no users or grants over SQL, so there is nothing to store for them.
    expect(manifest.objects.map((o) => o.role).filter((role) => role !== 'dolt-file')).toEqual(['branch-control']);
  });

  it('restores every branch, the tag, the uncommitted change and branch permissions into a new name', async () => {
    // Prepare
    created.push(restored);

    // Act
    const run = await runCli(
      ['restore', '--from', manifestUrl, '--target', url(restored), '--with-globals', ...s3Flags, '--json'],
      env,
    );

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expectNoSecrets(run.stdout + run.stderr, secrets);
    const before = await contentHashes(gresPeer, source);
    const after = await contentHashes(gresPeer, restored);
    const mismatches = [...before].filter(([table, hash]) => after.get(table) !== hash);
    console.log(
      `Doltgres round trip: ${before.size} tables compared by content hash on ${BRANCHES.length} branches (plus dolt_hashof_db per branch), ${mismatches.length} mismatches`,
    );
    expect(before.size).toBeGreaterThanOrEqual(12 + BRANCHES.length);
    expect(after.size).toBe(before.size);
    expect(mismatches).toEqual([]);
    await withDatabase(gresPeer, `${restored}/wip`, async (db) => {
      expect((await db.query('SELECT note FROM awkward WHERE id = 100')).rows).toEqual([{ note: 'uncommitted on wip' }]);
    });
    await withDatabase(gresPeer, restored, async (db) => {
      const bytes = (await db.query<{ bin: Buffer }>('SELECT bin FROM awkward WHERE id = 3')).rows[0]?.bin;
      expect(Buffer.compare(bytes ?? Buffer.alloc(0), ALL_BYTES)).toBe(0);
      const tags = (await db.query('SELECT tag_name AS name, tag_hash AS hash FROM dolt_tags')).rows;
      expect(tags).toEqual(manifest.dolt[0]?.tags);
      // Doltgres answers prepared statements with permission names.
      const control = await db.query('SELECT branch, permissions FROM dolt_branch_control WHERE "user" = $1', [branchUser]);
      expect(control.rows).toEqual([{ branch: 'release', permissions: 'merge' }]);
    });
  });

  it('verifies the stored backup with a scratch Doltgres restore', async () => {
    const run = await runCli(['verify', '--from', manifestUrl, ...s3Flags, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, engine: 'doltgres' });
  });

  it('refuses to restore into an existing database without --force', async () => {
    const run = await runCli(['restore', '--from', manifestUrl, '--target', url(source), ...s3Flags], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`database "${source}" already exists.*--force`));
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names a corrupted table file and refuses it in verify and restore (runs last: it damages the backup)', async () => {
    // Prepare: one flipped byte in one table file, written over it as S3's newest version
    const file = manifest.objects.find((o) => o.role === 'dolt-file');
    if (!file) throw new Error('no dolt-file in the manifest');
    await corruptObject(s3, bucket, file.key);
    const target = uniqueName('gres_corrupt');

    // Act
    const verify = await runCli(['verify', '--from', manifestUrl, ...s3Flags], env);
    const restore = await runCli(['restore', '--from', manifestUrl, '--target', url(target), ...s3Flags], env);

    // Assess
    expect(verify.code).toBe(3);
    expect(verify.stderr).toContain(`${file.key} is corrupt`);
    expect(restore.code).toBe(3);
    expect(restore.stderr).toContain(`${file.key} is corrupt`);
    await withDatabase(gresPeer, 'postgres', async (db) => {
      expect((await db.query('SELECT datname FROM pg_database WHERE datname = $1', [target])).rows).toEqual([]);
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

/** NULLs, Unicode, all 256 byte values, a wide row, a view, a trigger; four branches, a tag, uncommitted work on wip. */
async function createDataset(server: DatabasePeer, database: string, branchUser: string): Promise<void> {
  await withDatabase(server, 'postgres', (db) => db.query(`CREATE DATABASE ${database}`));
  await withDatabase(server, database, async (db) => {
    await db.query(
      'CREATE TABLE awkward (id INT PRIMARY KEY, note TEXT NULL, uni TEXT, bin BYTEA NULL, big TEXT NULL, amount NUMERIC(20,6) NULL, at TIMESTAMP NULL, doc JSONB NULL)',
    );
    const insert = 'INSERT INTO awkward VALUES ($1, $2, $3, $4, $5, $6, $7, $8)';
    await db.query(insert, [1, null, '', null, null, null, null, null]);
    await db.query(insert, [
      2,
      'it\'s "quoted" \\ back',
      'héllo wörld · 日本語 · 🎉 · Ω',
      Buffer.from([0]),
      'x',
      '-12345678901234.123456',
      '2026-11-21 19:30:00.123456',
      '{"a": [1, null, "ü"]}',
    ]);
    await db.query(insert, [3, 'all bytes', 'tab\there\nnewline', ALL_BYTES, 'y'.repeat(300_000), '0.000001', null, 'null']);
    const columns = Array.from({ length: WIDE_COLUMNS }, (_, i) => `c${i} VARCHAR(100)`);
    await db.query(`CREATE TABLE wide (id INT PRIMARY KEY, ${columns.join(', ')})`);
    await db.query('CREATE TABLE audit (wide_id INT PRIMARY KEY)');
    await db.query(
      'CREATE FUNCTION audit_wide() RETURNS TRIGGER AS $$ BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END; $$ LANGUAGE plpgsql',
    );
    await db.query('CREATE TRIGGER wide_audit AFTER INSERT ON wide FOR EACH ROW EXECUTE FUNCTION audit_wide()');
    await db.query(
      `INSERT INTO wide VALUES (1, ${Array.from({ length: WIDE_COLUMNS }, (_, i) => `'${'w'.repeat(90)}${i}'`).join(', ')})`,
    );
    await db.query('CREATE VIEW awkward_notes AS SELECT id, note FROM awkward WHERE note IS NOT NULL');
    await db.query("SELECT dolt_commit('-Am', 'awkward data')");
    await db.query("SELECT dolt_tag('v1.0')");
    for (const branch of ['feature', 'release', 'wip']) await db.query('SELECT dolt_branch($1)', [branch]);
    await db.query("INSERT INTO dolt_branch_control VALUES ($1, 'release', $2, '%', 'merge')", [database, branchUser]);
  });
  await withDatabase(server, `${database}/feature`, async (db) => {
    await db.query("INSERT INTO awkward (id, note, uni) VALUES (10, 'feature row', 'ß')");
    await db.query("SELECT dolt_commit('-am', 'feature work')");
  });
  await withDatabase(server, `${database}/release`, async (db) => {
    await db.query('ALTER TABLE awkward ADD COLUMN released BOOLEAN DEFAULT TRUE');
    await db.query("SELECT dolt_commit('-am', 'release schema')");
  });
  await withDatabase(server, `${database}/wip`, (db) =>
    db.query("INSERT INTO awkward (id, note, uni) VALUES (100, 'uncommitted on wip', 'draft')"),
  );
}

/**
 * `branch:table` -> SHA-256 of every row in key order (Doltgres has no dolt_hashof_table), for every base
 * table and dolt_schemas on every branch, plus `branch:(root)` -> dolt_hashof_db() of the working set.
 */
async function contentHashes(server: DatabasePeer, database: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const branch of BRANCHES) {
    await withDatabase(server, `${database}/${branch}`, async (db) => {
      const tables = await db.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
      );
      for (const { name } of [...tables.rows, { name: 'dolt_schemas' }]) {
        // Every user table's first column is its key; dolt_schemas is keyed by (type, name).
        const { rows } = await db.query(
          `SELECT * FROM ${pg.escapeIdentifier(name)} ORDER BY ${name === 'dolt_schemas' ? '1, 2' : '1'}`,
        );
        hashes.set(`${branch}:${name}`, sha256(rows.map(canonicalRow).join('\n')));
      }
      hashes.set(`${branch}:(root)`, (await db.query<{ h: string }>('SELECT dolt_hashof_db() AS h')).rows[0]?.h ?? '');
    });
  }
  return hashes;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
