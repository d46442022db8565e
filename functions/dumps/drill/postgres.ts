/**
 * A PostgreSQL drill: each database's archive restored with pg_restore into a scratch server of the newest
 * major, then compared with what the dump recorded: the extensions it needs (a scratch server without one
 * fails the drill naming it, before anything is restored), the tables, every table's rows, and the schema
 * objects by kind as the archive's table of contents listed them. Objects that belong to an extension are
 * left out on both sides, as pg_dump leaves them out.
 */
import type pg from 'pg';
import type { ManifestObject } from '../../contracts/manifest.ts';
import { runTool } from '../adapters/child-process.ts';
import { withPostgres } from '../engines/postgres/connection.ts';
import { databaseObjects } from '../engines/postgres/parallel-restore.ts';
import { startScratchPostgres } from '../engines/postgres/scratch-postgres.ts';
import { pgToolPath } from '../engines/postgres/tools.ts';
import { type DrillContext, type EngineDrill, restored } from './engine-drill.ts';

/** Schema object kinds (pg_dump TOC descriptions) and how to count them in the restored database. */
const SCHEMA_OBJECT_QUERIES: Readonly<Record<string, string>> = {
  TABLE: "SELECT count(*) AS n FROM pg_class c WHERE c.relkind IN ('r', 'p') AND USER_CLASS",
  VIEW: "SELECT count(*) AS n FROM pg_class c WHERE c.relkind = 'v' AND USER_CLASS",
  'MATERIALIZED VIEW': "SELECT count(*) AS n FROM pg_class c WHERE c.relkind = 'm' AND USER_CLASS",
  SEQUENCE: "SELECT count(*) AS n FROM pg_class c WHERE c.relkind = 'S' AND USER_CLASS",
  INDEX: `SELECT count(*) AS n FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE USER_CLASS
    AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))`,
  FUNCTION: "SELECT count(*) AS n FROM pg_proc p WHERE p.prokind IN ('f', 'w') AND USER_PROC",
  PROCEDURE: "SELECT count(*) AS n FROM pg_proc p WHERE p.prokind = 'p' AND USER_PROC",
  AGGREGATE: "SELECT count(*) AS n FROM pg_proc p WHERE p.prokind = 'a' AND USER_PROC",
  TRIGGER: `SELECT count(*) AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND USER_CLASS`,
};
const USER_NAMESPACE = (column: string) =>
  `${column} IN (SELECT oid FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%')`;
const NOT_IN_EXTENSION = (catalog: string, column: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${column} AND d.deptype = 'e')`;
const USER_CLASS = `${USER_NAMESPACE('c.relnamespace')} AND ${NOT_IN_EXTENSION('pg_class', 'c.oid')}`;
const USER_PROC = `${USER_NAMESPACE('p.pronamespace')} AND ${NOT_IN_EXTENSION('pg_proc', 'p.oid')}`;

/** Base tables as pg_dump names them in its COPY statements (`public.actor`, `"Odd Schema"."T"`). */
const DATA_TABLES = `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND ${USER_CLASS}`;

export const postgresDrill: EngineDrill = {
  start: () => startScratchPostgres(),
  async restoreAndCompare(drill) {
    const { manifest, findings, scratch } = drill;
    const databases = [
      ...new Set(
        manifest.objects.flatMap((object) =>
          object.role === 'database' && object.database !== undefined ? [object.database] : [],
        ),
      ),
    ];
    const archives = databases.map((database) => recordedArchive(manifest.objects, database));
    const available = await withPostgres(scratch.endpoint, 'postgres', async (db) =>
      (await db.query<{ name: string }>('SELECT name FROM pg_available_extensions')).rows.map((row) => row.name),
    );
    let globalsApplied = false;
    for (const archive of archives) {
      const database = archive.database as string;
      const needed = archive.extensions ?? (await extensionsInArchive(drill, archive));
      const missing = needed.filter((name) => !available.includes(name));
      const lacking = `the scratch PostgreSQL ${scratch.serverVersion} server lacks extension${missing.length === 1 ? '' : 's'} ${missing.join(', ')} that "${database}" uses; install ${missing.length === 1 ? 'it' : 'them'} in the drill's image (or drop ${missing.length === 1 ? 'it' : 'them'} from the database)`;
      const extensionsOk = findings.check(
        {
          what: 'extensions',
          subject: database,
          expected: needed.join(', '),
          found: needed.filter((n) => available.includes(n)).join(', '),
          ok: missing.length === 0,
        },
        lacking,
      );
      if (!extensionsOk) continue;
      if (!(await restored(drill, database, !globalsApplied))) continue;
      globalsApplied = true;
      await withPostgres(scratch.endpoint, database, (db) => compareDatabase(drill, archive, db));
    }
  },
};

