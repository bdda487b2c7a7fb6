/**
 * The webhook's record of registry event ids, in the findings table beside the notification
 * dedupe items (`NOTIFY#...`): one item per (registry, event id), written only if absent, with
 * the table's TTL attribute so DynamoDB removes it after the replay window
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html).
 */
import { TABLE_KEYS } from '../stores/dynamodb/keys.js';
import type { ItemTable } from '../stores/item-table.js';
import type { EventLedger } from './registry-webhook.js';

/** Partition key prefix of ledger items; the webhook's IAM policy is limited to it. */
export const WEBHOOK_EVENT_PREFIX = 'WEBHOOK#';

const key = (registry: string, eventId: string) => ({
  pk: `${WEBHOOK_EVENT_PREFIX}${registry}#${eventId}`,
  sk: 'EVENT',
});

export class ItemTableEventLedger implements EventLedger {
  constructor(private readonly table: ItemTable) {}

  claim(registry: string, eventId: string, expiresAt: number): Promise<boolean> {
    return this.table.transact([
      {
        put: { ...key(registry, eventId), [TABLE_KEYS.ttl]: expiresAt },
        condition: { kind: 'absent' },
      },
    ]);
  }

  async release(registry: string, eventId: string): Promise<void> {
    await this.table.transact([{ delete: key(registry, eventId) }]);
  }
}
