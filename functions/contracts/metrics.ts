/**
 * The metrics Safekeep publishes (namespace "Safekeep", dimension "Target"), shared by the functions that
 * emit them and the alarms and dashboard that read them, so a rename cannot break an alarm silently.
 */
/** The CloudWatch namespace of every Safekeep metric. */
export const METRICS_NAMESPACE = 'Safekeep';

export const METRIC = {
  /** 1 per run that produced a verified backup (dump manifest written, or snapshot flow succeeded). */
  succeeded: 'BackupSucceeded',
  /** 1 per run that failed for good (its last attempt), for whatever reason, including a task that never started. */
  failed: 'BackupFailed',
  /** 1 per failed run that is retried (attempts left): not an alarm, the retry may still succeed. */
  attemptFailed: 'BackupAttemptFailed',
  durationSeconds: 'BackupDurationSeconds',
  bytes: 'BackupBytes',
  /** Computed on a schedule from the runs table, so a backup that never ran is caught too. */
  secondsSinceLastGoodBackup: 'SecondsSinceLastGoodBackup',
  /** 1 per restore drill whose restore matched what the backup recorded (contracts/drill.ts). */
  drillSucceeded: 'DrillSucceeded',
  /** 1 per restore drill that failed: a hash, a count, a missing feature, or the restore itself. */
  drillFailed: 'DrillFailed',
  drillDurationSeconds: 'DrillDurationSeconds',
  /** Computed with the backups' freshness, from the runs table's drill records. */
  secondsSinceLastGoodDrill: 'SecondsSinceLastGoodDrill',
} as const;

export const TARGET_DIMENSION = 'Target';
