import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { s3Client } from '#test/support/aws.ts';
import { MYSQL_DATASET } from '#test/support/datasets/mysql.ts';
import { differences, mysqlFingerprint } from '#test/support/fingerprint.ts';
import { mysqlServers } from '#test/support/mysql-servers.ts';
import { peer } from '#test/support/peers.ts';
import {
  createVersionedBucket,
  manifestUrlOf,
  objectVersions,
  peerEnvironment,
  runCli,
  uniqueName,
} from '#test/support/worker.ts';

const versitygw = await peer('versitygw');
const servers = await mysqlServers();

describe.each(servers)('$server backups', ({ server, peer: serverPeer, tools }) => {
  if (!serverPeer || !versitygw) return it.skip('needs the peer and versitygw');
  const myPeer = serverPeer;
  const s3Peer = versitygw;
  const [main, second] = [uniqueName('om_main'), uniqueName('om_second')];
  const account = uniqueName('om_user');
  const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: myPeer.password, ...tools });
  const url = (databases: string) => `mysql://${myPeer.user}@${myPeer.host}:${myPeer.port}/${databases}`;
  const s3Flags = ['--endpoint-url', s3Peer.endpoint];
  let admin: mysql.Connection;
  let manifest: string;

  beforeAll(async () => {
    admin = await mysql.createConnection({ ...myPeer, multipleStatements: false });
    for (const database of [main, second]) {
      await admin.query(`CREATE DATABASE ${database} DEFAULT CHARACTER SET utf8mb4`);
      await admin.query(`USE ${database}`);
      for (const statement of MYSQL_DATASET) await admin.query(statement);
    }
    await admin.query(`CREATE USER '${account}'@'%' IDENTIFIED BY 'reader-pass-1'`);
    await admin.query(`GRANT SELECT ON ${main}.* TO '${account}'@'%'`);
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'my-roundtrip');
    const dump = await runCli(
      [
        'dump',
        '--engine',
        'mysql',
        '--source',
        url(`${main},${second}`),
        '--to',
        `s3://${bucket}/openmetadata`,
        ...s3Flags,
        '--json',
      ],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    manifest = manifestUrlOf(dump);
    // Each server is backed up by its own client: mysqldump for MySQL, mariadb-dump for MariaDB.
    const facts = JSON.parse(dump.stdout) as { source: { serverVersion: string }; client: { tool: string } };
    expect(facts.client.tool).toBe(server === 'MySQL' ? 'mysqldump' : 'mariadb-dump');
    expect(/mariadb/i.test(facts.source.serverVersion)).toBe(server === 'MariaDB');
  });

  afterAll(async () => {
    await admin.query(`DROP USER IF EXISTS '${account}'@'%'`);
    await admin.end();
  });

  it.each([
    ['the first', 0],
    ['a second', 1],
  ])(
    'restores %s database into a new name with every table, view, routine, trigger and event identical',
    async (_label, index) => {
      // Prepare
      const database = [main, second][index] as string;
      const restored = uniqueName('om_restored');

      // Act
      const run = await runCli(
        ['restore', '--from', manifest, '--database', database, '--target', url(restored), ...s3Flags],
        env,
      );

      // Assess
      expect(run.code, run.stderr).toBe(0);
      const before = await mysqlFingerprint(myPeer, database);
      const after = await mysqlFingerprint(myPeer, restored);
      console.log(
        `MySQL round trip (${database}): ${Object.keys(before.tables).length} tables compared by content checksum, ${Object.keys(before.objects).length} other objects`,
      );
      expect(Object.keys(before.tables)).toHaveLength(5);
      expect(Object.keys(before.objects)).toHaveLength(7);
      expect(differences(before, after)).toEqual([]);
    },
  );

  it('brings users and grants back with --with-globals', async () => {
    // Prepare: the account disappears from the server
    await admin.query(`DROP USER '${account}'@'%'`);
    const restored = uniqueName('om_globals');

    // Act
    const run = await runCli(
      ['restore', '--from', manifest, '--database', main, '--target', url(restored), '--with-globals', ...s3Flags],
      env,
    );

    // Assess
    expect(run.code, run.stderr).toBe(0);
    const [grants] = (await admin.query(`SHOW GRANTS FOR '${account}'@'%'`)) as unknown as [Record<string, string>[]];
    expect(grants.map((g) => Object.values(g)[0])).toContainEqual(expect.stringContaining(`GRANT SELECT ON \`${main}\`.*`));
    const asUser = await mysql.createConnection({ ...myPeer, user: account, password: 'reader-pass-1', database: main });
    await asUser.end();
  });

  it('asks which database to restore when the backup holds several', async () => {
    const run = await runCli(['restore', '--from', manifest, '--target', url(uniqueName('om_x')), ...s3Flags], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/choose the database to restore with --database; the backup holds om_main_\w+, om_second_\w+/);
  });

  it('refuses --swap, which MySQL cannot do, with what to do instead', async () => {
    const run = await runCli(
      ['restore', '--from', manifest, '--database', main, '--target', url(uniqueName('om_x')), '--swap', ...s3Flags],
      env,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--swap is not available; restore into a new name/);
  });

  it('verifies the stored backup', async () => {
    const run = await runCli(['verify', '--from', manifest, ...s3Flags], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/3 objects, .* all intact/);
  });

  it('records the rows of every table in the manifest, counted from the dump as it streamed', async () => {
    const [bucket, ...key] = manifest.replace('s3://', '').split('/');
    const { Body } = await s3Client(s3Peer).send(new GetObjectCommand({ Bucket: bucket, Key: key.join('/') }));
    const stored = JSON.parse((await Body?.transformToString()) ?? '{}') as Manifest;
    const object = stored.objects.find((o) => o.role === 'database' && o.database === main);
    const [tables] = (await admin.query(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
      [main],
    )) as unknown as [{ name: string }[]];
    const expected: Record<string, number> = {};
    for (const { name } of tables) {
      const [[row]] = (await admin.query(`SELECT COUNT(*) AS n FROM ${main}.\`${name}\``)) as unknown as [[{ n: number }]];
      expected[name] = Number(row.n);
    }
    expect(object?.rowCounts).toEqual(expected);
    expect(Object.keys(expected).length).toBeGreaterThan(3);
  });
});

