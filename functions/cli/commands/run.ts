/**
 * `safekeep run <target> [--wait]` against a deployed stack: starts the run exactly as the scheduled
 * dispatcher does; `--wait` follows it to its manifest (or its failure).
 */
import { randomBytes } from 'node:crypto';
import { EXIT, UsageError } from '../../contracts/errors.ts';
import { awsDispatchPorts } from '../../runs/adapters/dispatch-ports.ts';
import { type DispatchResult, dispatch } from '../../runs/dispatch.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { readDeployedStack, STACK_FLAGS, stackClients } from '../deployment.ts';
import { parseDuration } from '../flags.ts';
import { followRun } from '../follow-run.ts';
import { cliLogger } from '../output.ts';

const RUN_FLAGS = {
  ...STACK_FLAGS,
  wait: { type: 'boolean', default: false, description: 'follow the run to its end; exit 0 only if it succeeded' },
  timeout: {
    type: 'string',
    default: '6h',
    placeholder: 'DURATION',
    description: 'with --wait: give up waiting after this long',
  },
  'poll-interval': { type: 'string', default: '15s', placeholder: 'DURATION', description: 'with --wait: how often to look' },
} as const satisfies FlagDefinitions;

export const runCommand = defineCommand({
  name: 'run',
  summary: 'start a run of a deployed target now (--wait follows it to the end)',
  positionals: [{ name: 'target', required: true, description: 'the deployed target to run' }],
  flags: RUN_FLAGS,
  examples: ['safekeep run bytebase-meta --wait', 'safekeep run openmetadata-rds --stack Safekeep --region eu-west-1 --json'],
  run,
});

async function run({ values, positionals }: ParsedArgs<typeof RUN_FLAGS>, context: CliContext): Promise<number> {
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) throw new UsageError('name exactly one target: safekeep run <target> [--wait]');
  const aws = stackClients(values['endpoint-url'], values.region);
  const stack = await readDeployedStack(aws.ssm, values.stack);
  const { deployment } = stack;
  const target = await stack.target(name);
  const log = cliLogger(context.terminal, values.verbose ?? false);
  const started = await dispatch(target, 'manual', {
    deployment,
    ports: awsDispatchPorts({
      runsTable: deployment.resources.runsTable,
      bucket: deployment.resources.bucket,
      endpointUrl: values['endpoint-url'],
      region: values.region,
    }),
    now: context.now,
    randomSuffix: () => randomBytes(3).toString('hex'),
    telemetry: { info: log.info, warn: log.warn, metric: () => {} },
  });
  if (started.status === 'failed') return report(context, values.json ?? false, started, 'failed', started.reason);
  if (!values.wait) {
    if (values.json) context.terminal.stdout.write(`${JSON.stringify({ ok: true, ...started })}\n`);
    else {
      const runner = started.executionArn ?? started.taskArn ?? `Lambda ${started.workerFunction}`;
      context.terminal.stdout.write(`started run ${started.runId} of ${name} (${runner})\n`);
    }
    return 0;
  }
  const outcome = await followRun(started, target, deployment, aws, context, {
    timeoutMs: parseDuration(values.timeout, '--timeout'),
    pollMs: parseDuration(values['poll-interval'], '--poll-interval'),
  });
  // The manifest's URL, for what comes next (`safekeep verify --from`, the OpenMetadata upgrade gate).
  const manifest = started.manifestKey ? `s3://${deployment.resources.bucket}/${started.manifestKey}` : undefined;
  return report(context, values.json ?? false, started, outcome.status, outcome.detail, manifest);
}

function report(
  context: CliContext,
  json: boolean,
  started: DispatchResult,
  status: 'succeeded' | 'failed' | 'timeout',
  detail?: string,
  manifest?: string,
): number {
  const code = status === 'succeeded' ? 0 : status === 'timeout' ? EXIT.timeout : EXIT.failed;
  if (json) {
    const url = code === 0 ? manifest : undefined;
    context.terminal.stdout.write(`${JSON.stringify({ ...started, ok: code === 0, status, detail, manifest: url })}\n`);
  }
  if (code === 0) {
    if (!json)
      context.terminal.stdout.write(`run ${started.runId} of ${started.target} succeeded${detail ? `: ${detail}` : ''}\n`);
  } else {
    context.terminal.stderr.write(
      `safekeep: run ${started.runId} of ${started.target} ${status === 'timeout' ? 'is still going' : 'failed'}: ${detail ?? 'no reason recorded'}\n`,
    );
  }
  return code;
}
