/**
 * One dump run inside Lambda (`runner: lambda`): the deployed target becomes the same `DumpRequest` the CLI
 * builds from its flags, credentials come from the target's secret at run time, and the result is what the
 * async-invoke destination (the run recorder) needs. The core reads no environment and imports no SDK: the
 * handler hands it its ports.
 */
import { z } from 'zod';
import { RUN_ID_PATTERN } from '../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../contracts/artifact-store.ts';
import type { DumpTarget, SafekeepConfig } from '../contracts/config/schema.ts';
import { isDumpTarget } from '../contracts/config/schema.ts';
import { UsageError } from '../contracts/errors.ts';
import type { Logger } from '../contracts/telemetry.ts';
import { type DumpRequest, runDump } from './dump.ts';
import { engineFor } from './engines/registry.ts';
import { type Credentials, DEFAULT_PORTS, DEFAULT_USERS } from './source.ts';

/** What the dispatcher sends (asynchronously) to a target's worker. */
export const lambdaDumpEventSchema = z.object({
  target: z.string().min(1),
  runId: z.string().regex(RUN_ID_PATTERN, { message: 'must be a run id such as 20261121T193000Z-a1b2c3' }),
});
export type LambdaDumpEvent = z.infer<typeof lambdaDumpEventSchema>;

/** What the worker returns; Lambda hands it to the success destination. */
export interface LambdaDumpResult {
  readonly target: string;
  readonly runId: string;
  /** Key of the run's manifest in the artifact bucket: the backup exists. */
  readonly manifestKey: string;
  readonly rawBytes: number;
  readonly storedBytes: number;
}

/** Where the worker writes, from its deployment. */
export interface LambdaDumpSettings {
  readonly artifactBucket: string;
  /** The only target this function may run (its role reaches no other prefix or secret). */
  readonly ownTarget?: string;
  /** DynamoDB table for Dolt's aws://[table:bucket] remotes (Dolt and Doltgres targets). */
  readonly doltDynamoTable?: string;
}

export interface LambdaDumpPorts {
  readonly config: SafekeepConfig;
  readonly settings: LambdaDumpSettings;
  /** Username and password from a Secrets Manager secret, read when the run starts. */
  readCredentials(secretId: string): Promise<Credentials>;
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly now: () => Date;
  readonly randomSuffix: () => string;
}

export async function runLambdaDump(event: LambdaDumpEvent, ports: LambdaDumpPorts): Promise<LambdaDumpResult> {
  const target = lambdaRunnerTarget(ports.config, event.target, ports.settings.ownTarget);
  const credentials = await ports.readCredentials(target.source.secret);
  const { manifest, manifestKey } = await runDump(dumpRequestFor(target, event.runId, credentials, ports.settings), ports);
  return {
    target: target.name,
    runId: manifest.runId,
    manifestKey,
    rawBytes: manifest.totals.rawBytes,
    storedBytes: manifest.totals.storedBytes,
  };
}

/** The named target, if it is a dump target this function may run. */
export function lambdaRunnerTarget(config: SafekeepConfig, name: string, ownTarget?: string): DumpTarget {
  if (ownTarget !== undefined && name !== ownTarget) {
    throw new UsageError(`this function runs target "${ownTarget}" only, got "${name}"; invoke the worker of "${name}" instead`);
  }
  const target = config.targets.find((t) => t.name === name);
  if (!target) {
    throw new UsageError(
      `no target named "${name}" in this deployment; targets: ${config.targets.map((t) => t.name).join(', ')}`,
    );
  }
  if (!isDumpTarget(target)) {
    throw new UsageError(`target "${name}" is a ${target.kind} snapshot target; only dump targets run in the Lambda runner`);
  }
  if (target.runner !== 'lambda') {
    // Its timeout was never checked against Lambda's 15 minutes: Lambda would kill it mid-upload.
    throw new UsageError(`target "${name}" has runner "${target.runner}"; only targets with runner "lambda" run here`);
  }
  return target;
}

/**
 * The request `safekeep dump` would build for this target: the same engine, source, destination prefix
 * (the target name), compression and timeout, with the dispatcher's run id.
 */
export function dumpRequestFor(
  target: DumpTarget,
  runId: string,
  credentials: Credentials,
  settings: LambdaDumpSettings,
): DumpRequest {
  const engine = target.kind;
  return {
    engine: engineFor(engine),
    source: {
      engine,
      // The config allows IPv6 literals in brackets, as URLs write them; clients want the bare address.
      host: target.source.host.replace(/^\[|\]$/g, ''),
      port: target.source.port ?? DEFAULT_PORTS[engine],
      user: credentials.username ?? DEFAULT_USERS[engine],
      password: credentials.password ?? '',
      databases: target.source.databases ?? [],
    },
    destination: { bucket: settings.artifactBucket, prefix: target.name },
    target: target.name,
    compression: target.compression,
    timeoutMs: target.timeoutMinutes * 60_000,
    runId,
    dolt: { dynamoTable: settings.doltDynamoTable },
  };
}
