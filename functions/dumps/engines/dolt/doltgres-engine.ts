/**
 * Doltgres: each database synced by the server itself with `SELECT dolt_backup('sync-url', ...)` over the
 * PostgreSQL wire protocol, to a remote of its own in this run, plus the branch permission tables as
 * replayable SQL. Users and grants are not part of it: Doltgres keeps them in `auth.db` and shows none of
 * them over SQL (`pg_roles` is empty, `pg_dumpall --globals-only` fails), so back that file up with the
 * data directory (docs/dolt.md).
 */
import type pg from 'pg';
import { DumpError, IntegrityError, PreflightError } from '../../../contracts/errors.ts';
import type { DoltDatabaseManifest, DoltgresInventory } from '../../../contracts/manifest.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import { databasesToDump } from '../databases.ts';
import type { DatabaseEngine, DumpOutcome, DumpRun, SourceFacts, VerifyRequest } from '../engine.ts';
import { withPostgres } from '../postgres/connection.ts';
import {
  type DoltServer,
  doltEntries,
  restoreDatabase,
  stageBranchControlAndBackUp,
  verifyStoredObjects,
} from './dolt-backup.ts';
import { backupDropsRootObjects, carryAndCompare, describeMissing, readInventory, uncarriable } from './doltgres-inventory.ts';
import { pgSession } from './pg-session.ts';
import { DOLTGRES_TABLES } from './row-counts.ts';
import { checkWithScratchDoltgres } from './scratch-doltgres.ts';

/** Doltgres always needs a database to connect to; every server has this one. */
const ADMIN_DATABASE = 'postgres';
const BRANCH_TABLES = ['dolt_branch_control', 'dolt_branch_namespace_control'];
/** Doltgres shows branch permissions as a bit set (to simple queries) but accepts only their names. */
const PERMISSION_BITS: readonly [number, string][] = [
  [1, 'admin'],
  [2, 'write'],
  [4, 'merge'],
  [8, 'read'],
];

/** Said in every Doltgres manifest and dump: what its backup never holds, and how to keep it. */
export const DOLTGRES_NOT_INCLUDED = [
  'users and grants: Doltgres keeps them in auth.db in its data directory and shows none of them over SQL; snapshot the data volume (an ebs-volume target)',
  'the server itself: its config.yaml and data directory outside the databases; snapshot the data volume (an ebs-volume target)',
];

const server: DoltServer = {
  label: 'Doltgres',
  session: (endpoint, database, use) => withPostgres(endpoint, database ?? ADMIN_DATABASE, (db) => use(pgSession(db))),
  async databaseExists(session, name) {
    const rows = await session.rows<{ datname: string }>('SELECT datname FROM pg_database');
    return rows.some((row) => row.datname === name);
  },
  async countTables(session) {
    const [row] = await session.rows<{ n: string }>(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema', 'dolt')",
    );
    return Number(row?.n ?? 0);
  },
  tableListing: DOLTGRES_TABLES,
  describe: describeDatabase,
  async completeRestore(request, name, entry) {
    const { carried, differences } = await carryAndCompare(
      (branch, use) => server.session(request.target, `${name}/${branch}`, use),
      entry.inventory ?? [],
      entry.missing ?? [],
    );
    if (carried.length > 0)
      request.log.info('recreated the sequences Doltgres dropped, uncommitted in each branch', { sequences: carried });
    if (differences.length > 0) throw inventoryError(`the restored database "${name}"`, differences);
    const missing = entry.missing ?? [];
    return [
      ...(carried.length > 0
        ? [
            `recreated ${carried.length} sequences Doltgres's restore dropped, uncommitted in each branch's working set: ${carried.slice(0, 5).join(', ')}`,
          ]
        : []),
      ...(missing.length > 0
        ? [`"${name}" lacks ${missing.length} objects this backup does not hold: ${describeMissing(missing)}`]
        : []),
    ];
  },
};

