/**
 * Every Safekeep Lambda is this wiring: middy, Powertools (logger with the invocation context, the cold-start
 * metric), the input parsed with the shared zod schema, then one call into a core.
 *
 * No Powertools Tracer: its one use here, a subsegment around the handler, repeats what the function's active
 * X-Ray tracing records (duration, errors), and it brings aws-xray-sdk-core and semver, 100 KB of every
 * bundle and about 20 ms of every cold start (bench/results/lambda-cold.md).
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { UsageError } from '../contracts/errors.ts';
import type * as z from '../contracts/zod.ts';
import { logger, metrics } from './powertools.ts';

/** Parses an event, turning zod's report into one line naming each bad field. */
export function parseEvent<T>(schema: z.ZodMiniType<T>, event: unknown): T {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.message}`);
  throw new UsageError(`invalid event: ${problems.join('; ')}`);
}

/**
 * What Powertools' `logMetrics` does, minus the flush after every invocation: every Safekeep metric goes out
 * on its own as it is emitted (`powertoolsTelemetry`), so the shared instance never holds any, and flushing
 * it only logged "No application metrics to publish" on each invocation.
 */
const coldStartMetric: middy.MiddlewareObj = {
  before: (request) => metrics.captureColdStartMetric(request.context.functionName),
};

export function safekeepHandler<T, R>(schema: z.ZodMiniType<T>, work: (input: T) => Promise<R>) {
  return middy(async (event: unknown) => work(parseEvent(schema, event)))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(coldStartMetric);
}
