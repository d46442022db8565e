/**
 * The three ways a run ends, as the recorder receives them. Only the fields Safekeep reads are declared;
 * everything else in these AWS events passes through untouched.
 */
import { runRefSchema } from '../contracts/run-payloads.ts';
import * as z from '../contracts/zod.ts';

/** EventBridge "ECS Task State Change" for a stopped dump task. */
export const ecsTaskStopped = z.object({
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Task State Change'),
  detail: z.object({
    taskArn: z.string(),
    group: z.optional(z.string()),
    taskDefinitionArn: z.string(),
    lastStatus: z.string(),
    stopCode: z.optional(z.string()),
    stoppedReason: z.optional(z.string()),
    startedAt: z.optional(z.string()),
    stoppedAt: z.optional(z.string()),
    createdAt: z.optional(z.string()),
    containers: z._default(
      z.array(z.object({ name: z.string(), exitCode: z.optional(z.number()), reason: z.optional(z.string()) })),
      [],
    ),
    overrides: z.optional(
      z.object({
        containerOverrides: z._default(
          z.array(
            z.object({ name: z.string(), environment: z.optional(z.array(z.object({ name: z.string(), value: z.string() }))) }),
          ),
          [],
        ),
      }),
    ),
  }),
});

/** EventBridge "Step Functions Execution Status Change" for the snapshot state machine. */
export const executionStatusChange = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string(),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    startDate: z.optional(z.number()),
    stopDate: z.optional(z.nullable(z.number())),
    input: z.optional(z.nullable(z.string())),
    /** The execution's output (a snapshot drill's DrillResult); EventBridge carries it up to 248 KiB. */
    output: z.optional(z.nullable(z.string())),
    error: z.optional(z.nullable(z.string())),
    cause: z.optional(z.nullable(z.string())),
  }),
});

/** A Lambda worker's asynchronous-invocation destination record. */
export const lambdaDestination = z.object({
  requestContext: z.object({ condition: z.string(), functionArn: z.optional(z.string()) }),
  requestPayload: runRefSchema,
  responsePayload: z.optional(z.unknown()),
  timestamp: z.optional(z.string()),
});

export const recorderEvent = z.union([ecsTaskStopped, executionStatusChange, lambdaDestination]);
export type RecorderEvent = z.infer<typeof recorderEvent>;
