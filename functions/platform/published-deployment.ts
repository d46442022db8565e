/**
 * Reading a deployed stack's document from the SSM parameters it publishes (what `safekeep run` and
 * `safekeep status` work from), through the same `parseDeployment` the functions use.
 */
import { GetParameterCommand, paginateGetParametersByPath, type SSMClient } from '@aws-sdk/client-ssm';
import { type Deployment, parseDeployment, publishedDeploymentPath } from '../contracts/deployment.ts';
import { EXIT, SafekeepError, UsageError } from '../contracts/errors.ts';

export async function readPublishedDeployment(ssm: SSMClient, stack: string): Promise<Deployment> {
  const path = publishedDeploymentPath(stack);
  const missing = () =>
    new UsageError(
      `no Safekeep deployment "${stack}" here (${path.document} is missing); deploy it with cdk deploy, or pass --stack and --region`,
    );
  try {
    const text = (await ssm.send(new GetParameterCommand({ Name: path.document }))).Parameter?.Value;
    if (!text) throw missing();
    const targets: unknown[] = [];
    for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: path.targets })) {
      for (const parameter of page.Parameters ?? []) targets.push(JSON.parse(parameter.Value ?? 'null'));
    }
    return parseDeployment({ ...JSON.parse(text), targets }, `the deployment "${stack}" in SSM`);
  } catch (error) {
    if (error instanceof SafekeepError) throw error;
    if ((error as Error).name === 'ParameterNotFound') throw missing();
    throw new SafekeepError(
      `reading ${path.prefix} from SSM failed (${(error as Error).name}); check the AWS credentials and region`,
      EXIT.unavailable,
    );
  }
}
