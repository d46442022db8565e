import { randomBytes } from 'node:crypto';
import { parseS3Url } from '../../contracts/artifact-layout.ts';
import { loadConfigFile } from '../../contracts/config/load.ts';
import {
  type DumpTarget,
  isDumpTarget,
  type SafekeepConfig,
  SINGLE_STREAM_REASONS,
  TARGET_NAME_PATTERN,
} from '../../contracts/config/schema.ts';
import { type Deployment, deployedDumpTarget } from '../../contracts/deployment.ts';
import { TASK_DRILL_VARIABLES } from '../../contracts/drill.ts';
import { UsageError } from '../../contracts/errors.ts';
import { COMPRESSIONS, type Compression, ENGINE_NAMES, type Engine } from '../../contracts/manifest.ts';
import { TASK_RUN_VARIABLES } from '../../contracts/run-payloads.ts';
import { fixedPartSize, MAX_PART_SIZE, MIN_PART_SIZE } from '../../dumps/commit/part-size.ts';
import { type DumpRequest, runDump } from '../../dumps/dump.ts';
import { notHeldBy } from '../../dumps/engines/dolt/backup-notes.ts';
import { engineFor } from '../../dumps/engines/registry.ts';
import { dumpRequestFor } from '../../dumps/request.ts';
import { credentialsFromEnvironment, parseDatabaseUrl, withTls } from '../../dumps/source.ts';
import { deployment } from '../../platform/deployment-loader.ts';
import { taskVcpus } from '../../platform/task-vcpus.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { parseDuration, required } from '../flags.ts';
import { PASSWORDS_NOTE } from '../help.ts';
import { cliLogger, formatBytes, progressLine } from '../output.ts';
import { stopOnSignal } from '../signals.ts';
import { TLS_FLAGS, tlsChoice } from '../tls-flags.ts';
import { drillCommand } from './drill.ts';

const DUMP_FLAGS = {
  engine: { type: 'string', placeholder: ENGINE_NAMES.join('|'), description: 'the database engine (an ad-hoc dump)' },
  source: {
    type: 'string',
    placeholder: 'URL',
    description: 'the database, e.g. postgres://app@db:5432/metadb; a URL naming none backs up every database',
  },
  to: { type: 'string', placeholder: 's3://BUCKET/PREFIX', description: 'where the backup goes' },
  compression: {
    type: 'string',
    placeholder: COMPRESSIONS.join('|'),
    description: "how objects are compressed (default zstd; with --target, the target's)",
  },
  secret: { type: 'string', placeholder: 'ID', description: 'a Secrets Manager secret holding the username and password' },
  timeout: {
    type: 'string',
    placeholder: 'DURATION',
    description: "give up after this long (90s, 30m, 4h; default 4h; with --target, the target's)",
  },
  target: {
    type: 'string',
    placeholder: 'NAME',
    description:
      'the target: alone (inside a deployment) or with --config and --bucket, back up that configured target; with --to, name the backup (default: the last segment of --to)',
  },
  config: { type: 'string', placeholder: 'FILE', description: 'with --target: the Safekeep config that describes it' },
  bucket: { type: 'string', placeholder: 'BUCKET', description: "with --config: the artifact bucket the target's backups go to" },
  'dolt-dynamodb-table': {
    type: 'string',
    placeholder: 'TABLE',
    description: 'Dolt: the DynamoDB table of the aws:// backup remote (or SAFEKEEP_DOLT_DYNAMODB_TABLE)',
  },
  'dolt-url': {
    type: 'string',
    placeholder: 'file:///DIR',
    description: 'Dolt: back up to this remote instead (or SAFEKEEP_DOLT_URL)',
  },
  'allow-missing-objects': {
    type: 'boolean',
    default: false,
    description:
      'Doltgres: back up even when objects its own backup drops cannot be carried (the manifest lists them as missing)',
  },
  'server-dir': {
    type: 'string',
    placeholder: 'DIR',
    description:
      "Dolt: the sql-server's data directory, reachable here: also store its privileges, branch control and each database's .dolt/config.json and repo_state.json",
  },
  'server-config': {
    type: 'string',
    placeholder: 'FILE',
    description: "Dolt, with --server-dir: also store the sql-server's YAML file",
  },
  'dolt-root': {
    type: 'string',
    placeholder: 'DIR',
    description: 'Dolt, with --server-dir: also store DIR/.dolt, the global configuration (DOLT_ROOT_PATH), without its creds',
  },
  parallelism: {
    type: 'string',
    placeholder: 'N',
    description:
      "PostgreSQL: dump each database as N streams of one snapshot, restored in parallel (default 1; with --target, the target's, or the task's vCPUs)",
  },
  'part-size': { type: 'string', placeholder: 'SIZE', description: 'S3 multipart part size, 5MiB to 5GiB (e.g. 64MiB)' },
  'run-id': { type: 'string', placeholder: 'ID', description: 'the run id (or SAFEKEEP_RUN_ID; by default a new one)' },
  ...TLS_FLAGS,
} as const satisfies FlagDefinitions;

