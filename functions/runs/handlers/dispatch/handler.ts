/**
 * Start a run of one target.
 * Trigger: the target's EventBridge Scheduler schedule, or by hand (console test event, `safekeep run`).
 * Payload: { "target": "<name>", "trigger": "schedule" | "manual" } (trigger defaults to "manual").
 * Side effects: a "running" record in the runs table, then StartExecution of the snapshot state machine,
 * RunTask of the target's Fargate task (run id in SAFEKEEP_RUN_ID, credentials from ECS secrets), or an
 * asynchronous invoke of its Lambda worker.
 * Payload of a retry: { "target", "trigger", "retryOf": "<run id>", "attempt": 2 }, the detail of the
 * "Backup Retry Due" event the recorder's one-time schedule puts on the default bus.
 * Payload of a deferred start: { "target", "trigger", "runId", "deferral": 1, ... }, the same event: a Fargate
 * start with no room (the account's vCPU quota, ECS's launch rate, ECS capacity) is started again later as the
 * same run (runs/fleet-pacing.ts); a run deferred past its wait is recorded as failed (BackupFailed).
 * Payload of a restore drill (its drill schedule, `safekeep drill`): { "target", "trigger", "action": "drill",
 * "from"?: "<manifest key>" }: lists the target's manifests, picks one (drill.pick, or `from`), records the
 * drill in the target's drill partition, and runs the target's drill task or the snapshot drill state machine.
 * Idempotency: every invocation is a new run with its own id. Lambda's async retries of this function are
 * off (Dispatch construct), so one schedule delivery is at most one run: a throw is not re-run into another
 * failed run. Scheduler's own retry policy covers deliveries that never reached the function.
 * Failure: a task ECS refuses to start is recorded as a failed run (BackupFailed); an API error is recorded
 * the same way and rethrown, and the failed invocation goes to the dead-letter queue.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { isDumpTarget } from '../../../contracts/config/schema.ts';
import { type Deployment, deploymentTarget } from '../../../contracts/deployment.ts';
import { dispatchEventSchema } from '../../../contracts/run-payloads.ts';
import { throttleTolerantRetryStrategy } from '../../../platform/aws-retry.ts';
import { deployment } from '../../../platform/deployment-loader.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { powertoolsTelemetry } from '../../../platform/powertools.ts';
import { serviceQuotaClient } from '../../../platform/service-quotas.ts';
import { awsDispatchPorts } from '../../adapters/dispatch-ports.ts';
import { awsFleetPorts, serviceQuotaReader } from '../../adapters/fleet-ports.ts';
import { type DispatchResult, dispatch } from '../../dispatch.ts';
import { type DrillDispatchResult, dispatchDrill } from '../../dispatch-drill.ts';
import type { FleetContext } from '../../fleet-pacing.ts';

/** Set by the Dispatch construct (infra/constructs/dispatch.ts DISPATCH_ENVIRONMENT). */
const ENVIRONMENT = {
  eventBus: 'SAFEKEEP_EVENT_BUS_ARN',
  deferRole: 'SAFEKEEP_DEFER_ROLE_ARN',
  deferPrefix: 'SAFEKEEP_DEFER_SCHEDULE_PREFIX',
  taskVcpus: 'SAFEKEEP_TASK_VCPUS',
} as const;

// Module scope, built on first use: SDK clients survive between invocations of a warm function.
let ports: ReturnType<typeof awsDispatchPorts> | undefined;
let fleet: FleetContext | undefined;

/** Fargate starts are paced when the deployment has a cluster and the construct set the environment. */
function fleetContext(deployed: Deployment): FleetContext | undefined {
  const { runsTable, cluster, region } = deployed.resources;
  const {
    [ENVIRONMENT.eventBus]: eventBusArn,
    [ENVIRONMENT.deferRole]: roleArn,
    [ENVIRONMENT.deferPrefix]: namePrefix,
    [ENVIRONMENT.taskVcpus]: taskVcpus,
  } = process.env;
  if (!cluster || !eventBusArn || !roleArn || !namePrefix) return undefined;
  const telemetry = powertoolsTelemetry();
  const getServiceQuota = serviceQuotaClient({ region });
  const fargateTargets = deployed.targets.filter((t) => isDumpTarget(t) && t.runner === 'fargate').length;
  const limits = { taskVcpus: Number(taskVcpus ?? 1), fargateTargets };
  return {
    ports: awsFleetPorts({
      cluster,
      runsTable,
      ecs: new ECSClient({ retryStrategy: throttleTolerantRetryStrategy() }),
      dynamodb: new DynamoDBClient({ retryStrategy: throttleTolerantRetryStrategy() }),
      scheduler: new SchedulerClient({ retryStrategy: throttleTolerantRetryStrategy() }),
      readQuota: serviceQuotaReader({
        getServiceQuota,
        now: Date.now,
        onError: (error) => telemetry.warn('Fargate vCPU quota not read; assuming the fallback', { error: String(error) }),
      }),
      taskVcpus: limits.taskVcpus,
      deferrals: { eventBusArn, roleArn, namePrefix },
    }),
    limits,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: Math.random,
  };
}

export const handler = safekeepHandler(
  dispatchEventSchema,
  async ({ target, trigger, retryOf, attempt, runId, deferral, action, from }): Promise<DispatchResult | DrillDispatchResult> => {
    const deployed = deployment();
    ports ??= awsDispatchPorts({ runsTable: deployed.resources.runsTable, bucket: deployed.resources.bucket });
    fleet ??= fleetContext(deployed);
    const context = {
      deployment: deployed,
      ports,
      now: () => new Date(),
      randomSuffix: () => randomBytes(3).toString('hex'),
      telemetry: powertoolsTelemetry(),
      fleet,
    };
    const named = deploymentTarget(deployed, target);
    if (action === 'drill') return dispatchDrill(named, trigger, context, from);
    return await dispatch(
      named,
      trigger,
      context,
      retryOf && attempt ? { retryOf, attempt } : undefined,
      runId && deferral ? { runId, deferral } : undefined,
    );
  },
);
