/**
 * One run of one target, as the runs table records it. The dispatcher writes it as "running"; the recorder
 * settles it as "succeeded" or "failed"; `safekeep status` and the freshness check read it.
 *
 * Table layout: partition key `target`, sort key `runId` (run ids sort by time), plus one item per target
 * with runId "#meta" holding when Safekeep first saw the target (a target that never ran still ages).
 * Restore drills live in a partition of their own, `<target>#drills` (a target name cannot hold '#', so no
 * target's runs share it): a drill is never a backup, and `recent` and `lastSucceeded` never see one.
 */
import { VALIDATION_STATUSES } from '../contracts/drill.ts';
import * as z from '../contracts/zod.ts';

export const RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;
export const META_RUN_ID = '#meta';

export const runRecordSchema = z.object({
  target: z.string(),
  runId: z.string(),
  kind: z.enum(['snapshot', 'dump']),
  trigger: z.enum(['schedule', 'manual']),
  status: z.enum(RUN_STATUSES),
  startedAt: z.iso.datetime(),
  finishedAt: z.optional(z.iso.datetime()),
  /** Why a run failed, in one line. */
  reason: z.optional(z.string()),
  /** s3 key of the manifest a dump writes (set when it starts; a backup exists once it is there). */
  manifestKey: z.optional(z.string()),
  bytes: z.optional(z.number().check(z.nonnegative())),
  durationSeconds: z.optional(z.number().check(z.nonnegative())),
  /** The run this one retries (a new run, its own id); absent on a first attempt. */
  retryOf: z.optional(z.string()),
  /** 1 for the first attempt, 2 for its first retry, ... */
  attempt: z.optional(z.number().check(z.int(), z.positive())),
});

export type RunRecord = z.infer<typeof runRecordSchema>;

/** How a run ended, as settling writes it. */
export type RunOutcome = Pick<RunRecord, 'status' | 'finishedAt' | 'reason' | 'manifestKey' | 'bytes' | 'durationSeconds'>;

/** What a run's end tells of its start, for a run no "started" record describes. */
export type RunOrigin = Pick<RunRecord, 'kind' | 'trigger' | 'startedAt'> & Partial<Pick<RunRecord, 'retryOf' | 'attempt'>>;

export interface TargetMeta {
  readonly target: string;
  readonly firstSeenAt: string;
}

/** The partition of a target's restore drills in the runs table. */
export function drillPartitionOf(target: string): string {
  return `${target}#drills`;
}

/** One restore drill of one target: the dispatcher writes it as "running", the recorder settles it. */
export const drillRecordSchema = z.object({
  target: z.string(),
  /** The drill's own id (run id grammar); the backup it restores is `backupRunId`. */
  drillId: z.string(),
  kind: z.enum(['snapshot', 'dump']),
  trigger: z.enum(['schedule', 'manual']),
  status: z.enum(RUN_STATUSES),
  startedAt: z.iso.datetime(),
  finishedAt: z.optional(z.iso.datetime()),
  /** Why the drill failed, in one line (drill.json's message, or why there is none). */
  reason: z.optional(z.string()),
  /** The run id of the backup drilled; absent when there was none to drill. */
  backupRunId: z.optional(z.string()),
  /** The drilled backup's manifest (dump targets); its drill.json lies beside it. */
  manifestKey: z.optional(z.string()),
  /** Where the result was written (dump drills: drillKeyOf(manifestKey)). */
  resultKey: z.optional(z.string()),
  validationStatus: z.optional(z.enum(VALIDATION_STATUSES)),
  durationSeconds: z.optional(z.number().check(z.nonnegative())),
});
export type DrillRecord = z.infer<typeof drillRecordSchema>;

/** How a drill ended, as settling writes it. */
export type DrillOutcome = Pick<
  DrillRecord,
  'status' | 'finishedAt' | 'reason' | 'validationStatus' | 'durationSeconds' | 'resultKey' | 'backupRunId' | 'manifestKey'
>;

/** Where drills are kept: the runs table, in each target's drill partition. */
export interface DrillsStore {
  putDrill(record: DrillRecord): Promise<void>;
  getDrill(target: string, drillId: string): Promise<DrillRecord | undefined>;
  /** Settles a running drill once (like `settle`); a drill nothing recorded is recorded whole from `origin`. */
  settleDrill(
    target: string,
    drillId: string,
    outcome: DrillOutcome,
    origin?: Pick<DrillRecord, 'kind' | 'trigger' | 'startedAt'>,
  ): Promise<DrillRecord | undefined>;
  /** Newest first. */
  recentDrills(target: string, limit: number): Promise<DrillRecord[]>;
  lastGoodDrill(target: string): Promise<DrillRecord | undefined>;
  /** When drills of the target were first looked for, recording `now` if never (a drill that never ran still ages). */
  drillsFirstSeen(target: string, now: Date): Promise<Date>;
}

/** Where runs are kept (DynamoDB in AWS, moto in tests). */
export interface RunsStore extends DrillsStore {
  put(record: RunRecord): Promise<void>;
  get(target: string, runId: string): Promise<RunRecord | undefined>;
  /**
   * Settles a running record; never overwrites one that is already settled, and never creates a partial
   * one. A run nothing recorded as started (one started by hand, past the dispatcher) becomes a complete
   * record from `origin`, when given; without it, such a run is left unrecorded (undefined).
   */
  settle(target: string, runId: string, outcome: RunOutcome, origin?: RunOrigin): Promise<RunRecord | undefined>;
  /** Newest first. */
  recent(target: string, limit: number): Promise<RunRecord[]>;
  lastSucceeded(target: string): Promise<RunRecord | undefined>;
  /** When the target was first seen, recording `now` if never. */
  firstSeen(target: string, now: Date): Promise<Date>;
  /** Records whether the target is late now; true only when it just turned late (it was not before). */
  markLate(target: string, late: boolean, now: Date): Promise<boolean>;
}
