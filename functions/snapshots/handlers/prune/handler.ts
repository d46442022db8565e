/**
 * Apply the target's retention after a successful run.
 * Trigger: the snapshot state machine's last step, reached only when the run (and its copies) completed.
 * Payload: the run state.
 * Side effects: deletes only snapshots carrying safekeep:target=<target> and a safekeep:run-id, named
 * safekeep-<target>-...; IAM allows no other deletes. Emits SnapshotsPruned.
 * Idempotency: deleting is idempotent; a retried step finds fewer snapshots and deletes nothing more.
 * Failure: a run that failed, or whose newest snapshot failed, prunes nothing.
 */

import { runStateSchema } from '../../../contracts/snapshot-payloads.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { pruneTarget } from '../../core/prune.ts';
import { flowContext, snapshotTarget } from '../context.ts';

export const handler = safekeepHandler(runStateSchema, async (state) => {
  const result = await pruneTarget(snapshotTarget(state.target), flowContext(), {
    dryRun: false,
    afterFailedRun: state.state === 'failed',
  });
  return {
    target: result.target,
    skipped: result.skipped,
    kept: result.kept.map(({ snapshot }) => snapshot.id),
    deleted: result.deleted.map(({ snapshot, reason }) => ({ id: snapshot.id, region: snapshot.region, reason })),
  };
});
