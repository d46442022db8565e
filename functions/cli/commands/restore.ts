import { UsageError } from '../../contracts/errors.ts';
import { ENGINES, type Engine } from '../../contracts/manifest.ts';
import { manifestLocation } from '../../dumps/read-artifacts.ts';
import { runRestore } from '../../dumps/restore.ts';
import { credentialsFromEnvironment, parseDatabaseUrl } from '../../dumps/source.ts';
import type { CliContext } from '../context.ts';
import { parseDuration, parseFlags, required } from '../flags.ts';
import { cliLogger } from '../output.ts';

export async function restoreCommand(args: string[], context: CliContext): Promise<number> {
  const { values } = parseFlags(args, {
    from: { type: 'string' },
    target: { type: 'string' },
    database: { type: 'string' },
    swap: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    'with-globals': { type: 'boolean', default: false },
    secret: { type: 'string' },
    timeout: { type: 'string', default: '4h' },
  });
  const { bucket, key } = manifestLocation(
    required(values.from, '--from', 's3://my-backups/orders-db/2026/11/21/<run-id>/manifest.json'),
  );
  const targetUrl = required(values.target, '--target', 'postgres://user@host:5432/metadb_restored');
  const engine = engineOfUrl(targetUrl);
  const fromSecret = values.secret ? await context.readSecret(values.secret) : {};
  const fromEnvironment = credentialsFromEnvironment(engine, context.env);
  const target = parseDatabaseUrl(targetUrl, engine, '--target', {
    username: fromEnvironment.username ?? fromSecret.username,
    password: fromEnvironment.password ?? fromSecret.password,
  });
  const outcome = await runRestore(
    {
      manifestKey: key,
      target,
      sourceDatabase: values.database,
      force: values.force ?? false,
      swap: values.swap ?? false,
      withGlobals: values['with-globals'] ?? false,
      timeoutMs: parseDuration(values.timeout ?? '4h', '--timeout'),
      endpointUrl: values['endpoint-url'],
    },
    { store: context.openStore(bucket, values['endpoint-url']), log: cliLogger(context.terminal, values.verbose ?? false) },
  );
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, ...outcome })}\n`);
  } else {
    const previous = outcome.previousDatabase
      ? `; the previous database is now "${outcome.previousDatabase}" (drop it once you are satisfied)`
      : '';
    context.terminal.stdout.write(
      `restored run ${outcome.runId} into "${outcome.database}"${outcome.tables !== undefined ? ` (${outcome.tables} tables)` : ''}${previous}\n`,
    );
  }
  return 0;
}

/** The restore target's engine follows from its URL scheme. */
function engineOfUrl(url: string): Engine {
  const scheme = /^([a-z]+):\/\//.exec(url)?.[1] ?? '';
  const engine = (
    {
      postgres: 'postgres',
      postgresql: 'postgres',
      mysql: 'mysql',
      mariadb: 'mysql',
      dolt: 'dolt',
      doltgres: 'doltgres',
    } as const
  )[scheme as 'postgres'];
  if (!engine || !ENGINES.includes(engine)) {
    throw new UsageError(`--target must start with postgres://, mysql://, mariadb://, dolt:// or doltgres://, got "${url}"`);
  }
  return engine;
}
