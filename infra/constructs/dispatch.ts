import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { SafekeepConfig, Target } from '#functions/contracts/config/schema.ts';
import type { Deployment, PublishedDeployment } from '#functions/runs/dispatch.ts';
import type { DispatchEvent } from '#functions/runs/handlers/dispatch/handler.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import type { DumpTasks } from './dump-tasks.ts';
import { SafekeepFunction } from './safekeep-function.ts';
import type { SnapshotFlow } from './snapshot-flow.ts';

export interface DispatchProps {
  readonly config: SafekeepConfig;
  readonly artifacts: ArtifactBucket;
  readonly logKey: kms.IKey;
  /** Encrypts the runs table and the dead-letter queues. */
  readonly dataKey: kms.IKey;
  readonly snapshots?: SnapshotFlow;
  readonly dumps: DumpTasks;
  /**
   * The Lambda worker of each target with runner "lambda".
   * @default - none
   */
  readonly workerFunctions?: ReadonlyMap<string, lambda.IFunction>;
}

/**
 * Running targets: a schedule per target (EventBridge Scheduler, in the target's time zone, with retries
 * and a dead-letter queue) invokes the dispatcher, which starts the snapshot flow, the Fargate dump task or
 * the Lambda worker and records the run. The recorder settles each run from ECS, Step Functions and Lambda
 * results. The deployment is published in SSM under /safekeep/<stack>/ for the CLI.
 */
export class Dispatch extends Construct {
  readonly runsTable: dynamodb.Table;
  readonly dispatchFunction: SafekeepFunction;
  readonly recorderFunction: SafekeepFunction;
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  /** Schedule deliveries, dispatcher runs and result events that failed for good end here; an alarm watches it. */
  readonly deadLetters: sqs.Queue;
  readonly parameterPrefix: string;

