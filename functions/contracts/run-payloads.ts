/**
 * What starts and ends a run, as it crosses from one piece to another: the schedules' and the console's
 * event to the dispatcher, the `{ target, runId }` every runner is handed, and the RunTask overrides that
 * tell a Fargate task which run it is (and tell the recorder, from the task's stopped event, whose run ended).
 * The construct types its schedules' payloads with these, and every handler parses its input with them.
 */
import { RUN_ID_PATTERN } from './artifact-layout.ts';
import * as z from './zod.ts';

/** A schedule's (or a console test event's) request to the dispatcher. */
export const dispatchEventSchema = z.object({
  target: z.string().check(z.minLength(1)),
  trigger: z._default(z.enum(['schedule', 'manual']), 'manual'),
  /** A retry (the detail of a "Backup Retry Due" event): the run it retries and which attempt this is. */
  retryOf: z.optional(z.string().check(z.regex(RUN_ID_PATTERN))),
  attempt: z.optional(z.int().check(z.gte(2))),
  /** `drill`: restore a backup and compare it with what it recorded (contracts/drill.ts), instead of backing up. */
  action: z._default(z.enum(['backup', 'drill']), 'backup'),
  /** A drill of this backup (its manifest key), instead of the one the target's `drill.pick` chooses. */
  from: z.optional(z.string().check(z.minLength(1))),
  /**
   * A deferred start (no room in the Fargate vCPU quota or launch rate when it was due): the run it starts,
   * already recorded, and how many times its start was deferred. Same event, same rule as a retry.
   */
  runId: z.optional(z.string().check(z.regex(RUN_ID_PATTERN))),
  deferral: z.optional(z.int().check(z.gte(1))),
});
export type DispatchEvent = z.input<typeof dispatchEventSchema>;

export const runIdSchema = z
  .string()
  .check(z.regex(RUN_ID_PATTERN, { message: 'must be a run id such as 20261121T193000Z-a1b2c3' }));

/** One run of one target: what the state machine, a Lambda worker and a Fargate task are each handed. */
export const runRefSchema = z.object({ target: z.string().check(z.minLength(1)), runId: runIdSchema });
export type RunRef = z.infer<typeof runRefSchema>;

/** One drill of one target: what the snapshot drill state machine is handed (its own id, run id grammar). */
export const drillRefSchema = z.object({ target: z.string().check(z.minLength(1)), drillId: runIdSchema });
export type DrillRef = z.infer<typeof drillRefSchema>;

/**
 * What a Lambda worker is handed. The dispatcher marks its invokes `dispatched`: their end reaches the
 * recorder through the async-invoke destination. Anything else (a console test, a synchronous invoke) gets
 * no destination, so the worker reports its own end to the recorder; the run id is then optional.
 */
export const workerEventSchema = z.object({
  target: z.string().check(z.minLength(1)),
  runId: z.optional(runIdSchema),
  dispatched: z._default(z.boolean(), false),
});
export type WorkerEvent = z.input<typeof workerEventSchema>;

/** The container environment RunTask overrides carry: which target and run this task is. Never a credential. */
export const TASK_RUN_VARIABLES = { target: 'SAFEKEEP_TARGET', runId: 'SAFEKEEP_RUN_ID' } as const;

export function taskRunEnvironment(run: RunRef): Record<string, string> {
  return { [TASK_RUN_VARIABLES.target]: run.target, [TASK_RUN_VARIABLES.runId]: run.runId };
}

/** The run a task's environment names, or undefined when it names none (a task Safekeep did not start). */
export function taskRunOf(environment: Readonly<Record<string, string | undefined>>): RunRef | undefined {
  const parsed = runRefSchema.safeParse({
    target: environment[TASK_RUN_VARIABLES.target],
    runId: environment[TASK_RUN_VARIABLES.runId],
  });
  return parsed.success ? parsed.data : undefined;
}
