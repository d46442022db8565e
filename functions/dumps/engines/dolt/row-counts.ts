/**
 * Rows of every table at a branch's head, read with `AS OF '<commit hash>'`: what the dump records and what a
 * drill counts again in its scratch restore. At a head the counts cannot move while the database takes writes,
 * and counting reads every row's chunks, so a restore whose refs are right but whose storage lacks chunks fails.
 * Tables that exist only in the working set (created, not yet committed) have no rows at the head; they are skipped.
 */
import type { DoltSession } from './session.ts';

/** How one kind of server lists the branch's tables: `name` as the manifest keys it, `ref` quoted for SQL. */
export interface TableListing {
  /** Base tables of the session's revision database (`db/branch`). */
  readonly tables: string;
}

export const DOLT_TABLES: TableListing = {
  tables:
    "SELECT TABLE_NAME AS name, CONCAT('`', REPLACE(TABLE_NAME, '`', '``'), '`') AS ref FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
};

/** Doltgres's quote_ident quotes every name, so the key is built unquoted and the reference quoted. */
export const DOLTGRES_TABLES: TableListing = {
  tables: `SELECT table_schema || '.' || table_name AS name, quote_ident(table_schema) || '.' || quote_ident(table_name) AS ref
    FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema', 'dolt')`,
};

export async function rowCountsAt(session: DoltSession, listing: TableListing, hash: string): Promise<Record<string, number>> {
  if (!/^[a-v0-9]{32}$/.test(hash)) throw new Error(`not a Dolt commit hash: ${hash}`);
  const counts: Record<string, number> = {};
  for (const { name, ref } of await session.rows<{ name: string; ref: string }>(listing.tables)) {
    try {
      const [row] = await session.rows<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${ref} AS OF '${hash}'`);
      counts[name] = Number(row?.n ?? 0);
    } catch (error) {
      if (!/not found|does not exist|doesn't exist/i.test((error as Error).message)) throw error;
    }
  }
  return counts;
}
