/**
 * The item-table port: the few operations the image, inventory and findings stores need of a
 * table with a `pk`/`sk` primary key, one global secondary index and a TTL attribute (the shape
 * of docs/data-model.md). Two adapters: DynamoDB (dynamodb/item-table.ts) and embedded
 * (embedded/item-table.ts). The stores are written once, over this port; their contract tests
 * run on both adapters.
 *
 * Items whose `expiresAt` (epoch seconds) has passed are never returned: DynamoDB deletes
 * expired items only within days.
 */
import { BosunError } from '../errors.js';

export interface Item {
  readonly pk: string;
  readonly sk: string;
  readonly [attribute: string]: unknown;
}

export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

export interface IndexDef {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

/**
 * `absent`: no item has this key; `missing`: the item, if any, lacks the attribute; `equals`:
 * the stored item's attribute equals the value.
 */
export type Condition =
  | { readonly kind: 'absent' }
  | { readonly kind: 'missing'; readonly attribute: string }
  | { readonly kind: 'equals'; readonly attribute: string; readonly value: string | number };

export type Write =
  | { readonly put: Item; readonly condition?: Condition }
  | { readonly delete: ItemKey; readonly condition?: Condition };

export interface RangeOptions {
  /** Sort keys starting with this. */
  readonly prefix?: string;
  /** Inclusive bounds on the sort key. */
  readonly from?: string;
  readonly to?: string;
}

/** A transaction larger than a table can apply at once. */
export class TransactionTooLargeError extends BosunError {
  readonly fatal = true;
}

export const MAX_TRANSACTION_WRITES = 100;

export interface ItemTable {
  get(key: ItemKey): Promise<Item | undefined>;
  /** Items of one partition, by sort key. */
  query(pk: string, range?: RangeOptions): Promise<Item[]>;
  /** Items whose index partition attribute is `value`, by the index sort key. */
  queryIndex(index: IndexDef, value: string, range?: RangeOptions): Promise<Item[]>;
  /**
   * All of the writes or none; false when a condition did not hold (nothing written). Conflicts
   * with concurrent transactions are retried inside, never reported as a failed condition.
   */
  transact(writes: readonly Write[]): Promise<boolean>;
  /** Many unconditional writes, each applied once, in no guaranteed order. */
  batch(writes: readonly Write[]): Promise<void>;
}

export function expired(item: Item, nowSeconds = Date.now() / 1000): boolean {
  return typeof item.expiresAt === 'number' && item.expiresAt <= nowSeconds;
}
