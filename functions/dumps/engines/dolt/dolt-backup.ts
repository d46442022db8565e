/**
 * What the Dolt and Doltgres engines share. Dump: per database, record branch heads, tags and dirty branches,
 * `dolt_backup('sync-url', ...)` to the run's own remote, and hash every file the server wrote. Restore:
 * `dolt_backup('restore', ...)` into a new database, then check its refs against the manifest. Verify: every
 * stored object's SHA-256, then the engine's own scratch restore. With --with-globals a restore also replays the
 * SQL scripts the dump stored (users and grants, branch permissions).
 */

import { objectName } from '../../../contracts/artifact-layout.ts';
import { DumpError, IntegrityError, RestoreError, SafekeepError, UsageError } from '../../../contracts/errors.ts';
import type { DoltDatabaseManifest, ManifestObject } from '../../../contracts/manifest.ts';
import { EXTENSIONS } from '../../../contracts/manifest.ts';
import { inProcessProducer } from '../../commit/in-process-producer.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import type { DumpOutcome, DumpRun, RestoreOutcome, RestoreRequest, VerifyRequest } from '../engine.ts';
import {
  BRANCH_CONTROL_SCRIPT,
  GRANTS_SCRIPT,
  replayScript,
  type ScriptKind,
  scriptCompleteness,
  sqlScript,
} from '../sql-script.ts';
import { checkStoredObject } from '../stored-object-check.ts';
import { hashBackupFiles } from './backup-files.ts';
import { assertRefsMatch, type DoltRefs, readRefs, refsDifferences } from './refs.ts';
import { doltRemoteFor } from './remote.ts';
import { rowCountsAt, type TableListing } from './row-counts.ts';
import type { DoltSession } from './session.ts';

/** How the shared logic reaches one kind of server. */
export interface DoltServer {
  /** For messages: "Dolt" or "Doltgres". */
  readonly label: string;
  /** A session on `database`, or on the server's administrative default when undefined. */
  session<T>(endpoint: DatabaseEndpoint, database: string | undefined, use: (session: DoltSession) => Promise<T>): Promise<T>;
  databaseExists(session: DoltSession, name: string): Promise<boolean>;
  /** Base tables on the session's current branch. */
  countTables(session: DoltSession): Promise<number>;
  /** How its tables are listed and named, to count their rows at each head. */
  readonly tableListing: TableListing;
  /** After the sync: what else the manifest should record of the database (Doltgres: its object inventory). */
  describe?(run: DumpRun, entry: DoltDatabaseManifest): Promise<Partial<DoltDatabaseManifest>>;
  /** After a restore whose refs matched: carry across what the engine's restore dropped, and check the rest. */
  completeRestore?(request: RestoreRequest, name: string, entry: DoltDatabaseManifest): Promise<string[]>;
}

const SYNC_ATTEMPTS = 3;

export interface DatabaseBackup {
  readonly manifest: DoltDatabaseManifest;
  readonly files: readonly ManifestObject[];
}

/**
 * The part of a dump both engines share: the server-wide branch permissions as a staged SQL script, then
 * every database synced to its own remote. `branchControl` reads the rows (only visible from inside a database).
 */
export async function stageBranchControlAndBackUp(
  run: DumpRun,
  server: DoltServer,
  branchControl: (source: DatabaseEndpoint, database: string | undefined) => Promise<string[]>,
): Promise<DumpOutcome> {
  const { source, facts } = run;
  await run.stage({
    name: objectName('branch-control', undefined, `.sql${EXTENSIONS[run.compression]}`),
    role: 'branch-control',
    format: 'sql',
    producer: inProcessProducer('reading branch permissions', () =>
      sqlScript(BRANCH_CONTROL_SCRIPT, `Safekeep branch control of ${server.label} at ${source.host}:${source.port}`, () =>
        branchControl(source, facts.databases[0]),
      ),
    ),
    completeness: scriptCompleteness(BRANCH_CONTROL_SCRIPT),
  });
  const files: ManifestObject[] = [];
  const dolt: DoltDatabaseManifest[] = [];
  for (const database of facts.databases) {
    const backup = await backUpDatabase(run, server, database);
    files.push(...backup.files);
    dolt.push(backup.manifest);
  }
  return { extraObjects: files, dolt };
}

/** Syncs one database to its own remote in this run and describes what was synced. */
export async function backUpDatabase(run: DumpRun, server: DoltServer, database: string): Promise<DatabaseBackup> {
  const remote = doltRemoteFor(run.dolt, run.store.bucket, run.prefix, database);
  run.log.info('syncing the Dolt backup', { database, url: remote.url });
  const refs = await server.session(run.source, database, (session) =>
    syncWithSteadyRefs(session, remote.url, database, run.timeoutMs),
  );
  if (!remote.bucketPrefix) {
    run.log.warn('the backup files are outside the artifact bucket, so the manifest holds no SHA-256 for them', {
      database,
      url: remote.url,
    });
  }
  const files = remote.bucketPrefix ? await hashBackupFiles(run.store, remote.bucketPrefix, database) : [];
  const rowCounts: Record<string, Record<string, number>> = {};
  for (const branch of refs.branches) {
    rowCounts[branch.name] = await server.session(run.source, `${database}/${branch.name}`, (session) =>
      rowCountsAt(session, server.tableListing, branch.hash),
    );
  }
  const manifest: DoltDatabaseManifest = { database, url: remote.url, prefix: remote.bucketPrefix ?? '', ...refs, rowCounts };
  return { manifest: { ...manifest, ...(await server.describe?.(run, manifest)) }, files };
}

