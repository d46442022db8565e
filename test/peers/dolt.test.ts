import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { peer } from '#test/support/peers.ts';

const dolt = await peer('dolt');

describe.skipIf(!dolt)('Dolt sql-server peer', () => {
  it('commits a table and reads it back from the commit log', async () => {
    // Prepare
    const connection = await mysql.createConnection({ ...dolt });
    const database = `smoke_${Date.now().toString(36)}`;
    try {
      await connection.query(`CREATE DATABASE ${database}`);
      await connection.query(`USE ${database}`);
      await connection.query('CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(20))');
      await connection.query("INSERT INTO t VALUES (1, 'héllo')");

      // Act
      await connection.query("CALL dolt_commit('-Am', 'smoke')");
      const [log] = (await connection.query('SELECT message FROM dolt_log LIMIT 1')) as unknown as [{ message: string }[]];
      const [rows] = await connection.query('SELECT id, note FROM t');

      // Assess
      expect(log[0]?.message).toBe('smoke');
      expect(rows).toEqual([{ id: 1, note: 'héllo' }]);
    } finally {
      await connection.query(`DROP DATABASE IF EXISTS ${database}`);
      await connection.end();
    }
  });
});
