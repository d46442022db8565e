/**
 * A restore drill of a snapshot target: restore the picked backup (Safekeep's own completed snapshots of one
 * run) into temporary resources named `safekeep-drill-...` and tagged `safekeep:drill=<drill id>`, wait until
 * they are available, optionally run the one SQL statement the config names against the restore, then delete
 * everything the drill made, whatever happened before. Four steps, each one Lambda invocation of the drill
 * state machine (infra/constructs/snapshot-drill.ts): startDrill -> checkDrill (looped) -> checkDrillSql ->
 * finishDrill (looped until everything is gone; also reached from every Catch).
 *
 * Cleanup never trusts the state alone: a start that crashed mid-way hands on no list of what it made, so
 * finishDrill also looks the drill's resources up by their deterministic names and by the drill tag, and
 * deletes only what carries that drill's tag.
 */

import { runDate, runPrefix } from '../../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../../contracts/artifact-store.ts';
import type { SnapshotTarget } from '../../contracts/config/schema.ts';
import {
  DRILL_FILE,
  type DrillCandidate,
  type DrillComparison,
  type DrillResult,
  pickDrillBackup,
  type ValidationStatus,
} from '../../contracts/drill.ts';
import type { DrillResource, DrillState, DrillStateInput } from '../../contracts/snapshot-drill-payloads.ts';
import { drillStateSchema } from '../../contracts/snapshot-drill-payloads.ts';
import { drillResourceName, TAG } from '../../contracts/snapshot-naming.ts';
import type { Telemetry } from '../../contracts/telemetry.ts';
import type { DrillPorts, DrillSource } from './drill-ports.ts';
import type { Snapshot, SnapshotPorts } from './ports.ts';
import { isOwnedBy, listSnapshots } from './prune.ts';

export interface DrillContext {
  readonly ports: SnapshotPorts;
  readonly drill: DrillPorts;
  /** The target's region: drills restore there. */
  readonly region: string;
  readonly now: () => Date;
  readonly telemetry: Telemetry;
  /** Inside a deployment: only its own snapshots are drilled, and its tag goes on what the drill makes. */
  readonly stack?: string;
  /** [0, 1), for a random pick. */
  readonly random?: () => number;
  /** A fresh master password for the restore (never logged, never passed on). */
  readonly newPassword: () => string;
  /** Waits between SQL connection attempts (the password change takes a moment to apply). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Where drill.json goes; without it the result is only returned. */
  readonly artifacts?: ArtifactStore;
}

export interface DrillLimits {
  /** A restore not available after this long ends the drill as TIMED_OUT. @default 120 */
  readonly restoreTimeoutMinutes?: number;
  /** Finish rounds before cleanup gives up and says what is left. @default 60 */
  readonly cleanupRounds?: number;
  /** Connection attempts of the SQL check after the password change. @default 20 */
  readonly sqlAttempts?: number;
  /** Between connection attempts. @default 15 000 */
  readonly sqlRetryMs?: number;
}

const DEFAULTS = { restoreTimeoutMinutes: 120, cleanupRounds: 60, sqlAttempts: 20, sqlRetryMs: 15_000 } as const;

/**
 * The smallest instance classes, so a drill costs as little as the engine allows (RDS docs, "Supported DB
 * engines for DB instance classes", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Support.html,
 * and Aurora's, https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.DBInstanceClass.SupportAurora.html):
 * db.t4g.micro runs MySQL, MariaDB and PostgreSQL; db.t4g.medium is the smallest provisioned Aurora MySQL 3 and
 * Aurora PostgreSQL class. Other engines (Oracle, SQL Server) keep the snapshot's class: their smallest class
 * depends on edition and licence.
 */
export function smallestInstanceClass(engine: string | undefined): string | undefined {
  if (!engine) return undefined;
  if (engine.startsWith('aurora')) return 'db.t4g.medium';
  if (['postgres', 'mysql', 'mariadb'].includes(engine)) return 'db.t4g.micro';
  return undefined;
}

