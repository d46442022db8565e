import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Target } from '#functions/contracts/config/schema.ts';
import { DRILL_FILE } from '#functions/contracts/drill.ts';
import { EVENT_SOURCE } from '#functions/contracts/events.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import type { DeploymentDocument } from './deployment-document.ts';
import { SafekeepFunction } from './safekeep-function.ts';

export interface RunLedgerProps {
  readonly deployment: DeploymentDocument;
  readonly artifacts: ArtifactBucket;
  readonly logKey: kms.IKey;
  /** Encrypts the runs table and the dead-letter queue. */
  readonly dataKey: kms.IKey;
}

/**
 * The record of every run: the runs table (DynamoDB), the recorder that settles a run from however it ended
 * (an ECS task stopping, a Step Functions execution finishing, a Lambda worker's destination record), and the
 * dead-letter queue where schedule deliveries, dispatches and result events that failed for good end up.
 */
export class RunLedger extends Construct {
  readonly runsTable: dynamodb.Table;
  readonly recorderFunction: SafekeepFunction;
  /** Schedule deliveries, dispatcher runs and result events that failed for good end here; an alarm watches it. */
  readonly deadLetters: sqs.Queue;
  /** The role the recorder's one-time retry schedules run as: it may put Safekeep events on the default bus. */
  readonly retryScheduleRole: iam.Role;
  /** Whether the recorder reads drill results (some target drills). */
  readonly readsDrillResults: boolean;
  private readonly recorder: eventTargets.LambdaFunction;

  constructor(scope: Construct, id: string, props: RunLedgerProps) {
    super(scope, id);
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
    props.deployment.register({ runsTable: this.runsTable.tableName });

    const stack = Stack.of(this);
    const defaultBus = defaultEventBusArn(this);
    this.retryScheduleRole = new iam.Role(this, 'RetryScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Safekeep: lets a retry schedule put "Backup Retry Due" on the default bus',
    });
    grantPutSafekeepEvents(this.retryScheduleRole, defaultBus);
    this.recorderFunction = new SafekeepFunction(this, 'Recorder', {
      entry: 'functions/runs/handlers/record/handler.ts',
      description: 'Safekeep: settle runs from ECS, Step Functions and Lambda results, count, publish and retry them',
      deployment: props.deployment,
      logKey: props.logKey,
      deadLetterQueue: this.deadLetters,
      environment: {
        [RECORDER_ENVIRONMENT.eventBus]: defaultBus,
        [RECORDER_ENVIRONMENT.retryRole]: this.retryScheduleRole.roleArn,
        [RECORDER_ENVIRONMENT.retryPrefix]: RETRY_SCHEDULE_PREFIX,
      },
    });
    grantPutSafekeepEvents(this.recorderFunction.function, defaultBus);
    // One-time retry schedules, in the default group, named by the prefix; they delete themselves once run.
    this.recorderFunction.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['scheduler:CreateSchedule'],
        resources: [
          stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `default/${RETRY_SCHEDULE_PREFIX}-*` }),
        ],
      }),
    );
    this.retryScheduleRole.grantPassRole(this.recorderFunction.function.grantPrincipal);
    grantRunsOfTargets(this.recorderFunction.function, this.runsTable, props.deployment.config.targets, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    props.artifacts.grantReadManifests(this.recorderFunction.function);
    this.readsDrillResults = props.deployment.config.targets.some((t) => t.drill !== undefined);
    if (this.readsDrillResults) grantReadDrillResults(props.artifacts, this.recorderFunction.function);
    this.recorder = new eventTargets.LambdaFunction(this.recorderFunction.function, {
      retryAttempts: 8,
      maxEventAge: Duration.hours(6),
      deadLetterQueue: this.deadLetters,
    });
    // EventBridge rules and SNS subscriptions of this account put what they could not deliver in the encrypted queue.
    props.dataKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgeAndSnsDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com'), new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
  }

  /** Settles dump runs from their tasks' stopped events in `clusterArn`. */
  recordTaskStops(clusterArn: string): void {
    new events.Rule(this, 'DumpTaskStopped', {
      description: 'Safekeep: a dump task stopped',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: { clusterArn: [clusterArn], lastStatus: ['STOPPED'] },
      },
      targets: [this.recorder],
    });
  }

  /** Settles snapshot restore drills from the executions of the drill state machine as they end. */
  recordDrillExecutions(stateMachine: sfn.IStateMachine): void {
    new events.Rule(this, 'SnapshotDrillFinished', {
      description: 'Safekeep: a snapshot restore drill finished',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [stateMachine.stateMachineArn],
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [this.recorder],
    });
  }

  /** Settles snapshot runs from the executions of `stateMachine` as they end. */
  recordExecutions(stateMachine: sfn.IStateMachine): void {
    new events.Rule(this, 'SnapshotRunFinished', {
      description: 'Safekeep: a snapshot run finished',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [stateMachine.stateMachineArn],
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [this.recorder],
    });
  }
}

