/**
 * A MySQL or MariaDB database's default character set and collation (what new tables and routines get) come
 * back with a restore, into a new name and in place (--force). mysqldump without --databases leaves them out.
 */
import mysql from 'mysql2/promise';
import { beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { type DatabasePeer, mysqlClientTools, peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const versitygw = await peer('versitygw');
const servers = { mariadb: await peer('mariadb'), mysql: await peer('mysql') };

async function defaults(server: DatabasePeer, database: string) {
  const db = await mysql.createConnection({ ...server });
  try {
    const [rows] = (await db.query(
      'SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [database],
    )) as unknown as [{ charset: string; collation: string }[]];
    return rows[0];
  } finally {
    await db.end();
  }
}

describe.each(Object.entries(servers))('%s database defaults survive a restore', (name, server) => {
  const s3Peer = versitygw as NonNullable<typeof versitygw>;
  const myPeer = server as DatabasePeer;
  const tools: Record<string, string> =
    name === 'mysql' ? { SAFEKEEP_MYSQLDUMP: mysqlClientTools().mysqldump, SAFEKEEP_MYSQL: mysqlClientTools().mysql } : {};
  const env = versitygw ? peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: myPeer?.password ?? '', ...tools }) : {};
  const url = (database: string) => `mysql://${myPeer.user}@${myPeer.host}:${myPeer.port}/${database}`;
  const s3Flags = versitygw ? ['--endpoint-url', s3Peer.endpoint] : [];
  const source = uniqueName('my_defaults');
  let manifest: string;

  beforeAll(async () => {
    if (!server || !versitygw) return;
    const db = await mysql.createConnection({ ...myPeer });
    await db.query(`CREATE DATABASE ${source} CHARACTER SET latin1 COLLATE latin1_german2_ci`);
    await db.query(`CREATE TABLE ${source}.t (id int PRIMARY KEY, name varchar(20))`);
    await db.end();
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'my-defaults');
    const dump = await runCli(
      ['dump', '--engine', 'mysql', '--source', url(source), '--to', `s3://${bucket}/defaults`, ...s3Flags, '--json'],
      env,
    );
    expect(dump.code, dump.stderr).toBe(0);
    manifest = manifestUrlOf(dump);
  });

  it.skipIf(!server || !versitygw)('into a new name', async () => {
    // Prepare
    const restored = uniqueName('my_defaults_new');

    // Act
    const run = await runCli(['restore', '--from', manifest, '--target', url(restored), ...s3Flags], env);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(await defaults(myPeer, restored)).toEqual({ charset: 'latin1', collation: 'latin1_german2_ci' });
  });

  it.skipIf(!server || !versitygw)('in place (--force) over a database with other defaults', async () => {
    // Prepare
    const inPlace = uniqueName('my_defaults_force');
    const db = await mysql.createConnection({ ...myPeer });
    await db.query(`CREATE DATABASE ${inPlace} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await db.end();

    // Act
    const run = await runCli(['restore', '--from', manifest, '--target', url(inPlace), '--force', ...s3Flags], env);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(await defaults(myPeer, inPlace)).toEqual(await defaults(myPeer, source));
  });
});