/** The SQL dialect of an engine, for the check's client; undefined where Safekeep has none. */
function dialectOf(engine: string | undefined): 'postgres' | 'mysql' | undefined {
  if (engine === 'postgres' || engine === 'aurora-postgresql') return 'postgres';
  if (engine === 'mysql' || engine === 'mariadb' || engine === 'aurora-mysql' || engine === 'aurora') return 'mysql';
  return undefined;
}

const errorText = (error: unknown) => ((error as Error).message ?? String(error)).split('\n')[0];

/** Picks the backup and starts its restore. Never throws once the drill has a name: failures go into the state. */
export async function startDrill(
  target: SnapshotTarget,
  input: DrillStateInput,
  context: DrillContext,
  limits: DrillLimits = {},
) {
  const parsed = drillStateSchema.parse(input);
  const now = context.now();
  const timeout = limits.restoreTimeoutMinutes ?? DEFAULTS.restoreTimeoutMinutes;
  const pick = target.drill?.pick ?? 'latest';
  let state: DrillState = {
    ...parsed,
    startedAt: now.toISOString(),
    deadline: new Date(now.getTime() + timeout * 60_000).toISOString(),
    pick,
    sqlCheck: Boolean(target.drill?.check) && target.kind.startsWith('rds'),
  };
  const fail = (message: string, status: ValidationStatus = 'FAILED'): DrillState => ({
    ...state,
    state: 'failed',
    failure: { status, message },
  });
  let snapshots: Snapshot[];
  try {
    snapshots = await pickRun(target, parsed.from, context);
  } catch (error) {
    return fail(`could not list the snapshots of "${target.name}" in ${context.region}: ${errorText(error)}`);
  }
  if (snapshots.length === 0) {
    return fail(
      parsed.from
        ? `${parsed.from} is not a completed Safekeep snapshot or run of target "${target.name}" in ${context.region}`
        : `target "${target.name}" has no completed Safekeep snapshot in ${context.region} to drill; take one with safekeep snapshot`,
    );
  }
  state = { ...state, backupRunId: snapshots[0]?.tags[TAG.runId], snapshotIds: snapshots.map((s) => s.id) };
  context.telemetry.info('drill restore starting', { target: target.name, drillId: state.runId, snapshots: state.snapshotIds });
  const created: DrillResource[] = [];
  try {
    state = { ...state, ...(await restoreRun(target, state, snapshots, created, context)) };
  } catch (error) {
    return { ...fail(`restore refused: ${errorText(error)}`), created };
  }
  return { ...state, created, state: 'pending' as const };
}

/** The completed snapshots of the run to drill: the one `from` names, else the one `drill.pick` chooses. */
async function pickRun(target: SnapshotTarget, from: string | undefined, context: DrillContext): Promise<Snapshot[]> {
  const owned = (await listSnapshots(target, context.region, context)).filter((s) => isOwnedBy(target.name, s, context.stack));
  const runs = Map.groupBy(owned, (s) => s.tags[TAG.runId] ?? '');
  const complete = [...runs].filter(([, set]) => set.every((s) => s.status === 'available'));
  const candidates: (DrillCandidate & { snapshots: Snapshot[] })[] = complete.map(([runId, set]) => ({
    runId,
    snapshotId: set[0]?.id,
    snapshots: set.sort((a, b) => a.source.localeCompare(b.source)),
  }));
  if (from) return candidates.find((c) => c.runId === from || c.snapshots.some((s) => s.id === from))?.snapshots ?? [];
  const picked = pickDrillBackup(
    candidates,
    target.drill?.pick ?? 'latest',
    target.drill?.window ?? 7,
    context.now(),
    context.random,
  );
  return picked?.snapshots ?? [];
}

