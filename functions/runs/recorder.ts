/**
 * Settling a run from how it ended: a stopped dump task, a finished snapshot execution, or a Lambda worker's
 * result. A dump counts as succeeded only when its manifest is in the bucket (a zero exit code alone is not
 * a backup). The run is settled once in the runs table and counted: BackupSucceeded or BackupFailed, with
 * duration and bytes for successes. A failed run with attempts left is retried (retry.ts) and counted as
 * BackupAttemptFailed instead: the failure alarm fires on the last attempt only. Every settled run is
 * published as an event (contracts/events.ts).
 */

import { manifestKeyOf } from '../contracts/artifact-layout.ts';
import type { Retries } from '../contracts/config/schema.ts';
import { WORKER_CONTAINER } from '../contracts/deployment.ts';
import { EXIT } from '../contracts/errors.ts';
import { DETAIL_TYPE, type EventPublisher, type RunEventDetail } from '../contracts/events.ts';
import type { Manifest } from '../contracts/manifest.ts';
import { METRIC, TARGET_DIMENSION } from '../contracts/metrics.ts';
import { runRefSchema, taskRunOf } from '../contracts/run-payloads.ts';
import type { Telemetry } from '../contracts/telemetry.ts';
import { type DrillEnd, type DrillRecorderPorts, drillOf, recordDrillEnd } from './drill-recorder.ts';
import { type RetryScheduler, retryAfter } from './retry.ts';
import type { RecorderEvent } from './run-end-events.ts';
import type { RunRecord, RunsStore } from './run-record.ts';

/** Settles whatever the event ends: a restore drill (drill-recorder.ts) or a backup run. */
export async function recordEnd(
  event: RecorderEvent,
  context: RecorderContext & { readonly ports: DrillRecorderPorts },
): Promise<Outcome | DrillEnd | undefined> {
  return drillOf(event) ? recordDrillEnd(event, context) : recordRunEnd(event, context);
}

export interface RecorderPorts {
  readonly runs: RunsStore;
  /** The manifest at `key` in the artifact bucket, or undefined when there is none. */
  readManifest(key: string): Promise<Manifest | undefined>;
  /** Where settled runs are published; none, none published. */
  readonly events?: EventPublisher;
  /** Starts failed runs again; none, no run is retried. */
  readonly retries?: RetryScheduler;
}

export interface RecorderContext {
  readonly ports: RecorderPorts;
  readonly now: () => Date;
  readonly telemetry: Telemetry;
  /** The target's retry policy (from the deployment); undefined for a target it does not know. */
  readonly retryPolicyOf?: (target: string) => Retries | undefined;
  /** The artifact bucket, for the manifest location in events. */
  readonly bucket?: string;
}

export interface Outcome {
  readonly target: string;
  readonly runId: string;
  readonly kind: RunRecord['kind'];
  /** When the run started, as its end event tells (ECS task start, execution start); else from its run id. */
  readonly startedAt?: string;
  readonly status: 'succeeded' | 'failed';
  readonly reason?: string;
  readonly manifestKey?: string;
  readonly bytes?: number;
  readonly durationSeconds?: number;
  /** When the retry of this failed run starts, if it gets one. */
  readonly retryAt?: string;
}

/** Settles the run the event describes; undefined for events that are not the end of a Safekeep backup run. */
export async function recordRunEnd(event: RecorderEvent, context: RecorderContext): Promise<Outcome | undefined> {
  // A drill's end is no backup's: drill-recorder.ts settles it (recordEnd).
  if (drillOf(event)) return undefined;
  const outcome = await outcomeOf(event, context);
  if (!outcome) return undefined;
  const finishedAt = context.now().toISOString();
  const settled = await context.ports.runs.settle(
    outcome.target,
    outcome.runId,
    {
      status: outcome.status,
      finishedAt,
      reason: outcome.reason,
      manifestKey: outcome.manifestKey,
      bytes: outcome.bytes,
      durationSeconds: outcome.durationSeconds,
    },
    // A run no dispatcher recorded (started from the console, past it) is recorded whole from its end.
    { kind: outcome.kind, trigger: 'manual', startedAt: outcome.startedAt ?? runIdTime(outcome.runId) ?? finishedAt },
  );
  if (!settled) {
    // Settled before (a duplicate event, or the dispatcher already failed it): count nothing twice.
    context.telemetry.info('run already settled', { target: outcome.target, runId: outcome.runId });
    return outcome;
  }
  const dimensions = { [TARGET_DIMENSION]: outcome.target };
  let retryAt: Date | undefined;
  if (outcome.status === 'succeeded') {
    context.telemetry.metric(METRIC.succeeded, 1, 'Count', dimensions);
    if (outcome.durationSeconds !== undefined)
      context.telemetry.metric(METRIC.durationSeconds, outcome.durationSeconds, 'Seconds', dimensions);
    if (outcome.bytes !== undefined) context.telemetry.metric(METRIC.bytes, outcome.bytes, 'Bytes', dimensions);
  } else {
    retryAt = await retryIfAttemptsLeft(settled, context);
    // Only the last attempt raises the failure alarm; an attempt that is retried is counted on its own.
    context.telemetry.metric(retryAt ? METRIC.attemptFailed : METRIC.failed, 1, 'Count', dimensions);
    context.telemetry.warn('run failed', {
      target: outcome.target,
      runId: outcome.runId,
      reason: outcome.reason,
      attempt: settled.attempt ?? 1,
      retryAt: retryAt?.toISOString(),
    });
  }
  await context.ports.events?.publish(
    outcome.status === 'succeeded' ? DETAIL_TYPE.succeeded : retryAt ? DETAIL_TYPE.attemptFailed : DETAIL_TYPE.failed,
    runEventDetail(settled, context.bucket, retryAt),
  );
  return retryAt ? { ...outcome, retryAt: retryAt.toISOString() } : outcome;
}

