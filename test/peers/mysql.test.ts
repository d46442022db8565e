import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { mysqlClientTools, peer } from '#test/support/peers.ts';

const server = await peer('mysql');

describe.skipIf(!server)('MySQL peer', () => {
  const tools = mysqlClientTools();
  const scratch = mkdtempSync(join(tmpdir(), 'safekeep-mysql-peer-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('round-trips rows over TCP with password authentication, and is MySQL rather than MariaDB', async () => {
    // Prepare
    const connection = await mysql.createConnection({ ...server });
    try {
      await connection.query('CREATE DATABASE IF NOT EXISTS smoke');
      await connection.query('CREATE TEMPORARY TABLE smoke.t (id INT PRIMARY KEY, note VARCHAR(20))');
      await connection.query('INSERT INTO smoke.t VALUES (?, ?), (?, ?)', [1, 'héllo', 2, null]);

      // Act
      const [rows] = await connection.query('SELECT id, note FROM smoke.t ORDER BY id');

      // Assess
      expect(rows).toEqual([
        { id: 1, note: 'héllo' },
        { id: 2, note: null },
      ]);
      const [[version]] = (await connection.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
      expect(version.v).not.toMatch(/MariaDB/i);
      expect(version.v).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      await connection.end();
    }
  });

  it('refuses a wrong password', async () => {
    await expect(mysql.createConnection({ ...server, password: 'not-the-password' })).rejects.toThrow(/Access denied/);
  });

  it("ships MySQL's own mysqldump, 8.3 or newer, as the product's tool lookup reads it", () => {
    // Act
    const output = execFileSync(tools.mysqldump, ['--version'], { encoding: 'utf8' });

    // Assess: the shape functions/worker/engines/mysql/tools.ts parses (`Ver X.Y.Z`, no `-MariaDB`).
    expect(output).not.toMatch(/MariaDB/i);
    const [, major, minor] = /Ver (\d+)\.(\d+)\.\d+/.exec(output) ?? [];
    expect(Number(major) * 100 + Number(minor)).toBeGreaterThanOrEqual(803);
    expect(execFileSync(tools.mysql, ['--version'], { encoding: 'utf8' })).toMatch(/Ver \d+\.\d+\.\d+/);
  });

  it('dumps and restores through the client wrappers with an option file from the host', async () => {
    // Prepare: the product passes credentials as --defaults-extra-file, a path on this machine.
    const connection = await mysql.createConnection({ ...server });
    const optionsFile = join(scratch, 'client.cnf');
    writeFileSync(
      optionsFile,
      `[client]\nhost=${server?.host}\nport=${server?.port}\nuser=${server?.user}\npassword=${server?.password}\n`,
      { mode: 0o600 },
    );
    try {
      await connection.query('DROP DATABASE IF EXISTS smoke_dump');
      await connection.query('DROP DATABASE IF EXISTS smoke_restore');
      await connection.query('CREATE DATABASE smoke_dump');
      await connection.query('CREATE DATABASE smoke_restore');
      await connection.query('CREATE TABLE smoke_dump.t (id INT PRIMARY KEY, note VARCHAR(20))');
      await connection.query('INSERT INTO smoke_dump.t VALUES (?, ?), (?, ?)', [1, 'héllo', 2, null]);

      // Act
      const dump = execFileSync(
        tools.mysqldump,
        [`--defaults-extra-file=${optionsFile}`, '--single-transaction', '--set-gtid-purged=OFF', 'smoke_dump'],
        { encoding: 'utf8' },
      );
      execFileSync(tools.mysql, [`--defaults-extra-file=${optionsFile}`, 'smoke_restore'], { input: dump });

      // Assess
      expect(dump).toContain("INSERT INTO `t` VALUES (1,'héllo'),(2,NULL);");
      const [rows] = await connection.query('SELECT id, note FROM smoke_restore.t ORDER BY id');
      expect(rows).toEqual([
        { id: 1, note: 'héllo' },
        { id: 2, note: null },
      ]);
    } finally {
      await connection.query('DROP DATABASE IF EXISTS smoke_dump');
      await connection.query('DROP DATABASE IF EXISTS smoke_restore');
      await connection.end();
    }
  });
});
