/**
 * Start a restore drill of one snapshot target.
 * Trigger: the snapshot drill state machine's first state (started by the dispatcher or a console test event).
 * Payload: { "target": "<name>", "runId": "<drill id>", "trigger"?: "schedule" | "manual", "from"?: "<snapshot or run id>" }.
 * Side effects: RestoreDBInstanceFromDBSnapshot / RestoreDBClusterFromSnapshot + CreateDBInstance / CreateVolume,
 * each named safekeep-drill-<target>-<stamp>-<suffix> and tagged safekeep:drill=<drill id>, safekeep:target, safekeep:stack.
 * Idempotency: none needed; every execution has its own drill id, and the state machine does not retry this step.
 * Failure: a refused restore comes back as state "failed" with the reason; anything else throws, and the
 * state machine's Catch goes straight to cleanup, which finds the drill's resources by name and tag.
 */

import { type DrillState, drillStartInputSchema } from '../../../contracts/snapshot-drill-payloads.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { startDrill } from '../../core/drill.ts';
import { snapshotTarget } from '../context.ts';
import { drillContext } from '../drill-context.ts';

export const handler = safekeepHandler(
  drillStartInputSchema,
  async (input): Promise<DrillState> => startDrill(snapshotTarget(input.target), input, drillContext()),
);
