import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { isSnapshotTarget, type SnapshotTarget } from '#functions/contracts/config/schema.ts';
import { DRILL_FILE } from '#functions/contracts/drill.ts';
import type { DrillStartInput } from '#functions/contracts/snapshot-drill-payloads.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import type { DeploymentDocument } from './deployment-document.ts';
import { lambdaStep, loggedStateMachine } from './lambda-state-machine.ts';
import { SafekeepFunction } from './safekeep-function.ts';
import { SnapshotDrillPermissions } from './snapshot-drill-permissions.ts';

export interface SnapshotDrillProps {
  /** The deployment document; its snapshot targets with `drill:` are the ones drilled. */
  readonly deployment: DeploymentDocument;
  /** Where drill.json goes: the drill may write only `<target>/.../drill.json` of the drilled targets. */
  readonly artifacts: ArtifactBucket;
  /** Encrypts the functions' and the state machine's logs. */
  readonly logKey: kms.IKey;
  /**
   * How long to wait between looks at the restore and at its deletion.
   * @default Duration.minutes(1)
   */
  readonly pollInterval?: Duration;
}

/** The state machine's input, typed by the start handler's own schema. */
export type SnapshotDrillInput = DrillStartInput;

/** The snapshot targets that have a `drill:` entry. */
export function drilledSnapshotTargets(targets: readonly unknown[]): SnapshotTarget[] {
  return (targets as Parameters<typeof isSnapshotTarget>[0][]).filter(isSnapshotTarget).filter((t) => t.drill !== undefined);
}

/**
 * Restore drills of snapshot targets: a Step Functions state machine that restores a target's picked snapshot
 * run into temporary, tagged resources (the smallest class the engine allows, in the source's subnet group
 * and security groups), waits until they are available without holding a Lambda, runs the target's SQL check,
 * and deletes everything it made. Every step's Catch leads to cleanup, so a failed or timed-out drill still
 * deletes its resources; the execution's output is the drill result (contracts/drill.ts), also written as
 * drill.json under the backup's run prefix.
 */
export class SnapshotDrill extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly startFunction: SafekeepFunction;
  readonly checkFunction: SafekeepFunction;
  readonly sqlCheckFunction: SafekeepFunction;
  readonly finishFunction: SafekeepFunction;
  /** The drilled targets' names. */
  readonly targetNames: readonly string[];

  constructor(scope: Construct, id: string, props: SnapshotDrillProps) {
    super(scope, id);
    const targets = drilledSnapshotTargets(props.deployment.config.targets);
    if (targets.length === 0) throw new Error('SnapshotDrill: no snapshot target has a drill: entry');
    this.targetNames = targets.map((t) => t.name);
    const drilled = (target: Parameters<typeof isSnapshotTarget>[0]) => isSnapshotTarget(target) && target.drill !== undefined;
    const fn = (name: string, entry: string, description: string, timeout = Duration.minutes(5)) =>
      new SafekeepFunction(this, name, {
        entry: `functions/snapshots/handlers/${entry}/handler.ts`,
        description,
        deployment: props.deployment,
        deploymentSlice: { targets: drilled },
        timeout,
        memorySize: 512,
        logKey: props.logKey,
      });
    this.startFunction = fn('Start', 'drill-start', 'Safekeep: start the restore drill of a snapshot target');
    this.checkFunction = fn('Check', 'drill-check', "Safekeep: check a drill's restore");
    this.sqlCheckFunction = fn(
      'SqlCheck',
      'drill-sql-check',
      "Safekeep: run a drill's SQL check against its restore",
      Duration.minutes(15),
    );
    this.finishFunction = fn('Finish', 'drill-finish', 'Safekeep: delete what a drill made and write its result');
    const permissions = new SnapshotDrillPermissions(Stack.of(this), targets);
    permissions.grantStart(this.startFunction.function);
    permissions.grantCheck(this.checkFunction.function);
    permissions.grantSqlCheck(this.sqlCheckFunction.function);
    permissions.grantFinish(this.finishFunction.function);
    grantWriteDrillResults(this.finishFunction.function, props.artifacts, this.targetNames);

    // The restore's own deadline (2 h) and cleanup's rounds (60 polls) end well inside this.
    this.stateMachine = loggedStateMachine(
      this,
      this.definition(props.pollInterval ?? Duration.minutes(1)),
      Duration.hours(6),
      props.logKey,
    );
  }

  private definition(pollInterval: Duration): sfn.IChainable {
    const invoke = (id: string, fn: SafekeepFunction) => lambdaStep(this, id, fn);
    const cleanupFailed = new sfn.Fail(this, 'CleanupFailed', {
      error: 'SafekeepDrillCleanupFailed',
      // Why, as the finish step said it; what is left carries the drill's safekeep:drill tag.
      causePath: sfn.JsonPath.stringAt('$.error.Cause'),
    });
    const finish = invoke('DeleteWhatTheDrillMade', this.finishFunction);
    // Cleanup itself is retried on anything: it is idempotent, and it is what keeps the bill small.
    finish.addRetry({ errors: ['States.ALL'], maxAttempts: 3, backoffRate: 2, interval: Duration.seconds(30) });
    finish.addCatch(cleanupFailed, { resultPath: '$.error' });
    // Every other step's failure lands in cleanup, carrying the state it had plus the error.
    const toCleanup = <T extends sfn.TaskStateBase>(task: T): T => task.addCatch(finish, { resultPath: '$.error' }) as T;

    const start = toCleanup(invoke('StartRestore', this.startFunction));
    const check = toCleanup(invoke('CheckRestore', this.checkFunction));
    const sqlCheck = toCleanup(invoke('RunSqlCheck', this.sqlCheckFunction));
    const waitForRestore = new sfn.Wait(this, 'WaitForRestore', { time: sfn.WaitTime.duration(pollInterval) });
    const waitForDeletion = new sfn.Wait(this, 'WaitForDeletion', { time: sfn.WaitTime.duration(pollInterval) });
    const done = new sfn.Succeed(this, 'Done');

    finish.next(
      new sfn.Choice(this, 'Deleted?')
        .when(sfn.Condition.stringEquals('$.cleanup', 'pending'), waitForDeletion.next(finish))
        .otherwise(done),
    );
    sqlCheck.next(finish);
    check.next(
      new sfn.Choice(this, 'Available?')
        .when(sfn.Condition.stringEquals('$.state', 'pending'), waitForRestore)
        .when(
          sfn.Condition.and(sfn.Condition.stringEquals('$.state', 'available'), sfn.Condition.booleanEquals('$.sqlCheck', true)),
          sqlCheck,
        )
        .otherwise(finish),
    );
    waitForRestore.next(check);
    return start.next(
      new sfn.Choice(this, 'Restoring?').when(sfn.Condition.stringEquals('$.state', 'pending'), waitForRestore).otherwise(finish),
    );
  }
}

/**
 * Lets the finish step write `drill.json` under the drilled targets' prefixes and nothing else: no reads, no
 * listing, no other key. A single-part multipart upload (which replaces an earlier drill's result as a new
 * version) needs kms:Decrypt to complete; both key uses are pinned to this bucket through S3.
 */
function grantWriteDrillResults(grantee: iam.IGrantable, artifacts: ArtifactBucket, targets: readonly string[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'WriteOnlyDrillResults',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: targets.map((target) => artifacts.bucket.arnForObjects(`${target}/*/${DRILL_FILE}`)),
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
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
