/**
 * A backup taken while the application writes must be a snapshot of one moment: money moved between
 * accounts is never half-moved, and the ledger agrees with every balance. pg_dump and
 * mysqldump --single-transaction guarantee it; this proves the worker keeps that guarantee.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { s3Client } from '#test/support/aws.ts';
import { createPostgresDatabase } from '#test/support/databases.ts';
import { mysqlServers } from '#test/support/mysql-servers.ts';
import { peer } from '#test/support/peers.ts';
import { createVersionedBucket, manifestUrlOf, peerEnvironment, runCli, uniqueName } from '#test/support/worker.ts';

const postgres = await peer('postgres');
const versitygw = await peer('versitygw');

const ACCOUNTS = 50;
const OPENING_BALANCE = 1_000;

interface Ledger {
  /** Runs one transfer in its own transaction. */
  transfer(from: number, to: number, amount: number): Promise<void>;
}

/** Moves money between random accounts until stopped; returns how many transfers committed. */
function keepWriting(ledger: Ledger): { stop: () => Promise<number> } {
  let running = true;
  let committed = 0;
  const loop = (async () => {
    while (running) {
      const from = 1 + Math.floor(Math.random() * ACCOUNTS);
      const to = 1 + ((from + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS);
      await ledger.transfer(from, to, 1 + Math.floor(Math.random() * 50));
      committed++;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return committed;
    },
  };
}

describe.skipIf(!postgres || !versitygw)('PostgreSQL backup under concurrent writes', () => {
  const pgPeer = postgres as NonNullable<typeof postgres>;
  const s3Peer = versitygw as NonNullable<typeof versitygw>;

  // Three streams share one exported snapshot, so they hold one moment just as a single pg_dump does.
  it.each([1, 3])(
    'restores a state where every transfer is whole and the ledger matches every balance, in %i stream(s)',
    async (streams) => {
      // Prepare
      const [source, restored] = [uniqueName('pg_bank'), uniqueName('pg_bank_restored')];
      await createPostgresDatabase(pgPeer, source, [
        'CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)',
        'CREATE TABLE transfers (id bigserial PRIMARY KEY, from_id int NOT NULL, to_id int NOT NULL, amount bigint NOT NULL)',
        `INSERT INTO accounts SELECT g, ${OPENING_BALANCE} FROM generate_series(1, ${ACCOUNTS}) g`,
        // Enough data that the dump takes a while, so writes land while it runs.
        'CREATE TABLE filler AS SELECT g, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 200000) g',
      ]);
      const db = new pg.Client({ ...pgPeer, database: source });
      await db.connect();
      const writer = keepWriting({
        async transfer(from, to, amount) {
          await db.query('BEGIN');
          await db.query('UPDATE accounts SET balance = balance - $2 WHERE id = $1', [from, amount]);
          await db.query('INSERT INTO transfers (from_id, to_id, amount) VALUES ($1, $2, $3)', [from, to, amount]);
          await db.query('UPDATE accounts SET balance = balance + $2 WHERE id = $1', [to, amount]);
          await db.query('COMMIT');
        },
      });
      const bucket = await createVersionedBucket(s3Client(s3Peer), 'consistency');
      const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: pgPeer.password });
      const url = (name: string) => `postgres://postgres@127.0.0.1:${pgPeer.port}/${name}`;

      // Act
      const dump = await runCli(
        [
          'dump',
          '--engine',
          'postgres',
          '--source',
          url(source),
          '--to',
          `s3://${bucket}/bank`,
          '--endpoint-url',
          s3Peer.endpoint,
          '--parallelism',
          String(streams),
          '--json',
        ],
        env,
      );
      const committed = await writer.stop();
      await db.end();
      expect(dump.code, dump.stderr).toBe(0);
      const restore = await runCli(
        ['restore', '--from', manifestUrlOf(dump), '--target', url(restored), '--endpoint-url', s3Peer.endpoint],
        env,
      );
      expect(restore.code, restore.stderr).toBe(0);

      // Assess
      const check = new pg.Client({ ...pgPeer, database: restored });
      await check.connect();
      const total = (await check.query<{ total: string }>('SELECT sum(balance) AS total FROM accounts')).rows[0]?.total;
      const mismatched = await check.query(`
      SELECT a.id FROM accounts a
      LEFT JOIN (SELECT from_id AS id, sum(amount) AS out FROM transfers GROUP BY 1) o ON o.id = a.id
      LEFT JOIN (SELECT to_id AS id, sum(amount) AS inc FROM transfers GROUP BY 1) i ON i.id = a.id
      WHERE a.balance <> ${OPENING_BALANCE} - coalesce(o.out, 0) + coalesce(i.inc, 0)`);
      const inBackup = Number((await check.query<{ n: string }>('SELECT count(*) AS n FROM transfers')).rows[0]?.n);
      await check.end();
      // One stream writes the manifest as before parallel streams: one archive per database, no `part`.
      const objects = (JSON.parse(dump.stdout) as { objects: { part?: unknown }[] }).objects;
      expect(objects).toHaveLength(streams === 1 ? 2 : 2 + streams);
      if (streams === 1) expect(objects.every((o) => o.part === undefined)).toBe(true);
      console.log(
        `PostgreSQL, ${streams} stream(s): ${committed} transfers committed during the run, ${inBackup} in the backup, 0 half-applied`,
      );
      expect(committed).toBeGreaterThan(0);
      expect(Number(total)).toBe(ACCOUNTS * OPENING_BALANCE);
      expect(mismatched.rowCount).toBe(0);
    },
  );
});

