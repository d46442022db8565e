/**
 * The restore drills' alarms: what Monitoring synthesizes for a target with `drill:` (a "drill failed" and a
 * "no drill passed within the allowed age" alarm on the target's topic, both on the dashboard), and a contract
 * test: the freshness handler, run from source against a moto runs table, and the drill recorder publish
 * metrics that drive each synthesized alarm to the state it should reach, evaluated as CloudWatch would.
 */
import { resolve } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import { WORKER_CONTAINER } from '#functions/contracts/deployment.ts';
import { METRIC, TARGET_DIMENSION } from '#functions/contracts/metrics.ts';
import { logger, powertoolsTelemetry } from '#functions/platform/powertools.ts';
import { recordDrillEnd } from '#functions/runs/drill-recorder.ts';
import { ecsTaskStopped } from '#functions/runs/run-end-events.ts';
import { Monitoring } from '#infra/constructs/monitoring.ts';
import { captureMetrics, evaluateAlarm, findAlarm, type MetricDatapoint } from '#test/support/alarms.ts';
import { CDK_CONTEXT, testDeployment } from '#test/support/cdk.ts';
import { deploymentEnvironment, deploymentOf } from '#test/support/deployment.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';

const moto = await peer('moto');
const REGION = 'us-east-1';
const HOUR = 3_600;
const DAY = 86_400;

const CONFIG = {
  defaults: { schedule: { expression: 'rate(1 day)' }, alerts: { emails: ['ops@example.com'] } },
  targets: [
    {
      name: 'passing',
      kind: 'rds-instance',
      source: { instanceId: 'passing' },
      drill: { schedule: { expression: 'rate(1 day)' } },
    },
    {
      name: 'stale-drill',
      kind: 'rds-instance',
      source: { instanceId: 'stale' },
      drill: { schedule: { expression: 'rate(1 day)' } },
    },
    {
      name: 'never-drilled',
      kind: 'ebs-volume',
      source: { volumeId: 'vol-0abc1234' },
      alerts: { emails: ['dba@example.com'] },
      drill: { schedule: { expression: 'cron(0 4 ? * SUN *)' }, maxAgeHours: 48 },
    },
    { name: 'no-drill', kind: 'rds-instance', source: { instanceId: 'nodrill' } },
  ],
};
/** Two drill intervals, or maxAgeHours. */
const ALLOWED = { passing: 2 * DAY, 'stale-drill': 2 * DAY, 'never-drilled': 48 * HOUR };

function build() {
  const app = new App({ context: CDK_CONTEXT });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: REGION } });
  const config = parseConfig(CONFIG, 'the drill monitoring test config');
  const dataKey = new kms.Key(stack, 'DataKey', { enableKeyRotation: true });
  const runsTable = new dynamodb.TableV2(stack, 'Runs', {
    partitionKey: { name: 'target', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'runId', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryptionV2.customerManagedKey(dataKey),
  });
  const logKey = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
  const deployment = testDeployment(stack, config, { runsTable: runsTable.tableName });
  const monitoring = new Monitoring(stack, 'Monitoring', { deployment, runsTable, logKey });
  return { stack, config, monitoring, template: Template.fromStack(stack) };
}

