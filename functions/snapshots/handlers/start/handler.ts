/**
 * Start snapshots of one target.
 * Trigger: the snapshot state machine's first state (started by the dispatcher or a console test event).
 * Payload: { "target": "<name>", "runId": "<run id>" }.
 * Side effects: CreateDBSnapshot / CreateDBClusterSnapshot / CreateSnapshot(s), each tagged safekeep:target and
 * safekeep:run-id and named safekeep-<target>-<timestamp>.
 * Idempotency: none needed; every execution has its own run id, and the state machine does not retry this step.
 * Failure: a missing, stopped or modifying database, a missing volume, or a full snapshot quota throws;
 * the state machine records the run as failed and the failure alarm fires.
 */

import { type RunState, startInputSchema } from '../../../contracts/snapshot-payloads.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { startSnapshots } from '../../core/snapshot-flow.ts';
import { flowContext, snapshotTarget } from '../context.ts';

export const handler = safekeepHandler(startInputSchema, async ({ target: name, runId }): Promise<RunState> => {
  const target = snapshotTarget(name);
  const started = await startSnapshots(target, runId, flowContext());
  return {
    ...started,
    snapshots: [...started.snapshots],
    state: 'pending',
    copies: [],
    waiting: [],
    copyConfigured: Boolean(target.copy),
  };
});
