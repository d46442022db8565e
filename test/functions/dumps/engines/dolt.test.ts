import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';
import {
  ALL_BYTES,
  corruptObject,
  createRemoteTable,
  expectNoSecrets,
  readManifest,
  type StoredManifest,
} from './dolt-support.ts';

const dolt = await peer('dolt');
const versitygw = await peer('versitygw');
const moto = await peer('moto');

const WIDE_COLUMNS = 40;

describe.skipIf(!dolt || !versitygw || !moto)('Dolt backups', () => {
  const doltPeer = dolt as NonNullable<typeof dolt>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const motoPeer = moto as NonNullable<typeof moto>;
  const s3 = s3Client(s3Peer);
  const source = uniqueName('dolt_src');
  const restored = uniqueName('dolt_restored');
  const dynamoTable = uniqueName('safekeep-dolt');
  const user = uniqueName('sk_user');
  const userPassword = `pw-${randomBytes(9).toString('hex')}`;
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: doltPeer.password, AWS_ENDPOINT_URL_DYNAMODB: motoPeer.endpoint });
  const url = (database: string) => `dolt://${doltPeer.user}@${doltPeer.host}:${doltPeer.port}/${database}`;
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  const secrets = [doltPeer.password, s3Peer.secretAccessKey, userPassword];
  const created: string[] = [];
  let admin: mysql.Connection;
  let bucket: string;
  let manifestUrl: string;
  let manifest: StoredManifest;

  beforeAll(async () => {
    admin = await mysql.createConnection({ ...doltPeer });
    await createDataset(admin, source, user, userPassword);
    created.push(source);
    await createRemoteTable(motoPeer, dynamoTable);
    bucket = await createVersionedBucket(s3, 'dolt-backups');
    const dump = await runCli(
      [
        'dump',
        '--engine',
        'dolt',
        '--source',
        url(source),
        '--to',
        `s3://${bucket}/dolt-main`,
        '--dolt-dynamodb-table',
        dynamoTable,
        ...s3Flags,
        '--json',
      ],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    expectNoSecrets(dump.stdout + dump.stderr, secrets);
    manifestUrl = manifestUrlOf(dump);
    manifest = await readManifest(s3, manifestUrl);
    // Gone from the server, so restoring --with-globals has something to bring back.
    await admin.query(`DROP USER '${user}'@'%'`);
    await admin.query(`USE \`${source}\``);
    await admin.query('DELETE FROM dolt_branch_control WHERE user = ?', [user]);
    await admin.query('DELETE FROM dolt_branch_namespace_control WHERE user = ?', [user]);
  });

  afterAll(async () => {
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
    for (const database of created) await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  it('records branch heads, tags, dirty branches and a SHA-256 of every file Dolt wrote', () => {
    const [entry] = manifest.dolt;
    expect(entry?.database).toBe(source);
    expect(entry?.url).toMatch(
      new RegExp(`^aws://\\[${dynamoTable}:${bucket}\\]/dolt-main/\\d{4}/\\d{2}/\\d{2}/[^/]+/dolt/${source}$`),
    );
    expect(entry?.branches.map((b) => b.name)).toEqual(['feature', 'main', 'release', 'wip']);
    expect(entry?.tags.map((t) => t.name)).toEqual(['v1.0']);
    expect(entry?.dirtyBranches).toEqual(['wip']);
    const files = manifest.objects.filter((o) => o.role === 'dolt-file');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files)
      expect(file).toMatchObject({
        database: source,
        storedBytes: expect.any(Number),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    expect(
      manifest.objects
        .map((o) => o.role)
        .filter((role) => role !== 'dolt-file')
        .sort(),
    ).toEqual(['branch-control', 'grants']);
  });

  it('restores every branch, the tag, the uncommitted change, users, grants and branch permissions into a new name', async () => {
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
    const before = await tableHashes(admin, source);
    const after = await tableHashes(admin, restored);
    const mismatches = [...before].filter(([table, hash]) => after.get(table) !== hash);
    console.log(
      `Dolt round trip: ${before.size} tables compared by dolt_hashof_table on 4 branches, ${mismatches.length} mismatches`,
    );
    expect(before.size).toBeGreaterThanOrEqual(16);
    expect(after.size).toBe(before.size);
    expect(mismatches).toEqual([]);
    const [[wip]] = (await admin.query(`SELECT note FROM \`${restored}/wip\`.awkward WHERE id = 100`)) as unknown as [
      [{ note: string }],
    ];
    expect(wip.note).toBe('uncommitted on wip');
    const [[binary]] = (await admin.query(`SELECT bin FROM \`${restored}\`.awkward WHERE id = 3`)) as unknown as [
      [{ bin: Buffer }],
    ];
    expect(Buffer.compare(binary.bin, ALL_BYTES)).toBe(0);
    await admin.query(`USE \`${restored}\``);
    const [tags] = (await admin.query('SELECT tag_name AS name, tag_hash AS hash FROM dolt_tags')) as unknown as [
      { name: string; hash: string }[],
    ];
    expect(tags).toEqual(manifest.dolt[0]?.tags);
    const [grants] = (await admin.query(`SHOW GRANTS FOR '${user}'@'%'`)) as unknown as [Record<string, string>[]];
    expect(grants.map((g) => Object.values(g)[0])).toContain(`GRANT SELECT ON \`${source}\`.* TO \`${user}\`@\`%\``);
    const [control] = (await admin.query('SELECT branch, permissions FROM dolt_branch_control WHERE user = ?', [
      user,
    ])) as unknown as [unknown[]];
    expect(control).toEqual([{ branch: 'release', permissions: 'merge' }]);
    const [namespace] = (await admin.query('SELECT branch FROM dolt_branch_namespace_control WHERE user = ?', [
      user,
    ])) as unknown as [unknown[]];
    expect(namespace).toEqual([{ branch: 'release/%' }]);
  });

  it('verifies the stored backup with a scratch restore', async () => {
    const run = await runCli(['verify', '--from', manifestUrl, ...s3Flags, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, engine: 'dolt' });
  });

  it('refuses to restore into an existing database without --force', async () => {
    const run = await runCli(['restore', '--from', manifestUrl, '--target', url(source), ...s3Flags], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`database "${source}" already exists.*--force`));
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses --swap, since Dolt cannot rename a database', async () => {
    const run = await runCli(
      ['restore', '--from', manifestUrl, '--target', url(uniqueName('dolt_swap')), '--swap', ...s3Flags],
      env,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot rename a database.*restore into a new name/);
  });

  it('names a corrupted table file and refuses it in verify and restore (runs last: it damages the backup)', async () => {
    // Prepare: one flipped byte in one table file, written over it as S3's newest version
    const file = manifest.objects.find((o) => o.role === 'dolt-file');
    if (!file) throw new Error('no dolt-file in the manifest');
    await corruptObject(s3, bucket, file.key);
    const target = uniqueName('dolt_corrupt');

    // Act
    const verify = await runCli(['verify', '--from', manifestUrl, ...s3Flags], env);
    const restore = await runCli(['restore', '--from', manifestUrl, '--target', url(target), ...s3Flags], env);

    // Assess
    expect(verify.code).toBe(3);
    expect(verify.stderr).toContain(`${file.key} is corrupt`);
    expect(restore.code).toBe(3);
    expect(restore.stderr).toContain(`${file.key} is corrupt`);
    const [exists] = (await admin.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [
      target,
    ])) as unknown as [unknown[]];
    expect(exists).toEqual([]);
  });
});