describe('Monitoring of restore drills, as synthesized', () => {
  const { stack, monitoring, template } = build();
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);

  it('gives each drilling target a drill-failed alarm (DrillFailed Sum >= 1 over 5 minutes, missing data not breaching)', () => {
    for (const target of Object.keys(ALLOWED)) {
      expect(findAlarm(template, METRIC.drillFailed, { [TARGET_DIMENSION]: target })).toMatchObject({
        AlarmName: `Test-${target}-drill-failed`,
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalId(monitoring.topicFor(target)) }],
      });
    }
    expect(() => findAlarm(template, METRIC.drillFailed, { [TARGET_DIMENSION]: 'no-drill' })).toThrow(/found 0/);
  });

  it('gives each a no-good-drill alarm: Maximum SecondsSinceLastGoodDrill > the allowed age, missing data breaching', () => {
    for (const [target, allowed] of Object.entries(ALLOWED)) {
      const alarm = findAlarm(template, METRIC.secondsSinceLastGoodDrill, { [TARGET_DIMENSION]: target });
      expect(alarm).toMatchObject({
        AlarmName: `Test-${target}-drill-late`,
        Statistic: 'Maximum',
        Period: 900,
        Threshold: allowed,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
      });
      expect(alarm.OKActions).toEqual(alarm.AlarmActions);
    }
    expect(monitoring.drillFreshnessAlarm('passing')).toBeDefined();
    expect(() => monitoring.drillFailureAlarm('no-drill')).toThrow(/has no drill/);
  });

  it('shows both on the dashboard: drill age against its allowed age, drills passed and failed, and the alarm states', () => {
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody);
    for (const [index, allowed] of Object.values(ALLOWED).entries()) {
      expect(body).toContain(`100 * drillage${index} / ${allowed}`);
    }
    for (const metric of [METRIC.drillSucceeded, METRIC.drillFailed, METRIC.secondsSinceLastGoodDrill])
      expect(body).toContain(metric);
    for (const target of Object.keys(ALLOWED)) {
      expect(body).toContain(logicalId(monitoring.drillFailureAlarm(target) as never));
      expect(body).toContain(logicalId(monitoring.drillFreshnessAlarm(target) as never));
    }
  });
});

