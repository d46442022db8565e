/**
 * A MySQL or MariaDB drill: each database's dump replayed with the mysql client into a scratch server (the
 * backup's own flavor where one is at hand), then compared with what the dump recorded: the tables, every
 * table's rows (counted in the dump's INSERTs) and the schema objects by kind (tables, views, triggers,
 * routines, events, from the statements that define them).
 */
import type mysql from 'mysql2/promise';
import type { ManifestObject } from '../../contracts/manifest.ts';
import { quoteName, withMysql } from '../engines/mysql/connection.ts';
import { startScratchMysql } from '../engines/mysql/scratch-mysql.ts';
import { type DrillContext, type EngineDrill, restored } from './engine-drill.ts';

const SCHEMA_OBJECT_QUERIES: Readonly<Record<string, string>> = {
  TABLE: "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
  VIEW: 'SELECT COUNT(*) AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()',
  TRIGGER: 'SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()',
  PROCEDURE:
    "SELECT COUNT(*) AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE'",
  FUNCTION:
    "SELECT COUNT(*) AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'FUNCTION'",
  EVENT: 'SELECT COUNT(*) AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()',
};

export const mysqlDrill: EngineDrill = {
  start: (manifest) => startScratchMysql(manifest.source.serverVersion),
  async restoreAndCompare(drill) {
    let first = true;
    for (const dump of drill.manifest.objects.filter((object) => object.role === 'database' && object.database !== undefined)) {
      const database = dump.database as string;
      const ok = await restored(drill, database, first);
      first = false;
      if (ok) await withMysql(drill.scratch.endpoint, database, (db) => compareDatabase(drill, dump, db));
    }
  },
};

async function count(db: mysql.Connection, sql: string): Promise<number> {
  const [rows] = (await db.query(sql)) as unknown as [{ n: string | number }[]];
  return Number(rows[0]?.n ?? 0);
}

async function compareDatabase(drill: DrillContext, dump: ManifestObject, db: mysql.Connection): Promise<void> {
  const { findings } = drill;
  const database = dump.database as string;
  const expectedRows = dump.rowCounts ?? {};
  const [rows] = (await db.query(
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
  )) as unknown as [{ name: string }[]];
  const tables = rows.map((row) => row.name);
  const missing = Object.keys(expectedRows).filter((name) => !tables.includes(name));
  const extra = tables.filter((name) => !(name in expectedRows));
  findings.check(
    {
      what: 'tables',
      subject: database,
      expected: Object.keys(expectedRows).length,
      found: tables.length,
      ok: missing.length === 0 && extra.length === 0,
    },
    `"${database}" restored with ${[
      missing.length > 0 ? `tables missing (${missing.slice(0, 5).join(', ')})` : '',
      extra.length > 0 ? `tables the backup did not record (${extra.slice(0, 5).join(', ')})` : '',
    ]
      .filter(Boolean)
      .join(' and ')}`,
  );
  findings.add('tables', tables.length);
  const found: Record<string, number> = {};
  for (const table of tables) {
    found[table] = await count(db, `SELECT COUNT(*) AS n FROM ${quoteName(table)}`);
    findings.add('rows', found[table]);
  }
  findings.compareCounts('rows', `${database}: `, expectedRows, found);
  if (!dump.schemaObjects) return;
  const expectedKinds: Record<string, number> = {};
  const foundKinds: Record<string, number> = {};
  for (const [kind, sql] of Object.entries(SCHEMA_OBJECT_QUERIES)) {
    expectedKinds[kind] = dump.schemaObjects[kind] ?? 0;
    foundKinds[kind] = await count(db, sql);
    findings.add('schemaObjects', foundKinds[kind]);
  }
  findings.compareCounts('schema-objects', `${database}: `, expectedKinds, foundKinds);
}