/**
 * Syncs until the refs read just before and just after a sync agree, so the manifest names exactly the
 * heads that were synced even while the database takes writes.
 */
async function syncWithSteadyRefs(session: DoltSession, url: string, database: string, timeoutMs: number): Promise<DoltRefs> {
  let before = await readRefs(session);
  for (let attempt = 1; ; attempt++) {
    await withTimeout(timeoutMs, `dolt_backup of "${database}"`, () =>
      session.procedure('dolt_backup', ['sync-url', url]).catch((error: Error) => {
        throw new DumpError(
          `dolt_backup('sync-url') of "${database}" to ${url} failed (${error.message}); the database server itself writes the backup, so check its AWS credentials, region and endpoints, the bucket and the DynamoDB table`,
        );
      }),
    );
    const after = await readRefs(session);
    if (refsDifferences(before, after).length === 0) return after;
    if (attempt === SYNC_ATTEMPTS) {
      throw new DumpError(
        `branches or tags of "${database}" moved during each of ${SYNC_ATTEMPTS} syncs, so no consistent backup could be named; run it when commits pause`,
      );
    }
    before = after;
  }
}

/**
 * Restores the manifest's backup of the source database into a new database on the target server, and with
 * --with-globals replays the stored users and grants and branch permissions.
 */
export async function restoreDatabase(request: RestoreRequest, server: DoltServer): Promise<RestoreOutcome> {
  const { targetDatabase: name } = request;
  if (request.swap) {
    throw new UsageError(
      `${server.label} cannot rename a database, so --swap is not available; restore into a new name and point the application at it`,
    );
  }
  const entry = request.manifest.dolt?.find((database) => database.database === request.sourceDatabase);
  if (!entry) throw new RestoreError(`the manifest records no backup of database "${request.sourceDatabase}"`, 2);
  await server.session(request.target, undefined, async (session) => {
    if ((await server.databaseExists(session, name)) && !request.force) {
      throw new RestoreError(
        `database "${name}" already exists on ${request.target.host}:${request.target.port}; restore into a new name, or pass --force to replace it`,
        2,
      );
    }
    request.log.info('restoring with dolt_backup', { from: entry.url, into: name });
    await withTimeout(request.timeoutMs, `restoring "${name}"`, () =>
      session
        .procedure('dolt_backup', ['restore', entry.url, name, ...(request.force ? ['--force'] : [])])
        .catch((error: Error) => {
          throw new RestoreError(
            `dolt_backup('restore') into "${name}" failed (${error.message}); the database server itself reads the backup, so check its AWS credentials, region and endpoints`,
          );
        }),
    );
  });
  const tables = await server.session(request.target, name, async (session) => {
    assertRefsMatch(entry, await readRefs(session), `the restored database "${name}"`);
    return server.countTables(session);
  });
  const warnings = (await server.completeRestore?.(request, name, entry)) ?? [];
  if (request.withGlobals) {
    await replayStoredScripts(request, server, 'grants', GRANTS_SCRIPT, undefined);
    // Branch permissions name databases and are visible only from inside one, so they go into the restored one.
    await replayStoredScripts(request, server, 'branch-control', BRANCH_CONTROL_SCRIPT, name);
  }
  return { database: name, tables, ...(warnings.length > 0 ? { warnings } : {}) };
}

/** Replays every stored script of `role` on the target, inside `database` (or the server's default). */
async function replayStoredScripts(
  request: RestoreRequest,
  server: DoltServer,
  role: 'grants' | 'branch-control',
  kind: ScriptKind,
  database: string | undefined,
): Promise<void> {
  for (const object of request.manifest.objects.filter((o) => o.role === role)) {
    const script = await request.openVerified(object);
    const { applied, refused } = await server.session(request.target, database, (session) =>
      replayScript(kind, script, (statement) => session.rows(statement), request.log),
    );
    request.log.info(`applied the ${kind.what}`, { statements: applied, refused });
  }
}

/** Re-reads every object of the run through its SHA-256 check; our own SQL scripts must also end whole. */
export async function verifyStoredObjects(request: VerifyRequest): Promise<string[]> {
  const checked: string[] = [];
  for (const object of request.manifest.objects) {
    const kind = object.role === 'grants' ? GRANTS_SCRIPT : object.role === 'branch-control' ? BRANCH_CONTROL_SCRIPT : undefined;
    await checkStoredObject(await request.openVerified(object), kind && scriptCompleteness(kind));
    checked.push(object.key);
  }
  return checked;
}

/** The databases the manifest describes, or a clear error when it describes none. */
export function doltEntries(request: VerifyRequest): readonly DoltDatabaseManifest[] {
  const entries = request.manifest.dolt ?? [];
  if (entries.length === 0)
    throw new IntegrityError('the manifest records no Dolt databases, so there is nothing to restore or verify');
  return entries;
}

async function withTimeout<T>(timeoutMs: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SafekeepError(`${what} did not finish within ${Math.round(timeoutMs / 1000)}s; raise --timeout`, 5)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