describe.each(await mysqlServers())('$server backup under concurrent writes', ({ server, peer: serverPeer, tools }) => {
  if (!serverPeer || !versitygw) return it.skip('needs the peer and versitygw');
  const myPeer = serverPeer;
  const s3Peer = versitygw;

  it('restores a state where every transfer is whole and the ledger matches every balance', async () => {
    // Prepare
    const [source, restored] = [uniqueName('my_bank'), uniqueName('my_bank_restored')];
    const db = await mysql.createConnection({ ...myPeer });
    await db.query(`CREATE DATABASE ${source}`);
    await db.query(`USE ${source}`);
    await db.query('CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB');
    await db.query(
      'CREATE TABLE transfers (id BIGINT AUTO_INCREMENT PRIMARY KEY, from_id INT, to_id INT, amount BIGINT) ENGINE=InnoDB',
    );
    for (let id = 1; id <= ACCOUNTS; id++) await db.query('INSERT INTO accounts VALUES (?, ?)', [id, OPENING_BALANCE]);
    await db.query('CREATE TABLE filler (g INT PRIMARY KEY, pad TEXT) ENGINE=InnoDB');
    for (let batch = 0; batch < 60; batch++) {
      await db.query(
        `INSERT INTO filler WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) SELECT n + ${batch * 1000}, REPEAT(SHA2(n, 256), 10) FROM s`,
      );
    }
    const writer = keepWriting({
      async transfer(from, to, amount) {
        await db.beginTransaction();
        await db.query('UPDATE accounts SET balance = balance - ? WHERE id = ?', [amount, from]);
        await db.query('INSERT INTO transfers (from_id, to_id, amount) VALUES (?, ?, ?)', [from, to, amount]);
        await db.query('UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, to]);
        await db.commit();
      },
    });
    const bucket = await createVersionedBucket(s3Client(s3Peer), 'consistency-my');
    const env = peerEnvironment(s3Peer, { SAFEKEEP_DB_PASSWORD: myPeer.password, ...tools });
    const url = (name: string) => `mysql://root@127.0.0.1:${myPeer.port}/${name}`;

    // Act
    const dump = await runCli(
      [
        'dump',
        '--engine',
        'mysql',
        '--source',
        url(source),
        '--to',
        `s3://${bucket}/bank`,
        '--endpoint-url',
        s3Peer.endpoint,
        '--json',
      ],
      env,
    );
    const committed = await writer.stop();
    expect(dump.code, dump.stderr).toBe(0);
    const restore = await runCli(
      ['restore', '--from', manifestUrlOf(dump), '--target', url(restored), '--endpoint-url', s3Peer.endpoint],
      env,
    );
    expect(restore.code, restore.stderr).toBe(0);

    // Assess
    const [[{ total }]] = (await db.query(`SELECT SUM(balance) AS total FROM ${restored}.accounts`)) as unknown as [
      [{ total: string }],
    ];
    const [mismatched] = (await db.query(`
      SELECT a.id FROM ${restored}.accounts a
      LEFT JOIN (SELECT from_id AS id, SUM(amount) AS out_sum FROM ${restored}.transfers GROUP BY 1) o ON o.id = a.id
      LEFT JOIN (SELECT to_id AS id, SUM(amount) AS in_sum FROM ${restored}.transfers GROUP BY 1) i ON i.id = a.id
      WHERE a.balance <> ${OPENING_BALANCE} - COALESCE(o.out_sum, 0) + COALESCE(i.in_sum, 0)`)) as unknown as [unknown[]];
    const [[{ n }]] = (await db.query(`SELECT COUNT(*) AS n FROM ${restored}.transfers`)) as unknown as [[{ n: string }]];
    await db.end();
    console.log(`${server}: ${committed} transfers committed during the run, ${n} in the backup, 0 half-applied`);
    expect(committed).toBeGreaterThan(0);
    expect(Number(total)).toBe(ACCOUNTS * OPENING_BALANCE);
    expect(mismatched).toEqual([]);
  });
});
