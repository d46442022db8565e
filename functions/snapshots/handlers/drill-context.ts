/** What every snapshot drill step runs with inside Lambda: the deployed target, AWS ports, the artifact bucket. */

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArtifactStore } from '../../contracts/artifact-store.ts';
import { deployment } from '../../platform/deployment-loader.ts';
import { powertoolsTelemetry } from '../../platform/powertools.ts';
import { awsSnapshotPorts } from '../adapters/aws-clients.ts';
import { awsDrillPorts } from '../adapters/drill-clients.ts';
import type { DrillContext } from '../core/drill.ts';
import type { SqlRunner } from '../core/drill-ports.ts';

// Module scope: clients survive between invocations of a warm function; endpoints are the SDK's own.
const ports = awsSnapshotPorts();
const drill = awsDrillPorts();

/**
 * The context of one drill step. Only the SQL check passes a SQL runner and only finish the artifact store, so
 * the other steps' bundles carry neither the database drivers nor the S3 client.
 */
export function drillContext(
  extras: { readonly sql?: SqlRunner; readonly artifacts?: (bucket: string) => ArtifactStore } = {},
): DrillContext {
  const region = process.env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION is not set');
  const { stack, resources } = deployment();
  return {
    ports,
    drill: extras.sql ? { ...drill, sql: extras.sql } : drill,
    region,
    now: () => new Date(),
    telemetry: powertoolsTelemetry(),
    stack,
    // 32 URL-safe characters: within every engine's password rules (no "/", "@", '"' or spaces).
    newPassword: () => randomBytes(24).toString('base64url'),
    sleep: (ms) => sleep(ms).then(() => undefined),
    artifacts: extras.artifacts?.(resources.bucket),
  };
}
