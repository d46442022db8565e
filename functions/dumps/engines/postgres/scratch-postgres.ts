/**
 * A throwaway PostgreSQL server for the restore drill: `initdb` into a temporary directory, then `postgres`
 * on 127.0.0.1 at a free port, at the newest major this machine carries (pg_restore restores archives of
 * older servers into newer ones, never the reverse). The Fargate image installs the server package beside
 * the client tools (functions/cli/container/Dockerfile); SAFEKEEP_PG_SERVER_BIN points elsewhere.
 */
import { existsSync, readdirSync } from 'node:fs';
import { chown, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PreflightError } from '../../../contracts/errors.ts';
import { runTool, spawnProducer } from '../../adapters/child-process.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import {
  freePort,
  runAsFor,
  type ScratchServer,
  scratchDir,
  scratchPassword,
  scratchServerOf,
  whenReady,
} from '../scratch-server.ts';
import { withPostgres } from './connection.ts';

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Not `postgres`: a backup's globals (pg_dumpall --globals-only) set the password of the source's `postgres`
 * role, which would lock the drill out of its own server.
 */
const SUPERUSER = 'safekeep_drill';

const hasServer = (bin: string) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'));

/** The directory holding `initdb` and `postgres`: SAFEKEEP_PG_SERVER_BIN, SAFEKEEP_PG_BIN, or the newest installed major. */
export function pgServerBin(env: Environment = process.env): string {
  if (env.SAFEKEEP_PG_SERVER_BIN) return env.SAFEKEEP_PG_SERVER_BIN;
  if (env.SAFEKEEP_PG_BIN && hasServer(env.SAFEKEEP_PG_BIN)) return env.SAFEKEEP_PG_BIN;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && hasServer(join(root, name, 'bin')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!majors[0]) {
    throw new PreflightError(
      'a PostgreSQL drill needs the server binaries (initdb, postgres) and none are installed; install the postgresql package of the newest major or set SAFEKEEP_PG_SERVER_BIN',
    );
  }
  return join(root, majors[0], 'bin');
}

export async function startScratchPostgres(env: Environment = process.env): Promise<ScratchServer> {
  const bin = pgServerBin(env);
  const runAs = runAsFor('postgres', env);
  const dir = await scratchDir('pg-drill', runAs);
  try {
    const password = scratchPassword();
    const pwfile = join(dir.path, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
    const init = await runTool({
      command: join(bin, 'initdb'),
      args: [
        `--pgdata=${join(dir.path, 'data')}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ],
      ...runAs,
      secrets: [password],
      timeoutMs: 120_000,
      description: 'initdb of the scratch PostgreSQL server',
    });
    await rm(pwfile, { force: true });
    if (init.exit.code !== 0) {
      throw new PreflightError(
        `initdb of the scratch PostgreSQL server failed (${init.exit.stderrTail || `exit code ${init.exit.code}`}); check ${bin}`,
      );
    }
    const port = await freePort();
    // fsync off: the server lives for one drill; nothing it writes outlives it.
    const server = spawnProducer({
      command: join(bin, 'postgres'),
      args: [
        '-D',
        join(dir.path, 'data'),
        '-p',
        String(port),
        '-k',
        dir.path,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      ...runAs,
      description: 'the scratch PostgreSQL server',
    });
    return await scratchServerOf(
      server,
      dir,
      { port, what: 'the scratch PostgreSQL server', hint: `check the binaries in ${bin}` },
      async () => {
        const endpoint: DatabaseEndpoint = {
          engine: 'postgres',
          host: '127.0.0.1',
          port,
          user: SUPERUSER,
          password,
          databases: [],
          tls: { mode: 'disable' },
        };
        const version = await whenReady(() =>
          withPostgres(
            endpoint,
            'postgres',
            async (db) =>
              String((await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '').split(
                ' ',
              )[0] ?? '',
          ),
        );
        return { endpoint, engine: 'PostgreSQL', serverVersion: version };
      },
    );
  } catch (error) {
    await dir.dispose();
    throw error;
  }
}
