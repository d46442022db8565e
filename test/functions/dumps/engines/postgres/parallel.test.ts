/**
 * A PostgreSQL database dumped as parallel streams of one snapshot: the manifest lists a schema object and its
 * data parts, every table's rows and every sequence value are in exactly one part, the restore is exact, a
 * corrupted or truncated part fails verify, and a manifest missing a part is refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { main } from '#functions/cli/main.ts';
import { StoppedError } from '#functions/contracts/errors.ts';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { runDump } from '#functions/dumps/dump.ts';
import { exactPattern, splitBySize } from '#functions/dumps/engines/postgres/parallel-dump.ts';
import { databaseObjects } from '#functions/dumps/engines/postgres/parallel-restore.ts';
import { pgToolPath } from '#functions/dumps/engines/postgres/tools.ts';
import { engineFor } from '#functions/dumps/engines/registry.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { differences, postgresFingerprint } from '#test/support/fingerprint.ts';
import { peer, RUN_DIR } from '#test/support/peers.ts';
import {
  captureTerminal,
  createVersionedBucket,
  objectVersions,
  openMultipartUploads,
  uniqueName,
} from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

describe('splitting tables over streams', () => {
  const table = (name: string, bytes: number) => ({ schema: 'public', name, bytes, ownedSequences: [] });

  it('puts the largest tables first, each into the lightest set', () => {
    // Prepare
    const tables = [table('a', 10), table('b', 70), table('c', 30), table('d', 30), table('e', 20)];

    // Act
    const sets = splitBySize(tables, 3).map((set) => set.map((t) => t.name));

    // Assess
    expect(sets).toEqual([['b'], ['c', 'e'], ['d', 'a']]);
  });

  it('makes no empty sets when there are fewer tables than streams', () => {
    expect(splitBySize([table('a', 1)], 4)).toHaveLength(1);
    expect(splitBySize([], 4)).toEqual([]);
  });

  it('quotes names so that no character is a wildcard', () => {
    expect(exactPattern('we*ird', 'ta"b.le')).toBe('"we*ird"."ta""b.le"');
  });
});

describe('the parts of a database in the manifest', () => {
  const object = (part?: { section: 'schema' | 'data'; index: number; count: number }) => ({
    key: `k-${part?.section}-${part?.index}`,
    role: 'database' as const,
    database: 'app',
    format: 'pg_dump-custom',
    compression: 'zstd' as const,
    storedBytes: 1,
    sha256: '0'.repeat(64),
    ...(part ? { part } : {}),
  });

  it('reads a manifest from before parallel streams as one whole archive', () => {
    expect(databaseObjects([object()], 'app')).toMatchObject({ kind: 'whole' });
  });

  it('refuses a parallel backup missing a data part', () => {
    const parts = [object({ section: 'schema', index: 0, count: 2 }), object({ section: 'data', index: 2, count: 2 })];
    expect(() => databaseObjects(parts, 'app')).toThrow(/1 of its 2 data parts; the backup is incomplete/);
  });
});

describe('--parallelism', () => {
  async function usage(args: string[]) {
    const capture = captureTerminal();
    const code = await main(args, {
      env: {},
      terminal: capture.terminal,
      now: () => new Date(),
      openStore: () => {
        throw new Error('no store here');
      },
      readSecret: () => Promise.reject(new Error('no secrets here')),
    });
    return { code, stderr: capture.stderr() };
  }
  const adHoc = (engine: string, streams: string) => [
    'dump',
    '--engine',
    engine,
    '--source',
    `${engine}://root@127.0.0.1:1/app`,
    '--to',
    's3://my-backups/app',
    '--parallelism',
    streams,
  ];

  it('is refused above 1 for MySQL, saying why', async () => {
    const run = await usage(adHoc('mysql', '2'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--parallelism must be 1 for mysql: mysqldump and mariadb-dump cannot share one snapshot/);
  });

  it('must be a whole number from 1 to 64', async () => {
    expect((await usage(adHoc('postgres', '0'))).stderr).toMatch(/--parallelism must be a whole number from 1 to 64, got "0"/);
    expect((await usage(adHoc('postgres', '2.5'))).code).toBe(2);
  });
});

describe.skipIf(!postgres || !versitygw)('parallel streams through PostgreSQL', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const url = (name: string) => `postgres://${pgPeer.user}@${pgPeer.host}:${pgPeer.port}/${name}`;

  async function cli(args: string[]) {
    const capture = captureTerminal();
    const code = await main(args, {
      env: { SAFEKEEP_DB_PASSWORD: pgPeer.password },
      terminal: capture.terminal,
      now: () => new Date(),
      openStore: (name) => s3ArtifactStore(s3Client(s3Peer), name, { abortRetryMs: 1_000 }),
      readSecret: () => Promise.reject(new Error('no secrets here')),
    });
    return { code, stdout: capture.stdout(), stderr: capture.stderr() };
  }

  /** The TOC entries of a stored part ("TABLE DATA public orders", "SEQUENCE SET public orders_id_seq"). */
  function tocOf(bucket: string, key: string): string[] {
    // pg_restore --list reads only the TOC, so it gets a file rather than a pipe it would leave half-read.
    const file = join(mkdtempSync(join(tmpdir(), 'parallel-')), 'part.pgdump');
    writeFileSync(file, execFileSync('zstd', ['-dc', join(RUN_DIR, 'versitygw', 'buckets', bucket, key)]));
    return execFileSync(pgToolPath('pg_restore'), ['--list', file])
      .toString()
      .split('\n')
      .filter((line) => line && !line.startsWith(';'))
      .map((line) => line.replace(/^\d+; \d+ \d+ /, '').replace(/ \S+$/, ''));
  }

  it('dumps one snapshot as a schema object and three data parts, and restores it exactly', async () => {
    // Prepare
    const [source, restored] = [uniqueName('pg_parallel'), uniqueName('pg_parallel_restored')];
    await createPostgresDatabase(pgPeer, source, [
      'CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL)',
      'CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer int NOT NULL REFERENCES customers, total numeric)',
      'CREATE TABLE events (at date NOT NULL, body jsonb) PARTITION BY RANGE (at)',
      "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
      'CREATE SCHEMA "odd ""schema"""',
      'CREATE TABLE "odd ""schema"""."Mixed*Case" (v text)',
      'CREATE SEQUENCE invoice_numbers START 1000',
      "SELECT setval('invoice_numbers', 4242)",
      "INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 3000) g",
      'INSERT INTO orders (customer, total) SELECT 1 + g % 3000, g * 1.5 FROM generate_series(1, 20000) g',
      `INSERT INTO events SELECT '2026-01-01'::date + g % 300, jsonb_build_object('n', g) FROM generate_series(1, 5000) g`,
      `INSERT INTO "odd ""schema"""."Mixed*Case" VALUES ('a'), ('b')`,
      "SELECT lo_from_bytea(0, 'a large object')",
      'CREATE MATERIALIZED VIEW big_spenders AS SELECT customer, sum(total) AS spent FROM orders GROUP BY 1 HAVING sum(total) > 10000',
    ]);
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'parallel');

    // Act
    const dump = await cli([
      'dump',
      '--engine',
      'postgres',
      '--source',
      url(source),
      '--to',
      `s3://${bucket}/app`,
      '--parallelism',
      '3',
      '--json',
    ]);
    expect(dump.code, dump.stderr).toBe(0);
    const manifest = JSON.parse(dump.stdout) as Manifest & { manifest: string };
    const restore = await cli(['restore', '--from', manifest.manifest, '--target', url(restored)]);
    const verify = await cli(['verify', '--from', manifest.manifest]);

    // Assess
    expect(restore.code, restore.stderr).toBe(0);
    expect(verify.code, verify.stderr).toBe(0);
    const parts = manifest.objects.filter((o) => o.role === 'database');
    expect(parts.map((o) => [o.key.split('/').at(-1), o.part])).toEqual(
      expect.arrayContaining([
        [`database-${source}.schema.pgdump.zst`, { section: 'schema', index: 0, count: 3 }],
        [`database-${source}.data-1.pgdump.zst`, { section: 'data', index: 1, count: 3 }],
        [`database-${source}.data-2.pgdump.zst`, { section: 'data', index: 2, count: 3 }],
        [`database-${source}.data-3.pgdump.zst`, { section: 'data', index: 3, count: 3 }],
      ]),
    );
    expect(parts).toHaveLength(4);
    const data = parts.filter((o) => o.part?.section === 'data').flatMap((o) => tocOf(bucket, o.key));
    const once = (entry: string) => data.filter((line) => line === entry).length;
    for (const entry of [
      'TABLE DATA public customers',
      'TABLE DATA public orders',
      'TABLE DATA public events_2026',
      'TABLE DATA odd "schema" Mixed*Case',
      'SEQUENCE SET public customers_id_seq',
      'SEQUENCE SET public orders_id_seq',
      'SEQUENCE SET public invoice_numbers',
    ]) {
      expect(once(entry), entry).toBe(1);
    }
    expect(data.some((line) => line.startsWith('BLOB') || line.startsWith('LARGE OBJECTS'))).toBe(true);
    expect(tocOf(bucket, parts.find((o) => o.part?.section === 'schema')?.key ?? '')).not.toContainEqual(
      expect.stringMatching(/^TABLE DATA/),
    );
    const counted = Object.assign({}, ...parts.map((o) => o.rowCounts ?? {}));
    expect(counted).toMatchObject({ 'public.orders': 20000, 'public.customers': 3000 });
    const [before, after] = [await postgresFingerprint(pgPeer, source), await postgresFingerprint(pgPeer, restored)];
    expect(differences(before, after)).toEqual([]);
    const db = new pg.Client({ ...pgPeer, database: restored });
    await db.connect();
    const sequence = await db.query<{ n: string }>('SELECT last_value AS n FROM invoice_numbers').finally(() => db.end());
    expect(sequence.rows[0]?.n).toBe('4242');
  });

  it.each([
    [
      'a flipped byte',
      (bytes: Buffer) => Buffer.concat([bytes.subarray(0, 100), Buffer.from([(bytes[100] ?? 0) ^ 0x5a]), bytes.subarray(101)]),
    ],
    ['a truncation', (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2))],
  ])('fails verify and refuses restore when a data part has %s', async (_what, corrupt) => {
    // Prepare
    const source = uniqueName('pg_parallel_rot');
    await createPostgresDatabase(pgPeer, source, [
      'CREATE TABLE a AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g',
      'CREATE TABLE b AS SELECT g AS id FROM generate_series(1, 20000) g',
    ]);
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'parallel-rot');
    const dump = await cli([
      'dump',
      '--engine',
      'postgres',
      '--source',
      url(source),
      '--to',
      `s3://${bucket}/app`,
      '--parallelism',
      '2',
      '--json',
    ]);
    expect(dump.code, dump.stderr).toBe(0);
    const manifest = JSON.parse(dump.stdout) as Manifest & { manifest: string };
    const part = manifest.objects.find((o) => o.part?.section === 'data' && o.part.index === 2);
    const file = join(RUN_DIR, 'versitygw', 'buckets', bucket, part?.key ?? '');
    writeFileSync(file, corrupt(readFileSync(file)));

    // Act
    const verify = await cli(['verify', '--from', manifest.manifest]);
    const restore = await cli(['restore', '--from', manifest.manifest, '--target', url(uniqueName('pg_parallel_never'))]);

    // Assess
    expect(verify.code).not.toBe(0);
    expect(verify.stderr).toContain(`${part?.key} is corrupt`);
    expect(restore.code).not.toBe(0);
    expect(restore.stderr).toContain(`${part?.key} is corrupt`);
  });

  it('stops every stream when one fails, and leaves no upload open and no manifest', async () => {
    // Prepare: a login that may read the big table but not the small one, so one pg_dump fails while others stream.
    const [source, role] = [uniqueName('pg_parallel_fail'), uniqueName('parallel_reader')];
    await createPostgresDatabase(pgPeer, source, [
      'CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 10) AS pad FROM generate_series(1, 200000) g',
      'CREATE TABLE secret (v text)',
      `CREATE ROLE ${role} LOGIN PASSWORD ${pg.Client.prototype.escapeLiteral(pgPeer.password)}`,
      `GRANT SELECT ON filler TO ${role}`,
    ]);
    onTestFinished(async () => {
      const admin = new pg.Client({ ...pgPeer, database: 'postgres' });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${source} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    });
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'parallel-fail');
    const as = `postgres://${role}@${pgPeer.host}:${pgPeer.port}/${source}`;

    // Act
    const dump = await cli(['dump', '--engine', 'postgres', '--source', as, '--to', `s3://${bucket}/app`, '--parallelism', '2']);

    // Assess
    expect(dump.code).not.toBe(0);
    expect(dump.stderr).toMatch(/pg_dump of .* failed .*permission denied for table secret/);
    expect(await openMultipartUploads(s3Client(s3Peer), bucket)).toEqual([]);
    expect((await objectVersions(s3Client(s3Peer), bucket)).map((o) => o.key)).toEqual([]);
  });

  it('stopped mid-run (SIGTERM from ECS), stops every stream, aborts every upload and writes no manifest', async () => {
    // Prepare
    const source = uniqueName('pg_parallel_stop');
    await createPostgresDatabase(pgPeer, source, [
      'CREATE TABLE a AS SELECT g AS id, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 150000) g',
      'CREATE TABLE b AS SELECT g AS id, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 150000) g',
    ]);
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'parallel-stop');
    const stop = new AbortController();
    const streaming = new Set<string>();

    // Act: stop once both data parts are flowing.
    const failure = await runDump(
      {
        engine: engineFor('postgres'),
        source: {
          engine: 'postgres',
          host: pgPeer.host,
          port: pgPeer.port,
          user: pgPeer.user,
          password: pgPeer.password,
          databases: [source],
          tls: { mode: 'disable' },
        },
        destination: { bucket, prefix: 'app' },
        target: 'app',
        compression: 'zstd',
        timeoutMs: 120_000,
        parallelism: 2,
      },
      {
        store: s3ArtifactStore(s3Client(s3Peer), bucket, { abortRetryMs: 1_000 }),
        log: { info: () => {}, warn: () => {} },
        now: () => new Date(),
        randomSuffix: () => 'stop',
        stop: stop.signal,
        onProgress: ({ object }) => {
          if (object.includes('.data-')) streaming.add(object);
          if (streaming.size === 2 && !stop.signal.aborted) stop.abort('SIGTERM');
        },
      },
    ).catch((error: unknown) => error);

    // Assess
    expect(streaming.size).toBe(2);
    expect(failure).toBeInstanceOf(StoppedError);
    expect(await openMultipartUploads(s3Client(s3Peer), bucket)).toEqual([]);
    expect((await objectVersions(s3Client(s3Peer), bucket)).map((o) => o.key)).toEqual([]);
  });
});
