/**
 * Retried runs: a failed run with attempts left is started again, after the target's backoff, as a new run
 * with its own id that names the run it retries. The recorder asks for it; a one-time EventBridge Scheduler
 * schedule puts a "Backup Retry Due" event on the default bus at the time, and a rule hands its detail to
 * the dispatcher. Only the last attempt's failure counts as BackupFailed (the failure alarm); the others are
 * BackupAttemptFailed.
 */
import type { Retries } from '../contracts/config/schema.ts';
import type { RunRecord } from './run-record.ts';

/** What the dispatcher is handed when the backoff is over. */
export interface RetryRequest {
  readonly target: string;
  readonly trigger: RunRecord['trigger'];
  readonly retryOf: string;
  readonly attempt: number;
}

export interface RetryScheduler {
  /** Arranges for `request` to reach the dispatcher at `at`; scheduling the same retry twice is harmless. */
  scheduleRetry(request: RetryRequest, at: Date): Promise<void>;
}

/** The retry a failed run gets, or undefined when it was the last attempt. */
export function retryAfter(run: Pick<RunRecord, 'target' | 'runId' | 'trigger' | 'attempt'>, retries: Retries, now: Date) {
  const attempt = run.attempt ?? 1;
  if (attempt >= retries.attempts) return undefined;
  const request: RetryRequest = { target: run.target, trigger: run.trigger, retryOf: run.runId, attempt: attempt + 1 };
  return { request, at: new Date(now.getTime() + retries.backoffMinutes * 60_000) };
}
