/**
 * `safekeep run <target> [--wait]` and `safekeep status [<target>]` against a deployed stack. The stack
 * publishes where things are in SSM (/safekeep/<stack>/deployment and /safekeep/<stack>/targets/<name>);
 * `run` starts the run exactly as the scheduled dispatcher does, `--wait` follows it to its manifest (or
 * its failure), `status` reads the runs table.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { manifestKeyOf } from '../../contracts/artifact-layout.ts';
import { type Target, targetSchema } from '../../contracts/config/schema.ts';
import { EXIT, SafekeepError, UsageError } from '../../contracts/errors.ts';
import { createS3Client, s3ArtifactStore } from '../../platform/s3-artifact-store.ts';
import { awsDispatchPorts } from '../../runs/adapters/dispatch-ports.ts';
import { dynamoRunsStore } from '../../runs/adapters/runs-table.ts';
import { type DispatchResult, dispatch, type PublishedDeployment, WORKER_CONTAINER } from '../../runs/dispatch.ts';
import type { RunRecord } from '../../runs/run-record.ts';
import type { CliContext } from '../context.ts';
import { COMMON_FLAGS, parseDuration } from '../flags.ts';
import { cliLogger, formatBytes } from '../output.ts';

const STACK_FLAGS = { ...COMMON_FLAGS, stack: { type: 'string', default: 'Safekeep' }, region: { type: 'string' } } as const;

function clients(endpointUrl: string | undefined, region: string | undefined) {
  const config = { ...(endpointUrl ? { endpoint: endpointUrl } : {}), ...(region ? { region } : {}) };
  return {
    ssm: new SSMClient(config),
    ecs: new ECSClient(config),
    sfn: new SFNClient(config),
    dynamo: new DynamoDBClient(config),
  };
}

async function parameter(ssm: SSMClient, name: string, stack: string): Promise<string> {
  try {
    const value = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
    if (value) return value;
  } catch (error) {
    if ((error as Error).name !== 'ParameterNotFound') {
      throw new SafekeepError(
        `reading ${name} from SSM failed (${(error as Error).name}); check the AWS credentials and region`,
        EXIT.unavailable,
      );
    }
  }
  throw new UsageError(
    `no Safekeep deployment "${stack}" here (${name} is missing); deploy it with cdk deploy, or pass --stack and --region`,
  );
}

async function deploymentOf(ssm: SSMClient, stack: string): Promise<PublishedDeployment> {
  return JSON.parse(await parameter(ssm, `/safekeep/${stack}/deployment`, stack)) as PublishedDeployment;
}

async function deployedTargetOf(ssm: SSMClient, stack: string, name: string): Promise<Target> {
  let text: string;
  try {
    text = await parameter(ssm, `/safekeep/${stack}/targets/${name}`, stack);
  } catch (error) {
    if (error instanceof UsageError)
      throw new UsageError(`the deployment "${stack}" has no target "${name}"; safekeep status lists them`);
    throw error;
  }
  return targetSchema.parse(JSON.parse(text)) as Target;
}

export async function runCommand(args: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...STACK_FLAGS,
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '6h' },
      'poll-interval': { type: 'string', default: '15s' },
    },
    strict: true,
    allowPositionals: true,
  });
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) throw new UsageError('name exactly one target: safekeep run <target> [--wait]');
  const aws = clients(values['endpoint-url'], values.region);
  const stack = values.stack ?? 'Safekeep';
  const deployment = await deploymentOf(aws.ssm, stack);
  const target = await deployedTargetOf(aws.ssm, stack, name);
  const log = cliLogger(context.terminal, values.verbose ?? false);
  const started = await dispatch(target, 'manual', {
    deployment,
    ports: awsDispatchPorts({ runsTable: deployment.runsTable, endpointUrl: values['endpoint-url'], region: values.region }),
    now: context.now,
    randomSuffix: () => randomBytes(3).toString('hex'),
    telemetry: { info: log.info, warn: log.warn, metric: () => {} },
  });
  if (started.status === 'failed') return report(context, values.json ?? false, started, 'failed', started.reason);
  if (!values.wait) {
    if (values.json) context.terminal.stdout.write(`${JSON.stringify({ ok: true, ...started })}\n`);
    else context.terminal.stdout.write(`started run ${started.runId} of ${name} (${started.executionArn ?? started.taskArn})\n`);
    return 0;
  }
  const outcome = await follow(started, target, deployment, aws, context, {
    timeoutMs: parseDuration(values.timeout ?? '6h', '--timeout'),
    pollMs: parseDuration(values['poll-interval'] ?? '15s', '--poll-interval'),
  });
  return report(context, values.json ?? false, started, outcome.status, outcome.detail);
}

function report(
  context: CliContext,
  json: boolean,
  started: DispatchResult,
  status: 'succeeded' | 'failed' | 'timeout',
  detail?: string,
): number {
  const code = status === 'succeeded' ? 0 : status === 'timeout' ? EXIT.timeout : EXIT.failed;
  if (json) context.terminal.stdout.write(`${JSON.stringify({ ...started, ok: code === 0, status, detail })}\n`);
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

interface Followed {
  readonly status: 'succeeded' | 'failed' | 'timeout';
  readonly detail?: string;
}

/** Polls until the run's manifest lands (dumps), its execution ends (snapshots), or it is recorded as failed. */
async function follow(
  started: DispatchResult,
  target: Target,
  deployment: PublishedDeployment,
  aws: ReturnType<typeof clients>,
  context: CliContext,
  timing: { timeoutMs: number; pollMs: number },
): Promise<Followed> {
  const runs = dynamoRunsStore(deployment.runsTable, aws.dynamo);
  const store = s3ArtifactStore(createS3Client(), deployment.bucket);
  const manifestKey = manifestKeyOf(target.name, started.runId);
  const deadline = context.now().getTime() + timing.timeoutMs;
  const since = context.now().getTime();
  for (;;) {
    const record = await runs.get(target.name, started.runId);
    if (record?.status === 'failed') return { status: 'failed', detail: record.reason };
    if (started.kind === 'dump' && manifestKey && (await manifestExists(store, manifestKey))) {
      return {
        status: 'succeeded',
        detail: `manifest s3://${deployment.bucket}/${manifestKey}${record?.bytes ? `, ${formatBytes(record.bytes)}` : ''}`,
      };
    }
    const state = await currentState(started, aws);
    if (state.failed) return { status: 'failed', detail: state.failed };
    if (state.succeeded) return { status: 'succeeded', detail: state.succeeded };
    if (record?.status === 'succeeded') return { status: 'succeeded', detail: describeRecord(record) };
    if (context.now().getTime() > deadline)
      return {
        status: 'timeout',
        detail: `no result after ${Math.round(timing.timeoutMs / 1000)} s; safekeep status ${target.name} shows it later`,
      };
    if (context.terminal.stderr.isTTY) {
      const seconds = Math.round((context.now().getTime() - since) / 1000);
      context.terminal.stderr.write(`\r\x1b[Kwaiting for run ${started.runId} of ${target.name}: ${state.label} (${seconds} s)`);
    }
    await sleep(timing.pollMs);
  }
}

