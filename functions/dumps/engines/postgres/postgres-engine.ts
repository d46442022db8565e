/**
 * PostgreSQL: pg_dump custom format per database, plus roles and tablespaces from
 * `pg_dumpall --globals-only`. Restore follows Bytebase's procedure: into a new database, or into a
 * temporary one that then takes the old one's name (`--swap`).
 */

import { objectName } from '../../../contracts/artifact-layout.ts';
import { PreflightError, RestoreError } from '../../../contracts/errors.ts';
import type { ManifestObject } from '../../../contracts/manifest.ts';
import { EXTENSIONS } from '../../../contracts/manifest.ts';
import { runTool, spawnProducer } from '../../adapters/child-process.ts';
import { PG_DUMPALL_END, TailMarkerCheck } from '../../commit/completeness.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import { databasesToDump } from '../databases.ts';
import type { DatabaseEngine, DumpRun, RestoreRequest, SourceFacts, VerifyRequest } from '../engine.ts';
import { checkStoredObject, compareRowCounts } from '../stored-object-check.ts';
import { PgArchiveCheck } from './archive-check.ts';
import { rewriteBytebaseNamespace } from './bytebase-namespace.ts';
import { withPostgres } from './connection.ts';
import { type DatabaseProperties, parseDatabaseProperties, renameDatabase } from './database-properties.ts';
import { conninfoValue, libpqEnvironment } from './libpq.ts';
import { dumpDatabaseInParallel } from './parallel-dump.ts';
import { databaseObjects, restoreParts } from './parallel-restore.ts';
import { PgRestoreCheck } from './pg-restore-check.ts';
import { majorOf, pgToolPath, toolVersion } from './tools.ts';

async function preflight(source: DatabaseEndpoint): Promise<SourceFacts> {
  const client = await toolVersion('pg_dump');
  const facts = await withPostgres(source, 'postgres', async (db) => {
    const version = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '';
    const names = (
      await db.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname',
      )
    ).rows.map((row) => row.datname);
    // RDS and other managed servers hide pg_authid; pg_dumpall then needs --no-role-passwords.
    const canRead =
      (await db.query<{ ok: boolean }>("SELECT has_table_privilege('pg_authid', 'SELECT') AS ok")).rows[0]?.ok ?? false;
    return { version: version.split(' ')[0] ?? version, names, canRead };
  });
  if (majorOf(client.version) < majorOf(facts.version)) {
    throw new PreflightError(
      `pg_dump ${client.version} is older than the server (PostgreSQL ${facts.version}) and cannot dump it; install PostgreSQL ${majorOf(facts.version)} or newer client tools (or point SAFEKEEP_PG_BIN at them)`,
    );
  }
  return {
    serverVersion: facts.version,
    client: { tool: 'pg_dump', version: client.version },
    databases: databasesToDump(source, 'PostgreSQL', facts.names),
    flags: { canReadRolePasswords: facts.canRead },
  };
}

async function dump(run: DumpRun): Promise<Record<string, never>> {
  const { source, compression, timeoutMs } = run;
  const secrets = [source.password];
  const extension = EXTENSIONS[compression];

  const globalsArgs = ['--globals-only', '--no-password', '--database=postgres'];
  const env = libpqEnvironment(source, 'postgres');
  if (!run.facts.flags?.canReadRolePasswords) globalsArgs.push('--no-role-passwords');
  await run.stage({
    name: objectName('globals', undefined, `.sql${extension}`),
    role: 'globals',
    format: 'sql',
    producer: spawnProducer({
      command: pgToolPath('pg_dumpall'),
      args: globalsArgs,
      env,
      secrets,
      timeoutMs,
      description: 'pg_dumpall --globals-only',
    }),
    completeness: new TailMarkerCheck(PG_DUMPALL_END, 'pg_dumpall\'s "cluster dump complete" trailer'),
  });

  for (const database of run.facts.databases) {
    if (run.parallelism > 1) {
      await dumpDatabaseInParallel(run, database);
      continue;
    }
    run.log.info('dumping database', { database });
    await run.stage({
      name: objectName('database', database, `.pgdump${extension}`),
      role: 'database',
      database,
      format: 'pg_dump-custom',
      // -Z0: we compress the stream ourselves; --no-password: fail instead of prompting.
      producer: spawnProducer({
        command: pgToolPath('pg_dump'),
        args: ['--format=custom', '--compress=0', '--no-password'],
        env: libpqEnvironment(source, database),
        secrets,
        timeoutMs,
        description: `pg_dump of ${database}`,
      }),
      // In-process: the framing and rows as they stream; verify reads it again with pg_restore.
      completeness: new PgArchiveCheck(`database ${database}`),
    });
  }
  return {};
}

