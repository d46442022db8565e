/**
 * Starting a run of one target, whoever asks (a schedule, the console, `safekeep run`): pick the run id,
 * record the run, then start the snapshot state machine, the target's Fargate dump task, or its Lambda
 * worker. A run that cannot start is recorded as failed, with the reason, and counted.
 */

import { newRunId } from '../contracts/artifact-layout.ts';
import type { Target } from '../contracts/config/schema.ts';
import { isSnapshotTarget } from '../contracts/config/schema.ts';
import { EXIT, SafekeepError } from '../contracts/errors.ts';
import { METRIC, TARGET_DIMENSION } from '../contracts/metrics.ts';
import type { Telemetry } from '../contracts/telemetry.ts';
import type { RunRecord, RunsStore } from './run-record.ts';

/** Where the deployed pieces are: the construct publishes this (SSM and the dispatcher's environment). */
export interface Deployment {
  readonly stateMachineArn?: string;
  readonly clusterArn?: string;
  /** Task definition family of a target: `<prefix>-<target>`. */
  readonly taskFamilyPrefix?: string;
  /** Lambda worker function name per target with runner "lambda". */
  readonly workerFunctions?: Readonly<Record<string, string>>;
}

/** The deployment as the stack publishes it in SSM (/safekeep/<stack>/deployment) for `safekeep run` and `status`. */
export interface PublishedDeployment extends Deployment {
  readonly runsTable: string;
  readonly bucket: string;
  readonly region: string;
}

export const WORKER_CONTAINER = 'worker';

export interface TaskRequest {
  readonly cluster: string;
  readonly taskDefinition: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: boolean;
  /** Non-secret environment for the worker container (the run id). */
  readonly environment: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
}

export interface DispatchPorts {
  startExecution(
    stateMachineArn: string,
    name: string,
    input: { target: string; runId: string },
  ): Promise<{ executionArn: string }>;
  /** Starts the task, or says why ECS would not. */
  runTask(request: TaskRequest): Promise<{ taskArn: string } | { failure: string }>;
  invokeAsync(functionName: string, payload: { target: string; runId: string }): Promise<void>;
  readonly runs: RunsStore;
}

export interface DispatchResult {
  readonly target: string;
  readonly runId: string;
  readonly kind: RunRecord['kind'];
  readonly status: 'started' | 'failed';
  readonly reason?: string;
  readonly executionArn?: string;
  readonly taskArn?: string;
}

export interface DispatchContext {
  readonly deployment: Deployment;
  readonly ports: DispatchPorts;
  readonly now: () => Date;
  readonly randomSuffix: () => string;
  readonly telemetry: Telemetry;
}

export async function dispatch(target: Target, trigger: RunRecord['trigger'], context: DispatchContext): Promise<DispatchResult> {
  const startedAt = context.now();
  const runId = newRunId(startedAt, context.randomSuffix());
  const kind = isSnapshotTarget(target) ? 'snapshot' : 'dump';
  const base = { target: target.name, runId, kind } as const;
  await context.ports.runs.put({ ...base, trigger, status: 'running', startedAt: startedAt.toISOString() });
  context.telemetry.info('run dispatched', { ...base, trigger });
  try {
    const started = await start(target, runId, context);
    if ('failure' in started) return await failed(base, started.failure, context);
    return { ...base, status: 'started', ...started };
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
): Promise<{ executionArn: string } | { taskArn: string } | { failure: string }> {
  const { deployment, ports } = context;
  if (isSnapshotTarget(target)) {
    const arn = required(deployment.stateMachineArn, 'the snapshot state machine');
    // Execution names are unique for 90 days; the run id makes them so.
    return ports.startExecution(arn, `${target.name}-${runId}`, { target: target.name, runId });
  }
  if (target.runner === 'lambda') {
    const worker = required(deployment.workerFunctions?.[target.name], `the Lambda worker of "${target.name}"`);
    await ports.invokeAsync(worker, { target: target.name, runId });
    return { taskArn: `lambda:${worker}` };
  }
  return ports.runTask({
    cluster: required(deployment.clusterArn, 'the ECS cluster'),
    taskDefinition: `${required(deployment.taskFamilyPrefix, 'the task family prefix')}-${target.name}`,
    subnets: target.network.subnetIds,
    securityGroups: target.network.securityGroupIds,
    assignPublicIp: target.network.assignPublicIp,
    environment: { SAFEKEEP_RUN_ID: runId },
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
