/**
 * Fault injection: every way a dump can fail must leave nothing that looks like a backup (no object at a
 * final key, no open multipart upload, no manifest), leave earlier backups untouched, exit non-zero and
 * say in one line what failed.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgToolPath } from '#functions/dumps/engines/postgres/tools.ts';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { mysqlServers } from '#test/support/mysql-servers.ts';
import { peer, type S3Peer } from '#test/support/peers.ts';
import {
  createVersionedBucket,
  objectVersions,
  openMultipartUploads,
  peerEnvironment,
  runCli,
  uniqueName,
} from '#test/support/worker.ts';

const postgres = await peer('postgres');
const postgres18 = await peer('postgres18');
const versitygw = await peer('versitygw');

/** About 40 MB of dump that zstd cannot shrink much: several 5 MiB parts are in flight when faults hit. */
const BIG_TABLE = `CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) AS filler
  FROM generate_series(1, 300000) g`;
const CUT_AFTER_BYTES = 12_000_000;

/** A directory standing in for the PostgreSQL client tools, whose pg_dump misbehaves after some output. */
function faultyPgBin(behaviour: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'safekeep-faulty-'));
  for (const tool of ['pg_dumpall', 'pg_restore', 'psql'] as const) symlinkSync(pgToolPath(tool), join(dir, tool));
  const real = pgToolPath('pg_dump');
  writeFileSync(
    join(dir, 'pg_dump'),
    `#!/bin/sh\n# pg_dump that ${behaviour}\ncase "$1" in --version) exec "${real}" --version ;; esac\n"${real}" "$@" | head -c ${CUT_AFTER_BYTES}\n${behaviour}\n`,
  );
  chmodSync(join(dir, 'pg_dump'), 0o755);
  return dir;
}

