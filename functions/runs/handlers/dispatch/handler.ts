/**
 * Start a run of one target.
 * Trigger: the target's EventBridge Scheduler schedule, or by hand (console test event, `safekeep run`).
 * Payload: { "target": "<name>", "trigger": "schedule" | "manual" } (trigger defaults to "manual").
 * Side effects: a "running" record in the runs table, then StartExecution of the snapshot state machine,
 * RunTask of the target's Fargate task (run id in SAFEKEEP_RUN_ID, credentials from ECS secrets), or an
 * asynchronous invoke of its Lambda worker.
 * Payload of a retry: { "target", "trigger", "retryOf": "<run id>", "attempt": 2 }, the detail of the
 * "Backup Retry Due" event the recorder's one-time schedule puts on the default bus.
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
import { deploymentTarget } from '../../../contracts/deployment.ts';
import { dispatchEventSchema } from '../../../contracts/run-payloads.ts';
import { deployment } from '../../../platform/deployment-loader.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { powertoolsTelemetry } from '../../../platform/powertools.ts';
import { awsDispatchPorts } from '../../adapters/dispatch-ports.ts';
import { type DispatchResult, dispatch } from '../../dispatch.ts';
import { type DrillDispatchResult, dispatchDrill } from '../../dispatch-drill.ts';

// Module scope, built on first use: SDK clients survive between invocations of a warm function.
let ports: ReturnType<typeof awsDispatchPorts> | undefined;

export const handler = safekeepHandler(
  dispatchEventSchema,
  async ({ target, trigger, retryOf, attempt, action, from }): Promise<DispatchResult | DrillDispatchResult> => {
    const deployed = deployment();
    ports ??= awsDispatchPorts({ runsTable: deployed.resources.runsTable, bucket: deployed.resources.bucket });
    const context = {
      deployment: deployed,
      ports,
      now: () => new Date(),
      randomSuffix: () => randomBytes(3).toString('hex'),
      telemetry: powertoolsTelemetry(),
    };
    const named = deploymentTarget(deployed, target);
    if (action === 'drill') return dispatchDrill(named, trigger, context, from);
    return await dispatch(named, trigger, context, retryOf && attempt ? { retryOf, attempt } : undefined);
  },
);
