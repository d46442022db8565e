/**
 * The events Safekeep publishes to the account's default EventBridge bus, for users to route (Slack, a
 * webhook, an incident tool): every settled run, and a target turning late. A public contract, documented in
 * docs/EVENTS.md with its JSON schema in docs/events.schema.json; add fields, never rename or remove one.
 */

/** The `source` of every Safekeep event (the publishers' PutEvents permission is conditioned on it). */
export const EVENT_SOURCE = 'safekeep';

export const DETAIL_TYPE = {
  /** A run produced a verified backup. */
  succeeded: 'Backup Succeeded',
  /** A run failed and will not be retried: its last attempt (the failure alarm fires on the same). */
  failed: 'Backup Failed',
  /** A run failed and a retry is scheduled (`retryAt`). */
  attemptFailed: 'Backup Attempt Failed',
  /** The freshness check found a target older than allowed, where it was not late before. */
  late: 'Backup Late',
  /** Sent by a one-time EventBridge Scheduler schedule when a retry's backoff is over: starts the retry. */
  retryDue: 'Backup Retry Due',
} as const;
export type DetailType = (typeof DETAIL_TYPE)[keyof typeof DETAIL_TYPE];

/** Where a dump's manifest is: the backup. */
export interface ManifestLocation {
  readonly bucket: string;
  readonly key: string;
  readonly url: string;
}

/** The `detail` of a run event (Backup Succeeded, Backup Failed, Backup Attempt Failed). */
export interface RunEventDetail {
  readonly version: 1;
  readonly target: string;
  readonly runId: string;
  readonly kind: 'dump' | 'snapshot';
  readonly status: 'succeeded' | 'failed';
  readonly trigger?: 'schedule' | 'manual';
  /** 1 for a first attempt. */
  readonly attempt: number;
  /** The run this one retries. */
  readonly retryOf?: string;
  /** When the next attempt starts (Backup Attempt Failed only). */
  readonly retryAt?: string;
  readonly startedAt?: string;
  readonly finishedAt: string;
  readonly durationSeconds?: number;
  /** Stored (compressed) bytes of a dump. */
  readonly bytes?: number;
  /** Why it failed, in one line. */
  readonly reason?: string;
  readonly manifest?: ManifestLocation;
}

/** The `detail` of Backup Late. */
export interface LateEventDetail {
  readonly version: 1;
  readonly target: string;
  readonly ageSeconds: number;
  readonly allowedAgeSeconds: number;
  /** What the age counts from: the last good backup (with its run id), or when Safekeep first saw the target. */
  readonly since: { readonly kind: 'last-good-backup' | 'first-seen'; readonly at: string; readonly runId?: string };
  readonly checkedAt: string;
}

/** Puts events on the default bus; implementations never throw for a publishing failure they can log. */
export interface EventPublisher {
  publish(detailType: DetailType, detail: RunEventDetail | LateEventDetail): Promise<void>;
}
