/**
 * Restore drills: a backup is proven by restoring it. This is what every piece of a drill agrees on: the
 * `drill:` config of a target, which backup a drill picks, where its result lives (`drill.json` beside the
 * backup's manifest: a new key, so the drill's role stays write-only and never touches the backup) and the
 * result's shape, modelled on AWS Backup's restore validation (status, message, duration, what was compared
 * and the counts found).
 */
import { MANIFEST_FILE, runDate } from './artifact-layout.ts';
import { type AgedTarget, allowedAgeSeconds } from './config/schedule-interval.ts';
import * as z from './zod.ts';

export const DRILL_FILE = 'drill.json';

export const DRILL_PICKS = ['latest', 'random'] as const;
export type DrillPick = (typeof DRILL_PICKS)[number];

/** Statuses as AWS Backup's PutRestoreValidationResult names them. */
export const VALIDATION_STATUSES = ['SUCCESSFUL', 'FAILED', 'TIMED_OUT'] as const;
export type ValidationStatus = (typeof VALIDATION_STATUSES)[number];

/** The `drill:` entry of a target's config; the schedule is the same grammar as the backup's. */
export const drillSettingsShape = {
  /** A random pick chooses among the good backups of the last `window` days; latest takes the newest. */
  pick: z._default(z.enum(DRILL_PICKS), 'latest'),
  /** Days back a random pick may reach. */
  window: z._default(z.int().check(z.gte(1), z.lte(3_660)), 7),
  /** Alarm when no drill passed for this long; default: twice the drill schedule's interval. */
  maxAgeHours: z.optional(z.number().check(z.positive(), z.lte(24 * 366))),
  /** Snapshot targets (RDS, Aurora): one SQL statement run against the restored database; it must succeed. */
  check: z.optional(
    z.strictObject({
      sql: z.string().check(z.minLength(1), z.maxLength(4_096)),
      database: z.optional(z.string().check(z.minLength(1))),
    }),
  ),
} as const;

/** One comparison the drill made: what the backup recorded against what the restore holds. */
export const drillComparisonSchema = z.object({
  /** `sha256`, `databases`, `tables`, `rows`, `schema-objects`, `refs`, `sql-check`, `available`, ... */
  what: z.string(),
  /** The object, database, table or branch it concerns, when it concerns one. */
  subject: z.optional(z.string()),
  expected: z.optional(z.union([z.string(), z.number()])),
  found: z.optional(z.union([z.string(), z.number()])),
  ok: z.boolean(),
});
export type DrillComparison = z.infer<typeof drillComparisonSchema>;

export const drillResultSchema = z.object({
  safekeepDrill: z.literal(1),
  target: z.string(),
  /** The drill's own id (run id grammar); the backup it restored is `backupRunId`. */
  drillId: z.string(),
  backupRunId: z.string(),
  /** The backup's manifest (dump targets) or the snapshot restored (snapshot targets). */
  restoredFrom: z.object({ manifestKey: z.optional(z.string()), snapshotId: z.optional(z.string()) }),
  trigger: z.enum(['schedule', 'manual']),
  pick: z.optional(z.enum(DRILL_PICKS)),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  durationSeconds: z.number().check(z.nonnegative()),
  validationStatus: z.enum(VALIDATION_STATUSES),
  /** One line: what passed, or the first thing that did not. */
  validationStatusMessage: z.string(),
  /** Where it was restored: a scratch server the task started, or the temporary AWS resource. */
  restore: z.object({
    kind: z.enum(['scratch-server', 'rds-instance', 'rds-cluster', 'ebs-volume', 'ec2-instance']),
    engine: z.optional(z.string()),
    serverVersion: z.optional(z.string()),
    /** Temporary resource identifiers (snapshot drills); all deleted by the end of the drill. */
    createdResources: z.optional(z.array(z.string())),
    deletionStatus: z.optional(z.enum(['SUCCESSFUL', 'FAILED'])),
    deletionStatusMessage: z.optional(z.string()),
  }),
  compared: z.array(drillComparisonSchema),
  /** Totals found in the restore: objects, databases, tables, rows, branches, ... */
  counts: z.record(z.string(), z.number().check(z.int(), z.nonnegative())),
});
export type DrillResult = z.infer<typeof drillResultSchema>;

/** `drill.json` of the backup whose manifest is at `manifestKey`. */
export function drillKeyOf(manifestKey: string): string {
  if (!manifestKey.endsWith(MANIFEST_FILE)) throw new Error(`not a manifest key: ${manifestKey}`);
  return `${manifestKey.slice(0, manifestKey.length - MANIFEST_FILE.length)}${DRILL_FILE}`;
}

/** A good backup a drill may pick: its run id (which dates it) and where its manifest or snapshot is. */
export interface DrillCandidate {
  readonly runId: string;
  readonly manifestKey?: string;
  readonly snapshotId?: string;
}

/**
 * The backup a drill restores: the newest, or a uniformly random one among those of the last `windowDays`
 * days (the newest when none is that recent). `random` returns a number in [0, 1).
 */
export function pickDrillBackup<C extends DrillCandidate>(
  candidates: readonly C[],
  pick: DrillPick,
  windowDays: number,
  now: Date,
  random: () => number = Math.random,
): C | undefined {
  const dated = candidates
    .map((candidate) => ({ candidate, at: runDate(candidate.runId)?.getTime() }))
    .filter((entry): entry is { candidate: C; at: number } => entry.at !== undefined)
    .sort((a, b) => b.at - a.at);
  const newest = dated[0]?.candidate;
  if (pick === 'latest' || newest === undefined) return newest;
  const since = now.getTime() - windowDays * 86_400_000;
  const recent = dated.filter((entry) => entry.at >= since);
  if (recent.length === 0) return newest;
  return recent[Math.min(recent.length - 1, Math.floor(random() * recent.length))]?.candidate;
}

/** The RunTask overrides of a drill task, beside the run variables (target, and the drill id as run id). */
export const TASK_DRILL_VARIABLES = {
  /** `drill`: the task drills instead of backing up. */
  action: 'SAFEKEEP_ACTION',
  /** The manifest key the dispatcher picked. */
  from: 'SAFEKEEP_DRILL_FROM',
  /** `schedule` or `manual`: who asked, for drill.json (absent from older dispatchers: `schedule`). */
  trigger: 'SAFEKEEP_DRILL_TRIGGER',
} as const;

/**
 * How old a target's last good drill may be before its "no drill passed" alarm goes off: `drill.maxAgeHours`,
 * else the backups' rule (two of the schedule's longest intervals plus its flexible window) over the drill's
 * own schedule. The freshness check and the alarm's threshold both use this.
 */
export function drillAllowedAgeSeconds(target: {
  readonly name: string;
  readonly drill: { readonly schedule: AgedTarget['schedule']; readonly maxAgeHours?: number };
}): number {
  return allowedAgeSeconds({
    name: target.name,
    schedule: target.drill.schedule,
    alerts: { maxAgeHours: target.drill.maxAgeHours },
  });
}
