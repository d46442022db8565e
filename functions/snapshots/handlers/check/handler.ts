/**
 * Check a run's snapshots (or its copies).
 * Trigger: the snapshot state machine, after each Wait.
 * Payload: the run state, plus "phase": "snapshots" | "copies".
 * Side effects: none (Describe calls); emits SnapshotsCompleted / SnapshotsFailed metrics when a phase settles.
 * Idempotency: read-only.
 * Failure: AWS errors throw (the state machine retries throttling); a failed snapshot is reported as
 * state "failed", which the state machine turns into a failed run.
 */

import { checkInputSchema, type RunState } from '../../../contracts/snapshot-payloads.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { checkSnapshots } from '../../core/snapshot-flow.ts';
import { flowContext } from '../context.ts';

export const handler = safekeepHandler(checkInputSchema, async ({ phase, ...state }): Promise<RunState> => {
  const context = flowContext();
  const checked = await checkSnapshots(phase === 'copies' ? state.copies : state.snapshots, context);
  if (checked.state !== 'pending') {
    const name =
      checked.state === 'complete' ? (phase === 'copies' ? 'CopiesCompleted' : 'SnapshotsCompleted') : 'SnapshotsFailed';
    context.telemetry.metric(name, checked.snapshots.length, 'Count', { Target: state.target });
  }
  if (phase === 'copies') return { ...state, copies: [...checked.snapshots], state: checked.state };
  const copyNext = checked.state === 'complete' && state.copyConfigured;
  return { ...state, snapshots: [...checked.snapshots], state: checked.state, waiting: copyNext ? [...checked.snapshots] : [] };
});
