/**
 * Starting a restore drill of one target, whoever asks (its drill schedule, the console, `safekeep drill`):
 * pick the backup (the target's `drill.pick` among its manifests, or the one `from` names), record the drill
 * in the target's drill partition, then start the drill: a Fargate drill task for a dump target (Lambda-run
 * targets too: a scratch database server needs more disk, memory and time than Lambda gives), the snapshot
 * drill state machine for a snapshot target. A drill that cannot start is recorded as failed and counted as
 * DrillFailed; it is never a backup run, and never retried as one.
 */
import { MANIFEST_FILE, newRunId, RUN_ID_PATTERN } from '../contracts/artifact-layout.ts';
import type { Target } from '../contracts/config/schema.ts';
import { isSnapshotTarget } from '../contracts/config/schema.ts';
import { drillTaskFamilyOf } from '../contracts/deployment.ts';
import { type DrillCandidate, pickDrillBackup, TASK_DRILL_VARIABLES } from '../contracts/drill.ts';
import { EXIT, SafekeepError, UsageError } from '../contracts/errors.ts';
import { METRIC, TARGET_DIMENSION } from '../contracts/metrics.ts';
import { taskRunEnvironment } from '../contracts/run-payloads.ts';
import type { DispatchContext } from './dispatch.ts';
import type { DrillRecord } from './run-record.ts';

/** What a drill's start says: the drill id, the backup it restores, and what runs it. */
export interface DrillDispatchResult {
  readonly target: string;
  readonly drillId: string;
  readonly kind: DrillRecord['kind'];
  readonly status: 'started' | 'failed';
  readonly reason?: string;
  /** The backup drilled (dump targets): its manifest, and drill.json beside it once the drill ends. */
  readonly manifestKey?: string;
  readonly backupRunId?: string;
  /** The snapshot drill state machine's execution. */
  readonly executionArn?: string;
  /** The Fargate drill task. */
  readonly taskArn?: string;
}

/** The action value of a drill task's SAFEKEEP_ACTION. */
export const DRILL_ACTION = 'drill';

export const NO_BACKUP_TO_DRILL = 'no backup to drill';

export async function dispatchDrill(
  target: Target,
  trigger: DrillRecord['trigger'],
  context: DispatchContext,
  from?: string,
): Promise<DrillDispatchResult> {
  // A refusal is the caller's mistake, not a failed drill: nothing is recorded or counted. A snapshot
  // target's `from` is a snapshot or run id, which its drill's start step checks.
  if (from !== undefined && !isSnapshotTarget(target)) assertManifestOfTarget(target.name, from);
  const startedAt = context.now();
  const drillId = newRunId(startedAt, context.randomSuffix());
  const kind = isSnapshotTarget(target) ? 'snapshot' : 'dump';
  const base = { target: target.name, drillId, kind } as const;
  const picked = kind === 'dump' ? await pickBackup(target, context, from) : undefined;
  await context.ports.runs.putDrill({
    ...base,
    trigger,
    status: 'running',
    startedAt: startedAt.toISOString(),
    manifestKey: picked?.manifestKey,
    backupRunId: picked?.runId,
  });
  context.telemetry.info('drill dispatched', { ...base, trigger, manifestKey: picked?.manifestKey });
  if (kind === 'dump' && !picked) return failed(base, NO_BACKUP_TO_DRILL, context);
  try {
    const started = await start(target, drillId, picked, context, trigger, from);
    if ('failure' in started) return await failed({ ...base, ...backupOf(picked) }, started.failure, context);
    return { ...base, status: 'started', ...backupOf(picked), ...started };
  } catch (error) {
    const reason = `could not start the drill: ${(error as Error).message}`;
    await failed(base, reason, context);
    throw new SafekeepError(
      `${target.name}: ${reason}; check the deployment and the target's network settings`,
      EXIT.unavailable,
      {
        cause: error,
      },
    );
  }
}

