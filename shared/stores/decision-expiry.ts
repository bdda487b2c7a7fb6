/**
 * When a decision about findings (a suppression, a VEX document) stops applying, the findings it
 * held must re-open with a message, though nothing else changed. Expired items are invisible
 * (item-table.ts) and DynamoDB's TTL deletes them, so each decision with an expiry gets a
 * marker item, written and deleted with it, that outlives it by MARKER_GRACE_DAYS: the markers
 * are listed by expiry time through the findings table's `byAdvisory` index, in a partition no
 * advisory id can be (`#expiring`), the way `#provenance` is in the images table; the sweep
 * (pipeline/decisions.ts) reads those between its last pass and now. docs/data-model.md.
 */
import { TABLE_KEYS } from './dynamodb/keys.js';
import type { Item, ItemKey, ItemTable, Write } from './item-table.js';

const INDEX = TABLE_KEYS.findings.byAdvisory;
export const EXPIRING_PARTITION = '#expiring';
/** How long a marker outlives its decision: the sweeps of a week of outage still see it. */
export const MARKER_GRACE_DAYS = 7;

/** What a decision covers: findings with these ids, in one package or any (`*`). */
export interface Decision {
  readonly kind: 'suppression' | 'vex';
  readonly scope: string;
  readonly vulnerabilityIds: readonly string[];
  readonly packageKey: string;
}

export interface ExpiringDecision extends Decision {
  /** Epoch seconds. */
  readonly expiresAt: number;
}

function markerKey(kind: Decision['kind'], scope: string, id: string): ItemKey {
  return { pk: `EXPIRY#${kind}#${scope}`, sk: id };
}

/** The marker to write with a decision that expires; none for one that does not. */
export function expiryMarkerWrites(
  decision: Decision,
  id: string,
  expiresAt: number | undefined,
): Write[] {
  const key = markerKey(decision.kind, decision.scope, id);
  if (expiresAt === undefined) return [{ delete: key }];
  const put: Item = {
    ...key,
    ...decision,
    decisionExpiresAt: expiresAt,
    [INDEX.partitionKey]: EXPIRING_PARTITION,
    // ISO time first, so the index sorts markers by expiry; the key after it keeps them unique.
    [INDEX.sortKey]: `${new Date(expiresAt * 1000).toISOString()}#${key.pk}#${key.sk}`,
    [TABLE_KEYS.ttl]: expiresAt + MARKER_GRACE_DAYS * 86_400,
  };
  return [{ put }];
}

/** The write that removes a decision's marker (with the decision itself). */
export function expiryMarkerDelete(kind: Decision['kind'], scope: string, id: string): Write {
  return { delete: markerKey(kind, scope, id) };
}

/** Decisions whose expiry is in (`after`, `until`], epoch seconds. */
export async function decisionsExpiring(
  table: ItemTable,
  after: number,
  until: number,
): Promise<ExpiringDecision[]> {
  const items = await table.queryIndex(INDEX, EXPIRING_PARTITION, {
    from: new Date(after * 1000).toISOString(),
    to: `${new Date(until * 1000).toISOString()}#~`,
  });
  return items
    .filter((i) => (i.decisionExpiresAt as number) > after)
    .map((i) => ({
      kind: i.kind as Decision['kind'],
      scope: i.scope as string,
      vulnerabilityIds: i.vulnerabilityIds as string[],
      packageKey: i.packageKey as string,
      expiresAt: i.decisionExpiresAt as number,
    }));
}

const CHECKPOINT: ItemKey = { pk: 'SWEEP#decisions', sk: 'CHECKPOINT' };

/** Where the last sweep ended (epoch seconds); undefined before the first. */
export async function sweptUntil(table: ItemTable): Promise<number | undefined> {
  const item = await table.get(CHECKPOINT);
  return item === undefined ? undefined : (item.until as number);
}

/**
 * Moves the checkpoint from `previous` to `until`; false when another sweep moved it first (then
 * this one's rescans were redundant, never missing: both covered the same interval).
 */
export async function markSwept(
  table: ItemTable,
  previous: number | undefined,
  until: number,
): Promise<boolean> {
  return table.transact([
    {
      put: { ...CHECKPOINT, until },
      condition:
        previous === undefined
          ? { kind: 'absent' }
          : { kind: 'equals', attribute: 'until', value: previous },
    },
  ]);
}