/**
 * Lets the recorder read drill results (`<target>/.../drill.json`) and nothing else of the bucket beyond its
 * manifests; the key through S3, for this bucket only.
 */
function grantReadDrillResults(artifacts: ArtifactBucket, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadDrillResults',
      actions: ['s3:GetObject'],
      resources: [artifacts.bucket.arnForObjects(`*/${DRILL_FILE}`)],
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'DecryptDrillResultsThroughS3',
      actions: ['kms:Decrypt'],
      resources: [artifacts.key.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': `s3.${Stack.of(artifacts).region}.amazonaws.com`,
          'kms:EncryptionContext:aws:s3:arn': artifacts.bucket.bucketArn,
        },
      },
    }),
  );
}

/** The recorder's environment beyond the deployment document (infra-only names the handler reads). */
export const RECORDER_ENVIRONMENT = {
  eventBus: 'SAFEKEEP_EVENT_BUS_ARN',
  retryRole: 'SAFEKEEP_RETRY_ROLE_ARN',
  retryPrefix: 'SAFEKEEP_RETRY_SCHEDULE_PREFIX',
} as const;

/** Retry schedules are named `<prefix>-<run id>-<target hash>`; the recorder may create only these. */
export const RETRY_SCHEDULE_PREFIX = 'safekeep-retry';

/** The account's default event bus in this stack's region. */
export function defaultEventBusArn(scope: Construct): string {
  return Stack.of(scope).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' });
}

/** events:PutEvents on the default bus, for events whose source is Safekeep's only. */
export function grantPutSafekeepEvents(grantee: iam.IGrantable, busArn: string): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [busArn],
      conditions: { StringEquals: { 'events:source': EVENT_SOURCE } },
    }),
  );
}

/**
 * The partition keys of the configured targets' items: each target's runs, and the drill partition
 * (`<target>#drills`, functions/runs/run-record.ts) of each target that drills.
 */
export function runsPartitionsOf(targets: readonly Target[]): string[] {
  return targets.flatMap((t) => (t.drill ? [t.name, `${t.name}${DRILLS_PARTITION_SUFFIX}`] : [t.name]));
}

/** The suffix of a target's drill partition in the runs table (run-record.ts drillPartitionOf). */
export const DRILLS_PARTITION_SUFFIX = '#drills';

/**
 * Exactly `actions` on the runs table, for the configured targets' items only (dynamodb:LeadingKeys): no Scan, no
 * DeleteItem, no batch writes, nothing of another deployment's targets.
 */
export function grantRunsOfTargets(
  grantee: iam.IGrantable,
  table: dynamodb.ITable,
  targets: readonly Target[],
  actions: readonly string[],
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'RunsOfConfiguredTargets',
      actions: [...actions],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': runsPartitionsOf(targets) } },
    }),
  );
  table.encryptionKey?.grant(grantee, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
}