async function compareDatabase(drill: DrillContext, archive: ManifestObject, db: pg.Client): Promise<void> {
  const { findings } = drill;
  const database = archive.database as string;
  const expectedRows = archive.rowCounts ?? {};
  const tables = (await db.query<{ name: string }>(DATA_TABLES)).rows.map((row) => row.name);
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
    `"${database}" restored with ${missing.length > 0 ? `tables missing (${missing.slice(0, 5).join(', ')})` : ''}${missing.length > 0 && extra.length > 0 ? ' and ' : ''}${extra.length > 0 ? `tables the backup did not record (${extra.slice(0, 5).join(', ')})` : ''}`,
  );
  findings.add('tables', tables.length);
  const found: Record<string, number> = {};
  for (const table of tables) {
    // ONLY: a parent of inheritance children holds just its own rows in the archive.
    found[table] = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY ${table}`)).rows[0]?.n ?? 0);
    findings.add('rows', found[table]);
  }
  findings.compareCounts('rows', `${database}: `, expectedRows, found);
  if (!archive.schemaObjects) return;
  const expectedKinds: Record<string, number> = {};
  const foundKinds: Record<string, number> = {};
  for (const [kind, query] of Object.entries(SCHEMA_OBJECT_QUERIES)) {
    expectedKinds[kind] = archive.schemaObjects[kind] ?? 0;
    const sql = query.replaceAll('USER_CLASS', USER_CLASS).replaceAll('USER_PROC', USER_PROC);
    foundKinds[kind] = Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
    findings.add('schemaObjects', foundKinds[kind]);
  }
  findings.compareCounts('schema-objects', `${database}: `, expectedKinds, foundKinds);
}

/**
 * What the backup recorded of one database, as one archive: a parallel backup's parts (engines/postgres/
 * parallel-restore.ts) hold its schema in one object and its rows in disjoint data parts, so their row counts
 * are joined and their schema object counts added up. The table of contents is read from the schema part.
 */
function recordedArchive(objects: readonly ManifestObject[], database: string): ManifestObject {
  const sorted = databaseObjects(objects, database);
  if (sorted === undefined) throw new Error(`the manifest lists no archive of "${database}"`);
  if (sorted.kind === 'whole') return sorted.archive;
  const parts = [sorted.schema, ...sorted.data];
  const rowCounts = Object.assign({}, ...parts.map((part) => part.rowCounts ?? {})) as Record<string, number>;
  const recordedKinds = parts.some((part) => part.schemaObjects !== undefined);
  const schemaObjects: Record<string, number> = {};
  for (const part of parts) {
    for (const [kind, n] of Object.entries(part.schemaObjects ?? {})) schemaObjects[kind] = (schemaObjects[kind] ?? 0) + n;
  }
  const extensions = parts.some((part) => part.extensions !== undefined)
    ? [...new Set(parts.flatMap((part) => part.extensions ?? []))]
    : undefined;
  return {
    ...sorted.schema,
    rowCounts,
    ...(recordedKinds ? { schemaObjects } : {}),
    ...(extensions ? { extensions } : {}),
  };
}

/** Backups made before the manifest listed extensions: read them from the archive's table of contents. */
async function extensionsInArchive(drill: DrillContext, archive: ManifestObject): Promise<string[]> {
  const stream = await drill.openVerified(archive);
  try {
    const { stdout } = await runTool(
      { command: pgToolPath('pg_restore'), args: ['--list'], description: 'pg_restore --list' },
      stream,
    );
    return [...stdout.matchAll(/^\d+; \d+ \d+ EXTENSION - (\S+)/gm)].map((match) => match[1] as string);
  } finally {
    stream.destroy();
  }
}
