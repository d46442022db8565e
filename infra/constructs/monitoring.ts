import { createHash } from 'node:crypto';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allowedAgeSeconds } from '#functions/contracts/config/schedule-interval.ts';
import type { Target } from '#functions/contracts/config/schema.ts';
import { drillAllowedAgeSeconds } from '#functions/contracts/drill.ts';
import { METRIC, METRICS_NAMESPACE, TARGET_DIMENSION } from '#functions/contracts/metrics.ts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import type { DeploymentDocument } from './deployment-document.ts';
import { defaultEventBusArn, grantPutSafekeepEvents, runsPartitionsOf } from './run-ledger.ts';
import { SafekeepFunction } from './safekeep-function.ts';

export interface MonitoringProps {
  /** The deployment document: each target gets a failure and a freshness alarm, sent to the topic of its alert e-mails. */
  readonly deployment: DeploymentDocument;
  /** The runs table the freshness check reads, and where it records when it first saw a target. */
  readonly runsTable: dynamodb.ITable;
  /** Encrypts the freshness function's logs. */
  readonly logKey: kms.IKey;
  /**
   * Name of the CloudWatch dashboard.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * Where events the freshness and tamper rules could not deliver end up.
   * @default - none
   */
  readonly deadLetters?: sqs.IQueue;
}

/** CloudTrail event names on the artifact key that mail every topic. */
export const KEY_TAMPER_EVENTS = [
  'ScheduleKeyDeletion',
  'DisableKey',
  'DisableKeyRotation',
  'PutKeyPolicy',
  'CancelKeyDeletion',
] as const;
/** CloudTrail event names on the artifact bucket that mail every topic. */
export const BUCKET_TAMPER_EVENTS = [
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutBucketLifecycle',
  'DeleteBucketLifecycle',
  'PutBucketVersioning',
  'PutBucketEncryption',
  'DeleteBucketEncryption',
  'PutObjectLockConfiguration',
] as const;

/** How often the freshness check runs, and the period its alarm reads. */
export const FRESHNESS_PERIOD = Duration.minutes(15);
/** The period a failure alarm sums BackupFailed over. */
export const FAILURE_PERIOD = Duration.minutes(5);

/**
 * The dimensions of every per-target Safekeep metric, exactly as `powertoolsTelemetry().metric` publishes
 * them. CloudWatch matches an alarm's dimensions exactly: one dimension more or less on either side and the
 * alarm watches a metric nobody publishes.
 */
export function targetMetricDimensions(target: string): Record<string, string> {
  return { [TARGET_DIMENSION]: target };
}

/**
 * Results and alerting for every target: the metrics the runs publish, a scheduled freshness check that
 * publishes how old each target's newest good backup is (so a schedule that never fires is caught too),
 * a failure alarm and a freshness alarm per target, KMS-encrypted SNS topics with the configured e-mail
 * subscriptions (one topic per distinct set of addresses), and a dashboard across targets.
 */
export class Monitoring extends Construct {
  /** The freshness check: reads the runs table every 15 minutes and publishes SecondsSinceLastGoodBackup. */
  readonly freshnessFunction: SafekeepFunction;
  /** Every alarm topic, one per distinct set of alert e-mails (targets without e-mails share one too). */
  readonly alarmTopics: readonly sns.Topic[];
  /** Encrypts the alarm topics; its policy lets CloudWatch alarms of this account publish to them. */
  readonly topicKey: kms.Key;
  /** Every target's age against its allowed age, runs succeeded and failed, duration, bytes and alarm states. */
  readonly dashboard: cloudwatch.Dashboard;

  private readonly deadLetters?: sqs.IQueue;
  private readonly alarms = new Map<string, { failed: cloudwatch.Alarm; late: cloudwatch.Alarm; topic: sns.Topic }>();
  private readonly drillAlarms = new Map<string, { failed: cloudwatch.Alarm; late: cloudwatch.Alarm }>();

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const targets = props.deployment.config.targets;

