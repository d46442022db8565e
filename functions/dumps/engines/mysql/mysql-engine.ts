/**
 * MySQL and MariaDB: mysqldump (or mariadb-dump) per database in one consistent InnoDB snapshot
 * (--single-transaction), with routines, triggers, events and binary columns as hex; plus users and grants
 * as replayable SQL. Databases are dumped without CREATE DATABASE/USE, so they restore under any name.
 */

import { Readable } from 'node:stream';
import { objectName } from '../../../contracts/artifact-layout.ts';
import { PreflightError, RestoreError, UsageError } from '../../../contracts/errors.ts';
import type { ManifestObject } from '../../../contracts/manifest.ts';
import { EXTENSIONS } from '../../../contracts/manifest.ts';
import { runTool, spawnProducer } from '../../adapters/child-process.ts';
import { inProcessProducer } from '../../commit/in-process-producer.ts';
import type { Producer } from '../../commit/producer.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import { databasesToDump } from '../databases.ts';
import type { DatabaseEngine, DumpRun, RestoreRequest, SourceFacts, VerifyRequest } from '../engine.ts';
import { GRANTS_SCRIPT, scriptCompleteness, sqlScript } from '../sql-script.ts';
import { checkStoredObject, compareRowCounts } from '../stored-object-check.ts';
import { clientOptionsFile, quoteName, withMysql } from './connection.ts';
import { MysqldumpCheck } from './dump-check.ts';
import { type DumpTool, dumpTool, mysqlClient } from './tools.ts';

const SYSTEM_DATABASES = ['information_schema', 'performance_schema', 'mysql', 'sys'];
/** Accounts the server manages itself; recreating them elsewhere breaks that server. */
const SYSTEM_ACCOUNTS = /^(mysql\.(sys|session|infoschema)|mariadb\.sys|rdsadmin|rdsrepladmin)$/;

async function preflight(source: DatabaseEndpoint): Promise<SourceFacts> {
  const tool = await dumpTool();
  const server = await withMysql(source, undefined, async (db) => {
    const [[row]] = (await db.query('SELECT VERSION() AS version')) as unknown as [[{ version: string }]];
    const [rows] = (await db.query('SHOW DATABASES')) as unknown as [{ Database: string }[]];
    return { version: row.version, names: rows.map((r) => r.Database).filter((name) => !SYSTEM_DATABASES.includes(name)) };
  });
  const serverIsMariaDb = /mariadb/i.test(server.version);
  if (!serverIsMariaDb && tool.flavor === 'mysql' && compareVersions(tool.version, server.version) < 0) {
    throw new PreflightError(
      `mysqldump ${tool.version} is older than the server (MySQL ${server.version}); install a MySQL client at least as new (OpenMetadata asks for 8.3+), or point SAFEKEEP_MYSQLDUMP at one`,
    );
  }
  return {
    serverVersion: server.version,
    client: { tool: tool.flavor === 'mariadb' ? 'mariadb-dump' : 'mysqldump', version: tool.version },
    databases: databasesToDump(source, source.engine, server.names),
    flags: { serverIsMariaDb },
  };
}

/** Flags every database dump gets; see the file comment. */
function dumpArguments(tool: DumpTool, serverIsMariaDb: boolean, optionsFile: string, database: string): string[] {
  const args = [
    `--defaults-extra-file=${optionsFile}`, // must come first
    '--single-transaction',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--no-tablespaces', // needs PROCESS, which managed servers withhold; tablespaces are not data
    '--default-character-set=utf8mb4',
    '--quick',
    '--comments', // the "-- Dump completed" trailer is how we know the dump is whole
  ];
  if (tool.flavor === 'mysql') {
    // GTID statements need SUPER on restore; column statistics do not exist on MariaDB servers.
    args.push('--set-gtid-purged=OFF');
    if (serverIsMariaDb) args.push('--column-statistics=0');
  }
  args.push('--', database);
  return args;
}

