/**
 * Publish how old every target's newest good backup is, so a backup that never ran is caught too.
 * Trigger: an EventBridge rule every 15 minutes (infra/monitoring.ts); a console test event `{}` works as well.
 * Payload: ignored (the scheduled event, or any object).
 * Side effects: reads the runs table (the deployment document names it); for a target without a good run, records when it was first
 * seen (its "#meta" item) if that is not recorded yet; emits SecondsSinceLastGoodBackup per target (dimension
 * Target) as embedded-metric-format log lines.
 * Idempotency: the metric is a gauge the alarm reads as a Maximum, so a repeated run changes nothing; the
 * first-seen write is conditional and never moves a date already recorded.
 * Failure: a DynamoDB error throws and this run emits no metric; should the check keep failing (or stop being
 * invoked), the freshness alarms see missing data, which they treat as breaching.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { METRIC, TARGET_DIMENSION } from '../../../contracts/metrics.ts';
import { deployment } from '../../../platform/deployment-loader.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { powertoolsTelemetry } from '../../../platform/powertools.ts';
import { dynamoRunsStore } from '../../adapters/runs-table.ts';
import { checkFreshness } from '../../freshness.ts';

// Module scope: the client survives between invocations of a warm function.
const dynamodb = new DynamoDBClient();

export interface FreshnessSummary {
  readonly checkedAt: string;
  /** Targets older than allowed. */
  readonly late: string[];
  readonly targets: { target: string; ageSeconds: number; allowedAgeSeconds: number; since: string }[];
}

export const handler = safekeepHandler(z.looseObject({}), async (): Promise<FreshnessSummary> => {
  const { targets, resources } = deployment();
  const now = new Date();
  const report = await checkFreshness(targets, dynamoRunsStore(resources.runsTable, dynamodb), now);
  const telemetry = powertoolsTelemetry();
  for (const entry of report) {
    telemetry.metric(METRIC.secondsSinceLastGoodBackup, entry.ageSeconds, 'Seconds', { [TARGET_DIMENSION]: entry.target });
    if (entry.late) telemetry.warn('target is late', { ...entry, since: `${entry.since.kind} ${entry.since.at.toISOString()}` });
  }
  return {
    checkedAt: now.toISOString(),
    late: report.filter((entry) => entry.late).map((entry) => entry.target),
    targets: report.map(({ target, ageSeconds, allowedAgeSeconds, since }) => ({
      target,
      ageSeconds,
      allowedAgeSeconds,
      since: `${since.kind} ${since.at.toISOString()}`,
    })),
  };
});
