/**
 * `safekeep drill <target> [--from M] [--wait]` against a deployed stack: starts the drill exactly as its drill
 * schedule does (the dispatch event `{ target, action: "drill", from? }`, through the dispatcher's own code),
 * and with `wait` follows it to its end, as `safekeep run --wait` follows a run: the drill record settles, or
 * its task stops / its execution ends and its result (drill.json, or the execution's output) says how it went.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { parse as parseArn } from '@aws-sdk/core/util';
import { WORKER_CONTAINER } from '../contracts/deployment.ts';
import { type DrillResult, drillKeyOf, drillResultSchema } from '../contracts/drill.ts';
import { dispatchEventSchema } from '../contracts/run-payloads.ts';
import { awsDispatchPorts } from '../runs/adapters/dispatch-ports.ts';
import { type DrillDispatchResult, dispatchDrill } from '../runs/dispatch-drill.ts';
import type { DrillRecord } from '../runs/run-record.ts';
import type { CliContext } from './context.ts';
import type { DeployedStack, StackClients } from './deployment.ts';
import { cliLogger, statusLine } from './output.ts';

export interface DeployedDrillRequest {
  readonly target: string;
  /** A manifest key of the target (`<target>/.../manifest.json`): drill this backup instead of the one `drill.pick` picks. */
  readonly from?: string;
  /** Follow the drill to its end. */
  readonly wait: boolean;
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly verbose?: boolean;
}

export interface DeployedDrill {
  readonly started: DrillDispatchResult;
  /** `started`: not waited for; `timeout`: still going when the wait ended. */
  readonly status: 'started' | 'succeeded' | 'failed' | 'timeout';
  readonly detail?: string;
  /** The drill's result, when it was read (drill.json or the execution's output). */
  readonly result?: DrillResult;
}

/** Starts a drill of a deployed target and, with `wait`, follows it to its end. Exit 0 only on `succeeded`/`started`. */
export async function startDeployedDrill(
  request: DeployedDrillRequest,
  stack: DeployedStack,
  aws: Pick<StackClients, 'dynamo' | 'ecs' | 'sfn'>,
  context: CliContext,
): Promise<DeployedDrill> {
  const { deployment } = stack;
  const event = dispatchEventSchema.parse({ target: request.target, trigger: 'manual', action: 'drill', from: request.from });
  const target = await stack.target(event.target);
  const log = cliLogger(context.terminal, request.verbose ?? false);
  const store = context.openStore(deployment.resources.bucket, request.endpointUrl);
  const ports = awsDispatchPorts({
    runsTable: deployment.resources.runsTable,
    bucket: deployment.resources.bucket,
    endpointUrl: request.endpointUrl,
    region: request.region,
    artifacts: store,
  });
  const started = await dispatchDrill(
    target,
    event.trigger,
    {
      deployment,
      ports,
      now: context.now,
      randomSuffix: () => randomBytes(3).toString('hex'),
      telemetry: { info: log.info, warn: log.warn, metric: () => {} },
    },
    event.from,
  );
  if (started.status === 'failed') return { started, status: 'failed', detail: started.reason };
  if (!request.wait) return { started, status: 'started' };
  const follow = {
    drill: () => ports.runs.getDrill(target.name, started.drillId),
    readResult: async (key: string) => {
      try {
        return JSON.parse(await store.readText(key)) as unknown;
      } catch {
        return undefined;
      }
    },
  };
  return followDrill(started, follow, aws, context, {
    timeoutMs: request.timeoutMs ?? 6 * 3_600_000,
    pollMs: request.pollMs ?? 15_000,
  });
}

interface DrillFollowPorts {
  drill(): Promise<DrillRecord | undefined>;
  readResult(key: string): Promise<unknown>;
}

async function followDrill(
  started: DrillDispatchResult,
  ports: DrillFollowPorts,
  aws: Pick<StackClients, 'ecs' | 'sfn'>,
  context: CliContext,
  timing: { timeoutMs: number; pollMs: number },
): Promise<DeployedDrill> {
  const since = context.now().getTime();
  const progress = statusLine(context.terminal);
  const resultKey = started.manifestKey ? drillKeyOf(started.manifestKey) : undefined;
  const ownResult = async (): Promise<DrillResult | undefined> => {
    const parsed = resultKey ? drillResultSchema.safeParse(await ports.readResult(resultKey)) : undefined;
    return parsed?.success && parsed.data.drillId === started.drillId ? parsed.data : undefined;
  };
  const fromResult = (result: DrillResult): DeployedDrill => ({
    started,
    result,
    status: result.validationStatus === 'SUCCESSFUL' ? 'succeeded' : 'failed',
    detail: `${result.validationStatus}: ${result.validationStatusMessage}`,
  });
  try {
    for (;;) {
      const record = await ports.drill();
      if (record?.status === 'succeeded' || record?.status === 'failed') {
        const result = await ownResult();
        return {
          started,
          status: record.status,
          detail: record.reason ?? (result ? fromResult(result).detail : undefined),
          result,
        };
      }
      const ended = await runnerEnd(started, aws);
      if (ended) {
        // The recorder settles the record soon after; the result already says how it went.
        const result = ended.output ?? (await ownResult());
        if (result) return fromResult(result);
        if (ended.failed) return { started, status: 'failed', detail: ended.failed };
      }
      const seconds = Math.round((context.now().getTime() - since) / 1000);
      if (context.now().getTime() - since > timing.timeoutMs) {
        return {
          started,
          status: 'timeout',
          detail: `no result after ${Math.round(timing.timeoutMs / 1000)} s; safekeep status ${started.target} shows it later`,
        };
      }
      progress.show(`waiting for drill ${started.drillId} of ${started.target}: ${ended?.label ?? 'running'} (${seconds} s)`);
      await sleep(timing.pollMs);
    }
  } finally {
    progress.done();
  }
}

/** Whether the drill's task stopped or its execution ended, and what that says without the result. */
async function runnerEnd(
  started: DrillDispatchResult,
  aws: Pick<StackClients, 'ecs' | 'sfn'>,
): Promise<{ label: string; failed?: string; output?: DrillResult } | undefined> {
  if (started.executionArn) {
    const execution = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    if (!execution.status || execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE') return undefined;
    const parsed = drillResultSchema.safeParse(safeJson(execution.output));
    return {
      label: execution.status.toLowerCase(),
      output: parsed.success ? parsed.data : undefined,
      failed: `the snapshot drill ${execution.status.toLowerCase()}${execution.cause ? `: ${execution.cause}` : ''}`,
    };
  }
  if (started.taskArn) {
    const cluster = parseArn(started.taskArn).resource.split('/')[1];
    const [task] = (await aws.ecs.send(new DescribeTasksCommand({ tasks: [started.taskArn], cluster }))).tasks ?? [];
    if (task?.lastStatus !== 'STOPPED') return undefined;
    const worker = task.containers?.find((c) => c.name === WORKER_CONTAINER);
    return {
      label: 'stopped',
      failed:
        worker?.exitCode === undefined
          ? `the drill task never started (${task.stoppedReason ?? 'no reason given'})`
          : `the drill task exited with code ${worker.exitCode} and wrote no drill.json; its CloudWatch log says why`,
    };
  }
  return undefined;
}

function safeJson(text: string | undefined): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
