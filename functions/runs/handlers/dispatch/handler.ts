/**
 * Start a run of one target.
 * Trigger: the target's EventBridge Scheduler schedule, or by hand (console test event, `safekeep run`).
 * Payload: { "target": "<name>", "trigger": "schedule" | "manual" } (trigger defaults to "manual").
 * Side effects: a "running" record in the runs table, then StartExecution of the snapshot state machine,
 * RunTask of the target's Fargate task (run id in SAFEKEEP_RUN_ID, credentials from ECS secrets), or an
 * asynchronous invoke of its Lambda worker.
 * Idempotency: every invocation is a new run with its own id; Scheduler retries only when this throws.
 * Failure: a task ECS refuses to start is recorded as a failed run (BackupFailed) and not retried; an
 * API error is recorded the same way and rethrown, so Scheduler retries and finally dead-letters it.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { deployedTarget } from '../../../contracts/deployment.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { powertoolsTelemetry } from '../../../platform/powertools.ts';
import { awsDispatchPorts } from '../../adapters/dispatch-ports.ts';
import { type Deployment, dispatch } from '../../dispatch.ts';

export const dispatchEventSchema = z.object({
  target: z.string().min(1),
  trigger: z.enum(['schedule', 'manual']).default('manual'),
});
export type DispatchEvent = z.input<typeof dispatchEventSchema>;

const deployment: Deployment = {
  stateMachineArn: process.env.STATE_MACHINE_ARN,
  clusterArn: process.env.CLUSTER_ARN,
  taskFamilyPrefix: process.env.TASK_FAMILY_PREFIX,
  workerFunctions: JSON.parse(process.env.WORKER_FUNCTIONS ?? '{}'),
};
const ports = awsDispatchPorts({ runsTable: process.env.RUNS_TABLE ?? '' });

export const handler = safekeepHandler(dispatchEventSchema, ({ target, trigger }) =>
  dispatch(deployedTarget(target), trigger, {
    deployment,
    ports,
    now: () => new Date(),
    randomSuffix: () => randomBytes(3).toString('hex'),
    telemetry: powertoolsTelemetry(),
  }),
);