async function restore(request: RestoreRequest) {
  const { target, manifest, log } = request;
  const objects = databaseObjects(manifest.objects, request.sourceDatabase);
  if (!objects)
    throw new RestoreError(
      `the backup has no database "${request.sourceDatabase}"; it has ${databasesOf(request).join(', ')}`,
      2,
    );
  // A parallel backup's schema object holds the database-level entries, as a whole archive does.
  const object = objects.kind === 'whole' ? objects.archive : objects.schema;
  await toolVersion('pg_restore');
  const properties = await readDatabaseProperties(request, object);

  // Restore into a fresh database: the target itself, or (with --swap) a temporary one renamed into place.
  const runSuffix = manifest.runId.toLowerCase().replace(/[^a-z0-9]/g, '');
  const sideName = (kind: string) => `${request.targetDatabase}_${kind}_${runSuffix}`.slice(0, 63);
  const stagingName = request.swap ? sideName('safekeep') : request.targetDatabase;
  const created = await prepareEmptyDatabase(target, stagingName, request.force, request.swap, properties.createOptions);

  if (request.withGlobals) {
    const globals = manifest.objects.find((o) => o.role === 'globals');
    if (globals) await runPsql(request, globals, 'postgres');
  }
  if (objects.kind === 'parts') await restoreParts(request, objects, stagingName);
  else await restoreWhole(request, object, stagingName);
  // Bytebase: the copy's history names the database it will be known as (the same name after --swap: a no-op).
  const namespace = request.recipe === 'bytebase' ? await bytebaseRecipe(request, stagingName, created) : undefined;
  const tables = await withPostgres(target, stagingName, async (db) =>
    Number(
      (
        await db.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        )
      ).rows[0]?.n ?? 0,
    ),
  );
  // Last: the properties may take our login's access away (a new owner, CONNECT revoked from PUBLIC).
  await applyDatabaseProperties(request, properties, request.sourceDatabase, stagingName, created);
  if (!request.swap) return { database: stagingName, tables, ...namespace };

  const previous = sideName('old');
  await withPostgres(target, 'postgres', async (db) => {
    const exists = (await db.query('SELECT 1 FROM pg_database WHERE datname = $1', [request.targetDatabase])).rowCount ?? 0;
    if (exists > 0) {
      const sessions = Number(
        (await db.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [request.targetDatabase]))
          .rows[0]?.n ?? 0,
      );
      if (sessions > 0) {
        throw new RestoreError(
          `"${request.targetDatabase}" still has ${sessions} open connection(s), so it cannot be renamed; stop the application (as Bytebase's procedure says), then rerun. The restored copy is in "${stagingName}"`,
        );
      }
      await db.query(`ALTER DATABASE ${db.escapeIdentifier(request.targetDatabase)} RENAME TO ${db.escapeIdentifier(previous)}`);
    }
    await db.query(`ALTER DATABASE ${db.escapeIdentifier(stagingName)} RENAME TO ${db.escapeIdentifier(request.targetDatabase)}`);
    log.info('swapped databases', { restored: request.targetDatabase, previous: exists > 0 ? previous : undefined });
  });
  return { database: request.targetDatabase, previousDatabase: previous, tables, ...namespace };
}

/** One archive holding the whole database, in one pg_restore. */
async function restoreWhole(request: RestoreRequest, object: ManifestObject, stagingName: string): Promise<void> {
  const { target } = request;
  const { exit } = await runTool(
    {
      command: pgToolPath('pg_restore'),
      // --no-owner/--no-acl would lose what Bytebase expects; keep both, and stop at the first error.
      // pg_restore needs --dbname to restore into a database rather than print SQL; `dbname=` makes the value a
      // connection string whose only setting is the quoted name, so the name itself is never parsed as one.
      args: ['--exit-on-error', '--no-password', `--dbname=dbname=${conninfoValue(stagingName)}`],
      env: libpqEnvironment(target, stagingName),
      secrets: [target.password],
      timeoutMs: request.timeoutMs,
      description: `pg_restore into ${stagingName}`,
    },
    await request.openVerified(object),
  );
  if (exit.code !== 0) {
    throw new RestoreError(
      `pg_restore into "${stagingName}" failed (${exit.stderrTail || `exit code ${exit.code}`}); the partly restored database was left for inspection`,
    );
  }
}

/**
 * Rewrites the restored copy's migration_history from the backed-up name to the name it ends up with. On a
 * refusal the copy this restore created is dropped, so the target is as it was before.
 */
async function bytebaseRecipe(
  request: RestoreRequest,
  stagingName: string,
  created: boolean,
): Promise<{ namespaceRewritten: number }> {
  try {
    const { rewritten } = await withPostgres(request.target, stagingName, (db) =>
      rewriteBytebaseNamespace(db, request.sourceDatabase, request.targetDatabase),
    );
    request.log.info('rewrote migration_history.namespace', {
      from: request.sourceDatabase,
      to: request.targetDatabase,
      rows: rewritten,
    });
    return { namespaceRewritten: rewritten };
  } catch (error) {
    if (created) {
      await withPostgres(request.target, 'postgres', (db) =>
        db.query(`DROP DATABASE IF EXISTS ${db.escapeIdentifier(stagingName)}`),
      );
    }
    throw error;
  }
}

