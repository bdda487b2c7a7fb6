/**
 * What the findings topic delivered to a subscribed queue in an end-to-end test, collected as
 * it arrives: each message checked against docs/notification.schema.json.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import { receiveNotifications } from '../../scripts/local/notifications.js';
import type { Notification } from '../../shared/notifications/message.js';
import { notificationErrors } from './notification-schema.js';

export interface Delivered {
  readonly body: Notification;
  readonly attributes: Record<string, string>;
}

export class TopicCollector {
  readonly received: Delivered[] = [];
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** One long poll of the subscribed queue: what it brought, collected; how many. */
  async receiveOnce(): Promise<number> {
    const got = await receiveNotifications(this.sqs, this.queueUrl);
    for (const r of got) {
      expect(notificationErrors(r.message)).toEqual([]);
      this.received.push({ body: r.body, attributes: r.attributes });
    }
    return got.length;
  }

  /** Collects until `done` holds, or fails naming what came. */
  async waitFor(done: (all: Delivered[]) => boolean, what: string, timeoutMs = 45_000) {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.received)) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; received ${this.received.map((r) => `${r.body.eventType} ${r.body.image.digest.slice(7, 19)}`).join(', ')}`,
        );
      await this.receiveOnce();
    }
  }

  /** Collects until a poll finds the queue empty: nothing more is on its way. */
  async drain(): Promise<void> {
    while ((await this.receiveOnce()) > 0);
  }

  /** What was received of one event type (for one digest). */
  of(eventType: string, digest?: string): Delivered[] {
    return this.received.filter(
      (r) =>
        r.body.eventType === eventType && (digest === undefined || r.body.image.digest === digest),
    );
  }
}
