/**
 * Settling a restore drill from how it ended: a stopped drill task (its overrides carry SAFEKEEP_ACTION=drill)
 * or a finished execution of the snapshot drill state machine (its input is `{ target, drillId }`). A drill
 * passed only when its result says SUCCESSFUL: drill.json beside the drilled backup's manifest for a dump
 * drill, the execution's output for a snapshot drill. Anything else (FAILED, TIMED_OUT, no result, a task
 * that never started or exited non-zero) fails the drill with the reason. A drill is settled once in the
 * target's drill partition and counted as DrillSucceeded (+ DrillDurationSeconds) or DrillFailed; it is never
 * a backup: never counted as BackupSucceeded/BackupFailed, never retried.
 */
import { WORKER_CONTAINER } from '../contracts/deployment.ts';
import { type DrillResult, drillKeyOf, drillResultSchema, TASK_DRILL_VARIABLES } from '../contracts/drill.ts';
import { METRIC, TARGET_DIMENSION } from '../contracts/metrics.ts';
import { drillRefSchema, TASK_RUN_VARIABLES } from '../contracts/run-payloads.ts';
import type { Telemetry } from '../contracts/telemetry.ts';
import type { RecorderEvent } from './run-end-events.ts';
import type { DrillRecord, DrillsStore } from './run-record.ts';

export interface DrillRecorderPorts {
  readonly runs: DrillsStore;
  /** The JSON at `key` in the artifact bucket (a drill.json), or undefined when there is none. */
  readDrillResult(key: string): Promise<unknown>;
}

export interface DrillRecorderContext {
  readonly ports: DrillRecorderPorts;
  readonly now: () => Date;
  readonly telemetry: Telemetry;
}

/** How a drill ended, as the recorder settled it. */
export interface DrillEnd {
  readonly target: string;
  readonly drillId: string;
  readonly kind: DrillRecord['kind'];
  readonly status: 'succeeded' | 'failed';
  readonly reason?: string;
  readonly validationStatus?: DrillResult['validationStatus'];
  readonly durationSeconds?: number;
  readonly manifestKey?: string;
  readonly resultKey?: string;
  readonly backupRunId?: string;
  readonly startedAt?: string;
  /** False when it was settled before (a duplicate event): nothing was counted this time. */
  readonly settledNow: boolean;
}

const DRILL_ACTION = 'drill';

/** The drill an event is the end of, if it is one: a drill task's stop or a drill execution's end. */
export function drillOf(event: RecorderEvent): { target: string; drillId: string } | undefined {
  if ('source' in event && event.source === 'aws.ecs') {
    const environment = taskEnvironment(event);
    if (environment[TASK_DRILL_VARIABLES.action] !== DRILL_ACTION) return undefined;
    const target = environment[TASK_RUN_VARIABLES.target];
    const drillId = environment[TASK_RUN_VARIABLES.runId];
    return target && drillId ? { target, drillId } : undefined;
  }
  if ('source' in event && event.source === 'aws.states') {
    const parsed = drillRefSchema.safeParse(safeJson(event.detail.input ?? '{}'));
    return parsed.success ? parsed.data : undefined;
  }
  return undefined;
}

/** Settles the drill the event ends; undefined for events that end no drill (or not yet: a running task). */
export async function recordDrillEnd(event: RecorderEvent, context: DrillRecorderContext): Promise<DrillEnd | undefined> {
  const drill = drillOf(event);
  if (!drill) return undefined;
  const ended = await endOf(event, drill, context);
  if (!ended) return undefined;
  const finishedAt = context.now().toISOString();
  const settled = await context.ports.runs.settleDrill(
    drill.target,
    drill.drillId,
    {
      status: ended.status,
      finishedAt,
      reason: ended.reason,
      validationStatus: ended.validationStatus,
      durationSeconds: ended.durationSeconds,
      resultKey: ended.resultKey,
      manifestKey: ended.manifestKey,
      backupRunId: ended.backupRunId,
    },
    // A drill no dispatcher recorded (a task or execution started by hand) is recorded whole from its end.
    { kind: ended.kind, trigger: 'manual', startedAt: ended.startedAt ?? finishedAt },
  );
  if (!settled) {
    context.telemetry.info('drill already settled', drill);
    return { ...ended, settledNow: false };
  }
  const dimensions = { [TARGET_DIMENSION]: drill.target };
  if (ended.status === 'succeeded') {
    context.telemetry.metric(METRIC.drillSucceeded, 1, 'Count', dimensions);
    if (ended.durationSeconds !== undefined)
      context.telemetry.metric(METRIC.drillDurationSeconds, ended.durationSeconds, 'Seconds', dimensions);
    context.telemetry.info('drill passed', { ...drill, manifestKey: ended.manifestKey });
  } else {
    context.telemetry.metric(METRIC.drillFailed, 1, 'Count', dimensions);
    context.telemetry.warn('drill failed', { ...drill, reason: ended.reason });
  }
  return { ...ended, settledNow: true };
}

type Ended = Omit<DrillEnd, 'settledNow'>;

async function endOf(
  event: RecorderEvent,
  drill: { target: string; drillId: string },
  context: DrillRecorderContext,
): Promise<Ended | undefined> {
  if ('source' in event && event.source === 'aws.ecs') return taskEnd(event, drill, context);
  if ('source' in event && event.source === 'aws.states') return executionEnd(event, drill);
  return undefined;
}