/** Every branch's objects, read after the sync (so sequence values are at least those synced). */
async function describeDatabase(run: DumpRun, entry: DoltDatabaseManifest): Promise<Partial<DoltDatabaseManifest>> {
  const inventory: DoltgresInventory[] = [];
  for (const branch of entry.branches) {
    inventory.push(
      await server.session(run.source, `${entry.database}/${branch.name}`, (session) => readInventory(session, branch.name)),
    );
  }
  const missing = backupDropsRootObjects(run.facts.serverVersion) ? uncarriable(inventory) : [];
  if (missing.length > 0 && !run.dolt.allowMissingObjects) {
    throw new DumpError(
      `Doltgres ${run.facts.serverVersion}'s backup of "${entry.database}" drops ${missing.length} objects Safekeep cannot read to carry across (${describeMissing(missing)}); pass --allow-missing-objects to back up without them (the manifest lists them as missing)`,
    );
  }
  if (missing.length > 0) {
    run.log.warn('this backup does not hold some objects (allowed with --allow-missing-objects)', {
      database: entry.database,
      missing: describeMissing(missing, 20),
    });
  }
  return { inventory, ...(missing.length > 0 ? { missing } : {}), notIncluded: DOLTGRES_NOT_INCLUDED };
}

export function inventoryError(what: string, differences: readonly string[]): IntegrityError {
  const more = differences.length > 5 ? `; and ${differences.length - 5} more` : '';
  return new IntegrityError(`${what} lacks objects the backup recorded: ${differences.slice(0, 5).join('; ')}${more}`);
}

async function preflight(source: DatabaseEndpoint): Promise<SourceFacts> {
  const facts = await withPostgres(source, source.databases[0] ?? ADMIN_DATABASE, async (db) => {
    const version = await doltgresVersion(db, source);
    const names = (await db.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY datname')).rows.map(
      (row) => row.datname,
    );
    return { version, names };
  });
  return {
    serverVersion: facts.version,
    client: { tool: 'dolt_backup', version: facts.version },
    databases: databasesToDump(source, 'Doltgres', facts.names),
  };
}

async function doltgresVersion(db: pg.Client, source: DatabaseEndpoint): Promise<string> {
  try {
    return (await db.query<{ version: string }>('SELECT dolt_version() AS version')).rows[0]?.version ?? '';
  } catch {
    throw new PreflightError(
      `the server at ${source.host}:${source.port} has no dolt_version(), so it is not Doltgres; use --engine postgres for PostgreSQL`,
    );
  }
}

async function dump(run: DumpRun): Promise<DumpOutcome> {
  const { source } = run;
  run.log.warn('a Doltgres backup holds no users, grants or server state; snapshot the data volume to keep them', {
    server: `${source.host}:${source.port}`,
  });
  return stageBranchControlAndBackUp(run, server, branchControl);
}

async function branchControl(source: DatabaseEndpoint, database: string | undefined): Promise<string[]> {
  if (database === undefined) return [];
  return withPostgres(source, database, async (db) => {
    const out: string[] = [];
    for (const table of BRANCH_TABLES) {
      const { rows } = await db.query<Record<string, string | number>>(`SELECT * FROM ${table}`);
      for (const row of rows) {
        const columns = Object.keys(row).map((column) => db.escapeIdentifier(column));
        const values = Object.entries(row).map(([column, value]) =>
          sqlLiteral(column === 'permissions' ? permissionNames(String(value)) : String(value)),
        );
        out.push(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${values.join(', ')}) ON CONFLICT DO NOTHING`);
      }
    }
    return out;
  });
}

/** `12` -> `merge,read`; names (what prepared statements return) pass through. */
export function permissionNames(value: string): string {
  if (!/^\d+$/.test(value)) return value;
  const bits = Number(value);
  return PERMISSION_BITS.filter(([bit]) => (bits & bit) !== 0)
    .map(([, name]) => name)
    .join(',');
}

/** A literal that stays on one line: backslashes and line breaks go into an E'' string. */
export function sqlLiteral(value: string): string {
  if (!/[\\\n\r]/.test(value)) return `'${value.replaceAll("'", "''")}'`;
  const escaped = value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n').replaceAll('\r', '\\r');
  return `E'${escaped}'`;
}

async function verify(request: VerifyRequest) {
  const checked = await verifyStoredObjects(request);
  const entries = doltEntries(request);
  request.log.info('restoring into a scratch Doltgres server', { databases: entries.map((entry) => entry.database) });
  await checkWithScratchDoltgres(entries, request);
  checked.push(...entries.map((entry) => entry.url));
  return { checked };
}

export const doltgresEngine: DatabaseEngine = {
  engine: 'doltgres',
  preflight,
  dump,
  restore: (request) => restoreDatabase(request, server),
  verify,
};
