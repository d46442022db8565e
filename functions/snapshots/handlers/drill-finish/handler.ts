/**
 * Delete what a drill made, then settle its result.
 * Trigger: the snapshot drill state machine after the last check, and from every step's Catch; again after
 * each Wait while deletions are in progress.
 * Payload: the drill state (or, from a failed start, only its input plus "error").
 * Side effects: DeleteDBInstance (no final snapshot, no kept automated backups), DeleteDBCluster once its
 * instances are gone, DeleteVolume: only of resources carrying safekeep:drill=<this drill>. Once nothing is
 * left (or cleanup gives up), writes drill.json under the backup's run prefix.
 * Output: the drill state with cleanup "pending" while deletions run; then the drill result (contracts/drill.ts).
 * Idempotency: every round looks again; deleting what is gone is a no-op; drill.json gets a new version.
 * Failure: a delete that keeps failing ends in deletionStatus FAILED naming what is left.
 */

import { drillStateSchema } from '../../../contracts/snapshot-drill-payloads.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { createS3Client, s3ArtifactStore } from '../../../platform/s3-artifact-store.ts';
import { finishDrill } from '../../core/drill.ts';
import { snapshotTarget } from '../context.ts';
import { drillContext } from '../drill-context.ts';

const s3 = createS3Client();

export const handler = safekeepHandler(drillStateSchema, async (state) => {
  const finished = await finishDrill(
    snapshotTarget(state.target),
    state,
    drillContext({ artifacts: (bucket) => s3ArtifactStore(s3, bucket) }),
  );
  return finished.cleanup === 'done' ? finished.result : { ...finished.state, cleanup: 'pending' as const };
});
