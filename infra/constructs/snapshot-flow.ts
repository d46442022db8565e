import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { isSnapshotTarget, type SnapshotTarget } from '#functions/contracts/config/schema.ts';
import { SNAPSHOT_PREFIX, TAG } from '#functions/contracts/snapshot-naming.ts';
import { runStateSchema, type StartInput } from '#functions/contracts/snapshot-payloads.ts';
import type { DeploymentDocument } from './deployment-document.ts';
import { SafekeepFunction } from './safekeep-function.ts';

export interface SnapshotFlowProps {
  /** The deployment document; only its snapshot targets are used here, and its steps get only those. */
  readonly deployment: DeploymentDocument;
  /**
   * How long to wait between checks of pending snapshots and copies.
   * @default Duration.minutes(2)
   */
  readonly pollInterval?: Duration;
  /** Encrypts the functions' and the state machine's logs. */
  readonly logKey: kms.IKey;
}

/** The state machine's input, typed by the start handler's own schema. */
export type SnapshotFlowInput = StartInput;

/**
 * The snapshot flow: a Step Functions state machine that starts a target's snapshots, waits for them
 * without holding a Lambda, copies them across regions as slots allow, and prunes by retention only after
 * everything succeeded. One state machine serves every snapshot target; the input names the target.
 *
 * Each step is its own function with its own role: starting may create and tag `safekeep-*` snapshots of
 * the configured resources; pruning may delete only `safekeep-*` snapshots tagged `safekeep:target`.
 */