/** Starts the restore, pushing each resource onto `created` before asking for it (so cleanup looks for it). */
async function restoreRun(
  target: SnapshotTarget,
  state: DrillState,
  snapshots: readonly Snapshot[],
  created: DrillResource[],
  context: DrillContext,
): Promise<Partial<DrillState>> {
  const { region } = context;
  const name = drillResourceName(target.name, state.runId);
  const tags = (snapshot: Snapshot) => ({
    [TAG.target]: target.name,
    [TAG.drill]: state.runId,
    [TAG.restoredFrom]: snapshot.id,
    ...(context.stack ? { [TAG.stack]: context.stack } : {}),
  });
  const snapshot = snapshots[0] as Snapshot;
  switch (target.kind) {
    case 'rds-instance': {
      const source = await context.drill.rds(region).source('rds-instance', target.source.instanceId);
      created.push({ kind: 'rds-instance', id: name, region });
      await context.ports.rds(region).restoreInstance(snapshot, {
        name,
        tags: tags(snapshot),
        instanceClass: smallestInstanceClass(source?.engine),
        network: networkOf(source),
      });
      return { engine: source?.engine };
    }
    case 'rds-cluster': {
      const source = await context.drill.rds(region).source('rds-cluster', target.source.clusterId);
      const rds = context.ports.rds(region);
      created.push({ kind: 'rds-cluster', id: name, region });
      const cluster = await rds.restoreCluster(snapshot, { name, tags: tags(snapshot), network: networkOf(source) });
      created.unshift({ kind: 'rds-instance', id: `${name}-writer`, region });
      await rds.createClusterInstance(name, {
        name: `${name}-writer`,
        tags: tags(snapshot),
        engine: cluster.engine,
        instanceClass: smallestInstanceClass(cluster.engine) ?? 'db.t4g.medium',
      });
      return { engine: cluster.engine };
    }
    case 'ebs-volume':
    case 'ec2-instance': {
      const ec2 = context.ports.ec2(region);
      for (const one of snapshots) {
        // Beside the source volume when it still exists (where its instance would attach it), else zone a.
        const zone = (await context.drill.ec2(region).volumeZone(one.source)) ?? `${region}a`;
        const volumeName = snapshots.length === 1 ? name : `${name}-${one.source}`;
        // gp3: a fifth cheaper per GB-month than EC2's default gp2, and a drill needs no more than its baseline.
        const volume = await ec2.createVolumeFromSnapshot(one, zone, { name: volumeName, tags: tags(one), volumeType: 'gp3' });
        created.push({ kind: 'ebs-volume', id: volume.id, region });
      }
      return {};
    }
  }
}

function networkOf(source: DrillSource | undefined) {
  if (!source) return undefined;
  return {
    subnetGroup: source.subnetGroup,
    securityGroupIds: source.securityGroupIds.length > 0 ? source.securityGroupIds : undefined,
  };
}

const RDS_FAILED = /fail|incompatible|inaccessible|storage-full|error/;

/** One look at the restore: pending, available (every resource), or failed / TIMED_OUT past the deadline. */
export async function checkDrill(state: DrillState, context: DrillContext): Promise<DrillState> {
  const found: { resource: DrillResource; status: string }[] = [];
  for (const resource of state.created) {
    if (resource.kind === 'ebs-volume') {
      const volumes = await context.drill.ec2(resource.region).volumesTagged(TAG.drill, state.runId);
      found.push({ resource, status: volumes.find((v) => v.id === resource.id)?.state ?? 'missing' });
    } else {
      const described = await context.drill.rds(resource.region).describe(resource.kind, resource.id);
      found.push({ resource, status: described?.status ?? 'missing' });
    }
  }
  const bad = found.find(({ status }) => status === 'missing' || RDS_FAILED.test(status));
  if (bad) {
    return {
      ...state,
      state: 'failed',
      failure: { status: 'FAILED', message: `restored ${bad.resource.kind} ${bad.resource.id} is ${bad.status}, not available` },
    };
  }
  const waiting = found.filter(({ status }) => status !== 'available');
  if (waiting.length === 0) {
    const compared: DrillComparison[] = found.map(({ resource, status }) => ({
      what: 'available',
      subject: resource.id,
      expected: 'available',
      found: status,
      ok: true,
    }));
    return { ...state, state: 'available', compared: [...state.compared, ...compared] };
  }
  if (state.deadline && context.now().getTime() > new Date(state.deadline).getTime()) {
    const minutes = state.startedAt
      ? Math.round((new Date(state.deadline).getTime() - new Date(state.startedAt).getTime()) / 60_000)
      : undefined;
    const what = waiting.map(({ resource, status }) => `${resource.id} is ${status}`).join(', ');
    return {
      ...state,
      state: 'failed',
      failure: { status: 'TIMED_OUT', message: `the restore was not available within ${minutes ?? '?'} minutes (${what})` },
    };
  }
  return { ...state, state: 'pending' };
}

