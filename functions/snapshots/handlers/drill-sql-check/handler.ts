/**
 * Run the target's drill SQL check against the restored instance or cluster.
 * Trigger: the snapshot drill state machine, once the restore is available and the target names a check.
 * Payload: the drill state.
 * Side effects: ModifyDBInstance / ModifyDBCluster sets a fresh master password on the drill's own restore
 * (never the source); it lives only in this invocation and is never logged or returned. Then one connection
 * and the one statement.
 * Idempotency: a retry sets another password and runs the statement again on the throwaway restore.
 * Failure: a failing statement or an unreachable restore comes back as state "failed" with the reason.
 */

import { type DrillState, drillStateSchema } from '../../../contracts/snapshot-drill-payloads.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { sqlRunner } from '../../adapters/sql-runner.ts';
import { checkDrillSql } from '../../core/drill.ts';
import { snapshotTarget } from '../context.ts';
import { drillContext } from '../drill-context.ts';

// Module scope: built once per execution environment (it parses the RDS certificate bundle).
const sql = sqlRunner();

export const handler = safekeepHandler(
  drillStateSchema,
  async (state): Promise<DrillState> =>
    checkDrillSql(snapshotTarget(state.target), state, drillContext({ sql }), { sqlAttempts: 40 }),
);