/** The database-level entries of the archive (see database-properties.ts); pg_restore reads only its head. */
async function readDatabaseProperties(request: RestoreRequest, object: ManifestObject): Promise<DatabaseProperties> {
  const archive = await request.openVerified(object);
  try {
    const { stdout, exit } = await runTool(
      {
        command: pgToolPath('pg_restore'),
        args: ['--create', '--schema-only', '--file=-'],
        timeoutMs: request.timeoutMs,
        description: 'pg_restore reading the database properties',
      },
      archive,
    );
    if (exit.code !== 0) {
      throw new RestoreError(
        `reading the database properties from the archive failed (${exit.stderrTail || `exit code ${exit.code}`})`,
      );
    }
    return parseDatabaseProperties(stdout);
  } finally {
    archive.destroy();
  }
}

/**
 * Owner, settings, comment, labels and privileges of the backed-up database, onto `name`. A database that
 * existed before (--force) first drops its own settings, so it ends up with the backup's, not a mix.
 */
async function applyDatabaseProperties(
  request: RestoreRequest,
  properties: DatabaseProperties,
  source: string,
  name: string,
  created: boolean,
): Promise<void> {
  await withPostgres(request.target, 'postgres', async (db) => {
    const target = db.escapeIdentifier(name);
    if (!created) await db.query(`ALTER DATABASE ${target} RESET ALL`);
    for (const statement of properties.statements) {
      try {
        await db.query(renameDatabase(statement, source, target));
      } catch (error) {
        throw new RestoreError(
          `"${name}" is restored, but applying "${statement.split('\n')[0]}" to it failed (${(error as Error).message}); create the missing role (restore with --with-globals) or apply it by hand`,
        );
      }
    }
  });
}

/**
 * Creates `name` (from template0, with the backup's encoding and locale), or accepts it when it exists and
 * holds no tables, or `force` is set. A `mustBeNew` database (the --swap staging one) must not exist yet.
 * Says whether it created the database.
 */
async function prepareEmptyDatabase(
  target: DatabaseEndpoint,
  name: string,
  force: boolean,
  mustBeNew: boolean,
  createOptions: string,
): Promise<boolean> {
  const created = await withPostgres(target, 'postgres', async (db) => {
    if ((await db.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount) return false;
    try {
      await db.query(`CREATE DATABASE ${db.escapeIdentifier(name)} WITH TEMPLATE = template0 ${createOptions}`);
    } catch (error) {
      throw new RestoreError(
        `cannot create "${name}" with the backup's encoding and locale (${createOptions}): ${(error as Error).message}; install that locale on the server or create the database yourself and restore with --force`,
      );
    }
    return true;
  });
  if (created) return true;
  if (mustBeNew)
    throw new RestoreError(`a database "${name}" already exists from an earlier swap; drop or rename it, then rerun`, 2);
  const tables = await withPostgres(target, name, async (db) =>
    Number(
      (
        await db.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','S') AND n.nspname NOT IN ('pg_catalog','information_schema','pg_toast')",
        )
      ).rows[0]?.n ?? 0,
    ),
  );
  if (tables > 0 && !force) {
    throw new RestoreError(
      `database "${name}" is not empty (${tables} relations); restore into a new name, use --swap, or pass --force to restore on top of it`,
      2,
    );
  }
  return false;
}

async function runPsql(request: RestoreRequest, object: ManifestObject, database: string): Promise<void> {
  const { exit } = await runTool(
    {
      command: pgToolPath('psql'),
      // Roles that already exist make CREATE ROLE fail; that is expected on a live server, so no ON_ERROR_STOP.
      args: ['--no-password', '--quiet', '--file=-'],
      env: libpqEnvironment(request.target, database),
      secrets: [request.target.password],
      timeoutMs: request.timeoutMs,
      description: 'psql applying the globals',
    },
    await request.openVerified(object),
  );
  if (exit.code !== 0) throw new RestoreError(`applying roles and tablespaces failed (${exit.stderrTail})`);
}

function databasesOf(request: { manifest: { objects: readonly ManifestObject[] } }): string[] {
  return [...new Set(request.manifest.objects.flatMap((o) => (o.role === 'database' && o.database ? [o.database] : [])))];
}

async function verify(request: VerifyRequest) {
  const checked: string[] = [];
  // A parallel backup is whole only with its schema object and every data part.
  for (const database of request.manifest.source.databases) databaseObjects(request.manifest.objects, database);
  for (const object of request.manifest.objects) {
    const stream = await request.openVerified(object);
    const archive = object.format === 'pg_dump-custom';
    const check = archive
      ? new PgRestoreCheck(object.key)
      : new TailMarkerCheck(PG_DUMPALL_END, 'the "cluster dump complete" trailer');
    const { rowCounts } = await checkStoredObject(stream, check);
    if (archive) compareRowCounts(object, rowCounts ?? {});
    checked.push(object.key);
  }
  return { checked };
}

export const postgresEngine: DatabaseEngine = {
  engine: 'postgres',
  preflight,
  dump,
  restore,
  verify,
};
