import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { peer } from '#test/support/peers.ts';

const doltgres = await peer('doltgres');

describe.skipIf(!doltgres)('Doltgres peer', () => {
  it('commits a table over the PostgreSQL wire protocol and reads it back', async () => {
    // Prepare
    const database = `smoke_${Date.now().toString(36)}`;
    const admin = new pg.Client({ ...doltgres, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const client = new pg.Client({ ...doltgres, database });
    await client.connect();
    try {
      await client.query('CREATE TABLE t (id INT PRIMARY KEY, note TEXT)');
      await client.query("INSERT INTO t VALUES (1, 'héllo')");

      // Act
      await client.query("SELECT dolt_commit('-Am', 'smoke')");
      const log = await client.query('SELECT message FROM dolt_log LIMIT 1');
      const rows = await client.query('SELECT id, note FROM t');

      // Assess
      expect(log.rows[0]?.message).toBe('smoke');
      expect(rows.rows).toEqual([{ id: 1, note: 'héllo' }]);
    } finally {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      await admin.end();
    }
  });
});
