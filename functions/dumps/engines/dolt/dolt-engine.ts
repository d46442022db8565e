/**
 * Dolt: each database synced by the sql-server itself with `CALL dolt_backup('sync-url', ...)` to a remote
 * of its own in this run (all branches, tags and uncommitted working sets), plus what `dolt backup` leaves
 * out (see Dolt's backup documentation): users and grants, and the branch permission tables
 * `dolt_branch_control` and `dolt_branch_namespace_control`, as replayable SQL.
 */
import type mysql from 'mysql2/promise';
import { objectName } from '../../../contracts/artifact-layout.ts';
import { PreflightError } from '../../../contracts/errors.ts';
import { EXTENSIONS } from '../../../contracts/manifest.ts';
import { inProcessProducer } from '../../commit/in-process-producer.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import { databasesToDump } from '../databases.ts';
import type { DatabaseEngine, DumpOutcome, DumpRun, SourceFacts, VerifyRequest } from '../engine.ts';
import { withMysql } from '../mysql/connection.ts';
import { GRANTS_SCRIPT, scriptCompleteness, sqlScript } from '../sql-script.ts';
import {
  type DoltServer,
  doltEntries,
  restoreDatabase,
  stageBranchControlAndBackUp,
  verifyStoredObjects,
} from './dolt-backup.ts';
import { checkWithDoltCli } from './dolt-cli-check.ts';
import { mysqlSession } from './mysql-session.ts';
import { DOLT_TABLES } from './row-counts.ts';
import { stageServerFiles } from './server-dir.ts';

const SYSTEM_DATABASES = ['information_schema', 'performance_schema', 'mysql', 'sys', 'dolt_cluster'];
/** Accounts the server manages itself; recreating them elsewhere would clash with that server's own. */
const SYSTEM_ACCOUNTS = /^(__dolt_.*|event_scheduler)$/;
const BRANCH_TABLES = ['dolt_branch_control', 'dolt_branch_namespace_control'];

const server: DoltServer = {
  label: 'Dolt',
  session: (endpoint, database, use) => withMysql(endpoint, database, (db) => use(mysqlSession(db))),
  async databaseExists(session, name) {
    const rows = await session.rows<{ name: string }>('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA');
    return rows.some((row) => row.name.toLowerCase() === name.toLowerCase());
  },
  async countTables(session) {
    const [row] = await session.rows<{ n: string }>(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    );
    return Number(row?.n ?? 0);
  },
  tableListing: DOLT_TABLES,
  describe: async (run) => ({ notIncluded: run.dolt.serverDir ? [LEFT_OUT_WITH_SERVER_DIR] : [LEFT_OUT_WITHOUT_SERVER_DIR] }),
};

/** What a Dolt backup does not hold, said in its manifest and by dump and verify. */
const LEFT_OUT_WITHOUT_SERVER_DIR =
  "the server's YAML, global .dolt, .doltcfg and each database's .dolt/config.json and repo_state.json: dump with --server-dir where the data directory is reachable, or snapshot the data volume";
const LEFT_OUT_WITH_SERVER_DIR =
  'the creds directory of the global .dolt (remote signing keys), left out on purpose: recreate it with dolt creds after a rebuild';

async function preflight(source: DatabaseEndpoint): Promise<SourceFacts> {
  const facts = await withMysql(source, undefined, async (db) => {
    const version = await doltVersion(db, source);
    const [rows] = (await db.query('SHOW DATABASES')) as unknown as [{ Database: string }[]];
    return { version, names: rows.map((row) => row.Database).filter((name) => !SYSTEM_DATABASES.includes(name)) };
  });
  return {
    serverVersion: facts.version,
    // The server writes the backup itself; its own dolt_backup is the tool.
    client: { tool: 'dolt_backup', version: facts.version },
    databases: databasesToDump(source, 'Dolt', facts.names),
  };
}

