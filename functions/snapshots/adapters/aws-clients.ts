/**
 * SDK clients for the snapshot ports, one per service and region, all with adaptive retries: the SDK
 * backs off with jitter on throttling and slows its own send rate, so a fleet-wide run stays under AWS's
 * API rate limits instead of failing on them.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import type { SnapshotPorts } from '../core/ports.ts';
import { ec2Snapshots } from './ec2-snapshots.ts';
import { kmsKeys } from './kms-keys.ts';
import { rdsSnapshots } from './rds-snapshots.ts';

export interface ClientOptions {
  /** Override every service's endpoint (moto in tests, --endpoint-url in the CLI). */
  readonly endpointUrl?: string;
  readonly maxAttempts?: number;
}

export function awsSnapshotPorts(options: ClientOptions = {}): SnapshotPorts {
  const config = (region: string) => ({
    region,
    retryMode: 'adaptive' as const,
    maxAttempts: options.maxAttempts ?? 10,
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
  });
  const cache = new Map<string, unknown>();
  const memo = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
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