export class SnapshotFlow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly startFunction: SafekeepFunction;
  readonly checkFunction: SafekeepFunction;
  readonly copyFunction: SafekeepFunction;
  readonly pruneFunction: SafekeepFunction;
  /** Regions snapshots are copied to (their snapshots are ours to create and prune there too). */
  readonly copyRegions: readonly string[];

  constructor(scope: Construct, id: string, props: SnapshotFlowProps) {
    super(scope, id);
    const targets = props.deployment.config.targets.filter(isSnapshotTarget);
    this.copyRegions = copyRegionsOf(targets);
    const fn = (name: string, description: string, timeout = Duration.minutes(5)) =>
      new SafekeepFunction(this, name, {
        entry: `functions/snapshots/handlers/${name.toLowerCase()}/handler.ts`,
        description,
        deployment: props.deployment,
        deploymentSlice: { targets: isSnapshotTarget },
        timeout,
        memorySize: 512,
        logKey: props.logKey,
      });
    this.startFunction = fn('Start', 'Safekeep: start the snapshots of one target');
    this.checkFunction = fn('Check', 'Safekeep: check the snapshots or copies of a run');
    this.copyFunction = fn('Copy', 'Safekeep: copy completed snapshots to another region');
    this.pruneFunction = fn('Prune', 'Safekeep: apply retention to the snapshots Safekeep made', Duration.minutes(15));
    const permissions = new SnapshotPermissions(Stack.of(this), targets);
    permissions.grantStart(this.startFunction.function);
    permissions.grantCheck(this.checkFunction.function);
    permissions.grantCopy(this.copyFunction.function);
    permissions.grantPrune(this.pruneFunction.function);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(props.pollInterval ?? Duration.minutes(2))),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', {
          retention: logs.RetentionDays.ONE_YEAR,
          encryptionKey: props.logKey,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
  }

  private definition(pollInterval: Duration): sfn.IChainable {
    const invoke = (id: string, fn: SafekeepFunction, payload?: sfn.TaskInput) => {
      const task = new tasks.LambdaInvoke(this, id, { lambdaFunction: fn.function, payloadResponseOnly: true, payload });
      // Only AWS-side hiccups are retried; a step's own failure (say a stopped database) must not run twice.
      task.addRetry({
        errors: ['Lambda.ServiceException', 'Lambda.TooManyRequestsException', 'Lambda.SdkClientException'],
        maxAttempts: 4,
        backoffRate: 2,
        interval: Duration.seconds(5),
        jitterStrategy: sfn.JitterType.FULL,
      });
      return task;
    };
    const failed = new sfn.Fail(this, 'RunFailed', {
      error: 'SafekeepSnapshotRunFailed',
      causePath: sfn.JsonPath.stringAt('$.cause'),
    });
    const recordFailure = new sfn.Pass(this, 'SnapshotsFailed', {
      parameters: { 'cause.$': "States.Format('snapshots of {} failed in run {}', $.target, $.runId)" },
    }).next(failed);
    const catchAll = <T extends sfn.TaskStateBase>(task: T): T => task.addCatch(failed, { resultPath: '$.error' }) as T;

    const start = catchAll(invoke('StartSnapshots', this.startFunction));
    const checkSnapshots = catchAll(
      invoke('CheckSnapshots', this.checkFunction, sfn.TaskInput.fromObject({ phase: 'snapshots', ...passState() })),
    );
    const startCopies = catchAll(invoke('StartCopies', this.copyFunction));
    const checkCopies = catchAll(
      invoke('CheckCopies', this.checkFunction, sfn.TaskInput.fromObject({ phase: 'copies', ...passState() })),
    );
    const prune = catchAll(invoke('ApplyRetention', this.pruneFunction));
    const done = new sfn.Succeed(this, 'Done');

    const waitForSnapshots = new sfn.Wait(this, 'WaitForSnapshots', { time: sfn.WaitTime.duration(pollInterval) });
    const waitForCopySlots = new sfn.Wait(this, 'WaitForCopySlots', { time: sfn.WaitTime.duration(pollInterval) });
    const waitForCopies = new sfn.Wait(this, 'WaitForCopies', { time: sfn.WaitTime.duration(pollInterval) });

    const afterCopies = new sfn.Choice(this, 'CopiesDone?')
      .when(sfn.Condition.stringEquals('$.state', 'pending'), waitForCopies)
      .when(sfn.Condition.stringEquals('$.state', 'failed'), recordFailure)
      .otherwise(prune.next(done));
    waitForCopies.next(checkCopies).next(afterCopies);
    const copySlotsLeft = new sfn.Choice(this, 'AllCopiesStarted?')
      .when(sfn.Condition.isPresent('$.waiting[0]'), waitForCopySlots.next(startCopies))
      .otherwise(waitForCopies);
    startCopies.next(copySlotsLeft);
    const afterSnapshots = new sfn.Choice(this, 'SnapshotsDone?')
      .when(sfn.Condition.stringEquals('$.state', 'pending'), waitForSnapshots)
      .when(sfn.Condition.stringEquals('$.state', 'failed'), recordFailure)
      .when(sfn.Condition.booleanEquals('$.copyConfigured', true), startCopies)
      .otherwise(prune);
    waitForSnapshots.next(checkSnapshots).next(afterSnapshots);
    return start.next(waitForSnapshots);
  }
}

/** The distinct regions the targets copy their snapshots to. */
function copyRegionsOf(targets: readonly SnapshotTarget[]): string[] {
  return [...new Set(targets.flatMap((t) => (t.copy ? [t.copy.region] : [])))];
}

/** The run state's fields (from its schema), passed on unchanged to a check step alongside its phase. */
function passState(): Record<string, string> {
  return Object.fromEntries(Object.keys(runStateSchema.shape).map((field) => [`${field}.$`, `$.${field}`]));
}

/**
 * IAM for the snapshot steps, scoped to the configured resources and to what Safekeep creates. Every
 * statement on `*` exists because the action has no resource-level permissions (Describe calls).
 */
export class SnapshotPermissions {
  private readonly stack: Stack;
  private readonly targets: readonly SnapshotTarget[];

  constructor(stack: Stack, targets: readonly SnapshotTarget[]) {
    this.stack = stack;
    this.targets = targets;
  }

