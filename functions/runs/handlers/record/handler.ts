/**
 * Record how a run ended.
 * Trigger: EventBridge rules for "ECS Task State Change" (STOPPED, Safekeep's cluster) and "Step Functions
 * Execution Status Change" (the snapshot state machine), and the Lambda workers' async-invoke destinations.
 * Payload: the AWS event as delivered.
 * Side effects: settles the run in the runs table once (a run with no "started" record, started by hand past
 * the dispatcher, is recorded whole from its end); reads the run's manifest from the artifact bucket; emits
 * BackupSucceeded / BackupFailed (last attempt) / BackupAttemptFailed (retried), BackupDurationSeconds and
 * BackupBytes (dimension Target); for a failed run with attempts left, creates a one-time EventBridge
 * Scheduler schedule that puts "Backup Retry Due" on the default bus after the target's backoff; publishes
 * "Backup Succeeded" / "Backup Failed" / "Backup Attempt Failed" on the default bus (docs/EVENTS.md).
 * A stopped drill task (SAFEKEEP_ACTION=drill) or an execution of the snapshot drill state machine settles a
 * restore drill instead (drill-recorder.ts): reads its drill.json (or the execution's output), settles it in
 * the target's drill partition and emits DrillSucceeded + DrillDurationSeconds or DrillFailed; never a backup.
 * Idempotency: a run already settled is left alone and counted no second time.
 * Failure: AWS errors throw, and EventBridge retries the delivery.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadManifest } from '../../../contracts/manifest.ts';
import { deployment } from '../../../platform/deployment-loader.ts';
import { eventBridgePublisher } from '../../../platform/eventbridge-events.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { powertoolsTelemetry } from '../../../platform/powertools.ts';
import { createS3Client, s3ArtifactStore } from '../../../platform/s3-artifact-store.ts';
import { retrySchedules } from '../../adapters/retry-schedules.ts';
import { dynamoRunsStore } from '../../adapters/runs-table.ts';
import { recordEnd } from '../../recorder.ts';
import { recorderEvent } from '../../run-end-events.ts';

// Module scope: SDK clients survive between invocations of a warm function.
const s3 = createS3Client();
const dynamodb = new DynamoDBClient();

/**
 * What S3 answers for a manifest that is not there. The recorder may read manifests but not list the bucket,
 * and S3 answers AccessDenied, not NoSuchKey, for a missing object to such a reader.
 */
const ABSENT_OBJECT_ERRORS = new Set(['NoSuchKey', 'AccessDenied']);

/** Set by the RunLedger construct (infra/constructs/run-ledger.ts RECORDER_ENVIRONMENT). */
const ENVIRONMENT = {
  eventBus: 'SAFEKEEP_EVENT_BUS_ARN',
  retryRole: 'SAFEKEEP_RETRY_ROLE_ARN',
  retryPrefix: 'SAFEKEEP_RETRY_SCHEDULE_PREFIX',
} as const;

export const handler = safekeepHandler(recorderEvent, (event) => {
  const { resources, targets } = deployment();
  const {
    [ENVIRONMENT.eventBus]: eventBusArn,
    [ENVIRONMENT.retryRole]: roleArn,
    [ENVIRONMENT.retryPrefix]: namePrefix,
  } = process.env;
  const store = s3ArtifactStore(s3, resources.bucket);
  const telemetry = powertoolsTelemetry();
  return recordEnd(event, {
    ports: {
      runs: dynamoRunsStore(resources.runsTable, dynamodb, telemetry),
      events: eventBridgePublisher(telemetry),
      retries: eventBusArn && roleArn && namePrefix ? retrySchedules({ eventBusArn, roleArn, namePrefix }) : undefined,
      async readDrillResult(key) {
        try {
          return JSON.parse(await store.readText(key));
        } catch (error) {
          if (ABSENT_OBJECT_ERRORS.has((error as { cause?: { name?: string } }).cause?.name ?? '')) return undefined;
          // Not JSON: the drill recorder says so as the drill's reason.
          if (error instanceof SyntaxError) return { notJson: (error as Error).message };
          throw error;
        }
      },
      async readManifest(key) {
        try {
          return (await loadManifest(store, key)).manifest;
        } catch (error) {
          if (ABSENT_OBJECT_ERRORS.has((error as { cause?: { name?: string } }).cause?.name ?? '')) return undefined;
          throw error;
        }
      },
    },
    now: () => new Date(),
    telemetry,
    retryPolicyOf: (name) => targets.find((t) => t.name === name)?.retries,
    bucket: resources.bucket,
  });
});
