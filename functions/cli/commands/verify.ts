import { manifestLocation } from '../../dumps/read-artifacts.ts';
import { runVerify } from '../../dumps/verify.ts';
import type { CliContext } from '../context.ts';
import { parseDuration, parseFlags, required } from '../flags.ts';
import { cliLogger, formatBytes } from '../output.ts';

export async function verifyCommand(args: string[], context: CliContext): Promise<number> {
  const { values } = parseFlags(args, { from: { type: 'string' }, timeout: { type: 'string', default: '4h' } });
  const { bucket, key } = manifestLocation(
    required(values.from, '--from', 's3://my-backups/orders-db/2026/11/21/<run-id>/manifest.json'),
  );
  const result = await runVerify(key, {
    store: context.openStore(bucket, values['endpoint-url']),
    log: cliLogger(context.terminal, values.verbose ?? false),
    timeoutMs: parseDuration(values.timeout ?? '4h', '--timeout'),
    endpointUrl: values['endpoint-url'],
  });
  if (values.json) context.terminal.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
  else
    context.terminal.stdout.write(
      `verified run ${result.runId} of ${result.target} (${result.engine}): ${result.objects.length} objects, ${formatBytes(result.storedBytes)}, all intact\n`,
    );
  return 0;
}