  /** `arn:<partition>:rds:<region>:<account>:<type>:<name>`. */
  private rdsArn(type: 'db' | 'cluster' | 'snapshot' | 'cluster-snapshot', name: string, region = this.stack.region): string {
    return this.stack.formatArn({
      service: 'rds',
      region,
      resource: type,
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** `arn:<partition>:<service>:<region>:<account>:<type>/<name>` (EC2 volumes and instances, KMS keys). */
  private slashArn(service: 'ec2' | 'kms', type: string, name: string): string {
    return this.stack.formatArn({ service, resource: type, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  private get instanceIds(): string[] {
    return this.targets.flatMap((t) => (t.kind === 'rds-instance' ? [t.source.instanceId] : []));
  }

  private get clusterIds(): string[] {
    return this.targets.flatMap((t) => (t.kind === 'rds-cluster' ? [t.source.clusterId] : []));
  }

  private snapshotArns(region = this.stack.region): string[] {
    return [
      this.rdsArn('snapshot', `${SNAPSHOT_PREFIX}-*`, region),
      this.rdsArn('cluster-snapshot', `${SNAPSHOT_PREFIX}-*`, region),
    ];
  }

  /** EBS snapshot ARNs name no account. */
  private ebsSnapshotArn(region = this.stack.region): string {
    return this.stack.formatArn({
      service: 'ec2',
      region,
      account: '',
      resource: 'snapshot',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  private describeAll(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeHasNoResourceLevelPermissions',
        actions: [
          'rds:DescribeDBSnapshots',
          'rds:DescribeDBClusterSnapshots',
          'rds:DescribeAccountAttributes',
          'ec2:DescribeSnapshots',
          'ec2:DescribeVolumes',
          'ec2:DescribeInstances',
        ],
        resources: ['*'],
      }),
    );
  }

  grantStart(grantee: iam.IGrantable): void {
    this.describeAll(grantee);
    const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    if (this.instanceIds.length > 0) {
      add(
        new iam.PolicyStatement({
          actions: ['rds:DescribeDBInstances'],
          resources: this.instanceIds.map((id) => this.rdsArn('db', id)),
        }),
      );
      add(
        new iam.PolicyStatement({
          actions: ['rds:CreateDBSnapshot'],
          resources: [...this.instanceIds.map((id) => this.rdsArn('db', id)), this.rdsArn('snapshot', `${SNAPSHOT_PREFIX}-*`)],
        }),
      );
    }
    if (this.clusterIds.length > 0) {
      add(
        new iam.PolicyStatement({
          actions: ['rds:DescribeDBClusters'],
          resources: this.clusterIds.map((id) => this.rdsArn('cluster', id)),
        }),
      );
      add(
        new iam.PolicyStatement({
          actions: ['rds:CreateDBClusterSnapshot'],
          resources: [
            ...this.clusterIds.map((id) => this.rdsArn('cluster', id)),
            this.rdsArn('cluster-snapshot', `${SNAPSHOT_PREFIX}-*`),
          ],
        }),
      );
    }
    if (this.instanceIds.length + this.clusterIds.length > 0) {
      // Tags on create: only on Safekeep's own snapshots, and only the target tag's presence is required.
      add(
        new iam.PolicyStatement({
          actions: ['rds:AddTagsToResource'],
          resources: this.snapshotArns(),
          conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['safekeep:*'] } },
        }),
      );
    }
    this.grantEbsStart(add);
  }

  private grantEbsStart(add: (statement: iam.PolicyStatement) => void): void {
    const volumeIds = this.targets.flatMap((t) => (t.kind === 'ebs-volume' && t.source.volumeId ? [t.source.volumeId] : []));
    const tagSelectors = this.targets.flatMap((t) => (t.kind === 'ebs-volume' && t.source.tags ? [t.source.tags] : []));
    const instanceIds = this.targets.flatMap((t) => (t.kind === 'ec2-instance' ? [t.source.instanceId] : []));
    const volumeArn = (id: string) => this.slashArn('ec2', 'volume', id);
    const taggedSnapshot = { StringLike: { [`aws:RequestTag/${TAG.target}`]: '*' } };
    if (volumeIds.length > 0)
      add(new iam.PolicyStatement({ actions: ['ec2:CreateSnapshot'], resources: volumeIds.map(volumeArn) }));
    tagSelectors.forEach((tags) => {
      // Volumes picked by tag: allowed only while they carry every one of the selector's tags.
      add(
        new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshot'],
          resources: [this.slashArn('ec2', 'volume', '*')],
          conditions: {
            StringEquals: Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:ResourceTag/${key}`, value])),
          },
        }),
      );
    });
    if (instanceIds.length > 0) {
      add(
        new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshots'],
          resources: [...instanceIds.map((id) => this.slashArn('ec2', 'instance', id)), this.slashArn('ec2', 'volume', '*')],
        }),
      );
    }
    if (volumeIds.length + tagSelectors.length + instanceIds.length > 0) {
      add(
        new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshot', 'ec2:CreateSnapshots'],
          resources: [this.ebsSnapshotArn()],
          conditions: taggedSnapshot,
        }),
      );
      add(
        new iam.PolicyStatement({
          actions: ['ec2:CreateTags'],
          resources: [this.ebsSnapshotArn()],
          conditions: { StringEquals: { 'ec2:CreateAction': ['CreateSnapshot', 'CreateSnapshots'] } },
        }),
      );
    }
  }

  grantCheck(grantee: iam.IGrantable): void {
    this.describeAll(grantee);
  }

  grantCopy(grantee: iam.IGrantable): void {
    this.describeAll(grantee);
    const copies = this.targets.flatMap((t) => (t.copy ? [t.copy] : []));
    if (copies.length === 0) return;
    const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    const regions = copyRegionsOf(this.targets);
    add(
      new iam.PolicyStatement({
        actions: ['rds:CopyDBSnapshot', 'rds:CopyDBClusterSnapshot', 'rds:AddTagsToResource'],
        resources: [...this.snapshotArns(), ...regions.flatMap((region) => this.snapshotArns(region))],
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['ec2:CopySnapshot'],
        resources: [this.ebsSnapshotArn(), ...regions.map((region) => this.ebsSnapshotArn(region))],
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: regions.map((region) => this.ebsSnapshotArn(region)),
        conditions: { StringEquals: { 'ec2:CreateAction': 'CopySnapshot' } },
      }),
    );
    // The destination keys re-encrypt the copies; RDS and EBS use them through grants on our behalf.
    add(
      new iam.PolicyStatement({
        actions: [
          'kms:DescribeKey',
          'kms:CreateGrant',
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
        ],
        resources: [...new Set(copies.map((c) => c.kmsKeyArn))],
      }),
    );
    // The source snapshots' keys are whatever encrypts the databases (often aws/rds): usable only via RDS/EC2 here.
    add(
      new iam.PolicyStatement({
        actions: ['kms:DescribeKey', 'kms:CreateGrant', 'kms:Decrypt'],
        resources: [this.slashArn('kms', 'key', '*')],
        conditions: {
          StringEquals: {
            'kms:ViaService': [`rds.${this.stack.region}.amazonaws.com`, `ec2.${this.stack.region}.amazonaws.com`],
          },
        },
      }),
    );
  }

  grantPrune(grantee: iam.IGrantable): void {
    this.describeAll(grantee);
    const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    const regions = [this.stack.region, ...copyRegionsOf(this.targets)];
    // Deletes: only Safekeep-named snapshots that also carry the target tag (both checked by AWS).
    add(
      new iam.PolicyStatement({
        actions: ['rds:DeleteDBSnapshot'],
        resources: regions.map((region) => this.rdsArn('snapshot', `${SNAPSHOT_PREFIX}-*`, region)),
        conditions: { StringLike: { [`rds:snapshot-tag/${TAG.target}`]: '*' } },
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['rds:DeleteDBClusterSnapshot'],
        resources: regions.map((region) => this.rdsArn('cluster-snapshot', `${SNAPSHOT_PREFIX}-*`, region)),
        conditions: { StringLike: { [`rds:cluster-snapshot-tag/${TAG.target}`]: '*' } },
      }),
    );
    add(
      new iam.PolicyStatement({
        actions: ['ec2:DeleteSnapshot'],
        resources: regions.map((region) => this.ebsSnapshotArn(region)),
        conditions: { StringLike: { [`aws:ResourceTag/${TAG.target}`]: '*' } },
      }),
    );
  }
}