/** NULLs, Unicode, all 256 byte values, a wide row, a view, a trigger; four branches, a tag, uncommitted work on wip. */
async function createDataset(db: mysql.Connection, database: string, user: string, password: string): Promise<void> {
  await db.query(`CREATE DATABASE \`${database}\``);
  await db.query(`USE \`${database}\``);
  await db.query(
    'CREATE TABLE awkward (id INT PRIMARY KEY, note VARCHAR(200) NULL, uni TEXT, bin VARBINARY(256) NULL, big LONGTEXT NULL, amount DECIMAL(20,6) NULL, at DATETIME(6) NULL, doc JSON NULL)',
  );
  const insert = 'INSERT INTO awkward VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
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
  await db.query('CREATE TABLE audit (wide_id INT PRIMARY KEY, at_insert VARCHAR(20))');
  await db.query("CREATE TRIGGER wide_audit AFTER INSERT ON wide FOR EACH ROW INSERT INTO audit VALUES (NEW.id, 'inserted')");
  await db.query(
    `INSERT INTO wide VALUES (1, ${Array.from({ length: WIDE_COLUMNS }, (_, i) => `'${'w'.repeat(90)}${i}'`).join(', ')})`,
  );
  await db.query('CREATE VIEW awkward_notes AS SELECT id, note FROM awkward WHERE note IS NOT NULL');
  await db.query("CALL dolt_commit('-Am', 'awkward data')");
  await db.query("CALL dolt_tag('v1.0')");
  for (const branch of ['feature', 'release', 'wip']) await db.query('CALL dolt_branch(?)', [branch]);
  await db.query(`USE \`${database}/feature\``);
  await db.query("INSERT INTO awkward (id, note, uni) VALUES (10, 'feature row', 'ß')");
  await db.query("CALL dolt_commit('-am', 'feature work')");
  await db.query(`USE \`${database}/release\``);
  await db.query('ALTER TABLE awkward ADD COLUMN released BOOLEAN DEFAULT TRUE');
  await db.query("CALL dolt_commit('-am', 'release schema')");
  await db.query(`USE \`${database}/wip\``);
  await db.query("INSERT INTO awkward (id, note, uni) VALUES (100, 'uncommitted on wip', 'draft')");
  await db.query(`USE \`${database}\``);
  await db.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
  await db.query(`GRANT SELECT ON \`${database}\`.* TO '${user}'@'%'`);
  await db.query("INSERT INTO dolt_branch_control VALUES (?, 'release', ?, '%', 'merge')", [database, user]);
  await db.query("INSERT INTO dolt_branch_namespace_control VALUES (?, 'release/%', ?, '%')", [database, user]);
}

/** `branch:table` -> dolt_hashof_table of the working set, for every base table (and dolt_schemas) on every branch. */
async function tableHashes(db: mysql.Connection, database: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  await db.query(`USE \`${database}\``);
  const [branches] = (await db.query('SELECT name FROM dolt_branches ORDER BY name')) as unknown as [{ name: string }[]];
  for (const { name: branch } of branches) {
    await db.query(`USE \`${database}/${branch}\``);
    const [tables] = (await db.query("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'")) as unknown as [
      Record<string, string>[],
    ];
    const names = [...tables.map((row) => Object.values(row)[0] as string), 'dolt_schemas'];
    for (const table of names) {
      const [[row]] = (await db.query('SELECT dolt_hashof_table(?) AS hash', [table])) as unknown as [[{ hash: string }]];
      hashes.set(`${branch}:${table}`, row.hash);
    }
  }
  await db.query(`USE \`${database}\``);
  return hashes;
}