/** Schedules the retry of a failed run with attempts left, and says when it starts. A retry that cannot be scheduled is no retry. */
async function retryIfAttemptsLeft(run: RunRecord, context: RecorderContext): Promise<Date | undefined> {
  const policy = context.retryPolicyOf?.(run.target);
  const retry = policy && context.ports.retries ? retryAfter(run, policy, context.now()) : undefined;
  if (!retry || !context.ports.retries) return undefined;
  try {
    await context.ports.retries.scheduleRetry(retry.request, retry.at);
    context.telemetry.info('retry scheduled', { ...retry.request, at: retry.at.toISOString() });
    return retry.at;
  } catch (error) {
    // Then this was the last attempt after all: it must raise the failure alarm.
    context.telemetry.warn('retry not scheduled', { ...retry.request, error: (error as Error).message });
    return undefined;
  }
}

/** The published detail of a settled run (docs/events.schema.json). */
export function runEventDetail(run: RunRecord, bucket: string | undefined, retryAt?: Date): RunEventDetail {
  const manifest =
    run.status === 'succeeded' && run.manifestKey && bucket
      ? { bucket, key: run.manifestKey, url: `s3://${bucket}/${run.manifestKey}` }
      : undefined;
  return {
    version: 1,
    target: run.target,
    runId: run.runId,
    kind: run.kind,
    status: run.status === 'succeeded' ? 'succeeded' : 'failed',
    trigger: run.trigger,
    attempt: run.attempt ?? 1,
    ...(run.retryOf ? { retryOf: run.retryOf } : {}),
    ...(retryAt ? { retryAt: retryAt.toISOString() } : {}),
    startedAt: run.startedAt,
    finishedAt: run.finishedAt ?? run.startedAt,
    ...(run.durationSeconds !== undefined ? { durationSeconds: run.durationSeconds } : {}),
    ...(run.bytes !== undefined ? { bytes: run.bytes } : {}),
    ...(run.reason ? { reason: run.reason } : {}),
    ...(manifest ? { manifest } : {}),
  };
}

async function outcomeOf(event: RecorderEvent, context: RecorderContext): Promise<Outcome | undefined> {
  if ('source' in event && event.source === 'aws.ecs') return dumpTaskOutcome(event, context);
  if ('source' in event && event.source === 'aws.states') return executionOutcome(event);
  if ('requestContext' in event) return lambdaWorkerOutcome(event, context);
  return undefined;
}

async function dumpTaskOutcome(
  event: Extract<RecorderEvent, { source: 'aws.ecs' }>,
  context: RecorderContext,
): Promise<Outcome | undefined> {
  const { detail } = event;
  if (detail.lastStatus !== 'STOPPED') return undefined;
  // The dispatcher tells every task which target and run it is, in the overrides the event carries back.
  const override = detail.overrides?.containerOverrides.find((o) => o.name === WORKER_CONTAINER);
  const run = taskRunOf(Object.fromEntries((override?.environment ?? []).map((e) => [e.name, e.value])));
  if (!run) return undefined; // not started by the dispatcher
  const { target, runId } = run;
  const kind = 'dump';
  const startedAt = isoOrUndefined(detail.startedAt ?? detail.createdAt);
  const worker = detail.containers.find((c) => c.name === WORKER_CONTAINER);
  const durationSeconds = secondsBetween(detail.startedAt ?? detail.createdAt, detail.stoppedAt);
  const failed = { target, runId, kind, startedAt, status: 'failed' } as const;
  if (worker?.exitCode === undefined) {
    // Never ran: image pull, capacity, networking or secrets failed before the container started.
    return {
      ...failed,
      reason: `the task never started (${detail.stopCode ?? 'no stop code'}: ${detail.stoppedReason ?? worker?.reason ?? 'no reason given'})`,
    };
  }
  if (worker.exitCode !== 0) {
    return {
      ...failed,
      durationSeconds,
      reason: exitReason(worker.exitCode, detail.stopCode, detail.stoppedReason),
    };
  }
  const ended = await withManifest(target, runId, durationSeconds, context);
  return { ...ended, startedAt: startedAt ?? ended.startedAt };
}

