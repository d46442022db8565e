import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Target } from '#functions/contracts/config/schema.ts';
import { DETAIL_TYPE, EVENT_SOURCE } from '#functions/contracts/events.ts';
import type { DispatchEvent } from '#functions/contracts/run-payloads.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import type { DeploymentDocument } from './deployment-document.ts';
import type { DumpTasks } from './dump-tasks.ts';
import { defaultEventBusArn, grantRunsOfTargets, type RunLedger } from './run-ledger.ts';
import { SafekeepFunction } from './safekeep-function.ts';
import type { SnapshotFlow } from './snapshot-flow.ts';

export interface DispatchProps {
  readonly deployment: DeploymentDocument;
  readonly ledger: RunLedger;
  readonly logKey: kms.IKey;
  /** Encrypts what the schedules put in the dead-letter queue. */
  readonly dataKey: kms.IKey;
  readonly snapshots?: SnapshotFlow;
  readonly dumps: DumpTasks;
  /**
   * The Lambda worker of each target with runner "lambda".
   * @default - none
   */
  readonly workerFunctions?: ReadonlyMap<string, lambda.IFunction>;
  /**
   * The artifact bucket: a drill lists its target's manifests to pick the backup it restores.
   * @default - no drill can pick a backup (needed with any dump target that drills)
   */
  readonly artifacts?: ArtifactBucket;
  /**
   * The restore drill state machine of snapshot targets.
   * @default - none (snapshot targets' drills fail to start, saying so)
   */
  readonly snapshotDrills?: sfn.IStateMachine;
}

/** The dispatcher's environment beyond the deployment document (infra-only names the handler reads). */
export const DISPATCH_ENVIRONMENT = {
  eventBus: 'SAFEKEEP_EVENT_BUS_ARN',
  deferRole: 'SAFEKEEP_DEFER_ROLE_ARN',
  deferPrefix: 'SAFEKEEP_DEFER_SCHEDULE_PREFIX',
  taskVcpus: 'SAFEKEEP_TASK_VCPUS',
} as const;

/** Deferred starts are named `<prefix>-<target hash>-<run id>-<deferral>`; the dispatcher may create only these. */
export const DEFER_SCHEDULE_PREFIX = 'safekeep-defer';

/** The partition of the runs table that holds the fleet's launch ledger (functions/runs/adapters/fleet-ports.ts). */
export const LAUNCH_LEDGER_PARTITION = '#fleet';

/**
 * Starting runs: a schedule per target (EventBridge Scheduler, in the target's time zone, with retries and the
 * ledger's dead-letter queue) invokes the dispatcher, which records the run and starts the snapshot flow, the
 * Fargate dump task or the Lambda worker. Fargate starts are paced: within the account's Fargate vCPU quota
 * and ECS's launch rate, through a launch ledger in the runs table; a start with no room is deferred by a
 * one-time schedule (the retries' role and rule) and tried again as the same run.
 */
export class Dispatch extends Construct {
  readonly dispatchFunction: SafekeepFunction;
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  /** The restore drill schedule of each target with `drill:`. */
  readonly drillSchedules: ReadonlyMap<string, scheduler.Schedule>;

