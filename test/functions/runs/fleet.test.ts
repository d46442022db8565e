/**
 * 500 Fargate dump targets on one cron: 500 schedules fire at once, each invoking the dispatcher. Against a
 * private moto behind a proxy that plays ECS's part moto lacks: RunTask limited to 20 calls a second (a token
 * bucket; over it, ThrottlingException), a share of RunTask calls refused for capacity, 5% of every other ECS
 * and DynamoDB call throttled at random, and the account's Fargate vCPU quota answered by Service Quotas.
 * Every run must start exactly once, none be lost, the launch rate and the quota must hold, and the starts
 * that had no room must have been deferred (one-time schedules, read back from moto) and retried.
 * The fleet's clock is real time plus an offset the test moves forward to the deferred starts' due time.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { DeleteScheduleCommand, GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import type { Target } from '#functions/contracts/config/schema.ts';
import { taskFamilyOf, WORKER_CONTAINER } from '#functions/contracts/deployment.ts';
import { type DispatchEvent, taskRunOf } from '#functions/contracts/run-payloads.ts';
import { throttleTolerantRetryStrategy } from '#functions/platform/aws-retry.ts';
import { mapWithConcurrency } from '#functions/platform/concurrency.ts';
import { serviceQuotaClient } from '#functions/platform/service-quotas.ts';
import { awsDispatchPorts } from '#functions/runs/adapters/dispatch-ports.ts';
import { awsFleetPorts, serviceQuotaReader } from '#functions/runs/adapters/fleet-ports.ts';
import { type DispatchContext, type DispatchResult, dispatch } from '#functions/runs/dispatch.ts';
import { FARGATE_RUN_TASK_PER_SECOND, type FleetContext } from '#functions/runs/fleet-pacing.ts';
import { MOTO_CREDENTIALS } from '#test/support/aws.ts';
import { startAwsProxy } from '#test/support/aws-proxy.ts';
import { deploymentOf } from '#test/support/deployment.ts';
import { peer } from '#test/support/peers.ts';
import { motoRunsTable } from '#test/support/runs.ts';
import { privateMoto, recordingTelemetry } from '#test/support/snapshots.ts';

const moto = await peer('moto');
const REGION = 'us-east-1';
const TARGETS = Number(process.env.FLEET_TARGETS ?? 500);
const VCPU_QUOTA = Math.round(TARGETS * 0.24);
const TASK_VCPUS = 1;
const CAPACITY_FAILURE_RATE = 0.15;
const THROTTLE_RATE = 0.05;
const PREFIX = 'fleet-test';
const fleetMoto = privateMoto(61097, 'dispatch-fleet');

/** ECS's RunTask bucket on Fargate: 20 calls, refilled at 20 a second (real time: the proxy's clock). */
function runTaskBucket(perSecond: number) {
  let tokens = perSecond;
  let at = Date.now();
  return () => {
    const now = Date.now();
    tokens = Math.min(perSecond, tokens + ((now - at) / 1000) * perSecond);
    at = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/** A deterministic pseudo-random sequence (mulberry32), so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(!moto)('a fleet of 500 Fargate targets on one cron', () => {
  beforeAll(() => fleetMoto.start(), 120_000);
  afterAll(() => fleetMoto.stop());

  it('starts every run exactly once, within the RunTask rate and the vCPU quota, deferring and retrying the rest', {
    timeout: 600_000,
  }, async () => {
    // Prepare: the network, the cluster, a task definition per target, the runs table.
    const direct = { endpoint: fleetMoto.endpoint, region: REGION, credentials: MOTO_CREDENTIALS };
    const ec2 = new EC2Client(direct);
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }));
    // moto names a task's network interface only in a VPC with DNS hostnames.
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: Vpc?.VpcId, EnableDnsHostnames: { Value: true } }));
    const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: Vpc?.VpcId, CidrBlock: '10.40.0.0/20' }));
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({ VpcId: Vpc?.VpcId, GroupName: 'fleet', Description: 'fleet' }),
    );
    const ecsDirect = new ECSClient(direct);
    const { cluster } = await ecsDirect.send(new CreateClusterCommand({ clusterName: 'safekeep-fleet' }));
    const clusterArn = cluster?.clusterArn ?? '';
    const config = parseConfig(
      {
        defaults: { schedule: { expression: 'cron(0 3 * * ? *)' } },
        targets: Array.from({ length: TARGETS }, (_, i) => ({
          name: `fleet-${String(i).padStart(3, '0')}`,
          kind: 'postgres',
          source: { host: `db-${i}.internal`, databases: ['app'], secret: `db-${i}` },
          network: { vpcId: Vpc?.VpcId, subnetIds: [Subnet?.SubnetId], securityGroupIds: [GroupId] },
        })),
      },
      'fleet config',
    );
    const { tableName } = await motoRunsTable(fleetMoto.endpoint, REGION);
    const deployment = deploymentOf(
      config,
      { bucket: 'fleet-bucket', runsTable: tableName, cluster: clusterArn, region: REGION },
      PREFIX,
    );
    await mapWithConcurrency(config.targets, 16, (target) =>
      ecsDirect.send(
        new RegisterTaskDefinitionCommand({
          family: taskFamilyOf(deployment, target.name),
          networkMode: 'awsvpc',
          requiresCompatibilities: ['FARGATE'],
          cpu: String(TASK_VCPUS * 1024),
          memory: '2048',
          // moto sums the containers' memory to place a task: each names its own.
          containerDefinitions: [{ name: WORKER_CONTAINER, image: 'safekeep-worker', essential: true, memory: 2048 }],
        }),
      ),
    );

    // The proxy: ECS's RunTask bucket, capacity refusals, random throttles, the quota.
    const bucket = runTaskBucket(FARGATE_RUN_TASK_PER_SECOND);
    const chance = seeded(11);
    const runTaskCalls: number[] = [];
    const injected = { bucketThrottles: 0, capacityFailures: 0, quotaReads: 0 };
    const proxy = await startAwsProxy(fleetMoto.endpoint, {
      throttleRate: THROTTLE_RATE,
      seed: 5,
      intercept: ({ service, operation }) => {
        if (service === 'servicequotas' && operation === 'GetServiceQuota') {
          injected.quotaReads++;
          return { status: 200, body: { Quota: { ServiceCode: 'fargate', QuotaCode: 'L-3032A538', Value: VCPU_QUOTA } } };
        }
        if (service !== 'ecs' || operation !== 'RunTask') return undefined;
        runTaskCalls.push(Date.now());
        if (!bucket()) {
          injected.bucketThrottles++;
          return { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' }, throttled: true };
        }
        if (chance() < CAPACITY_FAILURE_RATE) {
          injected.capacityFailures++;
          const reason = 'Capacity is unavailable at this time. Please try again later or in a different availability zone';
          return { status: 200, body: { tasks: [], failures: [{ arn: clusterArn, reason }] } };
        }
        return undefined;
      },
    });

    // The dispatcher's ports, all through the proxy; the fleet's clock is real time plus `offset`.
    let offset = 0;
    const now = () => new Date(Date.now() + offset);
    let throttleRetries = 0;
    const retrying = () => ({
      ...direct,
      endpoint: proxy.endpoint,
      retryStrategy: throttleTolerantRetryStrategy({ onThrottleRetry: () => throttleRetries++ }),
    });
    const ports = awsDispatchPorts({ runsTable: tableName, bucket: 'fleet-bucket', endpointUrl: proxy.endpoint, region: REGION });
    const started: { run: string; taskArn: string }[] = [];
    const stopped = new Set<string>();
    let maxVcpusInFlight = 0;
    /** When each admitted start called RunTask (its first attempt; the SDK's retries of it are not starts). */
    const startsAsked: number[] = [];
    const countingPorts = {
      ...ports,
      async runTask(request: Parameters<typeof ports.runTask>[0]) {
        startsAsked.push(Date.now());
        const result = await ports.runTask(request);
        if ('taskArn' in result) {
          started.push({
            run: `${request.environment.SAFEKEEP_TARGET}/${request.environment.SAFEKEEP_RUN_ID}`,
            taskArn: result.taskArn,
          });
          maxVcpusInFlight = Math.max(maxVcpusInFlight, (started.length - stopped.size) * TASK_VCPUS);
        }
        return result;
      },
    };
    const scheduler = new SchedulerClient(retrying());
    const roleArn = 'arn:aws:iam::123456789012:role/retry-schedules';
    const fleet: FleetContext = {
      ports: awsFleetPorts({
        cluster: clusterArn,
        runsTable: tableName,
        ecs: new ECSClient(retrying()),
        dynamodb: new DynamoDBClient(retrying()),
        scheduler,
        readQuota: serviceQuotaReader({
          getServiceQuota: serviceQuotaClient({
            region: REGION,
            endpointUrl: proxy.endpoint,
            credentials: async () => MOTO_CREDENTIALS,
          }),
          now: () => now().getTime(),
        }),
        taskVcpus: TASK_VCPUS,
        now: () => now().getTime(),
        deferrals: {
          eventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/default',
          roleArn,
          namePrefix: 'safekeep-defer',
        },
      }),
      limits: { taskVcpus: TASK_VCPUS, fargateTargets: TARGETS },
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: seeded(3),
    };
    const recorded = recordingTelemetry();
    let suffix = 0;
    const context: DispatchContext = {
      deployment,
      ports: countingPorts,
      now,
      randomSuffix: () => (suffix++).toString(36).padStart(6, '0'),
      telemetry: recorded.telemetry,
      fleet,
    };
    const byName = new Map<string, Target>(config.targets.map((target) => [target.name, target]));
    const results: DispatchResult[] = [];
    /** Deferred starts arrive as Scheduler delivers them, spread over their jitter: here, 20 at a time in due order. */
    const deliver = async (events: DispatchEvent[], concurrency = events.length) => {
      const round = await mapWithConcurrency(events, Math.max(1, concurrency), (event) =>
        dispatch(
          byName.get(event.target) as Target,
          event.trigger ?? 'schedule',
          context,
          undefined,
          event.runId && event.deferral ? { runId: event.runId, deferral: event.deferral } : undefined,
        ),
      );
      results.push(...round);
      return round;
    };
    /** The deferred starts moto holds, read back as Scheduler would deliver them, then deleted (as it would). */
    const dueDeferrals = async () => {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await scheduler.send(new ListSchedulesCommand({ NamePrefix: 'safekeep-defer', NextToken: token }));
        names.push(...(page.Schedules ?? []).map((s) => s.Name ?? ''));
        token = page.NextToken;
      } while (token);
      const due = await mapWithConcurrency(names, 8, async (name) => {
        const schedule = await scheduler.send(new GetScheduleCommand({ Name: name }));
        await scheduler.send(new DeleteScheduleCommand({ Name: name }));
        const at = new Date(`${/^at\((.*)\)$/.exec(schedule.ScheduleExpression ?? '')?.[1]}Z`);
        return { at, event: JSON.parse(schedule.Target?.Input ?? '{}') as DispatchEvent };
      });
      return due;
    };
    /** The dumps of every task started so far end (the recorder would settle them; here they only stop). */
    const finishRunningTasks = async () => {
      const running = started.filter((s) => !stopped.has(s.taskArn));
      await mapWithConcurrency(running, 16, async ({ taskArn }) => {
        await ecsDirect.send(new StopTaskCommand({ cluster: clusterArn, task: taskArn, reason: 'dump done' }));
        stopped.add(taskArn);
      });
    };

    // Act: the cron fires every schedule at once; then, round by round, the dumps end and deferred starts come due.
    const began = Date.now();
    let rounds = 0;
    let deferred = (await deliver(config.targets.map((t) => ({ target: t.name, trigger: 'schedule' })))).filter(
      (r) => r.status === 'deferred',
    ).length;
    let deferrals = deferred;
    console.log(
      `round 0: ${deferred} deferred, ${started.length} started, ${((Date.now() - began) / 1000).toFixed(1)} s, ${proxy.stats.requests} calls ${JSON.stringify(proxy.stats.byService)}`,
    );
    while (deferred > 0 && rounds < 40) {
      rounds++;
      await finishRunningTasks();
      const due = await dueDeferrals();
      offset += Math.max(0, Math.max(...due.map((d) => d.at.getTime())) - now().getTime());
      due.sort((a, b) => a.at.getTime() - b.at.getTime());
      deferred = (
        await deliver(
          due.map((d) => d.event),
          FARGATE_RUN_TASK_PER_SECOND,
        )
      ).filter((r) => r.status === 'deferred').length;
      console.log(
        `round ${rounds}: ${due.length} due, ${deferred} deferred again, ${started.length} started, ${((Date.now() - began) / 1000).toFixed(1)} s, ${proxy.stats.requests} calls ${JSON.stringify(proxy.stats.byService)}`,
      );
      deferrals += deferred;
    }
    const seconds = (Date.now() - began) / 1000;
    await proxy.close();

    // Assess: every target started exactly once, as its one run, and none failed or was left waiting.
    const tasks: { run?: string }[] = [];
    for (const status of ['RUNNING', 'STOPPED'] as const) {
      let token: string | undefined;
      do {
        const page = await ecsDirect.send(new ListTasksCommand({ cluster: clusterArn, desiredStatus: status, nextToken: token }));
        for (let i = 0; i < (page.taskArns ?? []).length; i += 100) {
          const { tasks: described = [] } = await ecsDirect.send(
            new DescribeTasksCommand({ cluster: clusterArn, tasks: (page.taskArns ?? []).slice(i, i + 100) }),
          );
          for (const task of described) {
            const env = task.overrides?.containerOverrides?.[0]?.environment ?? [];
            const run = taskRunOf(Object.fromEntries(env.map((e) => [e.name ?? '', e.value])));
            tasks.push({ run: run ? `${run.target}/${run.runId}` : undefined });
          }
        }
        token = page.nextToken;
      } while (token);
    }
    const startsPerTarget = new Map<string, number>();
    for (const { run } of tasks) {
      const target = run?.split('/')[0] ?? 'none';
      startsPerTarget.set(target, (startsPerTarget.get(target) ?? 0) + 1);
    }
    expect(tasks).toHaveLength(TARGETS);
    expect([...startsPerTarget.values()].every((n) => n === 1)).toBe(true);
    expect(startsPerTarget.size).toBe(TARGETS);
    expect(results.filter((r) => r.status === 'failed')).toEqual([]);
    expect(recorded.metrics.filter((m) => m.name === 'BackupFailed')).toEqual([]);
    const runsOfTargets = new Set(results.map((r) => `${r.target}/${r.runId}`));
    expect(runsOfTargets.size).toBe(TARGETS); // one run per target: deferred starts kept their run
    // The limits held: never more than the quota in flight, never more RunTask calls in a second than ECS takes.
    expect(maxVcpusInFlight).toBeLessThanOrEqual(VCPU_QUOTA);
    const busiest = (times: number[]) => Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    const busiestSecond = busiest(runTaskCalls);
    const busiestStarts = busiest(startsAsked);
    // And it was not easy: capacity refusals and throttles were injected, and starts were deferred and retried.
    expect(injected.capacityFailures).toBeGreaterThan(0);
    expect(proxy.stats.throttled).toBeGreaterThan(0);
    expect(deferrals).toBeGreaterThan(TARGETS - VCPU_QUOTA);
    expect(throttleRetries).toBeGreaterThan(0);
    console.log(
      `fleet: ${TARGETS} targets, ${started.length} tasks started in ${rounds} rounds and ${seconds.toFixed(1)} s; ` +
        `${proxy.stats.requests} AWS calls (${JSON.stringify(proxy.stats.byService)}), ${runTaskCalls.length} RunTask calls (${startsAsked.length} starts), busiest second ${busiestStarts} starts and ${busiestSecond} calls; ` +
        `injected: ${proxy.stats.throttled} throttles (${injected.bucketThrottles} by the RunTask bucket), ${injected.capacityFailures} capacity refusals; ` +
        `${throttleRetries} SDK throttle retries, ${deferrals} deferred starts; max ${maxVcpusInFlight} of ${VCPU_QUOTA} vCPUs in flight; quota read ${injected.quotaReads} times`,
    );
    // ECS's limit is its bucket, which (almost) never had to refuse a call. A calendar second may see up to
    // twice the rate without breaking it (a full bucket spent, then a second's refill), and a loaded machine
    // bunches starts admitted a second apart into one: so the second is bounded by what the bucket allows.
    expect(busiestStarts).toBeLessThanOrEqual(2 * FARGATE_RUN_TASK_PER_SECOND);
    expect(injected.bucketThrottles).toBeLessThanOrEqual(Math.ceil(runTaskCalls.length * 0.02));
  });
});
