/** The dispatcher's ports over the AWS SDK: Step Functions, ECS, Lambda, and the runs table. */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { WORKER_CONTAINER } from '../../contracts/deployment.ts';
import { throttleTolerantRetryStrategy } from '../../platform/aws-retry.ts';
import type { DispatchPorts } from '../dispatch.ts';
import { dynamoRunsStore } from './runs-table.ts';

export function awsDispatchPorts(options: { runsTable: string; endpointUrl?: string; region?: string }): DispatchPorts {
  const config = {
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    ...(options.region ? { region: options.region } : {}),
  };
  // Starting runs rides out throttling (a whole fleet's schedules can fire at once); one strategy per client.
  const retrying = () => ({ ...config, retryStrategy: throttleTolerantRetryStrategy() });
  const sfn = new SFNClient(retrying());
  const ecs = new ECSClient(retrying());
  const lambda = new LambdaClient(retrying());
  return {
    async startExecution(stateMachineArn, name, input) {
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return { executionArn: executionArn ?? '' };
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
