import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { peer } from '#test/support/peers.ts';

const postgres = await peer('postgres');

describe.skipIf(!postgres)('PostgreSQL peer', () => {
  it('round-trips rows over TCP with password authentication', async () => {
    // Prepare
    const client = new pg.Client({ ...postgres, database: 'postgres' });
    await client.connect();
    try {
      await client.query('CREATE TEMP TABLE smoke (id int PRIMARY KEY, note text)');
      await client.query('INSERT INTO smoke VALUES ($1, $2), ($3, $4)', [1, 'héllo', 2, null]);

      // Act
      const { rows } = await client.query('SELECT id, note FROM smoke ORDER BY id');

      // Assess
      expect(rows).toEqual([
        { id: 1, note: 'héllo' },
        { id: 2, note: null },
      ]);
    } finally {
      await client.end();
    }
  });

  it('refuses a wrong password', async () => {
    const client = new pg.Client({ ...postgres, password: 'not-the-password', database: 'postgres' });
    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
  });
});
