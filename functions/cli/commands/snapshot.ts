import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { newRunId } from '../../contracts/artifact-layout.ts';
import { loadConfigFile } from '../../contracts/config/load.ts';
import { isSnapshotTarget, type SnapshotTarget } from '../../contracts/config/schema.ts';
import { UsageError } from '../../contracts/errors.ts';
import type { Telemetry } from '../../contracts/telemetry.ts';
import { type FlowContext, runSnapshotFlow } from '../../snapshots/core/snapshot-flow.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { parseDuration, required } from '../flags.ts';
import { cliLogger } from '../output.ts';

/** Which snapshot target, from which config, in which region. */
const TARGET_FLAGS = {
  config: { type: 'string', required: true, placeholder: 'FILE', description: 'the Safekeep config, e.g. safekeep.config.yaml' },
  target: { type: 'string', required: true, placeholder: 'NAME', description: 'a snapshot target of that config' },
  region: { type: 'string', placeholder: 'REGION', description: 'the AWS region (default AWS_REGION or AWS_DEFAULT_REGION)' },
} as const satisfies FlagDefinitions;

const SNAPSHOT_FLAGS = {
  ...TARGET_FLAGS,
  timeout: {
    type: 'string',
    default: '2h',
    placeholder: 'DURATION',
    description: 'give up waiting for the snapshots after this long',
  },
  'poll-interval': { type: 'string', default: '15s', placeholder: 'DURATION', description: 'how often to look at the snapshots' },
} as const satisfies FlagDefinitions;

export const snapshotCommand = defineCommand({
  name: 'snapshot',
  summary: "take a snapshot target's snapshots now (and their copies)",
  flags: SNAPSHOT_FLAGS,
  examples: ['safekeep snapshot --config safekeep.config.yaml --target openmetadata-rds'],
  run: snapshot,
});

/** The snapshot target `name` of the config at `configPath` (safekeep restore --snapshot uses it too). */
export function snapshotTarget(configPath: string, name: string): SnapshotTarget {
  const config = loadConfigFile(configPath);
  const target = config.targets.find((t) => t.name === name);
  if (!target)
    throw new UsageError(`${configPath} has no target "${name}"; it has ${config.targets.map((t) => t.name).join(', ')}`);
  if (!isSnapshotTarget(target))
    throw new UsageError(`target "${name}" is a ${target.kind} dump, not a snapshot target; use safekeep dump`);
  return target;
}

/**
 * The snapshot flow's ports and clock for a CLI run (safekeep prune uses it for snapshot targets too). The
 * EC2 and RDS clients load only here: their schemas hold about 50 MiB of heap, which a dump or restore, the
 * commands a Fargate task runs, should never carry.
 */
export async function flowContext(
  context: CliContext,
  region: string | undefined,
  endpointUrl: string | undefined,
  verbose: boolean,
): Promise<FlowContext> {
  const resolved = region ?? context.env.AWS_REGION ?? context.env.AWS_DEFAULT_REGION;
  if (!resolved) throw new UsageError('no AWS region: pass --region or set AWS_REGION');
  const log = cliLogger(context.terminal, verbose);
  const telemetry: Telemetry = {
    info: log.info,
    warn: (message, fields) => context.terminal.stderr.write(`safekeep: warning: ${message} ${JSON.stringify(fields ?? {})}\n`),
    metric: (name, value, unit, dimensions) => log.info(`metric ${name}=${value} ${unit}`, dimensions),
  };
  const { awsSnapshotPorts } = await import('../../snapshots/adapters/aws-clients.ts');
  return { ports: awsSnapshotPorts({ endpointUrl }), region: resolved, now: context.now, telemetry };
}

/** `safekeep snapshot --config F --target T`: take the target's snapshots now and wait for them (and copies). */
async function snapshot({ values }: ParsedArgs<typeof SNAPSHOT_FLAGS>, context: CliContext): Promise<number> {
  const target = snapshotTarget(
    required(values.config, '--config', 'safekeep.config.yaml'),
    required(values.target, '--target', 'orders-db'),
  );
  const flow = await flowContext(context, values.region, values['endpoint-url'], values.verbose ?? false);
  const outcome = await runSnapshotFlow(target, newRunId(context.now(), randomBytes(3).toString('hex')), flow, {
    pollMs: parseDuration(values['poll-interval'], '--poll-interval'),
    timeoutMs: parseDuration(values.timeout, '--timeout'),
    sleep: (ms) => sleep(ms),
  });
  const describe = (s: { id: string; region: string; source: string; status: string }) =>
    `${s.id} (${s.source}, ${s.region}): ${s.status}`;
  if (values.json) {
    context.terminal.stdout.write(
      `${JSON.stringify({ ok: outcome.state === 'complete', target: target.name, runId: outcome.started.runId, snapshots: outcome.snapshots, copies: outcome.copies })}\n`,
    );
  } else {
    context.terminal.stdout.write(`run ${outcome.started.runId} of ${target.name}: ${outcome.state}\n`);
    for (const s of outcome.snapshots) context.terminal.stdout.write(`  created ${describe(s)}\n`);
    for (const s of outcome.copies) context.terminal.stdout.write(`  copied  ${describe(s)}\n`);
  }
  if (outcome.state === 'failed') {
    const failed = [...outcome.snapshots, ...outcome.copies].filter((s) => s.status === 'failed').map((s) => s.id);
    context.terminal.stderr.write(
      `safekeep: snapshots of "${target.name}" failed: ${failed.join(', ')}; see the RDS/EC2 console for the cause\n`,
    );
    return 1;
  }
  return 0;
}
