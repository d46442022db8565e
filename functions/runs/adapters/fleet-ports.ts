/**
 * The fleet pacing's ports over AWS: the Fargate vCPU quota (Service Quotas), the cluster's tasks (ECS), the
 * launch ledger (one item of the runs table), and deferred starts (one-time EventBridge Scheduler schedules
 * that put "Backup Retry Due" on the default bus, as retries do).
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, type ECSClient, paginateListTasks } from '@aws-sdk/client-ecs';
import { ConflictException, CreateScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { WORKER_CONTAINER } from '../../contracts/deployment.ts';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../contracts/events.ts';
import { taskRunOf } from '../../contracts/run-payloads.ts';
import {
  FARGATE_ON_DEMAND_VCPU_QUOTA,
  type FleetPorts,
  type LaunchLedger,
  type Lease,
  type TaskInFlight,
  type TaskListing,
} from '../fleet-pacing.ts';

/** The launch ledger's key in the runs table: a partition no target can have (names cannot start with "#"). */
export const LAUNCH_LEDGER_KEY = { target: '#fleet', runId: '#launches' } as const;

export interface FleetPortsOptions {
  readonly cluster: string;
  readonly runsTable: string;
  readonly ecs: ECSClient;
  readonly dynamodb: DynamoDBClient;
  readonly scheduler: SchedulerClient;
  /** Reads the account's Fargate On-Demand vCPU quota (see serviceQuotaReader). */
  readonly readQuota: () => Promise<number | undefined>;
  /** vCPUs of a task whose size ECS does not say. */
  readonly taskVcpus: number;
  readonly deferrals: { readonly eventBusArn: string; readonly roleArn: string; readonly namePrefix: string };
  /** The dispatcher's clock (ms since the epoch), which dates the listings. @default Date.now */
  readonly now?: () => number;
}

/**
 * How long one listing of the cluster's tasks serves the starts that ask at the same time. Short: the
 * listing keeps the time it was asked for, and fleet-pacing.ts refuses one that has grown old.
 */
const LISTING_REUSE_MS = 2_000;

export function awsFleetPorts(options: FleetPortsOptions): FleetPorts {
  const now = options.now ?? Date.now;
  const listings = new Map<string, { at: number; listing: Promise<TaskListing> }>();
  return {
    fargateVcpuQuota: options.readQuota,
    tasksInFlight(cluster) {
      const held = listings.get(cluster);
      if (held && now() - held.at < LISTING_REUSE_MS) return held.listing;
      const at = now();
      const listing = tasksInFlight(options.ecs, cluster, options.taskVcpus).then((tasks) => ({ at, tasks }));
      listings.set(cluster, { at, listing });
      listing.catch(() => listings.delete(cluster));
      return listing;
    },
    ledger: dynamoLaunchLedger(options.runsTable, options.dynamodb),
    async deferStart(start, at) {
      // One name per deferral of one run: a repeated request conflicts instead of starting twice.
      const targetHash = createHash('sha256').update(start.target).digest('hex').slice(0, 8);
      const name = `${options.deferrals.namePrefix}-${targetHash}-${start.runId}-${start.deferral}`;
      try {
        await options.scheduler.send(
          new CreateScheduleCommand({
            Name: name,
            // Scheduler's at() has no time zone and no fractions of a second.
            ScheduleExpression: `at(${at.toISOString().slice(0, 19)})`,
            ScheduleExpressionTimezone: 'UTC',
            FlexibleTimeWindow: { Mode: 'OFF' },
            ActionAfterCompletion: 'DELETE',
            Description: `Safekeep: start ${start.target} run ${start.runId} (deferred ${start.deferral} times)`,
            Target: {
              Arn: options.deferrals.eventBusArn,
              RoleArn: options.deferrals.roleArn,
              Input: JSON.stringify(start),
              EventBridgeParameters: { DetailType: DETAIL_TYPE.retryDue, Source: EVENT_SOURCE },
              RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
            },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConflictException)) throw error;
      }
    },
  };
}

/** The cluster's tasks that hold vCPUs: desired status RUNNING (provisioning, pending, running). */
async function tasksInFlight(ecs: ECSClient, cluster: string, taskVcpus: number): Promise<TaskInFlight[]> {
  const arns: string[] = [];
  for await (const page of paginateListTasks({ client: ecs }, { cluster, desiredStatus: 'RUNNING' })) {
    arns.push(...(page.taskArns ?? []));
  }
  const tasks: TaskInFlight[] = [];
  // DescribeTasks takes at most 100 tasks a call.
  for (let i = 0; i < arns.length; i += 100) {
    const { tasks: described = [] } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
    for (const task of described) {
      const worker = task.overrides?.containerOverrides?.find((c) => c.name === WORKER_CONTAINER);
      const run = taskRunOf(Object.fromEntries((worker?.environment ?? []).map((e) => [e.name ?? '', e.value])));
      // Task-level cpu is in CPU units (1024 a vCPU).
      const vcpus = task.cpu ? Number(task.cpu) / 1024 : taskVcpus;
      tasks.push({ run: run ? `${run.target}/${run.runId}` : undefined, vcpus });
    }
  }
  return tasks;
}

/** The ledger as one item: its leases (JSON) and a version every write checks and bumps. */
export function dynamoLaunchLedger(tableName: string, client: DynamoDBClient): LaunchLedger {
  const documents = DynamoDBDocumentClient.from(client);
  return {
    async read() {
      const { Item } = await documents.send(
        new GetCommand({ TableName: tableName, Key: LAUNCH_LEDGER_KEY, ConsistentRead: true }),
      );
      if (!Item) return { version: 0, leases: [] };
      return { version: Number(Item.version), leases: JSON.parse(String(Item.leases)) as Lease[] };
    },
    async write(leases, version) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...LAUNCH_LEDGER_KEY, version: version + 1, leases: JSON.stringify(leases) },
            ConditionExpression: 'attribute_not_exists(runId) OR version = :version',
            ExpressionAttributeValues: { ':version': version },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
  };
}

export interface QuotaReaderOptions {
  /** Reads one quota's value (Service Quotas GetServiceQuota); undefined when the account has none set. */
  readonly getServiceQuota: (serviceCode: string, quotaCode: string) => Promise<number | undefined>;
  readonly now: () => number;
  /** @default 300_000: quotas change by request, rarely; a warm dispatcher asks again after five minutes */
  readonly cacheMs?: number;
  /** Told when the quota cannot be read (then the fallback is used). */
  readonly onError?: (error: unknown) => void;
}

/** The Fargate On-Demand vCPU quota, read at run time and kept for a while. */
export function serviceQuotaReader(options: QuotaReaderOptions): () => Promise<number | undefined> {
  // The read itself is kept, so a burst of starts in a cold dispatcher asks once, not once each.
  let cached: { value: Promise<number | undefined>; at: number } | undefined;
  return () => {
    const now = options.now();
    if (cached && now - cached.at < (options.cacheMs ?? 300_000)) return cached.value;
    const { serviceCode, quotaCode } = FARGATE_ON_DEMAND_VCPU_QUOTA;
    const read = options.getServiceQuota(serviceCode, quotaCode).catch((error: unknown) => {
      options.onError?.(error);
      // Not kept: the next start asks again.
      cached = undefined;
      return undefined;
    });
    cached = { value: read, at: now };
    return read;
  };
}
