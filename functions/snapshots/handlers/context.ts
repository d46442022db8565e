/** What every snapshot step runs with inside Lambda: the deployed target, AWS ports, Powertools. */

import { isSnapshotTarget, type SnapshotTarget } from '../../contracts/config/schema.ts';
import { deployedTarget } from '../../contracts/deployment.ts';
import { UsageError } from '../../contracts/errors.ts';
import { powertoolsTelemetry } from '../../platform/powertools.ts';
import { awsSnapshotPorts } from '../adapters/aws-clients.ts';
import type { FlowContext } from '../core/snapshot-flow.ts';

// Module scope: SDK clients survive between invocations of a warm function. Endpoints are the SDK's own
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>).
const ports = awsSnapshotPorts();

export function snapshotTarget(name: string): SnapshotTarget {
  const target = deployedTarget(name);
  if (!isSnapshotTarget(target))
    throw new UsageError(`target "${name}" is a ${target.kind} dump; its runs go through the dump task, not snapshots`);
  return target;
}

export function flowContext(): FlowContext {
  const region = process.env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION is not set');
  return { ports, region, now: () => new Date(), telemetry: powertoolsTelemetry() };
}
