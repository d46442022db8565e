/**
 * Every failure a user can see is a `SafekeepError`: one line that names what failed and what to do next.
 * `exitCode` follows sysexits loosely so scripts can tell bad input from a failed backup.
 */
export const EXIT = {
  ok: 0,
  failed: 1, // the backup, restore or verify itself failed
  usage: 2, // bad command line or config
  integrity: 3, // an artifact is corrupt or incomplete
  unavailable: 4, // a database or S3 could not be reached or refused us
  timeout: 5,
  stopped: 6, // stopped by a signal (SIGTERM from ECS StopTask, a deployment or Spot; SIGINT): nothing was written
} as const;

export class SafekeepError extends Error {
  override name = 'SafekeepError';
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failed, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** The command line or its inputs are wrong. */
export class UsageError extends SafekeepError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** Checks before any upload (versions, connectivity, credentials) refused the run. */
export class PreflightError extends SafekeepError {
  override name = 'PreflightError';
}

/** The dump tool failed, was killed, timed out, or its output was incomplete. */
export class DumpError extends SafekeepError {
  override name = 'DumpError';
}

/** A stored artifact does not match its manifest or is not a complete archive. */
export class IntegrityError extends SafekeepError {
  override name = 'IntegrityError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.integrity, options);
  }
}

/** Talking to the artifact store failed. */
export class StoreError extends SafekeepError {
  override name = 'StoreError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.unavailable, options);
  }
}

/** The run was told to stop (SIGTERM, SIGINT) before it finished: every upload aborted, no manifest written. */
export class StoppedError extends SafekeepError {
  override name = 'StoppedError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.stopped, options);
  }
}

export class RestoreError extends SafekeepError {
  override name = 'RestoreError';
}

/** Taking, copying or pruning snapshots failed in a way the user must act on; the message says how. */
export class SnapshotError extends SafekeepError {
  override name = 'SnapshotError';
}
