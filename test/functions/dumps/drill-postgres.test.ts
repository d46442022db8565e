/**
 * PostgreSQL restore drills on the local peers: backups of the PostgreSQL 15 peer restored into a scratch
 * PostgreSQL 18 server the drill starts itself (the peers' PostgreSQL 18 binaries, the newest here), and
 * compared with what each manifest recorded.
 */
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { drillKeyOf } from '#functions/contracts/drill.ts';
import { StoppedError } from '#functions/contracts/errors.ts';
import { runDrill } from '#functions/dumps/drill.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { POSTGRES_DATASET } from '#test/support/datasets/postgres.ts';
import { datasetsDir, loadPagila } from '#test/support/datasets/samples.ts';
import { peer, RUN_DIR } from '#test/support/peers.ts';
import { createVersionedBucket, uniqueName } from '#test/support/worker.ts';
import { drillHarness, failedOn, scratchLeftovers } from './drill-support.ts';

const postgres = await peer('postgres');
const postgres18 = await peer('postgres18');
const versitygw = await peer('versitygw');

describe.skipIf(!postgres || !postgres18 || !versitygw)('a PostgreSQL backup, drilled', () => {
  const source = postgres as NonNullable<typeof postgres>;
  let bucket = '';
  const harness = drillHarness(
    versitygw as NonNullable<typeof versitygw>,
    () => bucket,
    () => ({ SAFEKEEP_DB_PASSWORD: source.password }),
  );
  const dump = (database: string, target: string, ...extra: string[]) =>
    harness.backup([
      '--engine',
      'postgres',
      '--source',
      `postgres://${source.user}@${source.host}:${source.port}/${database}`,
      '--to',
      `s3://${bucket}/${target}`,
      ...extra,
    ]);

  beforeAll(async () => {
    vi.stubEnv('SAFEKEEP_PG_SERVER_BIN', join(RUN_DIR, 'postgres18', 'dist', 'bin'));
    bucket = await createVersionedBucket(harness.s3, 'drill-pg');
  });

  it('restores into a scratch PostgreSQL 18 and finds every table, row and schema object the manifest recorded', async () => {
    const database = uniqueName('drill_good');
    await createPostgresDatabase(source, database, POSTGRES_DATASET);
    const { key } = await dump(database, 'pg-good');

    const result = await harness.drill(key);

    expect(result.validationStatus, result.validationStatusMessage).toBe('SUCCESSFUL');
    expect(result.restore).toMatchObject({
      kind: 'scratch-server',
      engine: 'postgres',
      serverVersion: expect.stringMatching(/^PostgreSQL 18\./),
    });
    expect(result.compared.filter((c) => c.what === 'sha256')).toHaveLength(2);
    expect(result.compared).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ what: 'rows', subject: `${database}: sales.orders`, expected: 2000, found: 2000, ok: true }),
        expect.objectContaining({ what: 'schema-objects', subject: `${database}: TRIGGER`, expected: 1, found: 1, ok: true }),
      ]),
    );
    expect(result.counts).toMatchObject({ objects: 2, databases: 1, tables: 6 });
  });

  it('fails on the row counts when the data object is another valid dump whose SHA-256 the manifest was rewritten to', async () => {
    const database = uniqueName('drill_swap');
    await createPostgresDatabase(source, database, POSTGRES_DATASET);
    const original = await dump(database, 'pg-swap');
    const db = new pg.Client({ ...source, database });
    await db.connect();
    await db.query('DELETE FROM public.texts WHERE id > 3');
    await db.end();
    const other = await dump(database, 'pg-swap');
    const archiveOf = (objects: typeof original.manifest.objects) =>
      objects.find((o) => o.role === 'database') as (typeof objects)[number];
    const body = await harness.objectBytes(archiveOf(other.manifest.objects).key, archiveOf(other.manifest.objects).versionId);
    await harness.replaceObject(original.key, archiveOf(original.manifest.objects).key, body, false);

    const result = await harness.drill(original.key);

    expect(result.validationStatus).toBe('FAILED');
    expect(failedOn(result, 'sha256')).toEqual([]);
    expect(failedOn(result, 'rows')).toEqual([
      expect.objectContaining({ subject: `${database}: public.texts`, expected: 11, found: 3 }),
    ]);
    expect(result.validationStatusMessage).toContain('public.texts');
  });

  it('fails on the hash when a byte of an object flipped, and restores nothing', async () => {
    const database = uniqueName('drill_flip');
    await createPostgresDatabase(source, database, ['CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g']);
    const { key, manifest } = await dump(database, 'pg-flip');
    const archive = manifest.objects.find((o) => o.role === 'database') as (typeof manifest.objects)[number];
    await harness.flipByte(key, archive.key);

    const result = await harness.drill(key);

    expect(result.validationStatus).toBe('FAILED');
    expect(failedOn(result, 'sha256')).toEqual([expect.objectContaining({ subject: archive.key })]);
    expect(result.validationStatusMessage).toMatch(new RegExp(`^${archive.key.replaceAll('.', '\\.')} is corrupt`));
    expect(result.counts.databases ?? 0).toBe(0);
  });

  it('fails naming the extension the scratch server lacks (adminpack: PostgreSQL 15 has it, 17 and later do not)', async () => {
    const database = uniqueName('drill_ext');
    await createPostgresDatabase(source, database, ['CREATE EXTENSION adminpack', 'CREATE TABLE t (id int)']);
    const { key } = await dump(database, 'pg-ext');

    const result = await harness.drill(key);

    expect(result.validationStatus).toBe('FAILED');
    expect(failedOn(result, 'extensions')).toEqual([expect.objectContaining({ subject: database, expected: 'adminpack' })]);
    expect(result.validationStatusMessage).toMatch(/lacks extension adminpack that ".*" uses/);
  });

  it('stopped by a signal, stops its scratch server at once and records nothing', async () => {
    const database = uniqueName('drill_stop');
    await createPostgresDatabase(source, database, ['CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g']);
    const { key } = await dump(database, 'pg-stop');
    const before = scratchLeftovers();
    const controller = new AbortController();
    // SIGTERM arrives once the scratch server is up and the restore begins.
    const log = {
      info: (message: string) => message.startsWith('restoring into') && controller.abort('SIGTERM'),
      warn: () => {},
    };

    const drill = runDrill(
      { manifestKey: key, drillId: '20261201T000000Z-stop', trigger: 'manual', timeoutMs: 60_000 },
      { store: harness.store(), log, now: () => new Date(), stop: controller.signal },
    );

    await expect(drill).rejects.toThrow(StoppedError);
    expect(scratchLeftovers()).toEqual(before);
    await expect(harness.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: drillKeyOf(key) }))).rejects.toThrow();
  });

  it.skipIf(!datasetsDir())('drills Pagila (timed)', async () => {
    const database = uniqueName('drill_pagila');
    await createPostgresDatabase(source, database);
    await loadPagila(source, database);
    const { key } = await dump(database, 'pg-pagila');

    const started = Date.now();
    const result = await harness.drill(key);
    console.info(
      `Pagila drill: ${((Date.now() - started) / 1000).toFixed(1)}s wall, durationSeconds ${result.durationSeconds}, counts ${JSON.stringify(result.counts)}`,
    );

    expect(result.validationStatus, result.validationStatusMessage).toBe('SUCCESSFUL');
  });

  it.skipIf(!datasetsDir())(
    'drills a Pagila backup dumped in 3 parallel streams with the same counts as one stream',
    async () => {
      const database = uniqueName('drill_pagila_parts');
      await createPostgresDatabase(source, database);
      await loadPagila(source, database);
      const single = await harness.drill((await dump(database, 'pg-pagila-one')).key);
      const parts = await harness.drill((await dump(database, 'pg-pagila-parts', '--parallelism', '3')).key);

      expect(parts.validationStatus, parts.validationStatusMessage).toBe('SUCCESSFUL');
      expect(parts.compared.filter((c) => c.what === 'sha256')).toHaveLength(5); // globals, schema, 3 data parts
      const { objects: _one, ...singleCounts } = single.counts;
      const { objects: _five, ...partCounts } = parts.counts;
      expect(partCounts).toEqual(singleCounts);
    },
  );
});