  constructor(scope: Construct, id: string, props: DispatchProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.parameterPrefix = `/safekeep/${stack.stackName}`;
    // Table, not TableV2: a TableV2 with a customer-managed key cannot synthesize in a region-agnostic stack.
    this.runsTable = new dynamodb.Table(this, 'Runs', {
      partitionKey: { name: 'target', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'runId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.dataKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.dataKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const workerFunctions = Object.fromEntries(
      [...(props.workerFunctions ?? new Map())].map(([target, fn]) => [target, fn.functionName]),
    );
    const deployment: Deployment = {
      stateMachineArn: props.snapshots?.stateMachine.stateMachineArn,
      clusterArn: props.dumps.cluster.attrArn,
      taskFamilyPrefix: props.dumps.familyPrefix,
      workerFunctions,
    };

    this.dispatchFunction = new SafekeepFunction(this, 'Dispatcher', {
      entry: 'functions/runs/handlers/dispatch/handler.ts',
      description: 'Safekeep: start a run of one target (schedules, console, safekeep run)',
      config: props.config,
      logKey: props.logKey,
      deadLetterQueue: this.deadLetters,
      environment: {
        RUNS_TABLE: this.runsTable.tableName,
        STATE_MACHINE_ARN: deployment.stateMachineArn ?? '',
        CLUSTER_ARN: deployment.clusterArn ?? '',
        TASK_FAMILY_PREFIX: deployment.taskFamilyPrefix ?? '',
        WORKER_FUNCTIONS: JSON.stringify(workerFunctions),
      },
    });
    this.grantDispatch(this.dispatchFunction.function, props);

    this.recorderFunction = new SafekeepFunction(this, 'Recorder', {
      entry: 'functions/runs/handlers/record/handler.ts',
      description: 'Safekeep: settle runs from ECS, Step Functions and Lambda results, and count them',
      config: props.config,
      logKey: props.logKey,
      deadLetterQueue: this.deadLetters,
      environment: {
        RUNS_TABLE: this.runsTable.tableName,
        ARTIFACT_BUCKET: props.artifacts.bucket.bucketName,
        TASK_FAMILY_PREFIX: props.dumps.familyPrefix,
      },
    });
    this.runsTable.grantReadWriteData(this.recorderFunction.function);
    props.artifacts.grantReadManifests(this.recorderFunction.function);
    this.routeResults(props);

    const group = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {});
    // One role for every schedule: it may invoke the dispatcher, and nothing else (plus its dead letters).
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Safekeep: lets its schedules invoke the dispatcher',
    });
    props.dataKey.grantEncryptDecrypt(scheduleRole);
    this.schedules = new Map(props.config.targets.map((target) => [target.name, this.schedule(target, group, scheduleRole)]));
    this.publish(props, deployment);
  }

  private grantDispatch(fn: lambda.IFunction, props: DispatchProps): void {
    const stack = Stack.of(this);
    this.runsTable.grantReadWriteData(fn);
    props.snapshots?.stateMachine.grantStartExecution(fn);
    for (const definition of props.dumps.taskDefinitions.values()) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ecs:RunTask'],
          // Every revision of the family: revisions change with every deploy.
          resources: [stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${definition.family}:*` })],
          conditions: { ArnEquals: { 'ecs:cluster': props.dumps.cluster.attrArn } },
        }),
      );
      definition.taskRole.grantPassRole(fn.grantPrincipal);
      definition.obtainExecutionRole().grantPassRole(fn.grantPrincipal);
    }
    if (props.dumps.taskDefinitions.size > 0) {
      // RunTask with tags needs TagResource on the task it creates, in this cluster only.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ecs:TagResource'],
          resources: [stack.formatArn({ service: 'ecs', resource: 'task', resourceName: '*' })],
          conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
        }),
      );
    }
    for (const worker of props.workerFunctions?.values() ?? []) worker.grantInvoke(fn);
  }

  private routeResults(props: DispatchProps): void {
    const recorder = new eventTargets.LambdaFunction(this.recorderFunction.function, {
      retryAttempts: 8,
      maxEventAge: Duration.hours(6),
    });
    new events.Rule(this, 'DumpTaskStopped', {
      description: 'Safekeep: a dump task stopped',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: { clusterArn: [props.dumps.cluster.attrArn], lastStatus: ['STOPPED'] },
      },
      targets: [recorder],
    });
    if (props.snapshots) {
      new events.Rule(this, 'SnapshotRunFinished', {
        description: 'Safekeep: a snapshot run finished',
        eventPattern: {
          source: ['aws.states'],
          detailType: ['Step Functions Execution Status Change'],
          detail: {
            stateMachineArn: [props.snapshots.stateMachine.stateMachineArn],
            status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
          },
        },
        targets: [recorder],
      });
    }
  }

  private schedule(target: Target, group: scheduler.IScheduleGroup, role: iam.IRole): scheduler.Schedule {
    const { expression, timezone, flexibleWindowMinutes } = target.schedule;
    // The schedule's payload is the dispatcher's own input type: they cannot disagree.
    const payload: DispatchEvent = { target: target.name, trigger: 'schedule' };
    const schedule = new scheduler.Schedule(this, `Schedule-${target.name}`, {
      scheduleGroup: group,
      description: `Safekeep: back up ${target.name} (${expression} ${timezone})`,
      schedule: scheduler.ScheduleExpression.expression(expression, TimeZone.of(timezone)),
      timeWindow: flexibleWindowMinutes
        ? scheduler.TimeWindow.flexible(Duration.minutes(flexibleWindowMinutes))
        : scheduler.TimeWindow.off(),
      target: new schedulerTargets.LambdaInvoke(this.dispatchFunction.function, {
        input: scheduler.ScheduleTargetInput.fromObject(payload),
        role,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: this.deadLetters,
      }),
    });
    // The schedule names its group by a plain string, not a reference, so CloudFormation (which creates
    // independent resources in parallel) would not wait for the group without this.
    schedule.node.addDependency(group);
    return schedule;
  }

  private publish(props: DispatchProps, deployment: Deployment): void {
    const published: PublishedDeployment = {
      ...deployment,
      runsTable: this.runsTable.tableName,
      bucket: props.artifacts.bucket.bucketName,
      region: Stack.of(this).region,
    };
    new ssm.StringParameter(this, 'Deployment', {
      parameterName: `${this.parameterPrefix}/deployment`,
      description: 'Safekeep: where this deployment runs things (read by safekeep run and status)',
      stringValue: Stack.of(this).toJsonString(published),
    });
    for (const target of props.config.targets) {
      new ssm.StringParameter(this, `Target-${target.name}`, {
        parameterName: `${this.parameterPrefix}/targets/${target.name}`,
        description: `Safekeep: the validated config of target ${target.name}`,
        stringValue: JSON.stringify(target),
      });
    }
  }
}
