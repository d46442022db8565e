/**
 * The Monitoring construct: what it synthesizes (alarms per target, encrypted topics with subscriptions,
 * the dashboard, the freshness check's grants), and a contract test: the freshness handler, run from source
 * against a moto runs table, publishes metrics that drive each synthesized alarm to the state it should
 * reach, as CloudWatch would evaluate it (moto never evaluates alarms).
 */
import { resolve } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import type { SafekeepConfig } from '#functions/contracts/config/schema.ts';
import { METRIC, TARGET_DIMENSION } from '#functions/contracts/metrics.ts';
import { logger, powertoolsTelemetry } from '#functions/platform/powertools.ts';
import type { RunRecord } from '#functions/runs/run-record.ts';
import { acknowledgeKnownFindings, nagPacks } from '#infra/compliance.ts';
import { Monitoring, targetMetricDimensions } from '#infra/constructs/monitoring.ts';
import { captureMetrics, evaluateAlarm, findAlarm, type MetricDatapoint } from '#test/support/alarms.ts';
import { CDK_CONTEXT, functionDeployment, policyStatements, testDeployment } from '#test/support/cdk.ts';
import { deploymentEnvironment, deploymentOf } from '#test/support/deployment.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';

const moto = await peer('moto');
const REGION = 'us-east-1';
const HOUR = 3_600;
const DAY = 86_400;

const CONFIG = {
  targets: [
    {
      name: 'fresh',
      kind: 'rds-instance',
      source: { instanceId: 'fresh' },
      schedule: { expression: 'cron(0 3 * * ? *)', flexibleWindowMinutes: 15 },
      alerts: { emails: ['ops@example.com'] },
      // Its drill's alarms and dashboard widgets: test/infra/constructs/drill-monitoring.test.ts.
      drill: { schedule: { expression: 'rate(7 days)' } },
    },
    {
      name: 'stale',
      kind: 'rds-instance',
      source: { instanceId: 'stale' },
      schedule: { expression: 'rate(6 hours)' },
      alerts: { emails: ['OPS@example.com'] },
    },
    {
      name: 'never-fired',
      kind: 'ebs-volume',
      source: { volumeId: 'vol-0abc1234' },
      schedule: { expression: 'cron(0 3 ? * SUN *)' },
      alerts: { emails: ['dba@example.com', 'ops@example.com'], maxAgeHours: 8 * 24 },
    },
  ],
};
/** What each target's freshness alarm must allow: 2 x 1 day + 15 min window; 2 x 6 hours; maxAgeHours. */
const ALLOWED = { fresh: 2 * DAY + 900, stale: 12 * HOUR, 'never-fired': 8 * DAY };

function build() {
  const app = new App({ context: CDK_CONTEXT });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: REGION } });
  const config = parseConfig(CONFIG, 'the monitoring test config');
  // Like the stack's: encrypted with a customer-managed key, which the freshness check then needs too.
  const dataKey = new kms.Key(stack, 'DataKey', { enableKeyRotation: true });
  const runsTable = new dynamodb.TableV2(stack, 'Runs', {
    partitionKey: { name: 'target', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'runId', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryptionV2.customerManagedKey(dataKey),
  });
  const logKey = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
  const deployment = testDeployment(stack, config, { runsTable: runsTable.tableName });
  // What the freshness rule and the e-mail subscriptions could not deliver (the stack passes its ledger's queue).
  const undelivered = new sqs.Queue(stack, 'Undelivered', { enforceSSL: true });
  const monitoring = new Monitoring(stack, 'Monitoring', { deployment, runsTable, logKey, deadLetters: undelivered });
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return { app, stack, config, runsTable, dataKey, monitoring, logicalId };
}