/** `from` must be a manifest of this target: under its prefix, named manifest.json, no `..` to climb out. */
export function assertManifestOfTarget(target: string, key: string): void {
  const ok =
    key.startsWith(`${target}/`) &&
    key.endsWith(`/${MANIFEST_FILE}`) &&
    !key.split('/').some((segment) => segment === '..' || segment === '.' || segment === '');
  if (!ok) {
    throw new UsageError(
      `--from ${key} is not a manifest of target "${target}"; give a key under ${target}/ that ends in /${MANIFEST_FILE} (safekeep list shows them)`,
    );
  }
}

/** The run id a manifest key names: the folder it sits in (`<target>/<yyyy>/<mm>/<dd>/<run id>/manifest.json`). */
export function runIdOfManifestKey(key: string): string | undefined {
  const runId = key.split('/').at(-2);
  return runId && RUN_ID_PATTERN.test(runId) ? runId : undefined;
}

async function pickBackup(
  target: Target,
  context: DispatchContext,
  from: string | undefined,
): Promise<(DrillCandidate & { manifestKey: string }) | undefined> {
  if (from !== undefined) return { runId: runIdOfManifestKey(from) ?? from, manifestKey: from };
  const keys = await context.ports.listManifests(`${target.name}/`);
  const candidates = keys.flatMap((manifestKey) => {
    const runId = runIdOfManifestKey(manifestKey);
    return runId ? [{ runId, manifestKey }] : [];
  });
  const { pick = 'latest', window = 7 } = target.drill ?? {};
  return pickDrillBackup(candidates, pick, window, context.now(), context.random);
}

async function start(
  target: Target,
  drillId: string,
  picked: { manifestKey: string } | undefined,
  context: DispatchContext,
  trigger: DrillRecord['trigger'],
  from: string | undefined,
): Promise<{ executionArn: string } | { taskArn: string } | { failure: string }> {
  const { deployment, ports } = context;
  const { resources } = deployment;
  if (isSnapshotTarget(target)) {
    const arn = required(resources.snapshotDrillStateMachineArn, 'the snapshot drill state machine');
    // The state machine's start input (contracts/snapshot-drill-payloads.ts) names the drill `runId`; the
    // recorder knows a drill execution by its `drillId`.
    return ports.startDrillExecution(arn, `${target.name}-${drillId}`, {
      target: target.name,
      drillId,
      runId: drillId,
      trigger,
      ...(from === undefined ? {} : { from }),
    });
  }
  if (!picked) return { failure: NO_BACKUP_TO_DRILL };
  const securityGroup = required(resources.drillSecurityGroups[target.name], `the drill security group of "${target.name}"`);
  return ports.runTask({
    cluster: required(resources.cluster, 'the ECS cluster'),
    taskDefinition: drillTaskFamilyOf(deployment, target.name),
    subnets: target.network.subnetIds,
    // Its own group only: no ingress, egress to HTTPS (S3) only; never the source database's groups.
    securityGroups: [securityGroup],
    assignPublicIp: target.network.assignPublicIp,
    environment: {
      ...taskRunEnvironment({ target: target.name, runId: drillId }),
      [TASK_DRILL_VARIABLES.action]: DRILL_ACTION,
      [TASK_DRILL_VARIABLES.from]: picked.manifestKey,
      [TASK_DRILL_VARIABLES.trigger]: trigger,
    },
    tags: { 'safekeep:target': target.name, 'safekeep:run-id': drillId, 'safekeep:action': DRILL_ACTION },
  });
}

async function failed(
  base: { target: string; drillId: string; kind: DrillRecord['kind']; manifestKey?: string; backupRunId?: string },
  reason: string,
  context: DispatchContext,
): Promise<DrillDispatchResult> {
  await context.ports.runs.settleDrill(base.target, base.drillId, {
    status: 'failed',
    finishedAt: context.now().toISOString(),
    reason,
  });
  context.telemetry.metric(METRIC.drillFailed, 1, 'Count', { [TARGET_DIMENSION]: base.target });
  context.telemetry.warn('drill failed to start', { ...base, reason });
  return { ...base, status: 'failed', reason };
}

function backupOf(picked: DrillCandidate | undefined): { manifestKey?: string; backupRunId?: string } {
  return picked ? { manifestKey: picked.manifestKey, backupRunId: picked.runId } : {};
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`${what} is not part of this deployment; redeploy the stack with this target's drill`);
  return value;
}
