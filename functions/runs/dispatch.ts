/**
 * Starting a run of one target, whoever asks (a schedule, the console, `safekeep run`): pick the run id,
 * record the run, then start the snapshot state machine, the target's Fargate dump task, or its Lambda
 * worker. A run that cannot start is recorded as failed, with the reason, and counted.
 */
import { manifestKeyOf, newRunId } from '../contracts/artifact-layout.ts';
import type { Target } from '../contracts/config/schema.ts';
import { isSnapshotTarget } from '../contracts/config/schema.ts';
import { type Deployment, taskFamilyOf } from '../contracts/deployment.ts';
import { EXIT, SafekeepError } from '../contracts/errors.ts';
import { METRIC, TARGET_DIMENSION } from '../contracts/metrics.ts';
import { type DrillRef, type RunRef, taskRunEnvironment } from '../contracts/run-payloads.ts';
import type { Telemetry } from '../contracts/telemetry.ts';
import type { RunRecord, RunsStore } from './run-record.ts';

export interface TaskRequest {
  readonly cluster: string;
  readonly taskDefinition: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: boolean;
  /** Non-secret environment for the worker container: which target and run it is. */
  readonly environment: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
}

export interface DispatchPorts {
  startExecution(stateMachineArn: string, name: string, input: RunRef): Promise<{ executionArn: string }>;
  /** Starts the task, or says why ECS would not. */
  runTask(request: TaskRequest): Promise<{ taskArn: string } | { failure: string }>;
  invokeAsync(functionName: string, payload: RunRef & { dispatched: true }): Promise<void>;
  /** Starts the snapshot drill state machine. */
  startDrillExecution(stateMachineArn: string, name: string, input: DrillRef): Promise<{ executionArn: string }>;
  /** Every manifest key under `prefix` in the artifact bucket (the drill's candidates). */
  listManifests(prefix: string): Promise<string[]>;
  readonly runs: RunsStore;
}

export interface DispatchResult {
  readonly target: string;
  readonly runId: string;
  readonly kind: RunRecord['kind'];
  readonly status: 'started' | 'failed';
  readonly reason?: string;
  /** The snapshot state machine's execution. */
  readonly executionArn?: string;
  /** The Fargate dump task. */
  readonly taskArn?: string;
  /** The Lambda worker invoked for it. */
  readonly workerFunction?: string;
  /** Where a dump's manifest lands once it is a backup. */
  readonly manifestKey?: string;
}

export interface DispatchContext {
  readonly deployment: Deployment;
  readonly ports: DispatchPorts;
  readonly now: () => Date;
  readonly randomSuffix: () => string;
  readonly telemetry: Telemetry;
  /** In [0, 1), for a drill's random pick. @default Math.random */
  readonly random?: () => number;
}

/** Which attempt a run is, when it retries an earlier one. */
export interface RetryOf {
  readonly retryOf: string;
  readonly attempt: number;
}

export async function dispatch(
  target: Target,
  trigger: RunRecord['trigger'],
  context: DispatchContext,
  retry?: RetryOf,
): Promise<DispatchResult> {
  const startedAt = context.now();
  const runId = newRunId(startedAt, context.randomSuffix());
  const kind = isSnapshotTarget(target) ? 'snapshot' : 'dump';
  const base = { target: target.name, runId, kind } as const;
  // Computed once, here: the recorder and `safekeep run --wait` read it from the record.
  const manifestKey = kind === 'dump' ? manifestKeyOf(target.name, runId) : undefined;
  await context.ports.runs.put({
    ...base,
    trigger,
    status: 'running',
    startedAt: startedAt.toISOString(),
    manifestKey,
    ...retry,
  });
  context.telemetry.info('run dispatched', { ...base, trigger, ...retry });
  try {
    const started = await start(target, runId, context);
    if ('failure' in started) return await failed(base, started.failure, context);
    return { ...base, status: 'started', manifestKey, ...started };
  } catch (error) {
    const reason = `could not start the run: ${(error as Error).message}`;
    await failed(base, reason, context);
    throw new SafekeepError(
      `${target.name}: ${reason}; check the deployment and the target's network settings`,
      EXIT.unavailable,
      { cause: error },
    );
  }
}

async function start(
  target: Target,
  runId: string,
  context: DispatchContext,
): Promise<{ executionArn: string } | { taskArn: string } | { workerFunction: string } | { failure: string }> {
  const { deployment, ports } = context;
  const { resources } = deployment;
  const run = { target: target.name, runId };
  if (isSnapshotTarget(target)) {
    const arn = required(resources.stateMachineArn, 'the snapshot state machine');
    // Execution names are unique for 90 days; the run id makes them so.
    return ports.startExecution(arn, `${target.name}-${runId}`, run);
  }
  if (target.runner === 'lambda') {
    const worker = required(resources.workers[target.name], `the Lambda worker of "${target.name}"`);
    // Marked, so the worker leaves its end to the async-invoke destination instead of reporting it twice.
    await ports.invokeAsync(worker, { ...run, dispatched: true });
    return { workerFunction: worker };
  }
  return ports.runTask({
    cluster: required(resources.cluster, 'the ECS cluster'),
    taskDefinition: taskFamilyOf(deployment, target.name),
    subnets: target.network.subnetIds,
    securityGroups: target.network.securityGroupIds,
    assignPublicIp: target.network.assignPublicIp,
    // The task is told which target and run it is; the task definition holds the rest, credentials included.
    environment: taskRunEnvironment(run),
    tags: { 'safekeep:target': target.name, 'safekeep:run-id': runId },
  });
}

async function failed(
  base: { target: string; runId: string; kind: RunRecord['kind'] },
  reason: string,
  context: DispatchContext,
): Promise<DispatchResult> {
  await context.ports.runs.settle(base.target, base.runId, { status: 'failed', finishedAt: context.now().toISOString(), reason });
  context.telemetry.metric(METRIC.failed, 1, 'Count', { [TARGET_DIMENSION]: base.target });
  context.telemetry.warn('run failed to start', { ...base, reason });
  return { ...base, status: 'failed', reason };
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`${what} is not part of this deployment; redeploy the stack with this target`);
  return value;
}
