import { UsageError } from '../../contracts/errors.ts';
import { ENGINE_NAMES, type Engine } from '../../contracts/manifest.ts';
import { restoreServerDir } from '../../dumps/engines/dolt/server-dir.ts';
import { RESTORE_RECIPES, type RestoreRecipe } from '../../dumps/engines/engine.ts';
import { manifestLocation } from '../../dumps/read-artifacts.ts';
import { runRestore } from '../../dumps/restore.ts';
import { credentialsFromEnvironment, parseDatabaseUrl, withTls } from '../../dumps/source.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { parseDuration, required } from '../flags.ts';
import { PASSWORDS_NOTE } from '../help.ts';
import { cliLogger } from '../output.ts';
import { TLS_FLAGS, tlsChoice } from '../tls-flags.ts';
import { isSnapshotRestore, refuseSnapshotFlags, restoreFromSnapshot, SNAPSHOT_RESTORE_FLAGS } from './restore-snapshot.ts';

const RESTORE_FLAGS = {
  from: { type: 'string', placeholder: 's3://.../manifest.json', description: 'the dump backup, by its manifest' },
  'version-id': {
    type: 'string',
    placeholder: 'ID',
    description: 'restore a pruned backup: the manifest version safekeep list --all shows',
  },
  target: {
    type: 'string',
    placeholder: 'URL|NAME',
    description:
      'with --from: the database to restore into (postgres://app@db:5432/metadb_restored); with --snapshot/--latest: the snapshot target',
  },
  database: { type: 'string', placeholder: 'NAME', description: 'which database of the backup, when it holds several' },
  swap: {
    type: 'boolean',
    default: false,
    description: 'restore into a temporary database, then rename it into place (keeps the old one)',
  },
  force: { type: 'boolean', default: false, description: 'restore into a database that already has tables' },
  'with-globals': { type: 'boolean', default: false, description: 'also replay roles (PostgreSQL) or users and grants (MySQL)' },
  recipe: {
    type: 'string',
    placeholder: RESTORE_RECIPES.join('|'),
    description: "the system's own restore steps too: bytebase rewrites migration_history.namespace to the new name",
  },
  secret: { type: 'string', placeholder: 'ID', description: 'a Secrets Manager secret holding the username and password' },
  timeout: { type: 'string', default: '4h', placeholder: 'DURATION', description: 'give up after this long (90s, 30m, 4h)' },
  'server-dir': {
    type: 'string',
    placeholder: 'DIR',
    description:
      'Dolt, instead of --target: rebuild a whole sql-server into this empty data directory (a backup taken with --server-dir)',
  },
  'server-config': {
    type: 'string',
    placeholder: 'FILE',
    description: "with --server-dir: where to write the sql-server's YAML file",
  },
  'dolt-root': {
    type: 'string',
    placeholder: 'DIR',
    description: 'with --server-dir: where to write the global .dolt (DOLT_ROOT_PATH)',
  },
  ...TLS_FLAGS,
  ...SNAPSHOT_RESTORE_FLAGS,
} as const satisfies FlagDefinitions;

export const restoreCommand = defineCommand({
  name: 'restore',
  summary: 'restore a backup into a new database, or swap it into place; or a snapshot into a new resource',
  usage: [
    'safekeep restore --from s3://.../manifest.json --target URL [options]',
    'safekeep restore --snapshot ID|--latest --target NAME --config FILE --as NEW [--availability-zone AZ] [--wait] [options]',
  ],
  flags: RESTORE_FLAGS,
  notes: [
    PASSWORDS_NOTE,
    [
      '--target is a database URL with --from, and a snapshot target of --config with --snapshot or --latest.',
      'A snapshot restore makes a new RDS instance, Aurora cluster (plus its writer <as>-writer) or EBS volumes',
      '(an EC2 instance: <as>-<volume id> for every volume of the run), never touches the source, and refuses an',
      '--as that exists. It uses your AWS credentials; what it makes is yours, billed until you delete it.',
    ].join('\n'),
  ],
  examples: [
    'safekeep restore --from s3://my-backups/bytebase-meta/2026/11/21/<run-id>/manifest.json --target postgres://app@db:5432/metadb_restored',
    'safekeep restore --from s3://my-backups/bytebase-meta/2026/11/21/<run-id>/manifest.json --target postgres://app@db:5432/metadb --swap',
    'safekeep restore --from s3://my-backups/bytebase-meta/2026/11/21/<run-id>/manifest.json --target postgres://app@db:5432/metadb2 --recipe bytebase',
    'safekeep restore --from s3://my-backups/bytebase-meta/2026/11/21/<run-id>/manifest.json --version-id <id> --target postgres://app@db:5432/metadb_restored',
    'safekeep restore --latest --config safekeep.config.yaml --target openmetadata-rds --as openmetadata-rds-restored --wait',
    'safekeep restore --snapshot <run-id> --config safekeep.config.yaml --target build-host --as build-host-restored --availability-zone eu-west-1a',
    'safekeep restore --latest --config safekeep.config.yaml --target orders-db --region eu-central-1 --as orders-db-dr',
  ],
  run: restore,
});

