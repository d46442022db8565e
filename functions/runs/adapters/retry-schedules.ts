/** Retries as one-time EventBridge Scheduler schedules that put "Backup Retry Due" on the default bus. */
import { createHash } from 'node:crypto';
import { ConflictException, CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../contracts/events.ts';
import type { RetryScheduler } from '../retry.ts';

export interface RetrySchedulesOptions {
  /** The default bus (arn:aws:events:<region>:<account>:event-bus/default). */
  readonly eventBusArn: string;
  /** The role Scheduler assumes to put the event. */
  readonly roleArn: string;
  /** Schedules are named `<prefix>-<run id>-<hash of the target>`; the recorder may create only these. */
  readonly namePrefix: string;
  readonly client?: SchedulerClient;
}

export function retrySchedules(options: RetrySchedulesOptions): RetryScheduler {
  const client = options.client ?? new SchedulerClient({});
  return {
    async scheduleRetry(request, at) {
      // One name per retried run: a repeated request (a duplicate event) conflicts instead of retrying twice.
      const name = `${options.namePrefix}-${request.retryOf}-${createHash('sha256').update(request.target).digest('hex').slice(0, 8)}`;
      try {
        await client.send(
          new CreateScheduleCommand({
            Name: name,
            ScheduleExpression: `at(${at.toISOString().slice(0, 19)})`,
            ScheduleExpressionTimezone: 'UTC',
            FlexibleTimeWindow: { Mode: 'OFF' },
            ActionAfterCompletion: 'DELETE',
            Description: `Safekeep: retry ${request.target} (attempt ${request.attempt}, retrying run ${request.retryOf})`,
            Target: {
              Arn: options.eventBusArn,
              RoleArn: options.roleArn,
              Input: JSON.stringify(request),
              EventBridgeParameters: { DetailType: DETAIL_TYPE.retryDue, Source: EVENT_SOURCE },
              RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
            },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConflictException)) throw error;
      }
    },
  };
}
