/**
 * The one road from a configured target to a dump: a validated dump target, where its backups go and the
 * credentials it runs with become the `DumpRequest` that `runDump` takes. The Fargate task
 * (`safekeep dump --target T` inside a deployment), the Lambda worker and `safekeep dump --config F --target T`
 * all come through here. (`safekeep dump --engine --source --to` describes an ad-hoc dump, not a target.)
 */
import type { DumpTarget } from '../contracts/config/schema.ts';
import type { DumpRequest } from './dump.ts';
import { engineFor } from './engines/registry.ts';
import { type Credentials, DEFAULT_PORTS, DEFAULT_USERS } from './source.ts';
import { resolveTls } from './tls.ts';

/** Where a target's backups go: the artifact bucket (the prefix is the target's name) and Dolt's remote table. */
export interface DumpPlacement {
  readonly bucket: string;
  /** DynamoDB table of Dolt's aws://[table:bucket] remotes, for Dolt and Doltgres targets. */
  readonly doltTable?: string;
  /** An S3-compatible endpoint (the CLI's --endpoint-url); the SDK's own configuration otherwise. */
  readonly endpointUrl?: string;
  /** vCPUs of the task the dump runs in, when known: a PostgreSQL target without `parallelism` uses that many streams. */
  readonly vcpus?: number;
}

/**
 * The request that backs up `target`, as run `runId` when the dispatcher chose one; `caPem` is a CA to trust
 * for tls verify-full (the CLI's --tls-ca) instead of the default ones.
 */
export function dumpRequestFor(
  target: DumpTarget,
  placement: DumpPlacement,
  credentials: Credentials,
  runId?: string,
  caPem?: string,
): DumpRequest {
  const engine = target.kind;
  const host = target.source.host.replace(/^\[|\]$/g, '');
  return {
    engine: engineFor(engine),
    source: {
      engine,
      // The config allows IPv6 literals in brackets, as URLs write them; clients want the bare address.
      host,
      port: target.source.port ?? DEFAULT_PORTS[engine],
      user: credentials.username ?? DEFAULT_USERS[engine],
      password: credentials.password ?? '',
      databases: target.source.databases ?? [],
      tls: resolveTls(engine, host, target.source.tls, caPem),
    },
    destination: { bucket: placement.bucket, prefix: target.name },
    target: target.name,
    compression: target.compression,
    parallelism: target.parallelism ?? (engine === 'postgres' ? Math.max(1, Math.floor(placement.vcpus ?? 1)) : 1),
    timeoutMs: target.timeoutMinutes * 60_000,
    endpointUrl: placement.endpointUrl,
    runId,
    dolt: { dynamoTable: placement.doltTable },
    retention: { policy: target.retention, timeZone: target.schedule.timezone },
  };
}
