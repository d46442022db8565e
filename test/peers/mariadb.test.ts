import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { peer } from '#test/support/peers.ts';

const mariadb = await peer('mariadb');

describe.skipIf(!mariadb)('MariaDB peer', () => {
  it('round-trips rows over TCP with password authentication', async () => {
    // Prepare
    const connection = await mysql.createConnection({ ...mariadb });
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
      expect(version.v).toMatch(/MariaDB/);
    } finally {
      await connection.end();
    }
  });
});
