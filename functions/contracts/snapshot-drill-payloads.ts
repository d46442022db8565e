/**
 * What the snapshot drill state machine passes between its Lambda steps (start, check, sql check, finish).
 * The construct builds the state machine from these types and every handler parses its input with them.
 */
import { DRILL_PICKS, drillComparisonSchema, VALIDATION_STATUSES } from './drill.ts';
import { runIdSchema } from './run-payloads.ts';
import * as z from './zod.ts';

/** Start of a drill: what the dispatcher (or a console test event) sends; `runId` is the drill's own id. */
export const drillStartInputSchema = z.object({
  target: z.string().check(z.minLength(1)),
  runId: runIdSchema,
  trigger: z._default(z.enum(['schedule', 'manual']), 'schedule'),
  /** A snapshot id or a backup run id to drill, instead of the one the target's `drill.pick` chooses. */
  from: z.optional(z.string().check(z.minLength(1))),
});
export type DrillStartInput = z.input<typeof drillStartInputSchema>;

export const DRILL_RESOURCE_KINDS = ['rds-instance', 'rds-cluster', 'ebs-volume'] as const;

/** A temporary resource a drill made (or may have made: cleanup looks for these by name and tag). */
export const drillResourceSchema = z.object({
  kind: z.enum(DRILL_RESOURCE_KINDS),
  id: z.string().check(z.minLength(1)),
  region: z.string().check(z.minLength(1)),
});
export type DrillResource = z.infer<typeof drillResourceSchema>;

/** The drill so far. Everything but the start input is optional: a failed start hands cleanup only that. */
export const drillStateSchema = z.extend(drillStartInputSchema, {
  startedAt: z.optional(z.string()),
  /** Past this (ISO time) a restore that is not available yet ends the drill as TIMED_OUT. */
  deadline: z.optional(z.string()),
  pick: z.optional(z.enum(DRILL_PICKS)),
  backupRunId: z.optional(z.string()),
  snapshotIds: z._default(z.array(z.string()), []),
  engine: z.optional(z.string()),
  created: z._default(z.array(drillResourceSchema), []),
  /** pending: restoring; available: restored, ready for the SQL check; failed: see `failure`. */
  state: z._default(z.enum(['pending', 'available', 'failed']), 'pending'),
  /** Whether the target names a SQL check (the state machine branches on it). */
  sqlCheck: z._default(z.boolean(), false),
  failure: z.optional(z.object({ status: z.enum(VALIDATION_STATUSES), message: z.string() })),
  compared: z._default(z.array(drillComparisonSchema), []),
  /** Cleanup rounds so far (deleting an RDS instance takes minutes; a cluster goes only after its instances). */
  cleanupRounds: z._default(z.int().check(z.nonnegative()), 0),
  /** What a Catch path adds: the error of the step that failed. */
  error: z.optional(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
});
export type DrillState = z.infer<typeof drillStateSchema>;
export type DrillStateInput = z.input<typeof drillStateSchema>;