/**
 * The config's SQL statement against the restore (RDS kinds). A fresh master password is set on the
 * restored instance or cluster first, so no secret of the source is needed (and a rotated source password
 * cannot break the drill); it lives only in this call.
 */
export async function checkDrillSql(
  target: SnapshotTarget,
  state: DrillState,
  context: DrillContext,
  limits: DrillLimits = {},
): Promise<DrillState> {
  const check = target.drill?.check;
  if (!check || state.state !== 'available') return state;
  const fail = (message: string): DrillState => ({
    ...state,
    state: 'failed',
    failure: { status: 'FAILED', message },
    compared: [...state.compared, { what: 'sql-check', subject: check.database, ok: false, found: message }],
  });
  const dialect = dialectOf(state.engine);
  if (!dialect)
    return fail(`the SQL check supports PostgreSQL, MySQL and MariaDB engines, not ${state.engine ?? 'an unknown engine'}`);
  const kind = target.kind === 'rds-cluster' ? 'rds-cluster' : 'rds-instance';
  const id = drillResourceName(target.name, state.runId);
  const rds = context.drill.rds(context.region);
  const source = await rds.source(
    kind,
    kind === 'rds-cluster'
      ? (target.source as { clusterId: string }).clusterId
      : (target.source as { instanceId: string }).instanceId,
  );
  const password = context.newPassword();
  try {
    await rds.resetMasterPassword(kind, id, password);
  } catch (error) {
    return fail(`could not set a password on the restore ${id}: ${errorText(error)}`);
  }
  const attempts = limits.sqlAttempts ?? DEFAULTS.sqlAttempts;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const described = await rds.describe(kind, id);
    if (described?.status === 'available' && described.endpoint) {
      const outcome = await context.drill.sql.run(
        {
          engine: dialect,
          host: described.endpoint.host,
          port: described.endpoint.port,
          user: source?.masterUsername ?? (dialect === 'postgres' ? 'postgres' : 'admin'),
          password,
          database: check.database ?? source?.databaseName ?? (dialect === 'postgres' ? 'postgres' : undefined),
        },
        check.sql,
      );
      if (outcome.ok) {
        return {
          ...state,
          compared: [...state.compared, { what: 'sql-check', subject: check.database, found: outcome.rows, ok: true }],
        };
      }
      if (outcome.stage === 'statement') return fail(`the SQL check failed: ${outcome.message}`);
      last = outcome.message;
    } else {
      last = `${id} is ${described?.status ?? 'missing'}`;
    }
    if (attempt < attempts) await context.sleep(limits.sqlRetryMs ?? DEFAULTS.sqlRetryMs);
  }
  return fail(`the SQL check could not connect to the restore after ${attempts} attempts: ${last}`);
}

/** Why a step's Catch brought the drill here, as one line (a Lambda error's Cause is JSON with errorMessage). */
function caughtMessage(error: DrillState['error']): string {
  const cause = error?.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (parsed.errorMessage) return parsed.errorMessage;
  } catch {
    // Not JSON: the cause as it came.
  }
  return `${error?.Error ?? 'error'}${cause ? `: ${cause.split('\n')[0]}` : ''}`;
}

export type FinishOutcome =
  | { readonly cleanup: 'pending'; readonly state: DrillState }
  | { readonly cleanup: 'done'; readonly state: DrillState; readonly result: DrillResult };