const mysqlServer = servers.find((s) => s.server === 'MySQL')?.peer;

describe.skipIf(!mysqlServer || !versitygw)('the mysqldump version rule, against a real MySQL server', () => {
  const myPeer = mysqlServer as NonNullable<typeof mysqlServer>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;

  it('refuses a mysqldump older than the server before anything is stored (OpenMetadata asks for 8.3+)', async () => {
    // Prepare: an old client stands in for mysqldump; it only answers --version
    const dir = await mkdtemp(join(tmpdir(), 'old-mysqldump-'));
    const oldClient = join(dir, 'mysqldump');
    await writeFile(oldClient, '#!/bin/sh\necho "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"\n', {
      mode: 0o755,
    });
    const database = uniqueName('om_version');
    const admin = await mysql.createConnection({ ...myPeer });
    await admin.query(`CREATE DATABASE ${database}`);
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'my-version');
    const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: myPeer.password, SAFEKEEP_MYSQLDUMP: oldClient });

    try {
      // Act
      const run = await runCli(
        [
          'dump',
          '--engine',
          'mysql',
          '--source',
          `mysql://${myPeer.user}@${myPeer.host}:${myPeer.port}/${database}`,
          '--to',
          `s3://${bucket}/openmetadata`,
          '--endpoint-url',
          s3Peer.endpoint,
        ],
        env,
      );

      // Assess
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(
        /^safekeep: mysqldump 8\.0\.36 is older than the server \(MySQL 9\.\d+\.\d+\S*\); install a MySQL client at least as new \(OpenMetadata asks for 8\.3\+\)/,
      );
      expect(await objectVersions(s3Client(s3Peer), bucket)).toEqual([]);
    } finally {
      await admin.query(`DROP DATABASE ${database}`);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