describe('Monitoring, as synthesized', () => {
  const { app, stack, monitoring, runsTable, dataKey, logicalId } = build();
  const deadLetters = new sqs.Queue(stack, 'DeadLetters', { enforceSSL: true });
  monitoring.alarmOnQueue(deadLetters, 'Safekeep: a scheduled run could not be delivered; see the dispatcher logs');
  const template = Template.fromStack(stack);

  it('gives every target a failure alarm: BackupFailed Sum >= 1 over 5 minutes, missing data not breaching', () => {
    for (const target of CONFIG.targets) {
      const alarm = findAlarm(template, METRIC.failed, { [TARGET_DIMENSION]: target.name });
      expect(alarm).toMatchObject({
        Namespace: 'Safekeep',
        Dimensions: [{ Name: 'Target', Value: target.name }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it("gives every target a freshness alarm: Maximum age > the target's allowed age over 15 minutes, missing data breaching", () => {
    for (const [target, allowed] of Object.entries(ALLOWED)) {
      expect(findAlarm(template, METRIC.secondsSinceLastGoodBackup, { [TARGET_DIMENSION]: target })).toMatchObject({
        Namespace: 'Safekeep',
        Dimensions: [{ Name: 'Target', Value: target }],
        Statistic: 'Maximum',
        Period: 900,
        EvaluationPeriods: 1,
        Threshold: allowed,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
      });
    }
  });

  it('creates one KMS-encrypted, TLS-only topic per distinct set of e-mails, each address subscribed', () => {
    // {ops} (written twice, once in capitals) and {dba, ops}.
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.allResourcesProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(monitoring.topicKey), 'Arn'] },
    });
    const endpoints = Object.values(template.findResources('AWS::SNS::Subscription')).map(
      (s) => `${s.Properties.Protocol}:${s.Properties.Endpoint}`,
    );
    expect(endpoints.sort()).toEqual(['email:dba@example.com', 'email:ops@example.com', 'email:ops@example.com']);
    template.allResourcesProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('lets CloudWatch alarms of this account, and only those, use the topic key', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': '123456789012' } }),
          }),
        ]),
      },
    });
  });

  it("sends each alarm to its target's topic, and a dead-letter queue's alarm to every topic", () => {
    for (const target of CONFIG.targets) {
      const topic = { Ref: logicalId(monitoring.topicFor(target.name)) };
      for (const name of [METRIC.failed, METRIC.secondsSinceLastGoodBackup]) {
        expect(findAlarm(template, name, { [TARGET_DIMENSION]: target.name }).AlarmActions).toEqual([topic]);
      }
    }
    const queueAlarm = findAlarm(template, 'ApproximateNumberOfMessagesVisible');
    expect(queueAlarm).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(queueAlarm.AlarmActions).toEqual(expect.arrayContaining(monitoring.alarmTopics.map((t) => ({ Ref: logicalId(t) }))));
    expect(queueAlarm.AlarmActions).toHaveLength(2);
  });

  it('draws a dashboard across targets: age against the allowed age, runs, duration, bytes, alarm states', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody);
    for (const metric of Object.values(METRIC)) expect(body).toContain(metric);
    Object.values(ALLOWED).forEach((allowed, index) => {
      expect(body).toContain(`100 * age${index} / ${allowed}`);
    });
    expect(body).toContain('"type\\":\\"alarm\\"');
  });

  it('runs the freshness check every 15 minutes, with the runs table and no write beyond first-seen and late-since items', () => {
    expect(functionDeployment(template, monitoring.freshnessFunction).environment).toContain(logicalId(runsTable));
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(monitoring.freshnessFunction.function), 'Arn'] } })],
    });
    const dynamo = policyStatements(template).filter(({ statement }) => JSON.stringify(statement.Action).includes('dynamodb:'));
    expect(dynamo.flatMap(({ statement }) => statement.Action as string[]).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    const keyUse = policyStatements(template).find(({ statement }) =>
      JSON.stringify(statement.Resource).includes(logicalId(dataKey)),
    );
    expect(keyUse?.statement.Action).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    const put = dynamo.find(({ statement }) => JSON.stringify(statement.Action).includes('PutItem'))?.statement;
    expect(put?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'dynamodb:LeadingKeys': ['fresh', 'fresh#drills', 'stale', 'never-fired'],
        'dynamodb:Attributes': ['target', 'runId', 'firstSeenAt'],
      },
    });
    const update = dynamo.find(({ statement }) => JSON.stringify(statement.Action).includes('UpdateItem'))?.statement;
    expect(update?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'dynamodb:LeadingKeys': ['fresh', 'fresh#drills', 'stale', 'never-fired'],
        'dynamodb:Attributes': ['target', 'runId', 'lateSince', 'firstSeenAt'],
      },
    });
    // Events: PutEvents on the default bus, for Safekeep's source only.
    const putEvents = policyStatements(template).find(({ statement }) =>
      JSON.stringify(statement.Action).includes('events:PutEvents'),
    );
    expect(putEvents?.statement.Condition).toEqual({ StringEquals: { 'events:source': 'safekeep' } });
    expect(JSON.stringify(putEvents?.statement.Resource)).toContain(':event-bus/default');
  });

  it('passes the compliance gate (cdk-nag) with the acknowledgements in infra/compliance.ts', () => {
    const findings = () =>
      nagPacks(app).flatMap((pack) =>
        pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath}`)),
      );
    // Only Monitoring's own resources: the table and queue here stand in for the ones the stack owns.
    const monitoringFindings = () => findings().filter((finding) => finding.includes('/Monitoring/'));
    expect(monitoringFindings().length).toBeGreaterThan(0); // the gate has something to find...
    acknowledgeKnownFindings(app);
    expect(monitoringFindings()).toEqual([]); // ...and every finding is acknowledged.
  });
});

describe.skipIf(!moto)('the freshness alarms, driven by the freshness handler against a moto runs table', () => {
  const motoPeer = moto as NonNullable<typeof moto>;
  const { stack, config, monitoring } = build();
  const template = Template.fromStack(stack);
  const saved = { ...process.env };

  beforeAll(() => {
    process.env.AWS_ENDPOINT_URL = motoPeer.endpoint;
    process.env.AWS_REGION = REGION;
    process.env.POWERTOOLS_TRACE_ENABLED = 'false';
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    // The logger was created on import, before this could set POWERTOOLS_LOG_LEVEL.
    logger.setLogLevel('ERROR');
  });
  afterAll(() => {
    process.env = saved;
  });

  /** Invokes the function's handler module from source, the way Lambda would with the bundled config. */
  async function invokeFreshness(deployed: SafekeepConfig, tableName: string) {
    Object.assign(process.env, deploymentEnvironment(deploymentOf(deployed, { bucket: 'unused', runsTable: tableName })));
    const { handler } = (await import(resolve(monitoring.freshnessFunction.entry))) as {
      handler: (event: unknown, context: unknown) => Promise<{ late: string[] }>;
    };
    const scheduledEvent = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), detail: {} };
    const context = { functionName: 'freshness', awsRequestId: 'test', getRemainingTimeInMillis: () => 60_000 };
    return captureMetrics(() => handler(scheduledEvent, context));
  }

  const ageOf = (datapoints: readonly MetricDatapoint[], target: string) =>
    datapoints.find((d) => d.name === METRIC.secondsSinceLastGoodBackup && d.dimensions[TARGET_DIMENSION] === target);
  const freshnessAlarm = (target: string) =>
    findAlarm(template, METRIC.secondsSinceLastGoodBackup, { [TARGET_DIMENSION]: target });

  it('OK for a recent good backup, ALARM for one older than allowed and for a schedule that never fired', async () => {
    // Prepare: runs as the recorder leaves them; the never-fired target was first seen 10 days ago.
    const { tableName, store } = await motoRunsTable(motoPeer.endpoint, REGION);
    const now = Date.now();
    const iso = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();
    const run = (target: string, runId: string, status: RunRecord['status'], finishedSecondsAgo: number): RunRecord => ({
      target,
      runId,
      kind: 'snapshot',
      trigger: 'schedule',
      status,
      startedAt: iso(finishedSecondsAgo + 600),
      finishedAt: iso(finishedSecondsAgo),
    });
    await store.put(run('fresh', '20261121T030000Z-aaaaaa', 'succeeded', HOUR));
    await store.put(run('stale', '20261118T030000Z-bbbbbb', 'succeeded', 3 * DAY));
    // Failures since do not make a target fresh.
    await store.put(run('stale', '20261121T090000Z-cccccc', 'failed', 2 * HOUR));
    await store.firstSeen('never-fired', new Date(now - 10 * DAY * 1000));

    // Act
    const { result, datapoints } = await invokeFreshness(config, tableName);

    // Assess: the metric values, exactly as CloudWatch would store them.
    const expectedAges = { fresh: HOUR, stale: 3 * DAY, 'never-fired': 10 * DAY };
    for (const [target, age] of Object.entries(expectedAges)) {
      const datapoint = ageOf(datapoints, target);
      expect(datapoint, `metric for ${target}`).toMatchObject({
        namespace: 'Safekeep',
        unit: 'Seconds',
        dimensions: targetMetricDimensions(target),
      });
      expect(Math.abs((datapoint?.value ?? 0) - age)).toBeLessThan(60);
    }
    expect(result.late.sort()).toEqual(['never-fired', 'stale']);

    // ...and each target's alarm from the template, evaluated a minute after the check.
    const at = new Date(Math.max(...datapoints.map((d) => d.timestamp.getTime())) + 60_000);
    expect(evaluateAlarm(freshnessAlarm('fresh'), datapoints, at)).toBe('OK');
    expect(evaluateAlarm(freshnessAlarm('stale'), datapoints, at)).toBe('ALARM');
    expect(evaluateAlarm(freshnessAlarm('never-fired'), datapoints, at)).toBe('ALARM');

    // A freshness check that stops publishing turns even the fresh target's alarm on (missing = breaching).
    const anHourLater = new Date(at.getTime() + HOUR * 1000);
    expect(evaluateAlarm(freshnessAlarm('fresh'), datapoints, anHourLater)).toBe('ALARM');
  });

  it('records when it first saw a target with no runs, and ages it from then on', async () => {
    const { tableName, store } = await motoRunsTable(motoPeer.endpoint, REGION);
    const { datapoints } = await invokeFreshness(config, tableName);
    expect(ageOf(datapoints, 'fresh')?.value).toBeLessThan(5);
    // Asked again with another date, the table answers with the one the check recorded.
    const firstSeen = await store.firstSeen('fresh', new Date('2000-01-01T00:00:00Z'));
    expect(Date.now() - firstSeen.getTime()).toBeLessThan(60_000);
  });

  it('raises the failure alarm from one BackupFailed datapoint, for that target only', async () => {
    const failed = (target: string) => findAlarm(template, METRIC.failed, { [TARGET_DIMENSION]: target });
    const { datapoints } = await captureMetrics(() =>
      powertoolsTelemetry().metric(METRIC.failed, 1, 'Count', { [TARGET_DIMENSION]: 'stale' }),
    );
    expect(datapoints).toEqual([
      expect.objectContaining({ name: METRIC.failed, value: 1, dimensions: targetMetricDimensions('stale') }),
    ]);
    const at = new Date((datapoints[0]?.timestamp.getTime() ?? 0) + 60_000);
    expect(evaluateAlarm(failed('stale'), [], at)).toBe('OK');
    expect(evaluateAlarm(failed('stale'), datapoints, at)).toBe('ALARM');
    expect(evaluateAlarm(failed('fresh'), datapoints, at)).toBe('OK');
  });
});
