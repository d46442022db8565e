/**
 * A deployed stack as `safekeep run` and `safekeep status` see it. The stack publishes where things are in
 * SSM (/safekeep/<stack>/deployment and /safekeep/<stack>/targets/<name>); readDeployedStack is the one place
 * that reads them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, paginateGetParametersByPath, SSMClient } from '@aws-sdk/client-ssm';
import { type Target, targetSchema } from '../contracts/config/schema.ts';
import { EXIT, SafekeepError, UsageError } from '../contracts/errors.ts';
import type { PublishedDeployment } from '../runs/dispatch.ts';
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
  readonly deployment: PublishedDeployment;
  /** The target as deployed; a UsageError names the stack when it has no such target. */
  target(name: string): Promise<Target>;
  /** Every deployed target's name, sorted. */
  targetNames(): Promise<string[]>;
}

/** Reads the stack's deployment now, and its targets when asked. */
export async function readDeployedStack(ssm: SSMClient, stack: string): Promise<DeployedStack> {
  const deployment = JSON.parse(await parameter(ssm, `/safekeep/${stack}/deployment`, stack)) as PublishedDeployment;
  return {
    deployment,
    async target(name) {
      let text: string;
      try {
        text = await parameter(ssm, `/safekeep/${stack}/targets/${name}`, stack);
      } catch (error) {
        if (error instanceof UsageError)
          throw new UsageError(`the deployment "${stack}" has no target "${name}"; safekeep status lists them`);
        throw error;
      }
      return targetSchema.parse(JSON.parse(text)) as Target;
    },
    async targetNames() {
      const names: string[] = [];
      for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: `/safekeep/${stack}/targets/` })) {
        names.push(...(page.Parameters ?? []).flatMap((p) => (p.Name ? [p.Name.split('/').at(-1) ?? ''] : [])));
      }
      return names.sort();
    },
  };
}

async function parameter(ssm: SSMClient, name: string, stack: string): Promise<string> {
  try {
    const value = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
    if (value) return value;
  } catch (error) {
    if ((error as Error).name !== 'ParameterNotFound') {
      throw new SafekeepError(
        `reading ${name} from SSM failed (${(error as Error).name}); check the AWS credentials and region`,
        EXIT.unavailable,
      );
    }
  }
  throw new UsageError(
    `no Safekeep deployment "${stack}" here (${name} is missing); deploy it with cdk deploy, or pass --stack and --region`,
  );
}
