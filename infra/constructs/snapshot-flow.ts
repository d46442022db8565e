import { Duration, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { isSnapshotTarget } from '#functions/contracts/config/schema.ts';
import { runStateSchema, type StartInput } from '#functions/contracts/snapshot-payloads.ts';
import type { DeploymentDocument } from './deployment-document.ts';
import { lambdaStep, loggedStateMachine } from './lambda-state-machine.ts';
import { SafekeepFunction } from './safekeep-function.ts';
import { copyRegionsOf, SnapshotPermissions } from './snapshot-permissions.ts';

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
  /** The snapshot targets' names (IAM names their snapshots `safekeep-<target>-*`). */
  readonly targetNames: readonly string[];

  constructor(scope: Construct, id: string, props: SnapshotFlowProps) {
    super(scope, id);
    const targets = props.deployment.config.targets.filter(isSnapshotTarget);
    this.copyRegions = copyRegionsOf(targets);
    this.targetNames = targets.map((t) => t.name);
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

    this.stateMachine = loggedStateMachine(
      this,
      this.definition(props.pollInterval ?? Duration.minutes(2)),
      Duration.hours(24),
      props.logKey,
    );
  }

  private definition(pollInterval: Duration): sfn.IChainable {
    const invoke = (id: string, fn: SafekeepFunction, payload?: sfn.TaskInput) => lambdaStep(this, id, fn, payload);
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

/** The run state's fields (from its schema), passed on unchanged to a check step alongside its phase. */
function passState(): Record<string, string> {
  return Object.fromEntries(Object.keys(runStateSchema.shape).map((field) => [`${field}.$`, `$.${field}`]));
}