async function doltVersion(db: mysql.Connection, source: DatabaseEndpoint): Promise<string> {
  try {
    const [[row]] = (await db.query('SELECT dolt_version() AS version')) as unknown as [[{ version: string }]];
    return row.version;
  } catch {
    throw new PreflightError(
      `the server at ${source.host}:${source.port} has no dolt_version(), so it is not a Dolt sql-server; use --engine mysql for MySQL and MariaDB`,
    );
  }
}

async function dump(run: DumpRun): Promise<DumpOutcome> {
  const { source } = run;
  const extension = EXTENSIONS[run.compression];
  await run.stage({
    name: objectName('grants', undefined, `.sql${extension}`),
    role: 'grants',
    format: 'sql',
    producer: inProcessProducer('reading users and grants', () =>
      sqlScript(GRANTS_SCRIPT, `Safekeep users and grants of Dolt at ${source.host}:${source.port}`, () =>
        usersAndGrants(source),
      ),
    ),
    completeness: scriptCompleteness(GRANTS_SCRIPT),
  });
  const outcome = await stageBranchControlAndBackUp(run, server, branchControl);
  const { serverDir, serverConfig, doltRoot } = run.dolt;
  if (serverDir) await stageServerFiles(run, { serverDir, serverConfig, doltRoot });
  return outcome;
}

/**
 * CREATE USER and GRANT statements for every account. Dolt has no SHOW CREATE USER, and mysqldump cannot
 * read Dolt's `mysql` tables (it dumps their definitions without rows), so the statements are built from
 * `mysql.user` and SHOW GRANTS. IF NOT EXISTS leaves accounts the target already has untouched.
 */
async function usersAndGrants(source: DatabaseEndpoint): Promise<string[]> {
  return withMysql(source, undefined, async (db) => {
    const [accounts] = (await db.query(
      'SELECT User AS user, Host AS host, plugin, authentication_string AS hash, account_locked AS locked FROM mysql.user ORDER BY User, Host',
    )) as unknown as [{ user: string; host: string; plugin: string; hash: string | null; locked: string }[]];
    const out: string[] = [];
    for (const account of accounts) {
      if (SYSTEM_ACCOUNTS.test(account.user)) continue;
      const name = `${db.escape(account.user)}@${db.escape(account.host)}`;
      const identified =
        account.hash && /^[a-z0-9_]+$/.test(account.plugin)
          ? ` IDENTIFIED WITH ${account.plugin} AS ${db.escape(account.hash)}`
          : '';
      out.push(`CREATE USER IF NOT EXISTS ${name}${identified}${account.locked === 'Y' ? ' ACCOUNT LOCK' : ''}`);
      const [grants] = (await db.query(`SHOW GRANTS FOR ${name}`)) as unknown as [Record<string, string>[]];
      for (const grant of grants) {
        const statement = Object.values(grant)[0];
        if (statement) out.push(statement);
      }
    }
    return out;
  });
}

async function branchControl(source: DatabaseEndpoint, database: string | undefined): Promise<string[]> {
  if (database === undefined) return [];
  return withMysql(source, database, async (db) => {
    const out: string[] = [];
    for (const table of BRANCH_TABLES) {
      const [rows] = (await db.query(`SELECT * FROM ${table}`)) as unknown as [Record<string, string>[]];
      for (const row of rows) {
        const columns = Object.keys(row).map((column) => `\`${column}\``);
        out.push(
          `REPLACE INTO ${table} (${columns.join(', ')}) VALUES (${Object.values(row)
            .map((v) => db.escape(v))
            .join(', ')})`,
        );
      }
    }
    return out;
  });
}

async function verify(request: VerifyRequest) {
  const checked = await verifyStoredObjects(request);
  for (const entry of doltEntries(request)) {
    request.log.info('restoring into a scratch directory with the dolt CLI', { database: entry.database });
    await checkWithDoltCli(entry, request);
    checked.push(entry.url);
  }
  return { checked };
}

export const doltEngine: DatabaseEngine = {
  engine: 'dolt',
  preflight,
  dump,
  restore: (request) => restoreDatabase(request, server),
  verify,
};
