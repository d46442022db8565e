/**
 * Retention for dump targets: the same `decideRetention` the snapshot flow uses, over one target's backups.
 *
 * A backup exists if and only if its manifest exists, so only keys of the exact shape
 * `<target>/<yyyy>/<mm>/<dd>/<run id>/manifest.json` count; every other object under the prefix (a
 * foreign file, an abandoned run without a manifest) is invisible here and never touched, and the listing
 * never leaves `<target>/`, so another target's backups are out of reach. A backup's time is the moment its
 * run id names (the run's start as dispatched), read from the key: deciding needs no read access, only
 * ListBucket on the target's prefix. The GFS periods are taken in the schedule's time zone.
 *
 * Pruning a backup deletes its run's objects, then its manifest, each with DeleteObject and no version id:
 * in the versioned artifact bucket each becomes a delete marker over a noncurrent version, recoverable
 * until the bucket's lifecycle expires it (`noncurrentVersionExpirationDays`), and a version under Object
 * Lock simply outlives its marker. Objects go first so that a prune cut short leaves a backup that still
 * lists (its manifest pins the versions it needs) and is finished by the next prune.
 */
import { MANIFEST_FILE, RUN_ID_PATTERN, runDate, runPrefix } from '../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../contracts/artifact-store.ts';
import { type Backup, decideRetention, type RetentionPolicy } from '../retention/decide-retention.ts';

/** A target's retention as the worker applies it: the policy (none keeps everything) and where its days begin. */
export interface DumpRetention {
  readonly policy: RetentionPolicy | undefined;
  /** The schedule's IANA time zone: GFS days, weeks, months and years are local to it. */
  readonly timeZone: string;
}

export interface DumpBackup extends Backup {
  /** The run id. */
  readonly id: string;
  readonly manifestKey: string;
  /** The run's prefix, ending in "/": every object of the run is under it. */
  readonly runPrefix: string;
  /** Current objects under the run's prefix other than the manifest, as listed. */
  readonly objectKeys: readonly string[];
}

export interface DumpPruneOptions {
  readonly target: string;
  readonly retention: DumpRetention;
  readonly now: Date;
  readonly dryRun: boolean;
  /**
   * The run just committed: never deleted, even if another run of the same second sorts newer by its id
   * (decideRetention breaks ties by id).
   */
  readonly protectRunId?: string;
}

export interface DumpPruneResult {
  readonly target: string;
  readonly dryRun: boolean;
  /** Newest first, each with every rule that keeps it. */
  readonly kept: readonly { readonly backup: DumpBackup; readonly reasons: readonly string[] }[];
  /** Newest first; with `dryRun` nothing was deleted. */
  readonly deleted: readonly { readonly backup: DumpBackup; readonly reason: string }[];
}

/** The target's backups (manifests of its own runs), each with the current objects of its run. */
export async function listDumpBackups(store: ArtifactStore, target: string): Promise<DumpBackup[]> {
  const manifests = new Map<string, { runId: string; createdAt: Date; manifestKey: string }>();
  const objectsByRun = new Map<string, string[]>();
  for await (const object of store.list(`${target}/`)) {
    const run = runOfKey(target, object.key);
    if (!run) continue;
    if (run.file === MANIFEST_FILE) {
      manifests.set(run.prefix, { runId: run.runId, createdAt: run.createdAt, manifestKey: object.key });
    } else {
      objectsByRun.set(run.prefix, [...(objectsByRun.get(run.prefix) ?? []), object.key]);
    }
  }
  return [...manifests].map(([prefix, manifest]) => ({
    id: manifest.runId,
    createdAt: manifest.createdAt,
    manifestKey: manifest.manifestKey,
    runPrefix: prefix,
    objectKeys: objectsByRun.get(prefix) ?? [],
  }));
}

/**
 * Where `key` sits in a run of `target`: `<target>/<yyyy>/<mm>/<dd>/<run id>/<file...>`, the date being the
 * run id's own; undefined for anything else.
 */
export function runOfKey(
  target: string,
  key: string,
): { runId: string; createdAt: Date; prefix: string; file: string } | undefined {
  const match = /^([^/]+)\/\d{4}\/\d{2}\/\d{2}\/([^/]+)\/(.+)$/.exec(key);
  if (!match || match[1] !== target) return undefined;
  const [, , runId = '', file = ''] = match;
  const createdAt = runDate(runId);
  if (!RUN_ID_PATTERN.test(runId) || !createdAt) return undefined;
  const prefix = runPrefix(target, createdAt, runId);
  return key.startsWith(prefix) ? { runId, createdAt, prefix, file } : undefined;
}

export async function pruneDumpTarget(store: ArtifactStore, options: DumpPruneOptions): Promise<DumpPruneResult> {
  const backups = await listDumpBackups(store, options.target);
  const decided = decideRetention(backups, options.retention.policy, options.now, options.retention.timeZone);
  const newest = decided.keep[0]?.backup;
  // The floor (minimum >= 1) already keeps the newest backup; a decision that drops it must stop everything.
  if (decided.remove.length > 0 && (!newest || decided.remove.some(({ backup }) => backup.id === newest.id))) {
    throw new Error(`retention would delete the newest backup of "${options.target}"; nothing was pruned`);
  }
  const isProtected = ({ backup }: { backup: DumpBackup }) => backup.id === options.protectRunId;
  const decision = {
    keep: [...decided.keep, ...decided.remove.filter(isProtected).map(({ backup }) => ({ backup, reasons: ['this run'] }))],
    remove: decided.remove.filter((entry) => !isProtected(entry)),
  };
  if (!options.dryRun) {
    for (const { backup } of decision.remove) {
      for (const key of backup.objectKeys) await store.deleteCurrent(key);
      await store.deleteCurrent(backup.manifestKey);
    }
  }
  return { target: options.target, dryRun: options.dryRun, kept: decision.keep, deleted: decision.remove };
}

/** A backup that was pruned (its manifest's current version is a delete marker) and can still be restored. */
export interface RecoverableBackup {
  readonly manifestKey: string;
  /** The manifest version to restore from: the newest version under the delete marker. */
  readonly versionId: string;
  /** When it was pruned (the delete marker's time). */
  readonly prunedAt?: Date;
}

/** Pruned backups under `prefix` whose manifest version still exists (until the lifecycle expires it). */
export async function listRecoverableBackups(store: ArtifactStore, prefix: string): Promise<RecoverableBackup[]> {
  const byKey = new Map<string, { latestIsMarker: boolean; prunedAt?: Date; newestVersion?: { id: string; at: number } }>();
  for await (const version of store.listVersions(prefix)) {
    if (!version.key.endsWith(`/${MANIFEST_FILE}`)) continue;
    const entry = byKey.get(version.key) ?? { latestIsMarker: false };
    if (version.isLatest && version.deleteMarker) {
      entry.latestIsMarker = true;
      entry.prunedAt = version.lastModified;
    }
    const at = version.lastModified?.getTime() ?? 0;
    if (!version.deleteMarker && (!entry.newestVersion || at > entry.newestVersion.at)) {
      entry.newestVersion = { id: version.versionId, at };
    }
    byKey.set(version.key, entry);
  }
  return [...byKey].flatMap(([manifestKey, entry]) =>
    entry.latestIsMarker && entry.newestVersion
      ? [{ manifestKey, versionId: entry.newestVersion.id, ...(entry.prunedAt ? { prunedAt: entry.prunedAt } : {}) }]
      : [],
  );
}