export const dumpCommand = defineCommand({
  name: 'dump',
  summary: 'stream a database backup into S3 and record it once it is whole',
  usage: [
    'safekeep dump --engine E --source URL --to s3://BUCKET/PREFIX [options]',
    'safekeep dump --target NAME [--config FILE --bucket BUCKET] [options]',
  ],
  flags: DUMP_FLAGS,
  notes: [PASSWORDS_NOTE],
  examples: [
    'safekeep dump --engine postgres --source postgres://app@db:5432/metadb --to s3://my-backups/bytebase-meta',
    'safekeep dump --engine mysql --source mysql://root@db:3306/openmetadata_db --to s3://my-backups/openmetadata',
    'safekeep dump --engine dolt --source dolt://root@db:3306/shop --to s3://my-backups/shop --dolt-dynamodb-table T',
    'safekeep dump --config safekeep.config.yaml --bucket my-backups --target bytebase-meta',
  ],
  run: dump,
});

async function dump({ values }: ParsedArgs<typeof DUMP_FLAGS>, context: CliContext): Promise<number> {
  // The target's task, started by the dispatcher to drill rather than back up (the same task definition).
  if (context.env[TASK_DRILL_VARIABLES.action] === 'drill' && values.target !== undefined) {
    const flags = [...(values.json ? ['--json'] : []), ...(values.verbose ? ['--verbose'] : [])];
    return drillCommand.parse([values.target, ...flags]).run(context);
  }
  const adHoc = values.engine !== undefined || values.source !== undefined || values.to !== undefined;
  const request =
    adHoc || values.target === undefined ? await adHocRequest(values, context) : await targetRequest(values, context);
  const partSizes = values['part-size'] ? fixedPartSize(parseSize(values['part-size'], '--part-size')) : undefined;
  const { destination } = request;

  const progress = progressLine(context.terminal);
  const store = context.openStore(destination.bucket, values['endpoint-url']);
  const stop = stopOnSignal();
  const { manifest, manifestKey, prune } = await runDump(
    { ...request, partSizes },
    {
      store,
      log: cliLogger(context.terminal, values.verbose ?? false),
      now: context.now,
      randomSuffix: () => randomBytes(3).toString('hex'),
      onProgress: ({ object, rawBytes, storedBytes }) => progress.update(object, rawBytes, storedBytes),
      stop: stop.signal,
    },
  ).finally(() => {
    stop.release();
    progress.done();
  });

  const url = `s3://${destination.bucket}/${manifestKey}`;
  // A configured target prunes after its run; a failed prune leaves the backup standing and says so.
  const pruned: { kept: number; deleted: string[] } | { error: string } | undefined =
    prune === undefined
      ? undefined
      : 'error' in prune
        ? { error: prune.error }
        : { kept: prune.kept.length, deleted: prune.deleted.map(({ backup }) => backup.id) };
  if (pruned && 'error' in pruned) context.terminal.stderr.write(`safekeep: warning: ${pruned.error}\n`);
  for (const line of notHeldBy(manifest)) context.terminal.stderr.write(`safekeep: warning: ${line}\n`);
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, manifest: url, ...manifest, ...(pruned ? { pruned } : {}) })}\n`);
  } else {
    context.terminal.stdout.write(
      `backed up ${manifest.source.databases.join(', ')} (${manifest.engine} ${manifest.source.serverVersion}) as run ${manifest.runId}: ` +
        `${manifest.totals.objects} objects, ${formatBytes(manifest.totals.rawBytes)} -> ${formatBytes(manifest.totals.storedBytes)}\n  ${url}\n`,
    );
    if (pruned && 'kept' in pruned && pruned.deleted.length > 0) {
      context.terminal.stdout.write(
        `pruned ${pruned.deleted.length} older backups (recoverable: safekeep list --all), kept ${pruned.kept}\n`,
      );
    }
  }
  return 0;
}

/** `64MiB`, `1GiB` or bytes; S3 parts must be 5 MiB to 5 GiB. */
function parseSize(text: string, flag: string): number {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(text.trim());
  const units: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  const bytes = match ? Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1) : Number.NaN;
  if (!(bytes >= MIN_PART_SIZE && bytes <= MAX_PART_SIZE)) {
    throw new UsageError(`${flag} must be between 5MiB and 5GiB (S3's limits), got "${text}"`);
  }
  return bytes;
}

/** `--parallelism N`: 1 to 64, and above 1 only for PostgreSQL (the others cannot share a snapshot). */
function parallelismOf(text: string | undefined, engine: Engine): number {
  if (text === undefined) return 1;
  const streams = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(streams >= 1 && streams <= 64)) throw new UsageError(`--parallelism must be a whole number from 1 to 64, got "${text}"`);
  if (streams > 1 && engine !== 'postgres') {
    throw new UsageError(`--parallelism must be 1 for ${engine}: ${SINGLE_STREAM_REASONS[engine]}; drop it`);
  }
  return streams;
}

