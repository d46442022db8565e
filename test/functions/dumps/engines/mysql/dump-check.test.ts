/**
 * Row counts read from mysqldump / mariadb-dump output in one pass: from text in both tools' layouts, and
 * from real dumps of the MariaDB and MySQL peers compared with SELECT COUNT(*).
 */
import { spawn } from 'node:child_process';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { InsertRowCounter, MysqldumpCheck } from '#functions/dumps/engines/mysql/dump-check.ts';
import { MYSQL_DATASET } from '#test/support/datasets/mysql.ts';
import { mysqlClientTools, peer } from '#test/support/peers.ts';
import { uniqueName } from '#test/support/worker.ts';

const mariadb = await peer('mariadb');
const mysqlPeer = await peer('mysql');

const DUMP = [
  '-- MariaDB dump 10.19',
  '--',
  '-- Dumping data for table `t`',
  '--',
  '',
  'LOCK TABLES `t` WRITE;',
  '/*!40000 ALTER TABLE `t` DISABLE KEYS */;',
  // MariaDB's layout: one tuple per line; strings holding every character that could mislead a counter.
  'INSERT INTO `t` VALUES',
  "(1,0x00FF7F80,'hé\\'llo), (x);\\\\'),",
  "(2,NULL,'a\\nb'),",
  "(3,'','\\\\'),",
  "(4,'(((',');\\n(5,'),",
  "(5,'\\'\\'',NULL);",
  'INSERT INTO `t` VALUES (6,1,2),(7,1,2);', // MySQL's layout: one line
  '/*!40000 ALTER TABLE `t` ENABLE KEYS */;',
  'UNLOCK TABLES;',
  '--',
  '-- Dumping data for table `we``ird`',
  '--',
  "INSERT INTO `we``ird` VALUES ('('),(')');",
  'UNLOCK TABLES;',
  '-- Dumping data for table `empty`',
  'UNLOCK TABLES;',
  '-- Dumping routines for database',
  'CREATE PROCEDURE p() BEGIN',
  'INSERT INTO `t` VALUES (99,1,2),(100,1,2);', // a routine body: not data
  'END ;;',
  '-- Dump completed on 2026-12-01 21:00:00',
  '',
].join('\n');
const COUNTS = { t: 7, 'we`ird': 2, empty: 0 };

function count(text: Buffer, cuts: readonly number[]) {
  const counter = new InsertRowCounter();
  let start = 0;
  for (const cut of [...cuts, text.length]) {
    counter.push(text.subarray(start, cut));
    start = cut;
  }
  return counter.result();
}

describe('InsertRowCounter', () => {
  it('counts the tuples of every data section, in both layouts, ignoring INSERTs in routine bodies', () => {
    expect(count(Buffer.from(DUMP), [])).toEqual(COUNTS);
  });

  it('gives the same counts however the stream is split, down to single bytes', () => {
    const whole = Buffer.from(DUMP);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(
          count(
            whole,
            [...cuts].sort((a, b) => a - b),
          ),
        ).toEqual(COUNTS);
      }),
    );
    expect(
      count(
        whole,
        Array.from({ length: whole.length - 1 }, (_, i) => i + 1),
      ),
    ).toEqual(COUNTS);
  });

  it('MysqldumpCheck refuses a dump without its trailer and reports the counts of one with it', async () => {
    const cut = new MysqldumpCheck('the trailer');
    cut.update(Buffer.from(DUMP.slice(0, DUMP.indexOf('-- Dump completed'))));
    await expect(cut.finish()).rejects.toThrow(/ended without the trailer/);
    const whole = new MysqldumpCheck('the trailer');
    whole.update(Buffer.from(DUMP));
    expect((await whole.finish()).rowCounts).toEqual(COUNTS);
  });
});

const peers = [
  { name: 'MariaDB', peer: mariadb, tool: 'mariadb-dump', flags: [] as string[] },
  { name: 'MySQL', peer: mysqlPeer, tool: mysqlClientTools().mysqldump, flags: ['--set-gtid-purged=OFF'] },
];

describe.each(peers)('InsertRowCounter on a real $name dump', ({ peer: server, tool, flags }) => {
  it.skipIf(!server)('counts what SELECT COUNT(*) counts, for every table', async () => {
    const coordinates = server as NonNullable<typeof server>;
    const database = uniqueName('rows');
    const admin = await mysql.createConnection({ ...coordinates });
    await admin.query(`CREATE DATABASE ${database} DEFAULT CHARACTER SET utf8mb4`);
    await admin.query(`USE ${database}`);
    for (const statement of MYSQL_DATASET) await admin.query(statement);
    // Enough rows that the tool splits a table over several INSERT statements.
    await admin.query(
      "CREATE TABLE bulk (id INT PRIMARY KEY, s TEXT, b BLOB) SELECT seq AS id, REPEAT('x\\'(;', seq % 50) AS s, UNHEX(HEX(seq)) AS b FROM (SELECT a.n * 1000 + b.n * 100 + c.n * 10 + d.n AS seq FROM (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) a, (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) b, (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) c, (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) d) numbers",
    );
    const [tables] = (await admin.query(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
      [database],
    )) as unknown as [{ name: string }[]];
    const expected: Record<string, number> = {};
    for (const { name } of tables) {
      const [[row]] = (await admin.query(`SELECT COUNT(*) AS n FROM \`${name}\``)) as unknown as [[{ n: number }]];
      expected[name] = Number(row.n);
    }
    await admin.end();
    expect(expected.bulk).toBe(10_000);

    const options = join(tmpdir(), `${database}.cnf`);
    await writeFile(
      options,
      `[client]\nhost=${coordinates.host}\nport=${coordinates.port}\nuser=${coordinates.user}\npassword=${coordinates.password}\n`,
      { mode: 0o600 },
    );
    try {
      const check = new MysqldumpCheck('the trailer');
      const child = spawn(tool, [
        `--defaults-extra-file=${options}`,
        '--single-transaction',
        '--routines',
        '--triggers',
        '--events',
        '--hex-blob',
        '--quick',
        '--comments',
        '--net-buffer-length=16384', // small INSERT statements: many of them per table
        ...flags,
        database,
      ]);
      for await (const chunk of child.stdout) check.update(chunk as Buffer);
      expect((await check.finish()).rowCounts).toEqual(expected);
    } finally {
      await unlink(options);
    }
  });
});
