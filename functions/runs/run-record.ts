/**
 * One run of one target, as the runs table records it. The dispatcher writes it as "running"; the recorder
 * settles it as "succeeded" or "failed"; `safekeep status` and the freshness check read it.
 *
 * Table layout: partition key `target`, sort key `runId` (run ids sort by time), plus one item per target
 * with runId "#meta" holding when Safekeep first saw the target (a target that never ran still ages).
 */
import * as z from 'zod';

export const RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;
export const META_RUN_ID = '#meta';

export const runRecordSchema = z.object({
  target: z.string(),
  runId: z.string(),
  kind: z.enum(['snapshot', 'dump']),
  trigger: z.enum(['schedule', 'manual']),
  status: z.enum(RUN_STATUSES),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
  /** Why a run failed, in one line. */
  reason: z.string().optional(),
  /** s3 key of the manifest a dump writes (set when it starts; a backup exists once it is there). */
  manifestKey: z.string().optional(),
  bytes: z.number().nonnegative().optional(),
  durationSeconds: z.number().nonnegative().optional(),
});

export type RunRecord = z.infer<typeof runRecordSchema>;

export interface TargetMeta {
  readonly target: string;
  readonly firstSeenAt: string;
}

/** Where runs are kept (DynamoDB in AWS, moto in tests). */
export interface RunsStore {
  put(record: RunRecord): Promise<void>;
  get(target: string, runId: string): Promise<RunRecord | undefined>;
  /** Settles a running record; never overwrites one that is already settled. */
  settle(
    target: string,
    runId: string,
    outcome: Pick<RunRecord, 'status' | 'finishedAt' | 'reason' | 'manifestKey' | 'bytes' | 'durationSeconds'>,
  ): Promise<RunRecord | undefined>;
  /** Newest first. */
  recent(target: string, limit: number): Promise<RunRecord[]>;
  lastSucceeded(target: string): Promise<RunRecord | undefined>;
  /** When the target was first seen, recording `now` if never. */
  firstSeen(target: string, now: Date): Promise<Date>;
}
