/**
 * Start cross-region copies of a run's completed snapshots, as far as the destination region has free
 * copy slots (20 concurrent copies per destination region).
 * Trigger: the snapshot state machine, after the snapshots completed, and again while copies wait for slots.
 * Payload: the run state ("waiting" lists the snapshots still to copy).
 * Side effects: CopyDBSnapshot / CopyDBClusterSnapshot / CopySnapshot into the target's copy region,
 * re-encrypted with its customer key, tagged safekeep:copy-of.
 * Idempotency: a snapshot leaves "waiting" once its copy started; the state machine does not retry this step.
 * Failure: a missing or disabled destination key throws with what to fix.
 */

import { type RunState, runStateSchema } from '../../../contracts/snapshot-payloads.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { startCopies } from '../../core/snapshot-flow.ts';
import { flowContext, snapshotTarget } from '../context.ts';

export const handler = safekeepHandler(runStateSchema, async (state): Promise<RunState> => {
  const progress = await startCopies(
    snapshotTarget(state.target),
    { copies: state.copies, waiting: state.waiting },
    flowContext(),
  );
  return { ...state, copies: [...progress.copies], waiting: [...progress.waiting] };
});