/** A mysqldump wrapping `real` (the server's own client) that misbehaves after 200 kB. */
function faultyMysqldump(behaviour: string, real: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'safekeep-faulty-'));
  const path = join(dir, 'mysqldump');
  writeFileSync(
    path,
    `#!/bin/sh\ncase "$1" in --version) exec "${real}" --version ;; esac\n"${real}" "$@" | head -c 200000\n${behaviour}\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe.skipIf(!postgres || !versitygw)('a failed PostgreSQL dump leaves nothing behind and touches no earlier backup', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const s3 = s3Client(s3Peer);
  const source = uniqueName('fault_src');
  const url = (port = pgPeer.port, database = source) => `postgres://${pgPeer.user}@${pgPeer.host}:${port}/${database}`;
  let bucket: string;
  let earlier: { key: string; versionId?: string }[];

  beforeAll(async () => {
    await createPostgresDatabase(pgPeer, source, [BIG_TABLE]);
    bucket = await createVersionedBucket(s3, 'faults');
    const good = await dump({});
    expect(good.code, good.stderr).toBe(0);
    earlier = await objectVersions(s3, bucket);
    expect(earlier.filter((v) => v.key.endsWith('manifest.json'))).toHaveLength(1);
  });

  function dump(extraEnv: Record<string, string>, sourceUrl = url(), extraArgs: string[] = []) {
    const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password, ...extraEnv });
    return runCli(
      [
        'dump',
        '--engine',
        'postgres',
        '--source',
        sourceUrl,
        '--to',
        `s3://${bucket}/faulty`,
        '--endpoint-url',
        s3Peer.endpoint,
        '--part-size',
        '5MiB',
        ...extraArgs,
      ],
      env,
    );
  }

  async function expectNothingLeft(run: { code: number; stderr: string }, message: RegExp, exitCode?: number) {
    expect(run.code).not.toBe(0);
    if (exitCode !== undefined) expect(run.code).toBe(exitCode);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(await objectVersions(s3, bucket)).toEqual(earlier);
    expect(await openMultipartUploads(s3, bucket)).toEqual([]);
  }

  it('producer exits non-zero mid-stream', async () => {
    const run = await dump({ SAFEKEEP_PG_BIN: faultyPgBin('exit 3') });
    await expectNothingLeft(run, /^safekeep: pg_dump of fault_src_\w+ failed with exit code 3/);
  });

  it('producer is killed mid-stream', async () => {
    const run = await dump({ SAFEKEEP_PG_BIN: faultyPgBin('kill -KILL $$') });
    await expectNothingLeft(run, /^safekeep: pg_dump of fault_src_\w+ was killed by SIGKILL/);
  });

  it('producer stops early but exits 0 (a truncated archive, caught as it streams)', async () => {
    const run = await dump({ SAFEKEEP_PG_BIN: faultyPgBin('exit 0') });
    await expectNothingLeft(
      run,
      /^safekeep: the archive of database fault_src_\w+ is incomplete or unreadable \(it ended inside the data of TABLE DATA public\.big\)/,
    );
  });

  it('producer hangs past the timeout', async () => {
    const run = await dump({ SAFEKEEP_PG_BIN: faultyPgBin('exec sleep 600') }, url(), ['--timeout', '8s']);
    await expectNothingLeft(run, /did not finish before the timeout and was stopped; raise --timeout/, 5);
  });

  it('wrong password', async () => {
    const run = await dump({ SAFEKEEP_DB_PASSWORD: 'not-the-password' });
    await expectNothingLeft(
      run,
      /^safekeep: postgres at 127\.0\.0\.1:\d+ rejected the credentials of user "postgres"; check the password/,
      4,
    );
    expect(run.stderr).not.toContain('not-the-password');
  });

  it('database unreachable', async () => {
    const run = await dump({}, url(9));
    await expectNothingLeft(
      run,
      /^safekeep: cannot reach postgres at 127\.0\.0\.1:9 \(ECONNREFUSED\); check the host, port, network and security group/,
      4,
    );
  });

  it.skipIf(!postgres18)('client older than the server, refused before any upload', async () => {
    const newer = postgres18 as NonNullable<typeof postgres18>;
    const run = await dump({ SAFEKEEP_DB_PASSWORD: newer.password }, url(newer.port, 'postgres'));
    await expectNothingLeft(
      run,
      /^safekeep: pg_dump 1\d\.\d+ is older than the server \(PostgreSQL 18\.\d+\) and cannot dump it; install PostgreSQL 18 or newer client tools/,
    );
  });

  describe('the S3 server stops mid-upload', () => {
    const runDir = mkdtempSync(join(tmpdir(), 'safekeep-fault-s3-'));
    const peersEnv = { ...process.env, SAFEKEEP_RUN: runDir, SAFEKEEP_S3_PORT: '61171' };
    const peers = (command: string) => promisify(execFile)('bash', ['scripts/peers.sh', command, 'versitygw'], { env: peersEnv });
    let privateS3: S3Peer;
    let privateClient: S3Client;

    beforeAll(async () => {
      await peers('start');
      const credentials = Object.fromEntries(
        readFileSync(join(runDir, 'credentials.env'), 'utf8')
          .trim()
          .split('\n')
          .map((line) => line.split('=', 2) as [string, string]),
      );
      privateS3 = {
        endpoint: 'http://127.0.0.1:61171', // above the ephemeral range: no outgoing connection holds it
        accessKeyId: credentials.SAFEKEEP_S3_ACCESS_KEY_ID ?? '',
        secretAccessKey: credentials.SAFEKEEP_S3_SECRET_ACCESS_KEY ?? '',
      };
      privateClient = s3Client(privateS3);
    });

    afterAll(async () => {
      await peers('stop');
    });

    it('aborts the upload once S3 is back, and leaves no object, upload or manifest', async () => {
      // Prepare: an earlier good backup on this S3 server
      const privateBucket = await createVersionedBucket(privateClient, 'faults-s3');
      const env = peerEnvironment(privateS3, { SAFEKEEP_DB_PASSWORD: pgPeer.password });
      const args = [
        'dump',
        '--engine',
        'postgres',
        '--source',
        url(),
        '--to',
        `s3://${privateBucket}/faulty`,
        '--endpoint-url',
        privateS3.endpoint,
        '--part-size',
        '5MiB',
      ];
      expect((await runCli(args, env)).code).toBe(0);
      const before = await objectVersions(privateClient, privateBucket);

      // Act: start a dump, stop S3 once the first parts of the database object are stored, bring it back later
      const running = runCli(args, env);
      await waitForStoredPart(privateClient, privateBucket);
      await peers('stop');
      await sleep(4_000);
      await peers('start');
      const run = await running;

      // Assess
      expect(run.code).toBe(4);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^safekeep: uploading to S3 failed: .*; check the endpoint, credentials and bucket/);
      expect(await objectVersions(privateClient, privateBucket)).toEqual(before);
      expect(await openMultipartUploads(privateClient, privateBucket)).toEqual([]);
    });
  });
});

