/**
 * The three ways a run ends, as the recorder receives them. Only the fields Safekeep reads are declared;
 * everything else in these AWS events passes through untouched.
 */
import * as z from 'zod';
import { runRefSchema } from '../contracts/run-payloads.ts';

/** EventBridge "ECS Task State Change" for a stopped dump task. */
export const ecsTaskStopped = z.object({
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Task State Change'),
  detail: z.object({
    taskArn: z.string(),
    group: z.string().optional(),
    taskDefinitionArn: z.string(),
    lastStatus: z.string(),
    stopCode: z.string().optional(),
    stoppedReason: z.string().optional(),
    startedAt: z.string().optional(),
    stoppedAt: z.string().optional(),
    createdAt: z.string().optional(),
    containers: z
      .array(z.object({ name: z.string(), exitCode: z.number().optional(), reason: z.string().optional() }))
      .default([]),
    overrides: z
      .object({
        containerOverrides: z
          .array(
            z.object({ name: z.string(), environment: z.array(z.object({ name: z.string(), value: z.string() })).optional() }),
          )
          .default([]),
      })
      .optional(),
  }),
});

/** EventBridge "Step Functions Execution Status Change" for the snapshot state machine. */
export const executionStatusChange = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string(),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    startDate: z.number().optional(),
    stopDate: z.number().nullable().optional(),
    input: z.string().nullable().optional(),
    /** The execution's output (a snapshot drill's DrillResult); EventBridge carries it up to 248 KiB. */
    output: z.string().nullable().optional(),
    error: z.string().nullable().optional(),
    cause: z.string().nullable().optional(),
  }),
});

/** A Lambda worker's asynchronous-invocation destination record. */
export const lambdaDestination = z.object({
  requestContext: z.object({ condition: z.string(), functionArn: z.string().optional() }),
  requestPayload: runRefSchema,
  responsePayload: z.unknown().optional(),
  timestamp: z.string().optional(),
});

export const recorderEvent = z.union([ecsTaskStopped, executionStatusChange, lambdaDestination]);
export type RecorderEvent = z.infer<typeof recorderEvent>;