    this.freshnessFunction = new SafekeepFunction(this, 'Freshness', {
      entry: 'functions/runs/handlers/freshness/handler.ts',
      description: "Safekeep: publish how old each target's newest good backup is",
      deployment: props.deployment,
      timeout: Duration.minutes(2),
      logKey: props.logKey,
    });
    grantFreshnessCheck(this.freshnessFunction.function, props.runsTable, targets);
    // "Backup Late" when a target turns late, on the default bus, with Safekeep's source only.
    grantPutSafekeepEvents(this.freshnessFunction.function, defaultEventBusArn(this));
    // A fixed UTC rate needs no time zone or flexible window, so a plain rule (invoking through the function's
    // resource policy) is enough. Should it stop firing, the freshness alarms see missing data and go off.
    new events.Rule(this, 'FreshnessSchedule', {
      description: 'Safekeep: run the freshness check',
      schedule: events.Schedule.rate(FRESHNESS_PERIOD),
      targets: [new eventTargets.LambdaFunction(this.freshnessFunction.function, { deadLetterQueue: props.deadLetters })],
    });
    this.deadLetters = props.deadLetters;

    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Safekeep: encrypts its alarm topics',
      enableKeyRotation: true,
      // Topics keep no messages; nothing encrypted with this key outlives the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    // The tamper rules' SnsTopic targets add EventBridge's use of this key themselves.
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopics',
        principals: [cloudwatchService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        // In a key policy, "*" is this key.
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );

