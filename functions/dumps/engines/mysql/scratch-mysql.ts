/**
 * A throwaway MySQL or MariaDB server for the restore drill, in a temporary directory on 127.0.0.1 at a free
 * port. A backup of MariaDB restores into MariaDB (`mariadb-install-db`, `mariadbd`); a backup of MySQL into
 * MySQL when a `mysqld` is at hand (SAFEKEEP_MYSQLD), otherwise into MariaDB, and the drill's result says so.
 * The drill logs in as its own account, so replaying the backup's users and grants cannot lock it out.
 */
import { existsSync } from 'node:fs';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PreflightError } from '../../../contracts/errors.ts';
import { runTool, spawnProducer } from '../../adapters/child-process.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import {
  freePort,
  type RunAs,
  runAsFor,
  type ScratchServer,
  scratchDir,
  scratchPassword,
  scratchServerOf,
  whenReady,
} from '../scratch-server.ts';
import { withMysql } from './connection.ts';

type Environment = Readonly<Record<string, string | undefined>>;

const DRILL_USER = 'safekeep_drill';

/** The server a backup from `sourceVersion` (its `SELECT VERSION()`) is drilled on. */
export function scratchFlavor(
  sourceVersion: string,
  env: Environment = process.env,
): { flavor: 'mysql' | 'mariadb'; note?: string } {
  if (/mariadb/i.test(sourceVersion)) {
    if (env.SAFEKEEP_MARIADBD || onPath('mariadbd', env) || !env.SAFEKEEP_MYSQLD) return { flavor: 'mariadb' };
    return {
      flavor: 'mysql',
      note: `MySQL stood in for MariaDB ${sourceVersion} (no mariadbd here; install the MariaDB server to drill on MariaDB itself)`,
    };
  }
  if (env.SAFEKEEP_MYSQLD) return { flavor: 'mysql' };
  return {
    flavor: 'mariadb',
    note: `MariaDB stood in for MySQL ${sourceVersion} (no mysqld here; set SAFEKEEP_MYSQLD to drill on MySQL itself)`,
  };
}

export async function startScratchMysql(sourceVersion: string, env: Environment = process.env): Promise<ScratchServer> {
  const { flavor, note } = scratchFlavor(sourceVersion, env);
  const runAs = runAsFor('mysql', env);
  const dir = await scratchDir('mysql-drill', runAs);
  try {
    const password = scratchPassword();
    const data = join(dir.path, 'data');
    const tmp = join(dir.path, 'tmp');
    await mkdir(tmp);
    if (runAs) await chown(tmp, runAs.uid, runAs.gid);
    const user = runAs ? ['--user=mysql'] : [];
    const mysqld = flavor === 'mysql' ? (env.SAFEKEEP_MYSQLD as string) : (env.SAFEKEEP_MARIADBD ?? 'mariadbd');
    const install =
      flavor === 'mysql'
        ? { command: mysqld, args: ['--no-defaults', ...user, `--datadir=${data}`, `--tmpdir=${tmp}`, '--initialize-insecure'] }
        : {
            command: env.SAFEKEEP_MARIADB_INSTALL_DB ?? 'mariadb-install-db',
            args: ['--no-defaults', ...user, `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
          };
    const installed = await runTool({ ...install, timeoutMs: 180_000, description: `initializing the scratch ${flavor} server` });
    if (installed.exit.code !== 0) {
      throw new PreflightError(
        `initializing the scratch ${flavor === 'mysql' ? 'MySQL' : 'MariaDB'} server failed (${installed.exit.stderrTail || `exit code ${installed.exit.code}`}); install ${flavor === 'mysql' ? 'MySQL (SAFEKEEP_MYSQLD)' : 'the MariaDB server'}`,
      );
    }
    // The drill's own account, made at startup from a 0600 file that is removed once the server listens.
    const initFile = join(dir.path, 'init.sql');
    await writeFile(
      initFile,
      `CREATE USER IF NOT EXISTS '${DRILL_USER}'@'127.0.0.1' IDENTIFIED BY '${password}';\nGRANT ALL PRIVILEGES ON *.* TO '${DRILL_USER}'@'127.0.0.1' WITH GRANT OPTION;\n`,
      { mode: 0o600 },
    );
    await own(runAs, initFile);
    const port = await freePort();
    const server = spawnProducer({
      command: mysqld,
      args: [
        '--no-defaults',
        ...user,
        `--datadir=${data}`,
        `--tmpdir=${tmp}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir.path, 'mysqld.sock')}`,
        `--pid-file=${join(dir.path, 'mysqld.pid')}`,
        '--skip-name-resolve',
        `--init-file=${initFile}`,
        '--innodb-flush-log-at-trx-commit=0',
        '--max-allowed-packet=1G',
        ...(flavor === 'mysql' ? ['--mysqlx=OFF', '--skip-log-bin', '--secure-file-priv=NULL'] : []),
      ],
      description: `the scratch ${flavor} server`,
    });
    return await scratchServerOf(
      server,
      dir,
      { port, what: `the scratch ${flavor === 'mysql' ? 'MySQL' : 'MariaDB'} server`, hint: 'check its installation' },
      async () => {
        const endpoint: DatabaseEndpoint = {
          engine: 'mysql',
          host: '127.0.0.1',
          port,
          user: DRILL_USER,
          password,
          databases: [],
          // MySQL's caching_sha2_password wants TLS (or an RSA key exchange) and MySQL makes itself a certificate
          // at startup; on loopback there is no name to verify it against.
          tls: { mode: flavor === 'mysql' ? 'require' : 'disable' },
        };
        const version = await whenReady(() =>
          withMysql(endpoint, undefined, async (db) => {
            const [[row]] = (await db.query('SELECT VERSION() AS version')) as unknown as [[{ version: string }]];
            return row.version;
          }),
        );
        await rm(initFile, { force: true });
        return {
          endpoint,
          engine: flavor === 'mysql' ? 'MySQL' : 'MariaDB',
          serverVersion: version,
          ...(note ? { note } : {}),
        };
      },
    );
  } catch (error) {
    await dir.dispose();
    throw error;
  }
}

function onPath(command: string, env: Environment): boolean {
  return (env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}

async function own(runAs: RunAs | undefined, path: string): Promise<void> {
  if (runAs) await chown(path, runAs.uid, runAs.gid);
}