/**
 * One cleanup round: deletes every resource of the drill that still exists (a cluster once its instances are
 * gone). Pending while anything is still being deleted; done, with the drill's result (written as drill.json
 * when the context has the artifact bucket), once nothing is left or after the last round.
 */
export async function finishDrill(
  target: SnapshotTarget,
  input: DrillStateInput,
  context: DrillContext,
  limits: DrillLimits = {},
): Promise<FinishOutcome> {
  const state = drillStateSchema.parse(input);
  const resources = await drillResources(target, state, context);
  const remaining: string[] = [];
  const problems: string[] = [];
  // What was made: what the state says plus whatever turns up (a crashed start hands on no list); kept across rounds.
  const made = new Map(state.created.map((r) => [r.id, r]));
  for (const resource of resources) {
    try {
      const left = await deleteIfThere(resource, state.runId, context);
      if (left) {
        remaining.push(`${resource.id} (${left})`);
        made.set(resource.id, resource);
      }
    } catch (error) {
      remaining.push(resource.id);
      problems.push(`${resource.id}: ${errorText(error)}`);
    }
  }
  const created = [...made.values()];
  const round = state.cleanupRounds + 1;
  const maxRounds = limits.cleanupRounds ?? DEFAULTS.cleanupRounds;
  if (remaining.length > 0 && round < maxRounds)
    return { cleanup: 'pending', state: { ...state, created, cleanupRounds: round } };
  const deletion =
    remaining.length === 0
      ? { deletionStatus: 'SUCCESSFUL' as const, deletionStatusMessage: `deleted ${created.length} temporary resource(s)` }
      : {
          deletionStatus: 'FAILED' as const,
          deletionStatusMessage: `still there after ${round} cleanup rounds: ${remaining.join(', ')}${problems.length ? ` (${problems.join('; ')})` : ''}; delete what carries ${TAG.drill}=${state.runId} in the console`,
        };
  const result = drillResult(target, state, created, deletion, context);
  if (context.artifacts && state.backupRunId) await writeResult(context.artifacts, target.name, state.backupRunId, result);
  context.telemetry.info('drill finished', {
    target: target.name,
    drillId: state.runId,
    validationStatus: result.validationStatus,
    deletionStatus: deletion.deletionStatus,
  });
  return { cleanup: 'done', state: { ...state, created, cleanupRounds: round }, result };
}

/** Everything the drill may have made: what the state lists, its names, and volumes carrying its tag. */
async function drillResources(target: SnapshotTarget, state: DrillState, context: DrillContext): Promise<DrillResource[]> {
  const { region } = context;
  const name = drillResourceName(target.name, state.runId);
  const expected: DrillResource[] =
    target.kind === 'rds-instance'
      ? [{ kind: 'rds-instance', id: name, region }]
      : target.kind === 'rds-cluster'
        ? [
            { kind: 'rds-instance', id: `${name}-writer`, region },
            { kind: 'rds-cluster', id: name, region },
          ]
        : (await context.drill.ec2(region).volumesTagged(TAG.drill, state.runId)).map((v) => ({
            kind: 'ebs-volume' as const,
            id: v.id,
            region,
          }));
  const all = [...state.created, ...expected];
  // Instances before clusters: a cluster is deleted only after its instances.
  const unique = [...new Map(all.map((r) => [`${r.kind}:${r.region}:${r.id}`, r])).values()];
  return unique.sort((a, b) => Number(a.kind === 'rds-cluster') - Number(b.kind === 'rds-cluster'));
}

/** Deletes `resource` if it is there and is this drill's; returns why it is not gone yet, or undefined. */
async function deleteIfThere(resource: DrillResource, drillId: string, context: DrillContext): Promise<string | undefined> {
  if (resource.kind === 'ebs-volume') {
    const ec2 = context.drill.ec2(resource.region);
    const volume = (await ec2.volumesTagged(TAG.drill, drillId)).find((v) => v.id === resource.id);
    if (!volume || volume.state === 'deleted') return undefined;
    if (volume.state !== 'deleting') await ec2.deleteVolume(volume.id);
    return 'deleting';
  }
  const rds = context.drill.rds(resource.region);
  const found = await rds.describe(resource.kind, resource.id);
  if (!found) return undefined;
  // Never anything else: a resource of that name without this drill's tag is not the drill's to delete.
  if (found.tags[TAG.drill] !== drillId) return undefined;
  if (found.status === 'deleting') return 'deleting';
  if (resource.kind === 'rds-cluster' && found.members.length > 0) return `waiting for ${found.members.join(', ')}`;
  await rds.delete(resource.kind, resource.id);
  return 'deleting';
}

