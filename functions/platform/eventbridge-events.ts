/** Safekeep's events on the account's default EventBridge bus (PutEvents). */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  type DetailType,
  EVENT_SOURCE,
  type EventPublisher,
  type LateEventDetail,
  type RunEventDetail,
} from '../contracts/events.ts';
import type { Logger } from '../contracts/telemetry.ts';

/**
 * Publishes to the default bus. A failure to publish is logged, not thrown: the run is settled and counted
 * already (metrics and alarms do not depend on events), and throwing would only retry into "already settled".
 */
export function eventBridgePublisher(log: Pick<Logger, 'warn'>, client = new EventBridgeClient({})): EventPublisher {
  return {
    async publish(detailType: DetailType, detail: RunEventDetail | LateEventDetail) {
      try {
        const answer = await client.send(
          new PutEventsCommand({
            Entries: [{ Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail) }],
          }),
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
