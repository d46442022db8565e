/**
 * Starting a run of one target, whoever asks (a schedule, the console, `safekeep run`): pick the run id,
 * record the run, then start the snapshot state machine, the target's Fargate dump task, or its Lambda
 * worker. A run that cannot start is recorded as failed, with the reason, and counted.
 */
import { manifestKeyOf, newRunId } from '../contracts/artifact-layout.ts';
import type { Target } from '../contracts/config/schema.ts';
import { isSnapshotTarget } from '../contracts/config/schema.ts';
import { type Deployment, deploymentTarget, taskFamilyOf } from '../contracts/deployment.ts';
import { EXIT, SafekeepError } from '../contracts/errors.ts';
import { METRIC, TARGET_DIMENSION } from '../contracts/metrics.ts';
import { type DrillRef, type RunRef, taskRunEnvironment } from '../contracts/run-payloads.ts';
import type { DrillStartInput } from '../contracts/snapshot-drill-payloads.ts';
import type { Telemetry } from '../contracts/telemetry.ts';
import { admitStart, deferralDelayMs, type FleetContext, isNotNow, isNotNowError, releaseStart } from './fleet-pacing.ts';
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
  /** Starts the snapshot drill state machine: its start input, and the drill id the recorder knows it by. */
  startDrillExecution(
    stateMachineArn: string,
    name: string,
    input: DrillRef & DrillStartInput,
  ): Promise<{ executionArn: string }>;
  /** Every manifest key under `prefix` in the artifact bucket (the drill's candidates). */
  listManifests(prefix: string): Promise<string[]>;
  readonly runs: RunsStore;
}

export interface DispatchResult {
  readonly target: string;
  readonly runId: string;
  readonly kind: RunRecord['kind'];
  /**
   * `deferred`: no room to start now (Fargate vCPU quota, launch rate, ECS capacity); the same run starts later.
   * `already-started`: a repeated delivery of a start that was made, or a run already settled; nothing done.
   */
  readonly status: 'started' | 'failed' | 'deferred' | 'already-started';
  readonly reason?: string;
  /** The snapshot state machine's execution. */
  readonly executionArn?: string;
  /** The Fargate dump task. */
  readonly taskArn?: string;
  /** The Lambda worker invoked for it. */
  readonly workerFunction?: string;
  /** Where a dump's manifest lands once it is a backup. */
  readonly manifestKey?: string;
  /** The run of the target's `pairedWith` snapshot target, started first under the same run id. */
  readonly paired?: DispatchResult;
  /** When a deferred start is due. */
  readonly deferredUntil?: string;
}

export interface DispatchContext {
  readonly deployment: Deployment;
  readonly ports: DispatchPorts;
  readonly now: () => Date;
  readonly randomSuffix: () => string;
  readonly telemetry: Telemetry;
  /**
   * Paces Fargate starts within the account's vCPU quota and ECS's launch rate (fleet-pacing.ts).
   * @default - none: every start is tried at once, and a refused one fails (`safekeep run`)
   */
  readonly fleet?: FleetContext;
  /** In [0, 1), for a drill's random pick. @default Math.random */
  readonly random?: () => number;
}