  constructor(scope: Construct, id: string, props: DispatchProps) {
    super(scope, id);
    this.dispatchFunction = new SafekeepFunction(this, 'Dispatcher', {
      entry: 'functions/runs/handlers/dispatch/handler.ts',
      description: 'Safekeep: start a run of one target (schedules, console, safekeep run)',
      deployment: props.deployment,
      deploymentSlice: { runners: true },
      logKey: props.logKey,
      deadLetterQueue: props.ledger.deadLetters,
      // A paced start may wait for ECS's launch rate (up to 30 s) and ride out throttled calls.
      timeout: Duration.minutes(3),
      environment: this.pacingEnvironment(props),
    });
    this.grantDispatch(this.dispatchFunction.function, props);
    if (props.dumps.taskDefinitions.size > 0) this.grantPacing(this.dispatchFunction.function, props);
    // One delivery, one run: Lambda's async retries of a failed dispatch would each record another failed
    // run. A failed dispatch is recorded once and goes to the dead-letter queue; Scheduler retries only
    // deliveries that never reached the function.
    this.dispatchFunction.function.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      onFailure: new destinations.SqsDestination(props.ledger.deadLetters),
    });

    // Retries: the recorder's one-time schedule puts "Backup Retry Due" on the default bus when the backoff
    // is over; its detail is the dispatcher's input ({ target, trigger, retryOf, attempt }).
    new events.Rule(this, 'RetryDue', {
      description: 'Safekeep: start the retry of a failed run',
      eventPattern: { source: [EVENT_SOURCE], detailType: [DETAIL_TYPE.retryDue] },
      targets: [
        new eventTargets.LambdaFunction(this.dispatchFunction.function, {
          event: events.RuleTargetInput.fromEventPath('$.detail'),
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
          deadLetterQueue: props.ledger.deadLetters,
        }),
      ],
    });

    const group = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {});
    // One role for every schedule: it may invoke the dispatcher, and nothing else (plus its dead letters).
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Safekeep: lets its schedules invoke the dispatcher',
    });
    props.dataKey.grantEncryptDecrypt(scheduleRole);
    this.schedules = new Map(
      props.deployment.config.targets
        // A paired snapshot target runs only with its dump target, in the same run: no schedule of its own.
        .filter((target) => !props.deployment.config.targets.some((t) => 'pairedWith' in t && t.pairedWith === target.name))
        .map((target) => [target.name, this.schedule(target, group, scheduleRole, props)]),
    );
    this.drillSchedules = new Map(
      props.deployment.config.targets.flatMap((target) =>
        target.drill
          ? [[target.name, this.drillSchedule(target, target.drill.schedule, group, scheduleRole, props)] as const]
          : [],
      ),
    );
  }

  private grantDispatch(fn: lambda.IFunction, props: DispatchProps): void {
    const stack = Stack.of(this);
    grantRunsOfTargets(fn, props.ledger.runsTable, props.deployment.config.targets, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    props.snapshots?.stateMachine.grantStartExecution(fn);
    props.snapshotDrills?.grantStartExecution(fn);
    const drilling = props.deployment.config.targets.filter(
      (t) => t.drill !== undefined && props.dumps.drillTaskDefinitions.has(t.name),
    );
    if (drilling.length > 0 && props.artifacts) {
      // A drill picks its backup among its target's manifests: listing only, of the drilling targets' prefixes.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ListManifestsOfDrillingTargets',
          actions: ['s3:ListBucket'],
          resources: [props.artifacts.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': drilling.map((t) => `${t.name}/*`) } },
        }),
      );
    }
    for (const definition of [...props.dumps.taskDefinitions.values(), ...props.dumps.drillTaskDefinitions.values()]) {
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
    if (props.dumps.taskDefinitions.size + props.dumps.drillTaskDefinitions.size > 0) {
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

  /** What the dispatcher needs to pace Fargate starts; none without Fargate targets. */
  private pacingEnvironment(props: DispatchProps): Record<string, string> {
    const [definition] = props.dumps.taskDefinitions.values();
    if (!definition) return {};
    return {
      [DISPATCH_ENVIRONMENT.eventBus]: defaultEventBusArn(this),
      [DISPATCH_ENVIRONMENT.deferRole]: props.ledger.retryScheduleRole.roleArn,
      [DISPATCH_ENVIRONMENT.deferPrefix]: DEFER_SCHEDULE_PREFIX,
      [DISPATCH_ENVIRONMENT.taskVcpus]: String(definition.cpu / 1024),
    };
  }

  /** Reading the vCPU quota and the cluster's tasks, keeping the launch ledger, deferring starts. */
  private grantPacing(fn: lambda.IFunction, props: DispatchProps): void {
    const stack = Stack.of(this);
    const cluster = props.dumps.cluster;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        // GetServiceQuota has no resource-level permissions (infra/iam-wildcards.ts).
        actions: ['servicequotas:GetServiceQuota'],
        resources: ['*'],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        // ListTasks is authorized on the cluster's container instances, DescribeTasks on its tasks.
        actions: ['ecs:ListTasks'],
        resources: [stack.formatArn({ service: 'ecs', resource: 'container-instance', resourceName: `${cluster.ref}/*` })],
        conditions: { ArnEquals: { 'ecs:cluster': cluster.attrArn } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeTasks'],
        resources: [stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${cluster.ref}/*` })],
        conditions: { ArnEquals: { 'ecs:cluster': cluster.attrArn } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'FleetLaunchLedger',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: [props.ledger.runsTable.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LAUNCH_LEDGER_PARTITION] } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['scheduler:CreateSchedule'],
        resources: [
          stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `default/${DEFER_SCHEDULE_PREFIX}-*` }),
        ],
      }),
    );
    props.ledger.retryScheduleRole.grantPassRole(fn.grantPrincipal);
  }

  /** The target's restore drill schedule: the same group, role, retries and dead letters as its backups'. */
  private drillSchedule(
    target: Target,
    drillSchedule: NonNullable<Target['drill']>['schedule'],
    group: scheduler.IScheduleGroup,
    role: iam.IRole,
    props: DispatchProps,
  ): scheduler.Schedule {
    const { expression, timezone, flexibleWindowMinutes } = drillSchedule;
    const payload: DispatchEvent = { target: target.name, trigger: 'schedule', action: 'drill' };
    const schedule = new scheduler.Schedule(this, `DrillSchedule-${target.name}`, {
      scheduleGroup: group,
      description: `Safekeep: restore drill of ${target.name} (${expression} ${timezone})`,
      schedule: scheduler.ScheduleExpression.expression(expression, TimeZone.of(timezone)),
      timeWindow: flexibleWindowMinutes
        ? scheduler.TimeWindow.flexible(Duration.minutes(flexibleWindowMinutes))
        : scheduler.TimeWindow.off(),
      target: new schedulerTargets.LambdaInvoke(this.dispatchFunction.function, {
        input: scheduler.ScheduleTargetInput.fromObject(payload),
        role,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: props.ledger.deadLetters,
      }),
    });
    schedule.node.addDependency(group);
    return schedule;
  }

  private schedule(target: Target, group: scheduler.IScheduleGroup, role: iam.IRole, props: DispatchProps): scheduler.Schedule {
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
        deadLetterQueue: props.ledger.deadLetters,
      }),
    });
    // The schedule names its group by a plain string, not a reference, so CloudFormation (which creates
    // independent resources in parallel) would not wait for the group without this.
    schedule.node.addDependency(group);
    return schedule;
  }
}
