/**
 * Bit rot: one byte of a stored artifact changes on the storage itself (we flip it in versitygw's files,
 * under S3's feet). Verify must name the object and fail; a restore that needs the object must refuse it
 * before touching the target.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { main } from '#functions/cli/main.ts';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { POSTGRES_DATASET } from '#test/support/datasets/postgres.ts';
import { mysqlServers } from '#test/support/mysql-servers.ts';
import { peer, RUN_DIR } from '#test/support/peers.ts';
import { captureTerminal, createVersionedBucket, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const mysqlPeers = (await mysqlServers()).filter((s) => s.peer !== undefined);
const versitygw = await peer('versitygw');

const CORRUPTIONS_PER_ENGINE = 12;

describe.skipIf(!postgres || mysqlPeers.length === 0 || !versitygw)(
  'corrupted artifacts are detected by verify and refused by restore',
  () => {
    const s3Peer = versitygw as NonNullable<typeof versitygw>;
    const pgPeer = postgres as NonNullable<typeof postgres>;
    let bucket: string;

    /** Runs the CLI in-process (faster than a process per run), against the S3 peer. */
    async function cli(args: string[], password: string) {
      const capture = captureTerminal();
      const code = await main(args, {
        env: { SAFEKEEP_DB_PASSWORD: password },
        terminal: capture.terminal,
        now: () => new Date(),
        openStore: (name) => s3ArtifactStore(s3Client(s3Peer), name, { abortRetryMs: 1_000 }),
        readSecret: () => Promise.reject(new Error('no secrets here')),
      });
      return { code, stdout: capture.stdout(), stderr: capture.stderr() };
    }

    async function backup(
      engine: 'postgres' | 'mysql',
      source: string,
      password: string,
    ): Promise<{ url: string; manifest: Manifest }> {
      const run = await cli(
        ['dump', '--engine', engine, '--source', source, '--to', `s3://${bucket}/${engine}-target`, '--json'],
        password,
      );
      expect(run.code, run.stderr).toBe(0);
      const manifest = JSON.parse(run.stdout) as Manifest & { manifest: string };
      return { url: manifest.manifest, manifest };
    }

    /** Byte offsets spread over the object, always including the first and the last byte. */
    function offsets(size: number, count: number): number[] {
      return Array.from({ length: count }, (_, i) =>
        i === 0 ? 0 : i === count - 1 ? size - 1 : Math.floor((size * i) / count + ((i * 7919) % 97)),
      );
    }

    function flip(path: string, offset: number): () => void {
      const original = readFileSync(path);
      const corrupted = Buffer.from(original);
      corrupted[offset] = (corrupted[offset] ?? 0) ^ 0x5a;
      writeFileSync(path, corrupted);
      return () => writeFileSync(path, original);
    }

    beforeAll(async () => {
      bucket = await createVersionedBucket(s3Client(s3Peer), 'corruption');
    });

    const cases = [
      {
        label: 'postgres',
        engine: 'postgres' as const,
        tools: {},
        async prepare() {
          const database = uniqueName('rot_pg');
          await createPostgresDatabase(pgPeer, database, POSTGRES_DATASET.slice(0, 12));
          return {
            source: `postgres://postgres@127.0.0.1:${pgPeer.port}/${database}`,
            password: pgPeer.password,
            target: (n: string) => `postgres://postgres@127.0.0.1:${pgPeer.port}/${n}`,
          };
        },
        async exists(name: string) {
          const admin = new pg.Client({ ...pgPeer, database: 'postgres' });
          await admin.connect();
          const found = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0;
          await admin.end();
          return found > 0;
        },
      },
      // Each MySQL-protocol server with its own client tools (the CLI runs in-process, so they go in process.env).
      ...mysqlPeers.map(({ server, peer: serverPeer, tools }) => {
        const myPeer = serverPeer as NonNullable<typeof serverPeer>;
        return {
          label: `mysql (${server})`,
          engine: 'mysql' as const,
          tools,
          async prepare() {
            const database = uniqueName('rot_my');
            const admin = await mysql.createConnection({ ...myPeer });
            await admin.query(`CREATE DATABASE ${database}`);
            await admin.query(`CREATE TABLE ${database}.t (id INT PRIMARY KEY, b BLOB, s TEXT)`);
            await admin.query(`INSERT INTO ${database}.t VALUES (1, UNHEX('00FF7F80'), 'héllo'), (2, NULL, REPEAT('abc', 5000))`);
            await admin.end();
            return {
              source: `mysql://root@127.0.0.1:${myPeer.port}/${database}`,
              password: myPeer.password,
              target: (n: string) => `mysql://root@127.0.0.1:${myPeer.port}/${n}`,
            };
          },
          async exists(name: string) {
            const admin = await mysql.createConnection({ ...myPeer });
            const [rows] = (await admin.query('SHOW DATABASES LIKE ?', [name])) as unknown as [unknown[]];
            await admin.end();
            return rows.length > 0;
          },
        };
      }),
    ];

    it.each(cases)(
      '$label: every single-byte corruption is named by verify and refused by restore',
      async ({ label, engine, tools, prepare, exists }) => {
        // Prepare
        for (const [name, value] of Object.entries(tools)) vi.stubEnv(name, value);
        onTestFinished(() => {
          vi.unstubAllEnvs();
        });
        const { source, password, target } = await prepare();
        const { url, manifest } = await backup(engine, source, password);
        const objects = manifest.objects;
        let detected = 0;

        for (const [index, offset] of offsets(1_000_000, CORRUPTIONS_PER_ENGINE).entries()) {
          const object = objects[index % objects.length] as Manifest['objects'][number];
          const file = join(RUN_DIR, 'versitygw', 'buckets', bucket, object.key);
          expect(existsSync(file), `versitygw stores ${object.key} at ${file}`).toBe(true);
          const restore = flip(file, offset % object.storedBytes);
          const restoredName = uniqueName('rot_target');
          try {
            // Act
            const verify = await cli(['verify', '--from', url], password);
            // --with-globals: the restore uses every object of the run, so every corruption is in its path.
            const restored = await cli(['restore', '--from', url, '--target', target(restoredName), '--with-globals'], password);

            // Assess
            expect(verify.code, `verify after flipping byte ${offset % object.storedBytes} of ${object.key}`).toBe(3);
            expect(verify.stderr).toContain(object.key);
            expect(restored.code).toBe(3);
            expect(restored.stderr).toContain(object.key);
            expect(await exists(restoredName), 'restore touched the target before refusing').toBe(false);
            detected++;
          } finally {
            restore();
          }
        }
        console.log(
          `${label}: ${detected} of ${CORRUPTIONS_PER_ENGINE} single-byte corruptions detected by verify and refused by restore`,
        );
        expect((await cli(['verify', '--from', url], password)).code).toBe(0);
      },
    );
  },
);
