/**
 * Content fingerprints of a database: per table a row count and a hash of every row (order-independent),
 * plus the definitions of views, functions, triggers and sequence positions. Two databases with equal
 * fingerprints hold the same data and objects.
 */
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DatabasePeer } from './peers.ts';

export interface Fingerprint {
  /** `schema.table` -> `rows:hash` */
  readonly tables: Record<string, string>;
  /** Everything else: views, routines, triggers, sequences, types. */
  readonly objects: Record<string, string>;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

export async function postgresFingerprint(peer: DatabasePeer, database: string): Promise<Fingerprint> {
  const client = new pg.Client({ ...peer, database });
  await client.connect();
  try {
    const relations = await client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2`,
    );
    const tables: Record<string, string> = {};
    for (const { schema, name } of relations.rows) {
      const qualified = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
      const { rows } = await client.query<{ n: string; h: string }>(
        `SELECT count(*) AS n, coalesce(md5(string_agg(md5(x::text), ',' ORDER BY md5(x::text))), '') AS h FROM ${qualified} x`,
      );
      tables[`${schema}.${name}`] = `${rows[0]?.n}:${rows[0]?.h}`;
    }
    const objects: Record<string, string> = {};
    const add = async (sql: string) => {
      for (const row of (await client.query<{ k: string; v: string }>(sql)).rows) objects[row.k] = sha(row.v ?? '');
    };
    await add(
      `SELECT 'view ' || schemaname || '.' || viewname AS k, definition AS v FROM pg_views WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    await add(
      `SELECT 'function ' || n.nspname || '.' || p.proname AS k, pg_get_functiondef(p.oid) AS v FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind <> 'a'`,
    );
    // Keyed by table too: Pagila has a last_updated trigger on 14 tables, and a name alone kept only one of them.
    await add(
      `SELECT 'trigger ' || tgrelid::regclass || '.' || tgname AS k, pg_get_triggerdef(oid) AS v FROM pg_trigger WHERE NOT tgisinternal`,
    );
    await add(
      `SELECT 'sequence ' || schemaname || '.' || sequencename AS k, coalesce(last_value::text, 'unset') || '/' || increment_by AS v FROM pg_sequences`,
    );
    await add(
      `SELECT 'enum ' || t.typname AS k, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS v FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid GROUP BY t.typname`,
    );
    await add(
      `SELECT 'comment ' || c.relname AS k, d.description AS v FROM pg_description d JOIN pg_class c ON c.oid = d.objoid WHERE d.objsubid = 0`,
    );
    return { tables, objects };
  } finally {
    await client.end();
  }
}

/** A row as stable text: buffers as hex, everything else as JSON. */
export function canonicalRow(row: Record<string, unknown>): string {
  return JSON.stringify(
    Object.entries(row).map(([column, value]) => [column, Buffer.isBuffer(value) ? `0x${value.toString('hex')}` : value]),
  );
}

export async function mysqlFingerprint(peer: DatabasePeer, database: string): Promise<Fingerprint> {
  const db = await mysql.createConnection({
    ...peer,
    database,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  try {
    const [tableRows] = (await db.query(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
    )) as unknown as [{ name: string }[]];
    const tables: Record<string, string> = {};
    for (const { name } of tableRows) {
      const [rows] = (await db.query(`SELECT * FROM \`${name.replaceAll('`', '``')}\``)) as unknown as [
        Record<string, unknown>[],
      ];
      const hashes = rows.map((row) => sha(canonicalRow(row))).sort();
      tables[name] = `${rows.length}:${sha(hashes.join(','))}`;
    }
    const objects: Record<string, string> = {};
    const add = async (sql: string) => {
      const [rows] = (await db.query(sql)) as unknown as [{ k: string; v: string | null }[]];
      // Definitions name their own database; a restore under another name must still compare equal.
      for (const row of rows) objects[row.k] = sha((row.v ?? '').replaceAll(`\`${database}\`.`, ''));
    };
    await add(
      "SELECT CONCAT('view ', TABLE_NAME) AS k, VIEW_DEFINITION AS v FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()",
    );
    await add(
      "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) AS k, ROUTINE_DEFINITION AS v FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
    );
    await add(
      "SELECT CONCAT('trigger ', TRIGGER_NAME) AS k, ACTION_STATEMENT AS v FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
    );
    await add(
      "SELECT CONCAT('event ', EVENT_NAME) AS k, CONCAT(EVENT_DEFINITION, ' ', STATUS) AS v FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
    );
    await add(
      "SELECT CONCAT('auto_increment ', TABLE_NAME) AS k, CAST(AUTO_INCREMENT AS CHAR) AS v FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT IS NOT NULL",
    );
    return { tables, objects };
  } finally {
    await db.end();
  }
}

/** Tables and objects that differ, empty when the fingerprints match. */
export function differences(expected: Fingerprint, actual: Fingerprint): string[] {
  const diff: string[] = [];
  for (const kind of ['tables', 'objects'] as const) {
    const keys = new Set([...Object.keys(expected[kind]), ...Object.keys(actual[kind])]);
    for (const key of keys) if (expected[kind][key] !== actual[kind][key]) diff.push(`${kind}: ${key}`);
  }
  return diff;
}