type DumpFlags = ParsedArgs<typeof DUMP_FLAGS>['values'];

/** The run id the dispatcher chose (a task is told it in SAFEKEEP_RUN_ID), so it knows where the manifest lands. */
function runIdOf(values: DumpFlags, context: CliContext): string | undefined {
  return values['run-id'] ?? context.env[TASK_RUN_VARIABLES.runId];
}

/** A configured target: from the deployment the task runs in, or from `--config` and `--bucket` locally. */
async function targetRequest(values: DumpFlags, context: CliContext): Promise<DumpRequest> {
  const name = values.target ?? '';
  for (const flag of ['compression', 'timeout', 'dolt-url', 'parallelism'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} comes from the target's config with --target; drop it`);
  }
  const told = context.env[TASK_RUN_VARIABLES.target];
  if (told !== undefined && told !== name) {
    throw new UsageError(`this task was started for target "${told}" but its command names "${name}"; redeploy the stack`);
  }
  const { target, bucket, doltTable } = values.config
    ? {
        target: configuredDumpTarget(loadConfigFile(values.config), name, values.config),
        bucket: required(values.bucket, '--bucket', 'my-backups'),
        doltTable: values['dolt-dynamodb-table'] ?? context.env.SAFEKEEP_DOLT_DYNAMODB_TABLE,
      }
    : fromDeployment(deployment(context.env), name);
  const fromEnvironment = credentialsFromEnvironment(target.kind, context.env);
  // Inside AWS, ECS puts the secret's fields in the environment; locally the target's own secret is read.
  const credentials =
    fromEnvironment.password !== undefined && values.secret === undefined
      ? fromEnvironment
      : await context.readSecret(values.secret ?? target.source.secret);
  const tls = tlsChoice(values);
  return dumpRequestFor(
    tls.mode ? { ...target, source: { ...target.source, tls: tls.mode } } : target,
    { bucket, doltTable, endpointUrl: values['endpoint-url'], vcpus: await taskVcpus(context.env) },
    credentials,
    runIdOf(values, context),
    tls.ca,
  );
}

function fromDeployment(deployed: Deployment, name: string) {
  return {
    target: deployedDumpTarget(deployed, name),
    bucket: deployed.resources.bucket,
    doltTable: deployed.resources.doltTable,
  };
}

function configuredDumpTarget(config: SafekeepConfig, name: string, path: string): DumpTarget {
  const target = config.targets.find((t) => t.name === name);
  if (!target) throw new UsageError(`${path} has no target "${name}"; it has ${config.targets.map((t) => t.name).join(', ')}`);
  if (!isDumpTarget(target)) throw new UsageError(`target "${name}" is a ${target.kind} snapshot target; use safekeep snapshot`);
  return target;
}

/** An ad-hoc dump: everything from the flags. */
async function adHocRequest(values: DumpFlags, context: CliContext): Promise<DumpRequest> {
  const engine = required(values.engine, '--engine', 'postgres') as Engine;
  if (!ENGINE_NAMES.includes(engine)) throw new UsageError(`--engine must be one of ${ENGINE_NAMES.join(', ')}, got "${engine}"`);
  const compression = (values.compression ?? 'zstd') as Compression;
  if (!COMPRESSIONS.includes(compression))
    throw new UsageError(`--compression must be one of ${COMPRESSIONS.join(', ')}, got "${compression}"`);
  const destination = parseS3Url(required(values.to, '--to', 's3://my-backups/orders-db'), '--to');
  const target = values.target ?? destination.prefix.split('/').at(-1) ?? '';
  if (!TARGET_NAME_PATTERN.test(target)) {
    throw new UsageError(
      `the target name "${target}" (the last segment of --to, or --target) must be lowercase letters, digits and "-"`,
    );
  }
  const fromSecret = values.secret ? await context.readSecret(values.secret) : {};
  const fromEnvironment = credentialsFromEnvironment(engine, context.env);
  const tls = tlsChoice(values);
  const url = parseDatabaseUrl(required(values.source, '--source', `${engine}://user@host/database`), engine, '--source', {
    username: fromEnvironment.username ?? fromSecret.username,
    password: fromEnvironment.password ?? fromSecret.password,
  });
  const source = withTls(url, tls.mode, tls.ca);
  return {
    engine: engineFor(engine),
    source,
    destination,
    target,
    compression,
    parallelism: parallelismOf(values.parallelism, engine),
    timeoutMs: parseDuration(values.timeout ?? '4h', '--timeout'),
    endpointUrl: values['endpoint-url'],
    runId: runIdOf(values, context),
    dolt: {
      dynamoTable: values['dolt-dynamodb-table'] ?? context.env.SAFEKEEP_DOLT_DYNAMODB_TABLE,
      baseUrl: values['dolt-url'] ?? context.env.SAFEKEEP_DOLT_URL,
      allowMissingObjects: values['allow-missing-objects'],
      serverDir: values['server-dir'],
      serverConfig: values['server-config'],
      doltRoot: values['dolt-root'],
    },
  };
}