/** A deferred start when it is due: the run it continues, and how many times it was deferred. */
export interface ResumeOf {
  readonly runId: string;
  readonly deferral: number;
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
  resume?: ResumeOf,
): Promise<DispatchResult> {
  const kind = isSnapshotTarget(target) ? 'snapshot' : 'dump';
  let runId: string;
  let startedAt = context.now();
  if (resume) {
    // A deferred start: the run is recorded already; only a run still waiting to start is started.
    runId = resume.runId;
    const record = await context.ports.runs.get(target.name, runId);
    if (record?.status !== 'running') {
      context.telemetry.info('deferred start skipped: the run is settled', { target: target.name, runId });
      return { target: target.name, runId, kind, status: 'already-started' };
    }
    startedAt = new Date(record.startedAt);
  } else {
    runId = newRunId(startedAt, context.randomSuffix());
  }
  const base = { target: target.name, runId, kind } as const;
  // Computed once, here: the recorder and `safekeep run --wait` read it from the record.
  const manifestKey = kind === 'dump' ? manifestKeyOf(target.name, runId) : undefined;
  let paired: DispatchResult | undefined;
  if (!resume) {
    await context.ports.runs.put({
      ...base,
      trigger,
      status: 'running',
      startedAt: startedAt.toISOString(),
      manifestKey,
      ...retry,
    });
    context.telemetry.info('run dispatched', { ...base, trigger, ...retry });
    // A deferred start's paired snapshot was started with its first dispatch.
    paired = await startPaired(target, runId, trigger, startedAt, context);
  }
  const withPaired = (result: DispatchResult): DispatchResult => (paired ? { ...result, paired } : result);
  try {
    const started = await start(target, runId, context, resume?.deferral ?? 0);
    if ('notNow' in started) return withPaired(await defer(base, { trigger, startedAt }, started.notNow, context, retry, resume));
    if ('failure' in started) return withPaired(await failed(base, started.failure, context));
    if ('alreadyStarted' in started) return withPaired({ ...base, status: 'already-started', manifestKey });
    return withPaired({ ...base, status: 'started', manifestKey, ...started });
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

/**
 * A dump target's `pairedWith` volume or instance: snapshotted in the same run, recorded under the same run id
 * as a run of its own target. Its failure to start is recorded (and alerted) as that target's; the dump still runs.
 */
async function startPaired(
  target: Target,
  runId: string,
  trigger: RunRecord['trigger'],
  startedAt: Date,
  context: DispatchContext,
): Promise<DispatchResult | undefined> {
  if (isSnapshotTarget(target) || target.pairedWith === undefined) return undefined;
  const snapshotTarget = deploymentTarget(context.deployment, target.pairedWith);
  const base = { target: snapshotTarget.name, runId, kind: 'snapshot' } as const;
  await context.ports.runs.put({ ...base, trigger, status: 'running', startedAt: startedAt.toISOString() });
  context.telemetry.info('paired run dispatched', { ...base, trigger, pairedWith: target.name });
  try {
    const started = await start(snapshotTarget, runId, context, 0);
    if ('failure' in started) return await failed(base, started.failure, context);
    if ('executionArn' in started) return { ...base, status: 'started', ...started };
    return await failed(base, 'a paired snapshot target starts a state machine execution, not a task', context);
  } catch (error) {
    return failed(base, `could not start the run: ${(error as Error).message}`, context);
  }
}

type Started =
  | { executionArn: string }
  | { taskArn: string }
  | { workerFunction: string }
  | { failure: string }
  | { notNow: string }
  | { alreadyStarted: true };

/** Starts the Fargate task of a run through the fleet's pacing: admitted, it is started; else it is not now. */
async function startPaced(
  fleet: FleetContext,
  request: TaskRequest,
  run: { target: string; runId: string },
  deferral: number,
  context: DispatchContext,
): Promise<Started> {
  const admission = await admitStart(`${run.target}/${run.runId}`, deferral, request.cluster, context.now, fleet);
  if (admission.status === 'already-started') return { alreadyStarted: true };
  if (admission.status === 'no-room') return { notNow: admission.reason };
  let started: { taskArn: string } | { failure: string };
  try {
    started = await context.ports.runTask(request);
  } catch (error) {
    if (!isNotNowError(error)) throw error;
    await releaseStart(admission.lease, fleet);
    return { notNow: `ECS refused the start: ${(error as Error).message}` };
  }
  if ('failure' in started && isNotNow(started.failure)) {
    await releaseStart(admission.lease, fleet);
    return { notNow: started.failure };
  }
  return started;
}

/** Re-queues a start that had no room, or records the run as failed once it has waited long enough. */
async function defer(
  base: { target: string; runId: string; kind: RunRecord['kind'] },
  run: { trigger: RunRecord['trigger']; startedAt: Date },
  reason: string,
  context: DispatchContext,
  retry?: RetryOf,
  resume?: ResumeOf,
): Promise<DispatchResult> {
  const fleet = context.fleet;
  if (!fleet) return failed(base, reason, context);
  const deferral = (resume?.deferral ?? 0) + 1;
  const now = context.now();
  const runStart = run.startedAt;
  const maxWaitMs = (fleet.limits.maxWaitMinutes ?? 360) * 60_000;
  if (now.getTime() - runStart.getTime() >= maxWaitMs) {
    const waited = Math.round((now.getTime() - runStart.getTime()) / 60_000);
    return failed(base, `could not start the task in ${waited} minutes (${deferral - 1} deferrals): ${reason}`, context);
  }
  const at = new Date(now.getTime() + deferralDelayMs(deferral, fleet.limits, fleet.random));
  try {
    await fleet.ports.deferStart({ target: base.target, trigger: run.trigger, runId: base.runId, deferral, ...retry }, at);
  } catch (error) {
    return failed(base, `${reason}; and its start could not be deferred: ${(error as Error).message}`, context);
  }
  context.telemetry.info('run start deferred', { ...base, reason, deferral, at: at.toISOString() });
  return { ...base, status: 'deferred', reason, deferredUntil: at.toISOString() };
}

async function start(target: Target, runId: string, context: DispatchContext, deferral: number): Promise<Started> {
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
  const request: TaskRequest = {
    cluster: required(resources.cluster, 'the ECS cluster'),
    taskDefinition: taskFamilyOf(deployment, target.name),
    subnets: target.network.subnetIds,
    securityGroups: target.network.securityGroupIds,
    assignPublicIp: target.network.assignPublicIp,
    // The task is told which target and run it is; the task definition holds the rest, credentials included.
    environment: taskRunEnvironment(run),
    tags: { 'safekeep:target': target.name, 'safekeep:run-id': runId },
  };
  return context.fleet ? startPaced(context.fleet, request, run, deferral, context) : ports.runTask(request);
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
