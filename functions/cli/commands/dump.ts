import { randomBytes } from 'node:crypto';
import { parseS3Url } from '../../contracts/artifact-layout.ts';
import { TARGET_NAME_PATTERN } from '../../contracts/config/schema.ts';
import { UsageError } from '../../contracts/errors.ts';
import { ENGINES, type Engine } from '../../contracts/manifest.ts';
import { COMPRESSIONS, type Compression } from '../../dumps/commit/compression.ts';
import { fixedPartSize, MAX_PART_SIZE, MIN_PART_SIZE } from '../../dumps/commit/part-size.ts';
import { runDump } from '../../dumps/dump.ts';
import { engineFor } from '../../dumps/engines/registry.ts';
import { credentialsFromEnvironment, parseDatabaseUrl } from '../../dumps/source.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { parseDuration, required } from '../flags.ts';
import { PASSWORDS_NOTE } from '../help.ts';
import { cliLogger, formatBytes, progressLine } from '../output.ts';

const DUMP_FLAGS = {
  engine: { type: 'string', required: true, placeholder: ENGINES.join('|'), description: 'the database engine' },
  source: {
    type: 'string',
    required: true,
    placeholder: 'URL',
    description: 'the database, e.g. postgres://app@db:5432/metadb; a URL naming none backs up every database',
  },
  to: { type: 'string', required: true, placeholder: 's3://BUCKET/PREFIX', description: 'where the backup goes' },
  compression: {
    type: 'string',
    default: 'zstd',
    placeholder: COMPRESSIONS.join('|'),
    description: 'how objects are compressed',
  },
  secret: { type: 'string', placeholder: 'ID', description: 'a Secrets Manager secret holding the username and password' },
  timeout: { type: 'string', default: '4h', placeholder: 'DURATION', description: 'give up after this long (90s, 30m, 4h)' },
  target: { type: 'string', placeholder: 'NAME', description: 'the target name (by default the last segment of --to)' },
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
  'part-size': { type: 'string', placeholder: 'SIZE', description: 'S3 multipart part size, 5MiB to 5GiB (e.g. 64MiB)' },
  'run-id': { type: 'string', placeholder: 'ID', description: 'the run id (or SAFEKEEP_RUN_ID; by default a new one)' },
} as const satisfies FlagDefinitions;

export const dumpCommand = defineCommand({
  name: 'dump',
  summary: 'stream a database backup into S3 and record it once it is whole',
  flags: DUMP_FLAGS,
  notes: [PASSWORDS_NOTE],
  examples: [
    'safekeep dump --engine postgres --source postgres://app@db:5432/metadb --to s3://my-backups/bytebase-meta',
    'safekeep dump --engine mysql --source mysql://root@db:3306/openmetadata_db --to s3://my-backups/openmetadata',
    'safekeep dump --engine dolt --source dolt://root@db:3306/shop --to s3://my-backups/shop --dolt-dynamodb-table T',
  ],
  run: dump,
});

async function dump({ values }: ParsedArgs<typeof DUMP_FLAGS>, context: CliContext): Promise<number> {
  const engine = required(values.engine, '--engine', 'postgres') as Engine;
  if (!ENGINES.includes(engine)) throw new UsageError(`--engine must be one of ${ENGINES.join(', ')}, got "${engine}"`);
  const compression = values.compression as Compression;
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
  const source = parseDatabaseUrl(required(values.source, '--source', `${engine}://user@host/database`), engine, '--source', {
    username: fromEnvironment.username ?? fromSecret.username,
    password: fromEnvironment.password ?? fromSecret.password,
  });

  const progress = progressLine(context.terminal);
  const store = context.openStore(destination.bucket, values['endpoint-url']);
  const { manifest, manifestKey } = await runDump(
    {
      engine: engineFor(engine),
      source,
      destination,
      target,
      compression,
      timeoutMs: parseDuration(values.timeout, '--timeout'),
      endpointUrl: values['endpoint-url'],
      // The dispatcher picks the run id (ECS passes it as SAFEKEEP_RUN_ID) so it knows where the manifest lands.
      runId: values['run-id'] ?? context.env.SAFEKEEP_RUN_ID,
      partSizes: values['part-size'] ? fixedPartSize(parseSize(values['part-size'], '--part-size')) : undefined,
      dolt: {
        dynamoTable: values['dolt-dynamodb-table'] ?? context.env.SAFEKEEP_DOLT_DYNAMODB_TABLE,
        baseUrl: values['dolt-url'] ?? context.env.SAFEKEEP_DOLT_URL,
      },
    },
    {
      store,
      log: cliLogger(context.terminal, values.verbose ?? false),
      now: context.now,
      randomSuffix: () => randomBytes(3).toString('hex'),
      onProgress: ({ object, rawBytes, storedBytes }) => progress.update(object, rawBytes, storedBytes),
    },
  ).finally(() => progress.done());

  const url = `s3://${destination.bucket}/${manifestKey}`;
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, manifest: url, ...manifest })}\n`);
  } else {
    context.terminal.stdout.write(
      `backed up ${manifest.source.databases.join(', ')} (${engine} ${manifest.source.serverVersion}) as run ${manifest.runId}: ` +
        `${manifest.totals.objects} objects, ${formatBytes(manifest.totals.rawBytes)} -> ${formatBytes(manifest.totals.storedBytes)}\n  ${url}\n`,
    );
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
