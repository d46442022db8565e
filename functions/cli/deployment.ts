/**
 * A deployed stack as `safekeep run` and `safekeep status` see it: its deployment document, which the stack
 * publishes in SSM (/safekeep/<stack>/deployment and /safekeep/<stack>/targets/<name>).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Target } from '../contracts/config/schema.ts';
import { type Deployment, deploymentTarget } from '../contracts/deployment.ts';
import { readPublishedDeployment } from '../platform/published-deployment.ts';
import type { FlagDefinitions } from './command.ts';

/** Which deployment: `run` and `status` both take these. */
export const STACK_FLAGS = {
  stack: { type: 'string', default: 'Safekeep', placeholder: 'NAME', description: 'the deployed stack' },
  region: { type: 'string', placeholder: 'REGION', description: "the stack's AWS region (default AWS_REGION)" },
} as const satisfies FlagDefinitions;

export type StackClients = ReturnType<typeof stackClients>;

export function stackClients(endpointUrl: string | undefined, region: string | undefined) {
  const config = { ...(endpointUrl ? { endpoint: endpointUrl } : {}), ...(region ? { region } : {}) };
  return {
    ssm: new SSMClient(config),
    ecs: new ECSClient(config),
    sfn: new SFNClient(config),
    dynamo: new DynamoDBClient(config),
  };
}

export interface DeployedStack {
  readonly deployment: Deployment;
  /** The target as deployed; a UsageError lists the stack's targets when it has no such target. */
  target(name: string): Promise<Target>;
  /** Every deployed target's name, sorted. */
  targetNames(): Promise<string[]>;
}

/** Reads the stack's deployment document from SSM, through the same loader the functions use. */
export async function readDeployedStack(ssm: SSMClient, stack: string): Promise<DeployedStack> {
  const deployment = await readPublishedDeployment(ssm, stack);
  return {
    deployment,
    target: async (name) => deploymentTarget(deployment, name),
    targetNames: async () => deployment.targets.map((t) => t.name).sort(),
  };
}