async function restore({ values }: ParsedArgs<typeof RESTORE_FLAGS>, context: CliContext): Promise<number> {
  if (isSnapshotRestore(values)) return restoreFromSnapshot(values, context);
  refuseSnapshotFlags(values);
  const { bucket, key } = manifestLocation(
    required(values.from, '--from', 's3://my-backups/orders-db/2026/11/21/<run-id>/manifest.json'),
  );
  const serverDir = values['server-dir'];
  if (serverDir) {
    const rebuilt = await restoreServerDir(
      {
        manifestKey: key,
        manifestVersionId: values['version-id'],
        serverDir,
        serverConfig: values['server-config'],
        doltRoot: values['dolt-root'],
        endpointUrl: values['endpoint-url'],
        timeoutMs: parseDuration(values.timeout, '--timeout'),
      },
      { store: context.openStore(bucket, values['endpoint-url']), log: cliLogger(context.terminal, values.verbose ?? false) },
    );
    context.terminal.stdout.write(
      values.json
        ? `${JSON.stringify({ ok: true, ...rebuilt })}\n`
        : `rebuilt the server of run ${rebuilt.runId} in ${serverDir}: ${rebuilt.databases.join(', ')} and ${rebuilt.files} server files; start it with dolt sql-server\n`,
    );
    return 0;
  }
  const targetUrl = required(values.target, '--target', 'postgres://user@host:5432/metadb_restored');
  const engine = engineOfUrl(targetUrl);
  const fromSecret = values.secret ? await context.readSecret(values.secret) : {};
  const fromEnvironment = credentialsFromEnvironment(engine, context.env);
  const tls = tlsChoice(values);
  const target = withTls(
    parseDatabaseUrl(targetUrl, engine, '--target', {
      username: fromEnvironment.username ?? fromSecret.username,
      password: fromEnvironment.password ?? fromSecret.password,
    }),
    tls.mode,
    tls.ca,
  );
  const outcome = await runRestore(
    {
      manifestKey: key,
      manifestVersionId: values['version-id'],
      target,
      sourceDatabase: values.database,
      force: values.force,
      swap: values.swap,
      withGlobals: values['with-globals'],
      recipe: recipeOf(values.recipe),
      timeoutMs: parseDuration(values.timeout, '--timeout'),
      endpointUrl: values['endpoint-url'],
    },
    { store: context.openStore(bucket, values['endpoint-url']), log: cliLogger(context.terminal, values.verbose ?? false) },
  );
  for (const line of outcome.warnings ?? []) context.terminal.stderr.write(`safekeep: warning: ${line}\n`);
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, ...outcome })}\n`);
  } else {
    const previous = outcome.previousDatabase
      ? `; the previous database is now "${outcome.previousDatabase}" (drop it once you are satisfied)`
      : '';
    const namespace =
      outcome.namespaceRewritten !== undefined
        ? `; migration_history: ${outcome.namespaceRewritten} row(s) now name "${outcome.database}"`
        : '';
    context.terminal.stdout.write(
      `restored run ${outcome.runId} into "${outcome.database}"${outcome.tables !== undefined ? ` (${outcome.tables} tables)` : ''}${namespace}${previous}\n`,
    );
  }
  return 0;
}

function recipeOf(value: string | undefined): RestoreRecipe | undefined {
  if (value === undefined) return undefined;
  if (!RESTORE_RECIPES.includes(value as RestoreRecipe)) {
    throw new UsageError(`--recipe must be one of ${RESTORE_RECIPES.join(', ')}, got "${value}"`);
  }
  return value as RestoreRecipe;
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
  if (!engine || !ENGINE_NAMES.includes(engine)) {
    throw new UsageError(`--target must start with postgres://, mysql://, mariadb://, dolt:// or doltgres://, got "${url}"`);
  }
  return engine;
}
