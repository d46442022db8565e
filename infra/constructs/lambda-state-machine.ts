/**
 * What Safekeep's state machines (the snapshot flow and the snapshot drill) share: Lambda steps that retry only
 * AWS-side hiccups, and a traced state machine logging every execution to a log group under the log key.
 */
import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { SafekeepFunction } from './safekeep-function.ts';

/** A step invoking `fn`; only AWS-side hiccups are retried: a step's own failure (say a stopped database) must not run twice. */
export function lambdaStep(scope: Construct, id: string, fn: SafekeepFunction, payload?: sfn.TaskInput): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, { lambdaFunction: fn.function, payloadResponseOnly: true, payload });
  task.addRetry({
    errors: ['Lambda.ServiceException', 'Lambda.TooManyRequestsException', 'Lambda.SdkClientException'],
    maxAttempts: 4,
    backoffRate: 2,
    interval: Duration.seconds(5),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

/** The state machine `StateMachine` of `scope`, traced, every execution logged for a year under `logKey`. */
export function loggedStateMachine(
  scope: Construct,
  definition: sfn.IChainable,
  timeout: Duration,
  logKey: kms.IKey,
): sfn.StateMachine {
  return new sfn.StateMachine(scope, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    timeout,
    tracingEnabled: true,
    logs: {
      destination: new logs.LogGroup(scope, 'StateMachineLogs', {
        retention: logs.RetentionDays.ONE_YEAR,
        encryptionKey: logKey,
      }),
      level: sfn.LogLevel.ALL,
      includeExecutionData: true,
    },
  });
}