/** SIGKILL's exit status (128 + 9): the worker was killed outright, e.g. past the stop timeout. */
const KILLED_EXIT_CODE = 137;

/** Why a dump task that ran ended non-zero, in one line; a stopped one says who stopped it. */
export function exitReason(exitCode: number, stopCode?: string, stoppedReason?: string): string {
  const by =
    stopCode && stopCode !== 'EssentialContainerExited' ? ` (${stopCode}${stoppedReason ? `: ${stoppedReason}` : ''})` : '';
  if (exitCode === EXIT.stopped)
    return `stopped by ECS/SIGTERM${by}: the dump task aborted its uploads and wrote no manifest (exit code ${EXIT.stopped}); start the run again`;
  if (exitCode === KILLED_EXIT_CODE)
    return `killed (SIGKILL, exit code ${KILLED_EXIT_CODE})${by} before it finished: no manifest, so no backup; the bucket's lifecycle removes its open uploads`;
  return `the dump task exited with code ${exitCode}${by}; its CloudWatch log says why`;
}

function executionOutcome(event: Extract<RecorderEvent, { source: 'aws.states' }>): Outcome | undefined {
  const { detail } = event;
  if (detail.status === 'RUNNING' || detail.status === 'PENDING_REDRIVE') return undefined;
  const parsed = runRefSchema.safeParse(JSON.parse(detail.input ?? '{}'));
  if (!parsed.success) return undefined;
  const input = parsed.data;
  const durationSeconds = detail.startDate && detail.stopDate ? (detail.stopDate - detail.startDate) / 1000 : undefined;
  const started = {
    kind: 'snapshot',
    startedAt: detail.startDate ? new Date(detail.startDate).toISOString() : undefined,
  } as const;
  if (detail.status === 'SUCCEEDED')
    return { target: input.target, runId: input.runId, ...started, status: 'succeeded', durationSeconds };
  const reason = `the snapshot run ${detail.status.toLowerCase().replace('_', ' ')}${detail.cause ? `: ${detail.cause}` : detail.error ? `: ${detail.error}` : ''}`;
  return { target: input.target, runId: input.runId, ...started, status: 'failed', durationSeconds, reason };
}

async function lambdaWorkerOutcome(
  event: Extract<RecorderEvent, { requestContext: unknown }>,
  context: RecorderContext,
): Promise<Outcome> {
  const { target, runId } = event.requestPayload;
  if (event.requestContext.condition !== 'Success') {
    const error = (event.responsePayload as { errorMessage?: string } | undefined)?.errorMessage;
    return {
      target,
      runId,
      kind: 'dump',
      status: 'failed',
      reason: `the Lambda worker failed (${event.requestContext.condition}${error ? `: ${error}` : ''})`,
    };
  }
  // The worker returns where its manifest is; the recorder still reads it, since only a manifest is a backup.
  const reported = (event.responsePayload as { manifestKey?: unknown } | undefined)?.manifestKey;
  return withManifest(target, runId, undefined, context, typeof reported === 'string' ? reported : undefined);
}

async function withManifest(
  target: string,
  runId: string,
  durationSeconds: number | undefined,
  context: RecorderContext,
  reportedKey?: string,
): Promise<Outcome> {
  // Where the dispatcher said the manifest lands; a run it did not start has no record, and the layout says.
  const key = reportedKey ?? (await context.ports.runs.get(target, runId))?.manifestKey ?? manifestKeyOf(target, runId);
  const manifest = key ? await context.ports.readManifest(key) : undefined;
  if (!key || !manifest) {
    return {
      target,
      runId,
      kind: 'dump',
      status: 'failed',
      durationSeconds,
      reason: 'the worker exited 0 but wrote no manifest, so there is no backup',
    };
  }
  const took = durationSeconds ?? secondsBetween(manifest.startedAt, manifest.finishedAt);
  return {
    target,
    runId,
    kind: 'dump',
    startedAt: manifest.startedAt,
    status: 'succeeded',
    manifestKey: key,
    bytes: manifest.totals.storedBytes,
    durationSeconds: took,
  };
}

/** The start time a run id carries (20261121T193000Z-a1b2c3), as ISO 8601. */
export function runIdTime(runId: string): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(runId);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, sec] = match;
  const at = new Date(`${y}-${mo}-${d}T${h}:${mi}:${sec}.000Z`);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

function isoOrUndefined(value: string | undefined): string | undefined {
  const at = value ? new Date(value) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at.toISOString() : undefined;
}

function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  return Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);
}
