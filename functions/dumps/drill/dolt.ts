/**
 * Dolt and Doltgres drills: each database restored with `dolt_backup('restore', ...)` by a scratch server of
 * the same engine (reading the backup from S3 and DynamoDB itself), then compared with the manifest: every
 * branch head and tag at the hash recorded (a head's hash covers all of its commit's data, so equal heads
 * mean equal tables and rows), every working set the backup carried, and for Doltgres every branch's object
 * inventory. The tables and rows found on each branch are counted into the result.
 */
import type { DoltDatabaseManifest } from '../../contracts/manifest.ts';
import { mysqlSession } from '../engines/dolt/mysql-session.ts';
import { pgSession } from '../engines/dolt/pg-session.ts';
import { readRefs } from '../engines/dolt/refs.ts';
import { startScratchDolt } from '../engines/dolt/scratch-dolt.ts';
import { startScratchDoltgres } from '../engines/dolt/scratch-doltgres.ts';
import type { DoltSession } from '../engines/dolt/session.ts';
import { quoteName, withMysql } from '../engines/mysql/connection.ts';
import { withPostgres } from '../engines/postgres/connection.ts';
import type { DatabaseEndpoint } from '../source.ts';
import { type DrillContext, type EngineDrill, restored } from './engine-drill.ts';

interface Flavor {
  session<T>(endpoint: DatabaseEndpoint, database: string, use: (session: DoltSession) => Promise<T>): Promise<T>;
  /** Base tables of the session's database (a `db/branch` revision database), quoted for SQL. */
  readonly tables: string;
  readonly quote: (name: string) => string;
  /**
   * Doltgres: the working sets are compared by the restore itself, right after dolt_backup('restore') (it
   * fails naming any difference); its next steps (reading each branch's objects, carrying sequences) leave
   * every branch dirty, so a later reading would not be the backup's.
   */
  readonly workingSetsComparedByRestore?: boolean;
}

const DOLT: Flavor = {
  session: (endpoint, database, use) => withMysql(endpoint, database, (db) => use(mysqlSession(db))),
  tables:
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
  quote: quoteName,
};

const DOLTGRES: Flavor = {
  session: (endpoint, database, use) => withPostgres(endpoint, database, (db) => use(pgSession(db))),
  tables: `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema', 'dolt')`,
  quote: (name) => name,
  workingSetsComparedByRestore: true,
};

export const doltDrill: EngineDrill = {
  start: (_manifest, endpointUrl) => startScratchDolt(endpointUrl),
  restoreAndCompare: (drill) => restoreAndCompare(drill, DOLT),
};

export const doltgresDrill: EngineDrill = {
  start: (_manifest, endpointUrl) => startScratchDoltgres(endpointUrl, 'doltgres-drill'),
  restoreAndCompare: (drill) => restoreAndCompare(drill, DOLTGRES),
};

async function restoreAndCompare(drill: DrillContext, flavor: Flavor): Promise<void> {
  const entries = drill.manifest.dolt ?? [];
  if (entries.length === 0) drill.findings.fail('the manifest records no Dolt databases, so there is nothing to restore');
  let first = true;
  for (const entry of entries) {
    // The restore checks the refs (and Doltgres's inventory) itself and fails naming the first difference.
    const ok = await restored(drill, entry.database, first);
    first = false;
    if (ok) await compareDatabase(drill, flavor, entry);
  }
}

async function compareDatabase(drill: DrillContext, flavor: Flavor, entry: DoltDatabaseManifest): Promise<void> {
  const { findings, scratch } = drill;
  const database = entry.database;
  const refs = await flavor.session(scratch.endpoint, database, readRefs);
  const heads = new Map(refs.branches.map((branch) => [branch.name, branch.hash]));
  const tags = new Map(refs.tags.map((tag) => [tag.name, tag.hash]));
  for (const branch of entry.branches) {
    const found = heads.get(branch.name);
    findings.check({
      what: 'branch',
      subject: `${database}: ${branch.name}`,
      expected: branch.hash,
      found,
      ok: found === branch.hash,
    });
  }
  for (const tag of entry.tags) {
    const found = tags.get(tag.name);
    findings.check({ what: 'tag', subject: `${database}: ${tag.name}`, expected: tag.hash, found, ok: found === tag.hash });
  }
  for (const name of entry.branches.map((branch) => branch.name)) {
    const expected = entry.dirtyBranches.includes(name) ? 'uncommitted changes' : 'clean';
    const dirty = flavor.workingSetsComparedByRestore ? entry.dirtyBranches : refs.dirtyBranches;
    const found = dirty.includes(name) ? 'uncommitted changes' : 'clean';
    findings.check({ what: 'working-set', subject: `${database}: ${name}`, expected, found, ok: expected === found });
  }
  if (entry.inventory) {
    // Compared object by object by the restore, which fails naming what the restored branches lack.
    const objects = entry.inventory.reduce(
      (n, branch) =>
        n + branch.tables.length + branch.views.length + branch.sequences.length + branch.types.length + branch.functions.length,
      0,
    );
    findings.check({ what: 'inventory', subject: database, expected: objects, found: objects, ok: true });
  }
  findings.add('branches', refs.branches.length);
  findings.add('tags', refs.tags.length);
  for (const branch of entry.branches) {
    await flavor.session(scratch.endpoint, `${database}/${branch.name}`, async (session) => {
      const tables = await session.rows<{ name: string }>(flavor.tables);
      findings.add('tables', tables.length);
      for (const { name } of tables) {
        const [row] = await session.rows<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${flavor.quote(name)}`);
        findings.add('rows', Number(row?.n ?? 0));
      }
    });
  }
}
