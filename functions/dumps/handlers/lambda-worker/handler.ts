/**
 * Back up one dump target inside Lambda (`runner: lambda`, small databases): the Fargate worker's code with
 * the client tools of the db-clients layer.
 * Trigger: asynchronous invoke by the dispatcher (or a console test event); one function per target.
 * Payload: { "target": "<name>", "runId": "<run id>", "dispatched": true } from the dispatcher, which picks
 * the run id, so it knows where the manifest lands; a console test event is { "target": "<name>" } (a run id
 * is optional). The deployment document says which target this function runs (by its function name).
 * Returns { target, runId, manifestKey, rawBytes, storedBytes } to the success destination. A run not marked
 * `dispatched` has no destination when invoked synchronously, so the worker hands the same record to the
 * recorder (SAFEKEEP_RECORDER, invoked asynchronously) itself: it is recorded and counted like any run.
 * Side effects: reads the target's Secrets Manager secret (the password stays in memory and in the tools'
 * environment, never in argv or logs); runs pg_dump / mariadb-dump; uploads under
 * s3://<the deployment's bucket>/<target>/<yyyy>/<mm>/<dd>/<run id>/ and writes manifest.json last (If-None-Match: *).
 * Idempotency: the run id fixes the prefix and the manifest is only ever created, never replaced: a duplicate
 * delivery of the same event fails at the manifest, and the first manifest still pins its own object versions.
 * LambdaRunner turns Lambda's async retries off with the result destinations: a retry is a new dispatch, with
 * a new run id.
 * Failure: preflight, dump, completeness and S3 errors abort every upload of the run (nothing appears at the
 * final keys) and throw; Lambda hands the error to the failure destination (the run recorder).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { workerEventSchema } from '../../../contracts/run-payloads.ts';
import { deployment } from '../../../platform/deployment-loader.ts';
import { safekeepHandler } from '../../../platform/lambda-handler.ts';
import { powertoolsTelemetry } from '../../../platform/powertools.ts';
import { createS3Client, s3ArtifactStore } from '../../../platform/s3-artifact-store.ts';
import { layerToolEnvironment } from '../../adapters/layer-tools.ts';
import { credentialsFromSecret } from '../../adapters/secrets.ts';
import { type LambdaDumpResult, runLambdaWorker } from '../../lambda-dump.ts';

/** The run recorder's function name, set by LambdaRunner.sendResultsTo. */
export const RECORDER_VARIABLE = 'SAFEKEEP_RECORDER';

// Once per execution environment: the layer's tools first, as the Fargate image's ENV does.
Object.assign(process.env, layerToolEnvironment(process.env, existsSync));

// Module scope: SDK clients survive between invocations of a warm function.
const s3 = createS3Client();
const secrets = new SecretsManagerClient({});
const lambda = new LambdaClient({});

export const handler = safekeepHandler(workerEventSchema, (event): Promise<LambdaDumpResult> => {
  const deployed = deployment();
  return runLambdaWorker(event, {
    deployment: deployed,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? '',
    readCredentials: (secretId) => credentialsFromSecret(secretId, secrets),
    store: s3ArtifactStore(s3, deployed.resources.bucket),
    log: powertoolsTelemetry(),
    now: () => new Date(),
    randomSuffix: () => randomBytes(3).toString('hex'),
    async reportToRecorder(record) {
      const recorder = process.env[RECORDER_VARIABLE];
      if (!recorder) throw new Error(`${RECORDER_VARIABLE} is not set; redeploy the stack so the worker knows its recorder`);
      await lambda.send(
        new InvokeCommand({ FunctionName: recorder, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(record)) }),
      );
    },
  });
});
