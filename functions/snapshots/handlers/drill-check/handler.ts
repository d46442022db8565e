/**
 * Check whether a drill's restore is available.
 * Trigger: the snapshot drill state machine, after each Wait.
 * Payload: the drill state.
 * Side effects: none (Describe calls).
 * Idempotency: read-only.
 * Failure: a restore in a failed state, or not available by the drill's deadline, comes back as state
 * "failed" (FAILED / TIMED_OUT); AWS errors throw, and the Catch goes to cleanup.
 */

import { type DrillState, drillStateSchema } from '../../../contracts/snapshot-drill-payloads.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { checkDrill } from '../../core/drill.ts';
import { drillContext } from '../drill-context.ts';

export const handler = safekeepHandler(drillStateSchema, async (state): Promise<DrillState> => checkDrill(state, drillContext()));