function drillResult(
  target: SnapshotTarget,
  state: DrillState,
  resources: readonly DrillResource[],
  deletion: Pick<NonNullable<DrillResult['restore']>, 'deletionStatus' | 'deletionStatusMessage'>,
  context: DrillContext,
): DrillResult {
  const finishedAt = context.now();
  const startedAt = state.startedAt ? new Date(state.startedAt) : finishedAt;
  const failure =
    state.failure ??
    (state.error
      ? { status: 'FAILED' as const, message: caughtMessage(state.error) }
      : state.state !== 'available'
        ? { status: 'FAILED' as const, message: 'the drill ended before its restore was available' }
        : undefined);
  const sqlChecked = state.compared.find((c) => c.what === 'sql-check' && c.ok);
  const message =
    failure?.message ??
    `restored ${state.snapshotIds.join(', ')} into ${resources.length} temporary resource(s), available${sqlChecked ? `, SQL check returned ${sqlChecked.found} row(s)` : ''}`;
  const count = (kind: DrillResource['kind']) => resources.filter((r) => r.kind === kind).length;
  return {
    safekeepDrill: 1,
    target: target.name,
    drillId: state.runId,
    backupRunId: state.backupRunId ?? '',
    restoredFrom: { snapshotId: state.snapshotIds[0] },
    trigger: state.trigger,
    pick: state.pick,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.max(0, Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000)),
    validationStatus: failure?.status ?? 'SUCCESSFUL',
    validationStatusMessage: message,
    restore: {
      kind: target.kind,
      engine: state.engine,
      createdResources: resources.map((r) => r.id),
      ...deletion,
    },
    compared: state.compared,
    counts: {
      snapshots: state.snapshotIds.length,
      instances: count('rds-instance'),
      clusters: count('rds-cluster'),
      volumes: count('ebs-volume'),
    },
  };
}

/** drill.json under the backup's run prefix; a new version on every drill of the same backup. */
async function writeResult(artifacts: ArtifactStore, target: string, backupRunId: string, result: DrillResult): Promise<void> {
  const at = runDate(backupRunId);
  if (!at) return;
  const key = `${runPrefix(target, at, backupRunId)}${DRILL_FILE}`;
  const upload = await artifacts.startUpload(key, 'application/json');
  try {
    const part = await upload.uploadPart(1, Buffer.from(`${JSON.stringify(result, null, 2)}\n`));
    await upload.complete([part]);
  } catch (error) {
    await upload.abort();
    throw error;
  }
}

/**
 * The whole drill in one process (the CLI, tests): the same steps the state machine runs, in the same order,
 * cleanup included whatever a step threw.
 */
export async function runSnapshotDrill(
  target: SnapshotTarget,
  input: DrillStateInput,
  context: DrillContext,
  loop: { readonly pollMs: number } & DrillLimits,
): Promise<DrillResult> {
  let state: DrillState = drillStateSchema.parse(input);
  try {
    state = await startDrill(target, state, context, loop);
    while (state.state === 'pending') {
      await context.sleep(loop.pollMs);
      state = await checkDrill(state, context);
    }
    if (state.sqlCheck) state = await checkDrillSql(target, state, context, loop);
  } catch (error) {
    state = { ...state, error: { Error: (error as Error).name, Cause: (error as Error).message } };
  }
  for (;;) {
    const finished = await finishDrill(target, state, context, loop);
    if (finished.cleanup === 'done') return finished.result;
    state = finished.state;
    await context.sleep(loop.pollMs);
  }
}