async function dump(run: DumpRun): Promise<Record<string, never>> {
  const { source, compression, timeoutMs } = run;
  const tool = await dumpTool();
  const extension = EXTENSIONS[compression];
  const options = await clientOptionsFile(source, tool.flavor);
  try {
    await run.stage({
      name: objectName('grants', undefined, `.sql${extension}`),
      role: 'grants',
      format: 'sql',
      producer: inProcessProducer('reading users and grants', () =>
        sqlScript(GRANTS_SCRIPT, `Safekeep users and grants of ${source.host}:${source.port}`, () => usersAndGrants(source)),
      ),
      completeness: scriptCompleteness(GRANTS_SCRIPT),
    });
    for (const database of run.facts.databases) {
      run.log.info('dumping database', { database });
      await run.stage({
        name: objectName('database', database, `.sql${extension}`),
        role: 'database',
        database,
        format: 'sql',
        producer: withPreamble(
          spawnProducer({
            command: tool.path,
            args: dumpArguments(tool, run.facts.flags?.serverIsMariaDb ?? false, options.path, database),
            secrets: [source.password],
            timeoutMs,
            description: `${tool.flavor === 'mariadb' ? 'mariadb-dump' : 'mysqldump'} of ${database}`,
          }),
          await databaseDefaults(source, database),
        ),
        // One pass: the trailer, and the rows of every table for the manifest.
        completeness: new MysqldumpCheck('mysqldump\'s "-- Dump completed" trailer'),
      });
    }
  } finally {
    await options.dispose();
  }
  return {};
}

/**
 * The database's default character set and collation as a statement that opens its dump. Without a name,
 * ALTER DATABASE applies to the database the dump is replayed into (`mysql --database=...`), so they come
 * back under any name, new or in place, before the first table or routine is created.
 */
async function databaseDefaults(source: DatabaseEndpoint, database: string): Promise<string> {
  const [rows] = await withMysql(source, undefined, (db) =>
    db.query(
      'SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [database],
    ),
  );
  const row = (rows as { charset?: string; collation?: string }[])[0];
  const word = /^[A-Za-z0-9_]+$/;
  if (!row?.charset || !row.collation || !word.test(row.charset) || !word.test(row.collation)) return '';
  return `-- Safekeep: the database's own defaults, for whichever database this is restored into\nALTER DATABASE CHARACTER SET ${row.charset} COLLATE ${row.collation};\n`;
}

/** `producer` with `text` in front of its output. */
function withPreamble(producer: Producer, text: string): Producer {
  if (!text) return producer;
  async function* output() {
    yield Buffer.from(text, 'utf8');
    for await (const chunk of producer.stdout) yield chunk as Buffer;
  }
  return { ...producer, stdout: Readable.from(output(), { objectMode: false }), kill: () => producer.kill() };
}

/** CREATE USER and GRANT statements for every non-system account, replayable on another server. */
async function usersAndGrants(source: DatabaseEndpoint): Promise<string[]> {
  return withMysql(source, undefined, async (db) => {
    const [accounts] = (await db.query('SELECT User AS user, Host AS host FROM mysql.user ORDER BY User, Host')) as unknown as [
      { user: string; host: string }[],
    ];
    const out: string[] = [];
    for (const { user, host } of accounts) {
      if (SYSTEM_ACCOUNTS.test(user) || user === '') continue;
      const account = `${db.escape(user)}@${db.escape(host)}`;
      try {
        out.push(...(await accountStatements(db, account)));
      } catch (error) {
        // e.g. 'root'@'myhost' under --skip-name-resolve: listed in mysql.user, but the server ignores it.
        out.push(`-- skipped ${account}: ${(error as Error).message.replaceAll('\n', ' ')}`);
      }
    }
    out.push('FLUSH PRIVILEGES');
    return out;
  });
}

