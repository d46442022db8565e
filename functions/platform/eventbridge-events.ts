/** Safekeep's events on the account's default EventBridge bus (PutEvents). */
import {
  type DetailType,
  EVENT_SOURCE,
  type EventPublisher,
  type LateEventDetail,
  type RunEventDetail,
} from '../contracts/events.ts';
import type { Logger } from '../contracts/telemetry.ts';
import { awsJsonRequest } from './aws-json-request.ts';

interface PutEventsResponse {
  readonly FailedEntryCount?: number;
  readonly Entries?: { readonly ErrorCode?: string; readonly ErrorMessage?: string }[];
}

/**
 * Publishes to the default bus. A failure to publish is logged, not thrown: the run is settled and counted
 * already (metrics and alarms do not depend on events), and throwing would only retry into "already settled".
 */
export function eventBridgePublisher(log: Pick<Logger, 'warn'>, env: NodeJS.ProcessEnv = process.env): EventPublisher {
  return {
    async publish(detailType: DetailType, detail: RunEventDetail | LateEventDetail) {
      try {
        const answer = await awsJsonRequest<PutEventsResponse>(
          {
            service: 'events',
            endpointVariable: 'EVENTBRIDGE',
            method: 'POST',
            path: '/',
            contentType: 'application/x-amz-json-1.1',
            headers: { 'x-amz-target': 'AWSEvents.PutEvents' },
            body: { Entries: [{ Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail) }] },
          },
          env,
        );
        if (answer.FailedEntryCount) {
          const [entry] = answer.Entries ?? [];
          log.warn('event not published', {
            detailType,
            target: detail.target,
            error: `${entry?.ErrorCode}: ${entry?.ErrorMessage}`,
          });
        }
      } catch (error) {
        log.warn('event not published', { detailType, target: detail.target, error: (error as Error).message });
      }
    },
  };
}
