/**
 * What the snapshot drill state machine passes between its Lambda steps (start, check, sql check, finish).
 * The construct builds the state machine from these types and every handler parses its input with them.
 */
import * as z from 'zod';
import { DRILL_PICKS, drillComparisonSchema, VALIDATION_STATUSES } from './drill.ts';
import { runIdSchema } from './run-payloads.ts';

/** Start of a drill: what the dispatcher (or a console test event) sends; `runId` is the drill's own id. */
export const drillStartInputSchema = z.object({
  target: z.string().min(1),
  runId: runIdSchema,
  trigger: z.enum(['schedule', 'manual']).default('schedule'),
  /** A snapshot id or a backup run id to drill, instead of the one the target's `drill.pick` chooses. */
  from: z.string().min(1).optional(),
});
export type DrillStartInput = z.input<typeof drillStartInputSchema>;

export const DRILL_RESOURCE_KINDS = ['rds-instance', 'rds-cluster', 'ebs-volume'] as const;

/** A temporary resource a drill made (or may have made: cleanup looks for these by name and tag). */
export const drillResourceSchema = z.object({
  kind: z.enum(DRILL_RESOURCE_KINDS),
  id: z.string().min(1),
  region: z.string().min(1),
});
export type DrillResource = z.infer<typeof drillResourceSchema>;

/** The drill so far. Everything but the start input is optional: a failed start hands cleanup only that. */
export const drillStateSchema = drillStartInputSchema.extend({
  startedAt: z.string().optional(),
  /** Past this (ISO time) a restore that is not available yet ends the drill as TIMED_OUT. */
  deadline: z.string().optional(),
  pick: z.enum(DRILL_PICKS).optional(),
  backupRunId: z.string().optional(),
  snapshotIds: z.array(z.string()).default([]),
  engine: z.string().optional(),
  created: z.array(drillResourceSchema).default([]),
  /** pending: restoring; available: restored, ready for the SQL check; failed: see `failure`. */
  state: z.enum(['pending', 'available', 'failed']).default('pending'),
  /** Whether the target names a SQL check (the state machine branches on it). */
  sqlCheck: z.boolean().default(false),
  failure: z.object({ status: z.enum(VALIDATION_STATUSES), message: z.string() }).optional(),
  compared: z.array(drillComparisonSchema).default([]),
  /** Cleanup rounds so far (deleting an RDS instance takes minutes; a cluster goes only after its instances). */
  cleanupRounds: z.int().nonnegative().default(0),
  /** What a Catch path adds: the error of the step that failed. */
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});
export type DrillState = z.infer<typeof drillStateSchema>;
export type DrillStateInput = z.input<typeof drillStateSchema>;