async function accountStatements(db: import('mysql2/promise').Connection, account: string): Promise<string[]> {
  const out: string[] = [];
  const [created] = (await db.query(`SHOW CREATE USER ${account}`)) as unknown as [Record<string, string>[]];
  const create = Object.values(created[0] ?? {})[0];
  if (create) out.push(create.replace(/^CREATE USER /i, 'CREATE USER IF NOT EXISTS '));
  const [grants] = (await db.query(`SHOW GRANTS FOR ${account}`)) as unknown as [Record<string, string>[]];
  for (const grant of grants) {
    const statement = Object.values(grant)[0];
    // The password is already in CREATE USER; old servers repeat it in the GRANT.
    if (statement) out.push(statement.replace(/ IDENTIFIED BY PASSWORD '[^']*'/i, ''));
  }
  return out;
}

async function restore(request: RestoreRequest) {
  if (request.swap) {
    throw new UsageError(
      'MySQL cannot rename a database, so --swap is not available; restore into a new name and point the application at it',
    );
  }
  const object = request.manifest.objects.find((o) => o.role === 'database' && o.database === request.sourceDatabase);
  if (!object) throw new RestoreError(`the backup has no database "${request.sourceDatabase}"`, 2);
  const { target, targetDatabase } = request;
  await withMysql(target, undefined, async (db) => {
    const [tables] = (await db.query('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [
      targetDatabase,
    ])) as unknown as [{ n: string }[]];
    const count = Number(tables[0]?.n ?? 0);
    if (count > 0 && !request.force) {
      throw new RestoreError(
        `database "${targetDatabase}" is not empty (${count} tables); restore into a new name or pass --force`,
        2,
      );
    }
    await db.query(`CREATE DATABASE IF NOT EXISTS ${quoteName(targetDatabase)} DEFAULT CHARACTER SET utf8mb4`);
  });
  const client = await mysqlClient();
  const options = await clientOptionsFile(target, client.flavor);
  try {
    if (request.withGlobals) {
      const grants = request.manifest.objects.find((o) => o.role === 'grants');
      // Accounts that already exist are skipped (IF NOT EXISTS); --force keeps going past grants the server refuses.
      if (grants) await replay(request, client.path, grants, options.path, ['--force'], 'applying users and grants');
    }
    await replay(
      request,
      client.path,
      object,
      options.path,
      [`--database=${targetDatabase}`],
      `restoring into ${targetDatabase}`,
    );
  } finally {
    await options.dispose();
  }
  const tables = await withMysql(target, targetDatabase, async (db) => {
    const [rows] = (await db.query(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    )) as unknown as [{ n: string }[]];
    return Number(rows[0]?.n ?? 0);
  });
  return { database: targetDatabase, tables };
}

async function replay(
  request: RestoreRequest,
  client: string,
  object: ManifestObject,
  optionsFile: string,
  extra: string[],
  what: string,
): Promise<void> {
  const { exit } = await runTool(
    {
      command: client,
      args: [
        `--defaults-extra-file=${optionsFile}`,
        '--binary-mode',
        '--default-character-set=utf8mb4',
        '--max-allowed-packet=1G',
        ...extra,
      ],
      secrets: [request.target.password],
      timeoutMs: request.timeoutMs,
      description: what,
    },
    await request.openVerified(object),
  );
  if (exit.code !== 0) throw new RestoreError(`${what} failed (${exit.stderrTail || `exit code ${exit.code}`})`);
}

async function verify(request: VerifyRequest) {
  const checked: string[] = [];
  for (const object of request.manifest.objects) {
    const check =
      object.role === 'grants' ? scriptCompleteness(GRANTS_SCRIPT) : new MysqldumpCheck('the "-- Dump completed" trailer');
    const { rowCounts } = await checkStoredObject(await request.openVerified(object), check);
    if (object.role !== 'grants') compareRowCounts(object, rowCounts ?? {});
    checked.push(object.key);
  }
  return { checked };
}

/** Numeric comparison of dotted versions, ignoring suffixes such as "-MariaDB" or "-log". */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => (/^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v)?.slice(1) ?? []).map((n) => Number(n ?? 0));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    const diff = (x[i] ?? 0) - (y[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export const mysqlEngine: DatabaseEngine = { engine: 'mysql', preflight, dump, restore, verify };