    const topics = new Map<string, sns.Topic>();
    const topicFor = (emails: readonly string[]) => {
      // Mail systems treat addresses case-insensitively; so does the grouping.
      const addresses = [...new Set(emails.map((email) => email.toLowerCase()))].sort();
      const key = addresses.join(',');
      let topic = topics.get(key);
      if (!topic) {
        // Named by its addresses, so reordering targets or adding one never replaces a topic (and its subscriptions).
        const topicId = `Alerts${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
        topic = new sns.Topic(this, topicId, { displayName: 'Safekeep alerts', masterKey: this.topicKey, enforceSSL: true });
        // The TLS policy replaces the topic's default policy, so CloudWatch's publishing must be allowed explicitly.
        topic.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: 'CloudWatchAlarmsPublish',
            principals: [cloudwatchService],
            actions: ['sns:Publish'],
            resources: [topic.topicArn],
            conditions: fromOurAlarms,
          }),
        );
        // Mail SNS could not deliver after its retries lands in the dead-letter queue, which is alarmed on.
        for (const address of addresses)
          topic.addSubscription(new subscriptions.EmailSubscription(address, { deadLetterQueue: props.deadLetters }));
        topics.set(key, topic);
      }
      return topic;
    };

    for (const target of targets) {
      const topic = topicFor(target.alerts.emails);
      const scope = new Construct(this, target.name);
      const failed = new cloudwatch.Alarm(scope, 'Failed', {
        alarmName: `${stack.stackName}-${target.name}-backup-failed`,
        alarmDescription: `Safekeep target "${target.name}": a backup run failed (or its task never started). "safekeep status ${target.name}" shows the run and why it failed.`,
        metric: this.targetMetric(METRIC.failed, target.name, 'Sum', FAILURE_PERIOD),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // BackupFailed is only published when a run fails: silence means nothing failed.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const allowed = allowedAgeSeconds(target);
      const late = new cloudwatch.Alarm(scope, 'Late', {
        alarmName: `${stack.stackName}-${target.name}-backup-late`,
        alarmDescription: `Safekeep target "${target.name}": no good backup for more than ${formatHours(allowed)}. Runs fail, the schedule does not fire, or the freshness check itself stopped publishing.`,
        metric: this.targetMetric(METRIC.secondsSinceLastGoodBackup, target.name, 'Maximum', FRESHNESS_PERIOD),
        threshold: allowed,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // The check publishes for every target every 15 minutes; silence means the check is dead, which is as bad.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      const action = new cloudwatchActions.SnsAction(topic);
      failed.addAlarmAction(action);
      late.addAlarmAction(action);
      // "Fresh again" is worth a mail; a failure alarm clears by itself five minutes later.
      late.addOkAction(action);
      this.alarms.set(target.name, { failed, late, topic });
      if (target.drill) this.drillAlarms.set(target.name, this.createDrillAlarms(scope, target, target.drill, action));
    }
    this.alarmTopics = [...topics.values()];
    this.dashboard = this.buildDashboard(targets, props.dashboardName);
  }

  /** The alarm that goes off when a run of `target` fails (BackupFailed >= 1 within 5 minutes). */
  failureAlarm(target: string): cloudwatch.IAlarm {
    return this.alarmsOf(target).failed;
  }

  /** The alarm that goes off when `target` has had no good backup for longer than it may (or the check stopped). */
  freshnessAlarm(target: string): cloudwatch.IAlarm {
    return this.alarmsOf(target).late;
  }

  /** The alarm that goes off when a restore drill of `target` fails (DrillFailed >= 1 within 5 minutes). */
  drillFailureAlarm(target: string): cloudwatch.IAlarm {
    return this.drillAlarmsOf(target).failed;
  }

  /** The alarm that goes off when no restore drill of `target` passed within its allowed age (or the check stopped). */
  drillFreshnessAlarm(target: string): cloudwatch.IAlarm {
    return this.drillAlarmsOf(target).late;
  }

  /** The topic `target`'s alarms notify. */
  topicFor(target: string): sns.ITopic {
    return this.alarmsOf(target).topic;
  }

  /**
   * Alarms on every topic as soon as `queue` holds a visible message (a dead-letter queue that is not
   * empty), and shows it on the dashboard.
   *
   * @param queue the queue to watch, usually a dead-letter queue
   * @param description what landed there and what to do, for the alarm mail
   */
  alarmOnQueue(queue: sqs.IQueue, description: string): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `Queue${queue.node.addr}`, {
      alarmDescription: description,
      metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FAILURE_PERIOD }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const topic of this.alarmTopics) alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    this.dashboard.addWidgets(new cloudwatch.AlarmWidget({ title: description, alarm, width: 12 }));
    return alarm;
  }

  /**
   * Mails every topic when anyone calls a key or bucket API that could make the backups unreadable or let them be
   * destroyed: ScheduleKeyDeletion, DisableKey, PutKeyPolicy and friends on the artifact key, and bucket policy,
   * lifecycle, versioning, encryption and Object Lock changes on the artifact bucket. The events come from
   * CloudTrail, so the account needs a trail that logs management events.
   */
  alarmOnTamper(artifacts: ArtifactBucket): events.Rule[] {
    const targets = this.alarmTopics.map((topic) => new eventTargets.SnsTopic(topic, { deadLetterQueue: this.deadLetters }));
    const viaCloudTrail = { detailType: ['AWS API Call via CloudTrail'] };
    return [
      new events.Rule(this, 'KeyTampered', {
        description: 'Safekeep: someone changed, disabled or scheduled the deletion of the artifact key',
        eventPattern: {
          ...viaCloudTrail,
          source: ['aws.kms'],
          detail: {
            eventSource: ['kms.amazonaws.com'],
            eventName: [...KEY_TAMPER_EVENTS],
            resources: { ARN: [artifacts.key.keyArn] },
          },
        },
        targets,
      }),
      new events.Rule(this, 'BucketTampered', {
        description: "Safekeep: someone changed the artifact bucket's policy, lifecycle, versioning, encryption or Object Lock",
        eventPattern: {
          ...viaCloudTrail,
          source: ['aws.s3'],
          detail: {
            eventSource: ['s3.amazonaws.com'],
            eventName: [...BUCKET_TAMPER_EVENTS],
            requestParameters: { bucketName: [artifacts.bucket.bucketName] },
          },
        },
        targets,
      }),
    ];
  }

  private drillAlarmsOf(target: string) {
    const alarms = this.drillAlarms.get(target);
    if (!alarms)
      throw new Error(
        `Monitoring: target "${target}" has no drill; drilling targets: ${[...this.drillAlarms.keys()].join(', ') || 'none'}`,
      );
    return alarms;
  }

  private createDrillAlarms(
    scope: Construct,
    target: Target,
    drill: NonNullable<Target['drill']>,
    action: cloudwatch.IAlarmAction,
  ): { failed: cloudwatch.Alarm; late: cloudwatch.Alarm } {
    const stack = Stack.of(this);
    const failed = new cloudwatch.Alarm(scope, 'DrillFailed', {
      alarmName: `${stack.stackName}-${target.name}-drill-failed`,
      alarmDescription: `Safekeep target "${target.name}": a restore drill failed: a backup did not restore to what it recorded, or the drill could not run. "safekeep status ${target.name}" shows why.`,
      metric: this.targetMetric(METRIC.drillFailed, target.name, 'Sum', FAILURE_PERIOD),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // DrillFailed is only published when a drill fails: silence means nothing failed.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const allowed = drillAllowedAgeSeconds({ name: target.name, drill });
    const late = new cloudwatch.Alarm(scope, 'DrillLate', {
      alarmName: `${stack.stackName}-${target.name}-drill-late`,
      alarmDescription: `Safekeep target "${target.name}": no restore drill passed for more than ${formatHours(allowed)}. Drills fail, the drill schedule does not fire, or the freshness check stopped publishing.`,
      metric: this.targetMetric(METRIC.secondsSinceLastGoodDrill, target.name, 'Maximum', FRESHNESS_PERIOD),
      threshold: allowed,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // Published for every drilling target every 15 minutes: silence means the check is dead.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    failed.addAlarmAction(action);
    late.addAlarmAction(action);
    late.addOkAction(action);
    return { failed, late };
  }

  private alarmsOf(target: string) {
    const alarms = this.alarms.get(target);
    if (!alarms) throw new Error(`Monitoring: no target named "${target}"; known: ${[...this.alarms.keys()].join(', ')}`);
    return alarms;
  }

  /** No label here: a labelled metric makes an alarm synthesize as metric math, and these are plain metric alarms. */
  private targetMetric(name: string, target: string, statistic: string, period: Duration): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: targetMetricDimensions(target),
      statistic,
      period,
    });
  }

  private buildDashboard(targets: readonly Target[], dashboardName: string | undefined): cloudwatch.Dashboard {
    const perTarget = (name: string, statistic: string, period: Duration, label = (t: string) => t) =>
      targets.map((t) => this.targetMetric(name, t.name, statistic, period).with({ label: label(t.name) }));
    const day = Duration.days(1);
    const ageShare = targets.map(
      (t, index) =>
        new cloudwatch.MathExpression({
          // Each target against its own limit, so one line at 100% reads "late" for every target.
          expression: `100 * age${index} / ${allowedAgeSeconds(t)}`,
          usingMetrics: {
            [`age${index}`]: this.targetMetric(METRIC.secondsSinceLastGoodBackup, t.name, 'Maximum', FRESHNESS_PERIOD),
          },
          label: t.name,
          period: FRESHNESS_PERIOD,
        }),
    );
    const allAlarms = [...this.alarms.values(), ...this.drillAlarms.values()].flatMap(({ failed, late }) => [failed, late]);
    const drilling = targets.filter((t) => t.drill !== undefined);
    const drillAgeShare = drilling.map(
      (t, index) =>
        new cloudwatch.MathExpression({
          expression: `100 * drillage${index} / ${drillAllowedAgeSeconds({ name: t.name, drill: t.drill as NonNullable<Target['drill']> })}`,
          usingMetrics: {
            [`drillage${index}`]: this.targetMetric(METRIC.secondsSinceLastGoodDrill, t.name, 'Maximum', FRESHNESS_PERIOD),
          },
          label: t.name,
          period: FRESHNESS_PERIOD,
        }),
    );
    const drillMetrics = (name: string, label: (t: string) => string) =>
      drilling.map((t) => this.targetMetric(name, t.name, 'Sum', day).with({ label: label(t.name) }));
    const drillWidgets =
      drilling.length === 0
        ? []
        : [
            [
              new cloudwatch.GraphWidget({
                title: 'Last good restore drill, % of its allowed age (late above 100%)',
                left: drillAgeShare,
                leftYAxis: { min: 0, label: '%', showUnits: false },
                leftAnnotations: [{ value: 100, label: 'late', color: cloudwatch.Color.RED }],
                width: 12,
              }),
              new cloudwatch.GraphWidget({
                title: 'Restore drills per day: passed (left), failed (right)',
                left: drillMetrics(METRIC.drillSucceeded, (t) => `${t} passed`),
                right: drillMetrics(METRIC.drillFailed, (t) => `${t} failed`),
                leftYAxis: { min: 0, showUnits: false },
                rightYAxis: { min: 0, showUnits: false },
                width: 12,
              }),
            ],
            [
              new cloudwatch.GraphWidget({
                title: 'Restore drill duration (seconds, longest per day)',
                left: drilling.map((t) =>
                  this.targetMetric(METRIC.drillDurationSeconds, t.name, 'Maximum', day).with({ label: t.name }),
                ),
                leftYAxis: { min: 0 },
                width: 12,
              }),
            ],
          ];
    return new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName,
      defaultInterval: Duration.days(14),
      widgets: [
        // An alarm status widget shows at most 100 alarms.
        chunks(allAlarms, 100).map((alarms) => new cloudwatch.AlarmStatusWidget({ title: 'Backup alarms', alarms, width: 24 })),
        [
          new cloudwatch.GraphWidget({
            title: 'Backup age, % of the allowed age (late above 100%)',
            left: ageShare,
            leftYAxis: { min: 0, label: '%', showUnits: false },
            leftAnnotations: [{ value: 100, label: 'late', color: cloudwatch.Color.RED }],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Runs per day: succeeded (left), failed and retried attempts (right)',
            left: perTarget(METRIC.succeeded, 'Sum', day, (t) => `${t} succeeded`),
            right: [
              ...perTarget(METRIC.failed, 'Sum', day, (t) => `${t} failed`),
              ...perTarget(METRIC.attemptFailed, 'Sum', day, (t) => `${t} attempt failed, retried`),
            ],
            leftYAxis: { min: 0, showUnits: false },
            rightYAxis: { min: 0, showUnits: false },
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Backup duration (seconds, longest per day)',
            left: perTarget(METRIC.durationSeconds, 'Maximum', day),
            leftYAxis: { min: 0 },
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Backup size (bytes stored, largest per day)',
            left: perTarget(METRIC.bytes, 'Maximum', day),
            leftYAxis: { min: 0 },
            width: 12,
          }),
        ],
        ...drillWidgets,
      ],
    });
  }
}

/**
 * What the freshness check does with the runs table, and no more: read the configured targets' runs, and put
 * first-seen items. IAM cannot name a sort key value, so the put is held to the first-seen item's attributes
 * (`target`, `runId`, `firstSeenAt`); the code also puts only when no item exists.
 */
function grantFreshnessCheck(grantee: iam.IGrantable, table: dynamodb.ITable, targets: readonly Target[]): void {
  const configuredTargets = { 'dynamodb:LeadingKeys': runsPartitionsOf(targets) };
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadRunsOfConfiguredTargets',
      actions: ['dynamodb:Query', 'dynamodb:GetItem'],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringEquals': configuredTargets },
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'RecordFirstSeenOnly',
      actions: ['dynamodb:PutItem'],
      resources: [table.tableArn],
      conditions: {
        'ForAllValues:StringEquals': { ...configuredTargets, 'dynamodb:Attributes': ['target', 'runId', 'firstSeenAt'] },
      },
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'RecordLateSinceOnly',
      actions: ['dynamodb:UpdateItem'],
      resources: [table.tableArn],
      conditions: {
        'ForAllValues:StringEquals': {
          ...configuredTargets,
          'dynamodb:Attributes': ['target', 'runId', 'lateSince', 'firstSeenAt'],
        },
      },
    }),
  );
  // A table encrypted with a customer-managed key needs that key for reads and the put.
  table.encryptionKey?.grant(grantee, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
}

function formatHours(seconds: number): string {
  const hours = Math.round((seconds / 3_600) * 10) / 10;
  return `${hours} ${hours === 1 ? 'hour' : 'hours'}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));
}