async function waitForStoredPart(s3: S3Client, bucket: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const uploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
    for (const upload of uploads.filter((u) => u.Key?.includes('database-'))) {
      const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
      if ((parts.Parts ?? []).length > 0) return;
    }
    await sleep(50);
  }
  throw new Error('the dump never stored a part');
}

describe.each(await mysqlServers())('a failed $server dump leaves nothing behind either', ({ peer: serverPeer, tools }) => {
  if (!serverPeer || !versitygw) return it.skip('needs the peer and versitygw');
  const myPeer = serverPeer;
  const s3Peer = versitygw;
  const realMysqldump = tools.SAFEKEEP_MYSQLDUMP ?? 'mysqldump';
  const s3 = s3Client(s3Peer);
  const source = uniqueName('fault_my');
  let bucket: string;

  beforeAll(async () => {
    const admin = await mysql.createConnection({ ...myPeer });
    await admin.query(`CREATE DATABASE ${source}`);
    await admin.query(`CREATE TABLE ${source}.big (id INT PRIMARY KEY, filler TEXT)`);
    for (let batch = 0; batch < 20; batch++) {
      // Recursive CTEs stop at 1,000 rows on MariaDB; insert in batches instead.
      await admin.query(
        `INSERT INTO ${source}.big WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1000) SELECT n + ${batch * 1000}, REPEAT(SHA2(n + ${batch * 1000}, 256), 4) FROM g`,
      );
    }
    await admin.end();
    bucket = await createVersionedBucket(s3, 'faults-my');
  });

  const dump = (extraEnv: Record<string, string>) =>
    runCli(
      [
        'dump',
        '--engine',
        'mysql',
        '--source',
        `mysql://root@${myPeer.host}:${myPeer.port}/${source}`,
        '--to',
        `s3://${bucket}/faulty`,
        '--endpoint-url',
        s3Peer.endpoint,
      ],
      peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: myPeer.password, ...tools, ...extraEnv }),
    );

  it.each([
    ['exits non-zero mid-stream', 'exit 2', /^safekeep: (mysqldump|mariadb-dump) of fault_my_\w+ failed with exit code 2/],
    [
      'stops early but exits 0 (no "Dump completed" trailer)',
      'exit 0',
      /^safekeep: the dump ended without mysqldump's "-- Dump completed" trailer: it was cut short, so it was not stored/,
    ],
  ])('mysqldump %s', async (_label, behaviour, message) => {
    const run = await dump({ SAFEKEEP_MYSQLDUMP: faultyMysqldump(behaviour, realMysqldump) });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(await objectVersions(s3, bucket)).toEqual([]);
    expect(await openMultipartUploads(s3, bucket)).toEqual([]);
  });

  it('wrong password', async () => {
    const run = await dump({ SAFEKEEP_DB_PASSWORD: 'wrong-password-123' });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^safekeep: mysql at 127\.0\.0\.1:\d+ rejected the credentials of user "root"/);
    expect(run.stderr).not.toContain('wrong-password-123');
    expect(await objectVersions(s3, bucket)).toEqual([]);
  });
});