async function taskEnd(
  event: Extract<RecorderEvent, { source: 'aws.ecs' }>,
  drill: { target: string; drillId: string },
  context: DrillRecorderContext,
): Promise<Ended | undefined> {
  const { detail } = event;
  if (detail.lastStatus !== 'STOPPED') return undefined;
  const environment = taskEnvironment(event);
  const manifestKey =
    environment[TASK_DRILL_VARIABLES.from] ?? (await context.ports.runs.getDrill(drill.target, drill.drillId))?.manifestKey;
  const worker = detail.containers.find((c) => c.name === WORKER_CONTAINER);
  const startedAt = isoOrUndefined(detail.startedAt ?? detail.createdAt);
  const taskSeconds = secondsBetween(detail.startedAt ?? detail.createdAt, detail.stoppedAt);
  const base = { ...drill, kind: 'dump', startedAt, manifestKey } as const;
  if (worker?.exitCode === undefined) {
    return {
      ...base,
      status: 'failed',
      reason: `the drill task never started (${detail.stopCode ?? 'no stop code'}: ${detail.stoppedReason ?? worker?.reason ?? 'no reason given'})`,
    };
  }
  const resultKey = manifestKey ? safeDrillKey(manifestKey) : undefined;
  const raw = resultKey ? await context.ports.readDrillResult(resultKey) : undefined;
  const exited =
    worker.exitCode === 0 ? '' : ` (the drill task exited with code ${worker.exitCode}; its CloudWatch log says why)`;
  if (raw === undefined) {
    return {
      ...base,
      status: 'failed',
      durationSeconds: taskSeconds,
      reason: `the drill wrote no ${resultKey ?? 'drill.json'}${exited || ' though it exited 0'}`,
    };
  }
  const judged = judge(raw, drill, resultKey);
  // A task that failed is a failed drill, whatever its result says: the result may be from before it died.
  if (worker.exitCode !== 0 && judged.status === 'succeeded')
    return { ...base, ...judged, status: 'failed', reason: `drill task failed${exited}` };
  return {
    ...base,
    durationSeconds: taskSeconds,
    ...judged,
    ...(judged.status === 'failed' && exited ? { reason: `${judged.reason}${exited}` } : {}),
  };
}

function executionEnd(
  event: Extract<RecorderEvent, { source: 'aws.states' }>,
  drill: { target: string; drillId: string },
): Ended | undefined {
  const { detail } = event;
  if (detail.status === 'RUNNING' || detail.status === 'PENDING_REDRIVE') return undefined;
  const startedAt = detail.startDate ? new Date(detail.startDate).toISOString() : undefined;
  const durationSeconds = detail.startDate && detail.stopDate ? (detail.stopDate - detail.startDate) / 1000 : undefined;
  const base = { ...drill, kind: 'snapshot', startedAt, durationSeconds } as const;
  if (detail.status !== 'SUCCEEDED') {
    const why = detail.cause ? `: ${detail.cause}` : detail.error ? `: ${detail.error}` : '';
    return { ...base, status: 'failed', reason: `the snapshot drill ${detail.status.toLowerCase().replace('_', ' ')}${why}` };
  }
  const output = safeJson(detail.output ?? '');
  // The state machine ends with the DrillResult itself, or with it under `result` / `drill`.
  const result =
    output && typeof output === 'object' && !('safekeepDrill' in output)
      ? ((output as Record<string, unknown>).result ?? (output as Record<string, unknown>).drill)
      : output;
  if (result === undefined) return { ...base, status: 'failed', reason: 'the snapshot drill ended without a drill result' };
  return { ...base, ...judge(result, drill, undefined) };
}

/** What a drill result says, checked: its shape, that it is this drill's, and its validation status. */
function judge(
  raw: unknown,
  drill: { target: string; drillId: string },
  resultKey: string | undefined,
): Pick<Ended, 'status' | 'reason' | 'validationStatus' | 'durationSeconds' | 'resultKey' | 'backupRunId'> {
  const where = resultKey ?? 'the drill result';
  const parsed = drillResultSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    return { status: 'failed', resultKey, reason: `${where} is not a drill result (${problems})` };
  }
  const result = parsed.data;
  if (result.drillId !== drill.drillId || result.target !== drill.target) {
    // Another drill of the same backup wrote it since: this drill's own result is lost, so it did not pass.
    return {
      status: 'failed',
      resultKey,
      reason: `${where} is drill ${result.drillId}'s, not ${drill.drillId}'s: this drill left no result`,
    };
  }
  const common = {
    resultKey,
    validationStatus: result.validationStatus,
    durationSeconds: result.durationSeconds,
    backupRunId: result.backupRunId,
  };
  if (result.validationStatus === 'SUCCESSFUL') return { ...common, status: 'succeeded' };
  return { ...common, status: 'failed', reason: `${result.validationStatus}: ${result.validationStatusMessage}` };
}

function taskEnvironment(event: Extract<RecorderEvent, { source: 'aws.ecs' }>): Record<string, string> {
  const override = event.detail.overrides?.containerOverrides.find((o) => o.name === WORKER_CONTAINER);
  return Object.fromEntries((override?.environment ?? []).map((e) => [e.name, e.value]));
}

function safeDrillKey(manifestKey: string): string | undefined {
  try {
    return drillKeyOf(manifestKey);
  } catch {
    return undefined;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isoOrUndefined(value: string | undefined): string | undefined {
  const at = value ? new Date(value) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at.toISOString() : undefined;
}

function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  return Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);
}
