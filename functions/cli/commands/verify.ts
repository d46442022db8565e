import { manifestLocation } from '../../dumps/read-artifacts.ts';
import { runVerify } from '../../dumps/verify.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { parseDuration, required } from '../flags.ts';
import { cliLogger, formatBytes } from '../output.ts';

const VERIFY_FLAGS = {
  from: { type: 'string', required: true, placeholder: 's3://.../manifest.json', description: 'the backup, by its manifest' },
  timeout: { type: 'string', default: '4h', placeholder: 'DURATION', description: 'give up after this long (90s, 30m, 4h)' },
} as const satisfies FlagDefinitions;

export const verifyCommand = defineCommand({
  name: 'verify',
  summary: 'check a stored backup against its manifest and the engine',
  flags: VERIFY_FLAGS,
  examples: ['safekeep verify --from s3://my-backups/bytebase-meta/2026/11/21/<run-id>/manifest.json'],
  run: verify,
});

async function verify({ values }: ParsedArgs<typeof VERIFY_FLAGS>, context: CliContext): Promise<number> {
  const { bucket, key } = manifestLocation(
    required(values.from, '--from', 's3://my-backups/orders-db/2026/11/21/<run-id>/manifest.json'),
  );
  const result = await runVerify(key, {
    store: context.openStore(bucket, values['endpoint-url']),
    log: cliLogger(context.terminal, values.verbose ?? false),
    timeoutMs: parseDuration(values.timeout, '--timeout'),
    endpointUrl: values['endpoint-url'],
  });
  if (values.json) context.terminal.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
  else
    context.terminal.stdout.write(
      `verified run ${result.runId} of ${result.target} (${result.engine}): ${result.objects.length} objects, ${formatBytes(result.storedBytes)}, ${result.missingObjects > 0 ? `intact as stored, but without ${result.missingObjects} objects of the source` : 'all intact'}\n`,
    );
  for (const line of result.notHeld) context.terminal.stderr.write(`safekeep: warning: ${line}\n`);
  return 0;
}
