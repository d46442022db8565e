/**
 * One dump run inside Lambda (`runner: lambda`): the deployed target becomes its `DumpRequest` through the
 * same `dumpRequestFor` the Fargate task uses, credentials come from the target's secret at run time, and the
 * result is what the async-invoke destination (the run recorder) needs. The core reads no environment and
 * imports no SDK: the handler hands it its ports (in its context).
 */

import { newRunId } from '../contracts/artifact-layout.ts';
import type { ArtifactStore } from '../contracts/artifact-store.ts';
import type { DumpTarget } from '../contracts/config/schema.ts';
import { type Deployment, deployedDumpTarget } from '../contracts/deployment.ts';
import { UsageError } from '../contracts/errors.ts';
import type { RunRef, WorkerEvent } from '../contracts/run-payloads.ts';
import type { Logger } from '../contracts/telemetry.ts';
import { runDump } from './dump.ts';
import { dumpRequestFor } from './request.ts';
import type { Credentials } from './source.ts';

/** What the worker returns; Lambda hands it to the success destination. */
export interface LambdaDumpResult extends RunRef {
  /** Key of the run's manifest in the artifact bucket: the backup exists. */
  readonly manifestKey: string;
  readonly rawBytes: number;
  readonly storedBytes: number;
}

export interface LambdaDumpContext {
  readonly deployment: Deployment;
  /** This function's own name: the deployment says which target it runs. */
  readonly functionName: string;
  /** Username and password from a Secrets Manager secret, read when the run starts. */
  readCredentials(secretId: string): Promise<Credentials>;
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly now: () => Date;
  readonly randomSuffix: () => string;
  /**
   * Hands the recorder a run's end the way Lambda's async-invoke destination would (same record), for runs
   * no destination reports: those not started by the dispatcher.
   */
  reportToRecorder(record: WorkerEndRecord): Promise<void>;
}

/** The async-invoke destination record's fields the recorder reads (run-end-events.ts `lambdaDestination`). */
export interface WorkerEndRecord {
  readonly requestContext: { readonly condition: 'Success' | 'Error'; readonly functionArn?: string };
  readonly requestPayload: RunRef;
  readonly responsePayload: LambdaDumpResult | { readonly errorMessage: string };
  readonly timestamp: string;
}

/**
 * A worker invocation, whoever made it. A run the dispatcher started is reported by Lambda's destination; any
 * other (the console's synchronous test, which fires no destination) reports its own end, success or failure,
 * so it is recorded, counted and alarmed like a scheduled run.
 */
export async function runLambdaWorker(event: WorkerEvent, context: LambdaDumpContext): Promise<LambdaDumpResult> {
  const run = { target: event.target, runId: event.runId ?? newRunId(context.now(), context.randomSuffix()) };
  if (event.dispatched) return runLambdaDump(run, context);
  context.log.info('run not started by the dispatcher: reporting its end to the recorder', run);
  try {
    const result = await runLambdaDump(run, context);
    await context.reportToRecorder(endRecord(run, 'Success', result, context.now()));
    return result;
  } catch (error) {
    await context.reportToRecorder(endRecord(run, 'Error', { errorMessage: (error as Error).message }, context.now()));
    throw error;
  }
}

function endRecord(
  run: RunRef,
  condition: WorkerEndRecord['requestContext']['condition'],
  responsePayload: WorkerEndRecord['responsePayload'],
  at: Date,
): WorkerEndRecord {
  return { requestContext: { condition }, requestPayload: run, responsePayload, timestamp: at.toISOString() };
}

export async function runLambdaDump(event: RunRef, context: LambdaDumpContext): Promise<LambdaDumpResult> {
  const target = lambdaRunnerTarget(context.deployment, event.target, context.functionName);
  const credentials = await context.readCredentials(target.source.secret);
  const { resources } = context.deployment;
  const request = dumpRequestFor(target, { bucket: resources.bucket, doltTable: resources.doltTable }, credentials, event.runId);
  const { manifest, manifestKey } = await runDump(request, context);
  return {
    target: target.name,
    runId: manifest.runId,
    manifestKey,
    rawBytes: manifest.totals.rawBytes,
    storedBytes: manifest.totals.storedBytes,
  };
}

/** The named target, if it is the dump target this function runs (its role reaches no other prefix or secret). */
export function lambdaRunnerTarget(deployment: Deployment, name: string, functionName: string): DumpTarget {
  const own = Object.entries(deployment.resources.workers).find(([, worker]) => worker === functionName)?.[0];
  if (own !== undefined && name !== own) {
    throw new UsageError(`this function runs target "${own}" only, got "${name}"; invoke the worker of "${name}" instead`);
  }
  const target = deployedDumpTarget(deployment, name);
  if (target.runner !== 'lambda') {
    // Its timeout was never checked against Lambda's 15 minutes: Lambda would kill it mid-upload.
    throw new UsageError(`target "${name}" has runner "${target.runner}"; only targets with runner "lambda" run here`);
  }
  return target;
}
