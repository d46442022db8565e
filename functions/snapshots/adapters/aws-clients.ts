/**
 * SDK clients for the snapshot ports, one per service and region. Throttling is handled in two layers:
 * the SDK's standard retries (exponential backoff with jitter), then `withThrottleRetries` for calls that
 * stay throttled after the SDK gave up. Concurrency is bounded by the callers (mapWithConcurrency).
 * Not the SDK's `adaptive` mode: its client-side rate limiter halves the send rate on every throttle and
 * under a sustained storm slows a fleet run to a crawl instead of finishing it.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import { withThrottleRetries } from '../../platform/aws-retry.ts';
import type { SnapshotPorts } from '../core/ports.ts';
import { ec2Snapshots } from './ec2-snapshots.ts';
import { kmsKeys } from './kms-keys.ts';
import { rdsSnapshots } from './rds-snapshots.ts';

export interface ClientOptions {
  /** Override every service's endpoint (moto in tests, --endpoint-url in the CLI). */
  readonly endpointUrl?: string;
  readonly maxAttempts?: number;
  /** Called on every retry of a call that stayed throttled through the SDK's own retries. */
  readonly onThrottleRetry?: (operation: string, attempt: number) => void;
}

export function awsSnapshotPorts(options: ClientOptions = {}): SnapshotPorts {
  const config = (region: string) => ({
    region,
    retryMode: 'standard' as const,
    maxAttempts: options.maxAttempts ?? 5,
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
  });
  const cache = new Map<string, unknown>();
  const memo = <T extends object>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, withThrottleRetries(make(), { onRetry: options.onThrottleRetry }));
    return cache.get(key) as T;
  };
  return {
    rds: (region) =>
      memo(`rds:${region}`, () =>
        // The quota lookup is advisory: a separate client that gives up after one retry instead of ten.
        rdsSnapshots(new RDSClient(config(region)), region, new RDSClient({ ...config(region), maxAttempts: 2 })),
      ),
    ec2: (region) => memo(`ec2:${region}`, () => ec2Snapshots(new EC2Client(config(region)), region)),
    kms: (region) => memo(`kms:${region}`, () => kmsKeys(new KMSClient(config(region)))),
  };
}
