/** SDK clients of the drill ports, on the same retry strategy and endpoints as the snapshot ports. */
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { throttleTolerantRetryStrategy } from '../../platform/aws-retry.ts';
import type { DrillPorts, SqlRunner } from '../core/drill-ports.ts';
import type { ClientOptions } from './aws-clients.ts';
import { ec2Drill } from './ec2-drill.ts';
import { rdsDrill } from './rds-drill.ts';

/** Only the SQL check step runs SQL: the other steps' bundles leave the database drivers out. */
const noSql: SqlRunner = {
  run: async () => ({ ok: false, stage: 'connect', message: 'this step runs no SQL (pass a runner from sql-runner.ts)' }),
};

export function awsDrillPorts(options: ClientOptions & { readonly sql?: SqlRunner } = {}): DrillPorts {
  const config = (region: string) => ({
    region,
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    retryStrategy: throttleTolerantRetryStrategy({ maxAttempts: options.maxAttempts, onThrottleRetry: options.onThrottleRetry }),
  });
  const cache = new Map<string, unknown>();
  const memo = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    rds: (region) => memo(`rds:${region}`, () => rdsDrill(new RDSClient(config(region)))),
    ec2: (region) => memo(`ec2:${region}`, () => ec2Drill(new EC2Client(config(region)))),
    sql: options.sql ?? noSql,
  };
}
