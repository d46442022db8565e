/**
 * Doltgres's completeness check of a stored backup. The dolt CLI cannot do it: `dolt backup restore` copies
 * a Doltgres backup's files, but the result does not open ("table has unknown fields") and `dolt fsck`
 * stops at "cannot walk a Doltgres root value from within Dolt". So `verify` starts a throwaway Doltgres
 * server on 127.0.0.1 with an empty data directory and a random password, restores each database into it
 * with `dolt_backup('restore', ...)` (reading S3 and DynamoDB as a real restore would), compares branch
 * heads, tags and dirty branches with the manifest, and opens every table on every branch.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError } from '../../../contracts/errors.ts';
import type { DoltDatabaseManifest } from '../../../contracts/manifest.ts';
import { spawnProducer } from '../../adapters/child-process.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import type { VerifyRequest } from '../engine.ts';
import { withPostgres } from '../postgres/connection.ts';
import { freePort, type ScratchServer, scratchPassword, scratchServerOf } from '../scratch-server.ts';
import { carryAndCompare } from './doltgres-inventory.ts';
import { pgSession } from './pg-session.ts';
import { assertRefsMatch, readRefs } from './refs.ts';
import { awsToolEnvironment, doltgresBinary, scratchDirectory } from './tools.ts';

export async function checkWithScratchDoltgres(entries: readonly DoltDatabaseManifest[], request: VerifyRequest): Promise<void> {
  const scratch = await startScratchDoltgres(request.endpointUrl, 'doltgres-verify');
  try {
    for (const [index, entry] of entries.entries()) await checkOne(scratch.endpoint, `verify_${index}`, entry);
  } finally {
    await scratch.stop();
  }
}

/**
 * An empty Doltgres server on 127.0.0.1 in a temporary directory, with a random superuser password and our
 * AWS settings (it reads the backup from S3 and DynamoDB itself, as a real restore would).
 */
export async function startScratchDoltgres(endpointUrl: string | undefined, purpose: string): Promise<ScratchServer> {
  const scratch = await scratchDirectory(purpose);
  try {
    const port = await freePort();
    const password = scratchPassword();
    const config = join(scratch.path, 'config.yaml');
    await writeFile(
      config,
      `log_level: warning\ndata_dir: ${join(scratch.path, 'data')}\ncfg_dir: ${join(scratch.path, 'data', '.doltcfg')}\nlistener:\n  host: 127.0.0.1\n  port: ${port}\n`,
    );
    const aws = awsToolEnvironment(endpointUrl);
    // Doltgres creates its superuser from DOLTGRES_USER/DOLTGRES_PASSWORD on first start.
    const server = spawnProducer({
      command: doltgresBinary(),
      args: ['--config', config],
      env: { ...aws.env, DOLT_ROOT_PATH: scratch.home, DOLTGRES_USER: 'postgres', DOLTGRES_PASSWORD: password },
      secrets: [...aws.secrets, password],
      cwd: scratch.path,
      description: 'a scratch Doltgres server',
    });
    return await scratchServerOf(
      server,
      scratch,
      { port, what: 'the scratch Doltgres server', hint: 'install Doltgres or set SAFEKEEP_DOLTGRES_BIN' },
      async () => {
        const endpoint: DatabaseEndpoint = {
          engine: 'doltgres',
          host: '127.0.0.1',
          port,
          user: 'postgres',
          password,
          databases: [],
        };
        const version = await withPostgres(endpoint, 'postgres', async (db) =>
          String((await db.query<{ version: string }>('SELECT dolt_version() AS version')).rows[0]?.version ?? ''),
        );
        return { endpoint, engine: 'Doltgres', serverVersion: version };
      },
    );
  } catch (error) {
    await scratch.dispose();
    throw error;
  }
}

async function checkOne(endpoint: DatabaseEndpoint, scratchName: string, entry: DoltDatabaseManifest): Promise<void> {
  try {
    await withPostgres(endpoint, 'postgres', (db) => pgSession(db).procedure('dolt_backup', ['restore', entry.url, scratchName]));
  } catch (error) {
    throw new IntegrityError(
      `the backup of "${entry.database}" at ${entry.url} cannot be restored (doltgres: ${(error as Error).message})`,
    );
  }
  await withPostgres(endpoint, scratchName, async (db) => {
    const session = pgSession(db);
    assertRefsMatch(entry, await readRefs(session), `the scratch restore of "${entry.database}"`);
    for (const branch of entry.branches) {
      await session.procedure('dolt_checkout', [branch.name]);
      const tables = await session.rows<{ name: string }>(USER_TABLES);
      for (const { name } of tables) await db.query(`SELECT count(*) FROM ${name}`);
    }
  });
  const { differences } = await carryAndCompare(
    (branch, use) => withPostgres(endpoint, `${scratchName}/${branch}`, (db) => use(pgSession(db))),
    entry.inventory ?? [],
    entry.missing ?? [],
  );
  if (differences.length > 0) {
    throw new IntegrityError(
      `the scratch restore of "${entry.database}" lacks objects the backup recorded: ${differences.slice(0, 5).join('; ')}`,
    );
  }
}

/** Schema-qualified, quoted names of the user tables on the session's branch. */
const USER_TABLES = `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
  WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema', 'dolt')`;
