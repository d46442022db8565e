/** What every snapshot step runs with inside Lambda: the deployed target, AWS ports, Powertools. */

import type { SnapshotTarget } from '../../contracts/config/schema.ts';
import { deployedSnapshotTarget } from '../../contracts/deployment.ts';
import { deployment } from '../../platform/deployment-loader.ts';
import { powertoolsTelemetry } from '../../platform/powertools.ts';
import { awsSnapshotPorts } from '../adapters/aws-clients.ts';
import type { FlowContext } from '../core/snapshot-flow.ts';

// Module scope: SDK clients survive between invocations of a warm function. Endpoints are the SDK's own
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>).
const ports = awsSnapshotPorts();

export function snapshotTarget(name: string): SnapshotTarget {
  return deployedSnapshotTarget(deployment(), name);
}

export function flowContext(): FlowContext {
  const region = process.env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION is not set');
  return { ports, region, now: () => new Date(), telemetry: powertoolsTelemetry(), stack: deployment().stack };
}
