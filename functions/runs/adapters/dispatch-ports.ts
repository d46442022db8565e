/** The dispatcher's ports over the AWS SDK: Step Functions, ECS, Lambda, and the runs table. */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { MANIFEST_FILE } from '../../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../../contracts/artifact-store.ts';
import { WORKER_CONTAINER } from '../../contracts/deployment.ts';
import { throttleTolerantRetryStrategy } from '../../platform/aws-retry.ts';
import { createS3Client, s3ArtifactStore } from '../../platform/s3-artifact-store.ts';
import type { DispatchPorts } from '../dispatch.ts';
import { dynamoRunsStore } from './runs-table.ts';

export function awsDispatchPorts(options: {
  runsTable: string;
  /** The artifact bucket, where drills find their backups. */
  bucket: string;
  endpointUrl?: string;
  region?: string;
  /** Where the manifests are listed. @default - the bucket through `endpointUrl`, else the SDK's own S3 endpoint */
  artifacts?: Pick<ArtifactStore, 'list'>;
}): DispatchPorts {
  const config = {
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    ...(options.region ? { region: options.region } : {}),
  };
  // Starting runs rides out throttling (a whole fleet's schedules can fire at once); one strategy per client.
  const retrying = () => ({ ...config, retryStrategy: throttleTolerantRetryStrategy() });
  const sfn = new SFNClient(retrying());
  // RunTask is never retried by the SDK: the fleet pacer admits every call against ECS's RunTask rate, and a
  // retry it did not admit would spend the account's bucket behind its back (a fleet firing at full rate then
  // throttled itself: 162 of 806 calls refused). A throttled or refused start is deferred and admitted again.
  const ecs = new ECSClient({ ...config, maxAttempts: 1 });
  const lambda = new LambdaClient(retrying());
  const artifacts = options.artifacts ?? s3ArtifactStore(createS3Client(options.endpointUrl), options.bucket);
  const startExecution = async (stateMachineArn: string, name: string, input: unknown) => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { executionArn: executionArn ?? '' };
  };
  return {
    startExecution,
    startDrillExecution: startExecution,
    async listManifests(prefix) {
      const keys: string[] = [];
      for await (const object of artifacts.list(prefix)) if (object.key.endsWith(`/${MANIFEST_FILE}`)) keys.push(object.key);
      return keys;
    },
    async runTask(request) {
      const result = await ecs.send(
        new RunTaskCommand({
          cluster: request.cluster,
          taskDefinition: request.taskDefinition,
          launchType: 'FARGATE',
          count: 1,
          startedBy: 'safekeep',
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: [...request.subnets],
              securityGroups: [...request.securityGroups],
              assignPublicIp: request.assignPublicIp ? 'ENABLED' : 'DISABLED',
            },
          },
          // Only the target and run id travel in overrides: credentials come from the task definition's secrets.
          overrides: {
            containerOverrides: [
              {
                name: WORKER_CONTAINER,
                environment: Object.entries(request.environment).map(([name, value]) => ({ name, value })),
              },
            ],
          },
          tags: Object.entries(request.tags).map(([key, value]) => ({ key, value })),
          propagateTags: 'TASK_DEFINITION',
        }),
      );
      const [task] = result.tasks ?? [];
      if (task?.taskArn) return { taskArn: task.taskArn };
      const failure = result.failures?.[0];
      return {
        failure: `ECS did not start the task (${failure?.reason ?? 'no reason given'}${failure?.detail ? `: ${failure.detail}` : ''})`,
      };
    },
    async invokeAsync(functionName, payload) {
      await lambda.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(payload)) }),
      );
    },
    runs: dynamoRunsStore(options.runsTable, new DynamoDBClient(config)),
  };
}
