/**
 * Source databases on the local peers, made the way a test needs them: a fresh database holding a few
 * statements' worth of data.
 */
import pg from 'pg';
import type { DatabasePeer } from './peers.ts';

/** Creates database `name` on a PostgreSQL peer and runs `statements` in it, in order. */
export async function createPostgresDatabase(
  peer: DatabasePeer,
  name: string,
  statements: readonly string[] = [],
): Promise<void> {
  const admin = new pg.Client({ ...peer, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  if (statements.length === 0) return;
  const db = new pg.Client({ ...peer, database: name });
  await db.connect();
  try {
    for (const statement of statements) await db.query(statement);
  } finally {
    await db.end();
  }
}
