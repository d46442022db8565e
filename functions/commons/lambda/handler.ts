/**
 * Every Safekeep Lambda is this wiring: middy, Powertools (tracer, logger with the invocation context,
 * metrics flushed at the end), the input parsed with the shared zod schema, then one call into a core.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { z } from 'zod';
import { UsageError } from '../errors.ts';
import { logger, metrics, tracer } from './powertools.ts';

/** Parses an event, turning zod's report into one line naming each bad field. */
export function parseEvent<T>(schema: z.ZodType<T>, event: unknown): T {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.message}`);
  throw new UsageError(`invalid event: ${problems.join('; ')}`);
}

export function safekeepHandler<T, R>(schema: z.ZodType<T>, work: (input: T) => Promise<R>) {
  return middy(async (event: unknown) => work(parseEvent(schema, event)))
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
