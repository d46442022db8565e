/**
 * Publish how old every target's newest good backup is, so a backup that never ran is caught too.
 * Trigger: an EventBridge rule every 15 minutes (infra/monitoring.ts); a console test event `{}` works as well.
 * Payload: ignored (the scheduled event, or any object).
 * Side effects: reads the runs table (the deployment document names it); for a target without a good run, records when it was first
 * seen (its "#meta" item) if that is not recorded yet; emits SecondsSinceLastGoodBackup per target (dimension
 * Target) as embedded-metric-format log lines; when a target turns late (it was not at the last check), records
 * so on its "#meta" item and publishes "Backup Late" on the default bus (docs/EVENTS.md).
 * For each target with `drill:`, also SecondsSinceLastGoodDrill (from its last drill that passed, else from
 * when its drill partition was first looked at, recorded as that partition's "#meta" item).
 * Idempotency: the metric is a gauge the alarm reads as a Maximum, so a repeated run changes nothing; the
 * first-seen write is conditional and never moves a date already recorded.
 * Failure: each target is computed on its own, and a malformed row of the runs table is skipped and logged.
 * A target whose read fails gets no metric this time (its freshness alarm treats missing data as breaching);
 * every other target's metric is still emitted, then the invocation fails naming the failed targets.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SafekeepError } from '../../../contracts/errors.ts';
import { DETAIL_TYPE } from '../../../contracts/events.ts';
import { METRIC, TARGET_DIMENSION } from '../../../contracts/metrics.ts';
import * as z from '../../../contracts/zod.ts';
import { deployment } from '../../../platform/deployment-loader.ts';
import { eventBridgePublisher } from '../../../platform/eventbridge-events.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { powertoolsTelemetry } from '../../../platform/powertools.ts';
import { dynamoRunsStore } from '../../adapters/runs-table.ts';
import { checkDrillFreshness, checkFreshness, lateEventDetail } from '../../freshness.ts';

// Module scope: the client survives between invocations of a warm function.
const dynamodb = new DynamoDBClient();

export interface FreshnessSummary {
  readonly checkedAt: string;
  /** Targets older than allowed. */
  readonly late: string[];
  readonly targets: { target: string; ageSeconds: number; allowedAgeSeconds: number; since: string }[];
  /** Targets whose last good drill is older than allowed. */
  readonly drillsLate: string[];
}

export const handler = safekeepHandler(z.looseObject({}), async (): Promise<FreshnessSummary> => {
  const { targets, resources } = deployment();
  const now = new Date();
  const telemetry = powertoolsTelemetry();
  const runs = dynamoRunsStore(resources.runsTable, dynamodb, telemetry);
  const { computed, failed } = await checkFreshness(targets, runs, now);
  const events = eventBridgePublisher(telemetry);
  for (const entry of computed) {
    telemetry.metric(METRIC.secondsSinceLastGoodBackup, entry.ageSeconds, 'Seconds', { [TARGET_DIMENSION]: entry.target });
    if (entry.late) telemetry.warn('target is late', { ...entry, since: `${entry.since.kind} ${entry.since.at.toISOString()}` });
  }
  for (const entry of computed) {
    try {
      if (!(await runs.markLate(entry.target, entry.late, now))) continue;
      await events.publish(DETAIL_TYPE.late, lateEventDetail(entry, now));
    } catch (error) {
      // The metric is out already, and the alarm reads it; only the event is missed this time.
      telemetry.warn('late state not recorded', { target: entry.target, error: (error as Error).message });
    }
  }
  // Restore drills: how long ago each drilling target last passed one (its own alarm reads this).
  const drills = await checkDrillFreshness(targets, runs, now);
  for (const entry of drills.computed) {
    telemetry.metric(METRIC.secondsSinceLastGoodDrill, entry.ageSeconds, 'Seconds', { [TARGET_DIMENSION]: entry.target });
    if (entry.late)
      telemetry.warn('no drill passed within the allowed age', {
        ...entry,
        since: `${entry.since.kind} ${entry.since.at.toISOString()}`,
      });
  }
  failed.push(...drills.failed.map((failure) => ({ ...failure, target: `${failure.target} (drills)` })));
  for (const failure of failed) telemetry.warn('freshness not computed', { ...failure });
  if (failed.length > 0) {
    // After every other target's metric went out: the failure is reported, nothing else is lost.
    throw new SafekeepError(
      `freshness not computed for ${failed.map((f) => `${f.target} (${f.error})`).join(', ')}; the other ${computed.length} target(s) were published`,
    );
  }
  return {
    checkedAt: now.toISOString(),
    late: computed.filter((entry) => entry.late).map((entry) => entry.target),
    drillsLate: drills.computed.filter((entry) => entry.late).map((entry) => entry.target),
    targets: computed.map(({ target, ageSeconds, allowedAgeSeconds, since }) => ({
      target,
      ageSeconds,
      allowedAgeSeconds,
      since: `${since.kind} ${since.at.toISOString()}`,
    })),
  };
});