describe.skipIf(!moto)('the drill alarms, driven by the freshness handler and the drill recorder (moto runs table)', () => {
  const motoPeer = moto as NonNullable<typeof moto>;
  const { config, monitoring, template } = build();
  const saved = { ...process.env };

  beforeAll(() => {
    process.env.AWS_ENDPOINT_URL = motoPeer.endpoint;
    process.env.AWS_REGION = REGION;
    process.env.POWERTOOLS_TRACE_ENABLED = 'false';
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    logger.setLogLevel('ERROR');
  });
  afterAll(() => {
    process.env = saved;
  });

  async function invokeFreshness(tableName: string) {
    Object.assign(process.env, deploymentEnvironment(deploymentOf(config, { bucket: 'unused', runsTable: tableName })));
    const { handler } = (await import(resolve(monitoring.freshnessFunction.entry))) as {
      handler: (event: unknown, context: unknown) => Promise<{ drillsLate: string[] }>;
    };
    const scheduledEvent = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), detail: {} };
    const context = { functionName: 'freshness', awsRequestId: 'test', getRemainingTimeInMillis: () => 60_000 };
    return captureMetrics(() => handler(scheduledEvent, context));
  }
  const drillAge = (datapoints: readonly MetricDatapoint[], target: string) =>
    datapoints.find((d) => d.name === METRIC.secondsSinceLastGoodDrill && d.dimensions[TARGET_DIMENSION] === target);
  const lateAlarm = (target: string) => findAlarm(template, METRIC.secondsSinceLastGoodDrill, { [TARGET_DIMENSION]: target });

  it('OK for a drill that passed an hour ago; ALARM for one older than allowed and for drills that never ran', async () => {
    const { tableName, store } = await motoRunsTable(motoPeer.endpoint, REGION);
    const now = Date.now();
    const iso = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();
    const drill = (target: string, drillId: string, status: 'succeeded' | 'failed', finishedSecondsAgo: number) => ({
      target,
      drillId,
      kind: 'snapshot' as const,
      trigger: 'schedule' as const,
      status,
      startedAt: iso(finishedSecondsAgo + 600),
      finishedAt: iso(finishedSecondsAgo),
    });
    await store.putDrill(drill('passing', '20261121T040000Z-aaaaaa', 'succeeded', HOUR));
    await store.putDrill(drill('stale-drill', '20261118T040000Z-bbbbbb', 'succeeded', 3 * DAY));
    // A failed drill since does not make it fresh, and a good backup is no drill.
    await store.putDrill(drill('stale-drill', '20261121T040000Z-cccccc', 'failed', 2 * HOUR));
    await store.put({
      target: 'stale-drill',
      runId: '20261121T030000Z-dddddd',
      kind: 'snapshot',
      trigger: 'schedule',
      status: 'succeeded',
      startedAt: iso(HOUR),
      finishedAt: iso(HOUR),
    });
    await store.drillsFirstSeen('never-drilled', new Date(now - 10 * DAY * 1000));

    const { result, datapoints } = await invokeFreshness(tableName);

    const expected = { passing: HOUR, 'stale-drill': 3 * DAY, 'never-drilled': 10 * DAY };
    for (const [target, age] of Object.entries(expected)) {
      const datapoint = drillAge(datapoints, target);
      expect(datapoint, `drill age of ${target}`).toMatchObject({ namespace: 'Safekeep', unit: 'Seconds' });
      expect(Math.abs((datapoint?.value ?? 0) - age)).toBeLessThan(60);
    }
    expect(drillAge(datapoints, 'no-drill')).toBeUndefined();
    expect(result.drillsLate.sort()).toEqual(['never-drilled', 'stale-drill']);
    const at = new Date(Math.max(...datapoints.map((d) => d.timestamp.getTime())) + 60_000);
    expect(evaluateAlarm(lateAlarm('passing'), datapoints, at)).toBe('OK');
    expect(evaluateAlarm(lateAlarm('stale-drill'), datapoints, at)).toBe('ALARM');
    expect(evaluateAlarm(lateAlarm('never-drilled'), datapoints, at)).toBe('ALARM');
    // A check that stops publishing turns it on too (missing = breaching).
    expect(evaluateAlarm(lateAlarm('passing'), datapoints, new Date(at.getTime() + HOUR * 1000))).toBe('ALARM');
  });

  it('raises the drill-failed alarm from the DrillFailed the recorder publishes for a failed drill task, for that target only', async () => {
    const { store } = await motoRunsTable(motoPeer.endpoint, REGION);
    const drillId = '20261201T050000Z-f00001';
    const event = ecsTaskStopped.parse({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      detail: {
        taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/c/1',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/Test-passing_drill:1',
        lastStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        startedAt: new Date(Date.now() - 60_000).toISOString(),
        stoppedAt: new Date().toISOString(),
        containers: [{ name: WORKER_CONTAINER, exitCode: 1 }],
        overrides: {
          containerOverrides: [
            {
              name: WORKER_CONTAINER,
              environment: [
                { name: 'SAFEKEEP_TARGET', value: 'passing' },
                { name: 'SAFEKEEP_RUN_ID', value: drillId },
                { name: 'SAFEKEEP_ACTION', value: 'drill' },
                { name: 'SAFEKEEP_DRILL_FROM', value: 'passing/2026/12/01/20261201T030000Z-aaaaaa/manifest.json' },
              ],
            },
          ],
        },
      },
    });
    const { datapoints } = await captureMetrics(() =>
      recordDrillEnd(event, {
        ports: { runs: store, readDrillResult: async () => undefined },
        now: () => new Date(),
        telemetry: powertoolsTelemetry(),
      }),
    );
    expect(datapoints.map((d) => [d.name, d.value, d.dimensions[TARGET_DIMENSION]])).toEqual([
      [METRIC.drillFailed, 1, 'passing'],
    ]);
    const failed = (target: string) => findAlarm(template, METRIC.drillFailed, { [TARGET_DIMENSION]: target });
    const at = new Date((datapoints[0]?.timestamp.getTime() ?? 0) + 60_000);
    expect(evaluateAlarm(failed('passing'), [], at)).toBe('OK');
    expect(evaluateAlarm(failed('passing'), datapoints, at)).toBe('ALARM');
    expect(evaluateAlarm(failed('stale-drill'), datapoints, at)).toBe('OK');
  });
});
