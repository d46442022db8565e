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
import type { CliContext } from '../context.ts';
import { parseDuration, parseFlags, required } from '../flags.ts';
import { cliLogger, formatBytes, progressLine } from '../output.ts';

export async function dumpCommand(args: string[], context: CliContext): Promise<number> {
  const { values } = parseFlags(args, {
    engine: { type: 'string' },
    source: { type: 'string' },
    to: { type: 'string' },
    compression: { type: 'string', default: 'zstd' },
    secret: { type: 'string' },
    timeout: { type: 'string', default: '4h' },
    target: { type: 'string' },
    'dolt-dynamodb-table': { type: 'string' },
    'dolt-url': { type: 'string' },
    'part-size': { type: 'string' },
    'run-id': { type: 'string' },
  });
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
      timeoutMs: parseDuration(values.timeout ?? '4h', '--timeout'),
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
