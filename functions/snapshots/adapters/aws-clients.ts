/**
 * SDK clients for the snapshot ports, one per service and region. Every request is retried by the SDK:
 * throttling outside the standard retry quota, so a long storm is ridden out (platform/aws-retry.ts), other
 * errors as the standard strategy does. Concurrency is bounded by the callers (mapWithConcurrency).
 * Not the SDK's `adaptive` mode: its client-side rate limiter halves the send rate on every throttle and
 * under a sustained storm slows a fleet run to a crawl instead of finishing it.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import { type ThrottleRetry, throttleTolerantRetryStrategy } from '../../platform/aws-retry.ts';
import type { SnapshotPorts } from '../core/ports.ts';
import { ec2Snapshots } from './ec2-snapshots.ts';
import { kmsKeys } from './kms-keys.ts';
import { rdsSnapshots } from './rds-snapshots.ts';

export interface ClientOptions {
  /** Override every service's endpoint (--endpoint-url in the CLI); otherwise the SDK's own AWS_ENDPOINT_URL*. */
  readonly endpointUrl?: string;
  /** Attempts of a request that fails for reasons other than throttling. */
  readonly maxAttempts?: number;
  /** Called on every retry of a throttled request. */
  readonly onThrottleRetry?: (retry: ThrottleRetry) => void;
}

export function awsSnapshotPorts(options: ClientOptions = {}): SnapshotPorts {
  const endpoint = options.endpointUrl ? { endpoint: options.endpointUrl } : {};
  const config = (region: string) => ({
    region,
    ...endpoint,
    // Per client: the standard part of the strategy keeps its retry quota per client, as the SDK does.
    retryStrategy: throttleTolerantRetryStrategy({ maxAttempts: options.maxAttempts, onThrottleRetry: options.onThrottleRetry }),
  });
  const cache = new Map<string, unknown>();
  const memo = <T extends object>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    rds: (region) =>
      memo(`rds:${region}`, () =>
        // The quota lookup is advisory: a separate client on the standard strategy that gives up after one retry.
        rdsSnapshots(
          new RDSClient(config(region)),
          region,
          new RDSClient({ region, ...endpoint, retryMode: 'standard', maxAttempts: 2 }),
        ),
      ),
    ec2: (region) => memo(`ec2:${region}`, () => ec2Snapshots(new EC2Client(config(region)), region)),
    kms: (region) => memo(`kms:${region}`, () => kmsKeys(new KMSClient(config(region)))),
  };
}