async function manifestExists(store: ReturnType<typeof s3ArtifactStore>, key: string): Promise<boolean> {
  for await (const object of store.list(key)) if (object.key === key) return true;
  return false;
}

async function currentState(
  started: DispatchResult,
  aws: ReturnType<typeof clients>,
): Promise<{ label: string; failed?: string; succeeded?: string }> {
  if (started.executionArn) {
    const execution = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    if (execution.status === 'SUCCEEDED') return { label: 'succeeded', succeeded: 'snapshots taken' };
    if (execution.status && execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      return {
        label: execution.status,
        failed: `the snapshot run ${execution.status.toLowerCase()}${execution.cause ? `: ${execution.cause}` : ''}`,
      };
    }
    return { label: 'snapshots in progress' };
  }
  if (started.taskArn?.startsWith('arn:')) {
    const [task] =
      (await aws.ecs.send(new DescribeTasksCommand({ tasks: [started.taskArn], cluster: started.taskArn.split('/')[1] })))
        .tasks ?? [];
    const worker = task?.containers?.find((c) => c.name === WORKER_CONTAINER);
    if (task?.lastStatus === 'STOPPED' && worker?.exitCode !== undefined && worker.exitCode !== 0) {
      return { label: 'stopped', failed: `the dump task exited with code ${worker.exitCode}; its CloudWatch log says why` };
    }
    return { label: `task ${task?.lastStatus?.toLowerCase() ?? 'starting'}` };
  }
  return { label: 'running' };
}

function describeRecord(record: RunRecord): string {
  return [record.manifestKey ? `manifest ${record.manifestKey}` : undefined, record.bytes ? formatBytes(record.bytes) : undefined]
    .filter(Boolean)
    .join(', ');
}

export async function statusCommand(args: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: STACK_FLAGS, strict: true, allowPositionals: true });
  const aws = clients(values['endpoint-url'], values.region);
  const stack = values.stack ?? 'Safekeep';
  const deployment = await deploymentOf(aws.ssm, stack);
  const names = positionals.length > 0 ? positionals : await targetNames(aws.ssm, stack);
  const runs = dynamoRunsStore(deployment.runsTable, aws.dynamo);
  const now = context.now().getTime();
  const rows = [];
  for (const name of names) {
    const recent = await runs.recent(name, 20);
    const lastGood = await runs.lastSucceeded(name);
    const lastFailure = recent.find((r) => r.status === 'failed');
    rows.push({
      target: name,
      lastRun: recent[0] ? { runId: recent[0].runId, status: recent[0].status, startedAt: recent[0].startedAt } : undefined,
      lastGood: lastGood
        ? {
            runId: lastGood.runId,
            finishedAt: lastGood.finishedAt,
            ageSeconds: Math.round((now - Date.parse(lastGood.finishedAt ?? lastGood.startedAt)) / 1000),
          }
        : undefined,
      lastFailure: lastFailure
        ? { runId: lastFailure.runId, finishedAt: lastFailure.finishedAt, reason: lastFailure.reason }
        : undefined,
    });
  }
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, stack, targets: rows })}\n`);
    return 0;
  }
  for (const row of rows) {
    const good = row.lastGood
      ? `last good ${row.lastGood.finishedAt} (${age(row.lastGood.ageSeconds)} ago)`
      : 'no good backup yet';
    const failure = row.lastFailure ? `; last failure ${row.lastFailure.finishedAt}: ${row.lastFailure.reason}` : '';
    context.terminal.stdout.write(`${row.target.padEnd(24)} ${row.lastRun?.status ?? 'never run'}  ${good}${failure}\n`);
  }
  return 0;
}

async function targetNames(ssm: SSMClient, stack: string): Promise<string[]> {
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.send(new GetParametersByPathCommand({ Path: `/safekeep/${stack}/targets/`, NextToken }));
    names.push(...(page.Parameters ?? []).flatMap((p) => (p.Name ? [p.Name.split('/').at(-1) ?? ''] : [])));
    NextToken = page.NextToken;
  } while (NextToken);
  return names.sort();
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}
