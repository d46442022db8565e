/**
 * Dolt and Doltgres drills: each database restored with `dolt_backup('restore', ...)` by a scratch server of
 * the same engine (reading the backup from S3 and DynamoDB itself), then compared with the manifest: every
 * branch head and tag at the hash recorded (a head's hash covers all of its commit's data, so equal heads
 * mean equal tables and rows), every working set the backup carried, and for Doltgres every branch's object
 * inventory, and the rows of every table at every head against the counts the dump recorded (backups made
 * before the manifest recorded them are counted, not compared).
 */
import type { DoltDatabaseManifest } from '../../contracts/manifest.ts';
import { mysqlSession } from '../engines/dolt/mysql-session.ts';
import { pgSession } from '../engines/dolt/pg-session.ts';
import { readRefs } from '../engines/dolt/refs.ts';
import { DOLT_TABLES, DOLTGRES_TABLES, rowCountsAt, type TableListing } from '../engines/dolt/row-counts.ts';
import { startScratchDolt } from '../engines/dolt/scratch-dolt.ts';
import { startScratchDoltgres } from '../engines/dolt/scratch-doltgres.ts';
import type { DoltSession } from '../engines/dolt/session.ts';
import { withMysql } from '../engines/mysql/connection.ts';
import { withPostgres } from '../engines/postgres/connection.ts';
import type { DatabaseEndpoint } from '../source.ts';
import { type DrillContext, type EngineDrill, restored } from './engine-drill.ts';

interface Flavor {
  session<T>(endpoint: DatabaseEndpoint, database: string, use: (session: DoltSession) => Promise<T>): Promise<T>;
  readonly listing: TableListing;
  /**
   * Doltgres: the working sets are compared by the restore itself, right after dolt_backup('restore') (it
   * fails naming any difference); its next steps (reading each branch's objects, carrying sequences) leave
   * every branch dirty, so a later reading would not be the backup's.
   */
  readonly workingSetsComparedByRestore?: boolean;
}

const DOLT: Flavor = {
  session: (endpoint, database, use) => withMysql(endpoint, database, (db) => use(mysqlSession(db))),
  listing: DOLT_TABLES,
};

const DOLTGRES: Flavor = {
  session: (endpoint, database, use) => withPostgres(endpoint, database, (db) => use(pgSession(db))),
  listing: DOLTGRES_TABLES,
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
    const found = await flavor.session(scratch.endpoint, `${database}/${branch.name}`, (session) =>
      rowCountsAt(session, flavor.listing, branch.hash),
    );
    findings.add('tables', Object.keys(found).length);
    for (const rows of Object.values(found)) findings.add('rows', rows);
    const recorded = entry.rowCounts?.[branch.name];
    if (recorded) findings.compareCounts('rows', `${database}@${branch.name}: `, recorded, found);
  }
}
