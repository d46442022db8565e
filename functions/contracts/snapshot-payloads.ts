/**
 * What the snapshot state machine passes between its Lambda steps. The construct builds the state machine
 * from these types, and every handler parses its input with them, so the two cannot drift apart.
 */
import { runRefSchema } from './run-payloads.ts';
import * as z from './zod.ts';

/** What a snapshot is of: an RDS instance, an Aurora cluster, or an EBS volume (EC2 instances' too). */
export const SNAPSHOT_KINDS = ['rds-instance', 'rds-cluster', 'ebs'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

export const snapshotSchema = z.object({
  kind: z.enum(SNAPSHOT_KINDS),
  id: z.string(),
  arn: z.string(),
  region: z.string(),
  source: z.string(),
  status: z.enum(['pending', 'available', 'failed']),
  // Step Functions carries dates as ISO strings.
  createdAt: z.optional(z.coerce.date()),
  tags: z.record(z.string(), z.string()),
  encrypted: z.boolean(),
  kmsKeyId: z.optional(z.string()),
});

/** Start of a run: what the dispatcher (or a console test event) sends. */
export const startInputSchema = runRefSchema;

/** The run so far, as it flows through the state machine. */
export const runStateSchema = z.extend(runRefSchema, {
  startedAt: z.string(),
  /** Snapshots of the source. */
  snapshots: z.array(snapshotSchema),
  /** pending | complete | failed, after each check. */
  state: z._default(z.enum(['pending', 'complete', 'failed']), 'pending'),
  /** Cross-region copies started, and sources still waiting for a copy slot. */
  copies: z._default(z.array(snapshotSchema), []),
  waiting: z._default(z.array(snapshotSchema), []),
  /** Whether the target has a copy step at all (the state machine branches on it). */
  copyConfigured: z._default(z.boolean(), false),
});

export type StartInput = z.infer<typeof startInputSchema>;
export type RunState = z.infer<typeof runStateSchema>;

/** Which snapshots a check step refreshes. */
export const checkInputSchema = z.extend(runStateSchema, { phase: z.enum(['snapshots', 'copies']) });
export type CheckInput = z.infer<typeof checkInputSchema>;
