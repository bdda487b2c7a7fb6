/**
 * Provenance verdicts (issue 19), in the images table beside the image record: one item per
 * digest and repository it was pushed to (the policy's rule depends on the repository), at
 * `DIGEST#<digest>` / `PROVENANCE#<registry>/<repository>` (docs/data-model.md).
 *
 * The item is also the verdict's cache: it holds the policy and trust versions it was decided
 * under and when, and is reused while both versions are current and it is younger than the
 * re-verification interval (positive and negative verdicts alike). The table's one index lists
 * the items by when they were checked (`repoKey` = `#provenance`, which no `host/name`
 * repository can be, sorted by `pushedAt` = `checkedAt`): the daily pass reads the oldest first.
 */

import { BosunError } from '../errors.js';
import type { Verdict, VerdictStatus } from '../provenance/verdict.js';
import { TABLE_KEYS } from './dynamodb/keys.js';
import type { Item, ItemTable } from './item-table.js';

const INDEX = TABLE_KEYS.images.byRepository;
/** The index partition of verdict items. */
export const PROVENANCE_INDEX_KEY = '#provenance';

/** Listed failures and reasons kept in a stored verdict (a DynamoDB item holds 400 KB). */
const MAX_STORED_ENTRIES = 50;
const MAX_STORED_TEXT = 1_000;
/**
 * The verdict attribute's share of the 400 KB item limit (names and UTF-8 values count:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html#ItemSizeCalculations);
 * the rest of the item is keys, versions and the pending announcement, a few hundred bytes.
 */
export const MAX_STORED_VERDICT_BYTES = 300 * 1024;

/** A time a verdict store was given that is not an instant. */
export class InvalidInstantError extends BosunError {
  readonly fatal = true;
}

/**
 * The instant in one form (`toISOString`, always milliseconds and `Z`): the index sorts its
 * sort key as a string, and `…T00:00:00.500Z` sorts before `…T00:00:00Z`
 * (shared/instants.ts: times are compared as instants, never as strings).
 */
function canonicalInstant(time: string, what: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms))
    throw new InvalidInstantError(`${what} ${JSON.stringify(time)} is not an instant`);
  return new Date(ms).toISOString();
}

export interface ProvenanceRecord {
  readonly digest: string;
  /** `<registry host>/<repository>` */
  readonly repository: string;
  readonly status: VerdictStatus;
  readonly policyVersion: string;
  readonly trustVersion: string;
  readonly checkedAt: string;
  readonly verdict: Verdict;
  /** The status last announced for this digest and repository; absent before the first. */
  readonly announcedStatus?: VerdictStatus;
  /**
   * An announcement decided but not yet sent (a stop between the write and the publish is
   * finished by the next run on the digest): the event type and why.
   */
  readonly pending?: {
    readonly eventType: 'PROVENANCE_VERIFIED' | 'PROVENANCE_FAILED' | 'PROVENANCE_UNSIGNED';
    readonly trigger: string;
    readonly reason?: string;
    readonly tagMove?: { tag: string; previousDigest: string };
  };
}

const key = (digest: string, repository: string) => ({
  pk: `DIGEST#${digest}`,
  sk: `PROVENANCE#${repository}`,
});

export class ProvenanceStore {
  constructor(private readonly table: ItemTable) {}

  async get(digest: string, repository: string): Promise<ProvenanceRecord | undefined> {
    const item = await this.table.get(key(digest, repository));
    return item === undefined ? undefined : fromItem(item);
  }

  /** Every verdict on a digest, one per repository. */
  async ofDigest(digest: string): Promise<ProvenanceRecord[]> {
    return (await this.table.query(`DIGEST#${digest}`, { prefix: 'PROVENANCE#' })).map(fromItem);
  }

  /** Verdicts checked at or before `before` (ISO instant), oldest first. */
  async checkedBefore(before: string): Promise<ProvenanceRecord[]> {
    const to = canonicalInstant(before, 'bound');
    return (await this.table.queryIndex(INDEX, PROVENANCE_INDEX_KEY, { to })).map(fromItem);
  }

  /** Writes the record (the caller holds the digest's lease: last writer wins). */
  async put(record: ProvenanceRecord): Promise<void> {
    await this.table.transact([{ put: toItem(record) }]);
  }

  async delete(digest: string, repository: string): Promise<void> {
    await this.table.transact([{ delete: key(digest, repository) }]);
  }
}

function toItem(r: ProvenanceRecord): Item {
  return {
    ...key(r.digest, r.repository),
    digest: r.digest,
    repository: r.repository,
    status: r.status,
    policyVersion: r.policyVersion,
    trustVersion: r.trustVersion,
    checkedAt: r.checkedAt,
    verdict: JSON.stringify(storedVerdict(r.verdict)),
    ...(r.announcedStatus === undefined ? {} : { announcedStatus: r.announcedStatus }),
    ...(r.pending === undefined ? {} : { pending: JSON.stringify(r.pending) }),
    [INDEX.partitionKey]: PROVENANCE_INDEX_KEY,
    [INDEX.sortKey]: canonicalInstant(r.checkedAt, 'checkedAt'),
  };
}

function fromItem(item: Item): ProvenanceRecord {
  return {
    digest: item.digest as string,
    repository: item.repository as string,
    status: item.status as VerdictStatus,
    policyVersion: item.policyVersion as string,
    trustVersion: item.trustVersion as string,
    checkedAt: item.checkedAt as string,
    verdict: JSON.parse(item.verdict as string) as Verdict,
    ...(item.announcedStatus === undefined
      ? {}
      : { announcedStatus: item.announcedStatus as VerdictStatus }),
    ...(item.pending === undefined
      ? {}
      : { pending: JSON.parse(item.pending as string) as ProvenanceRecord['pending'] }),
  };
}

/**
 * The verdict cut to what an item can hold: the first reasons and failures, each shortened.
 * Fifty entries of 1,000 characters are not a size: JSON spells a control character in 6
 * bytes and UTF-8 a CJK character in 3, and a failure's message can quote what a hostile
 * registry or certificate says. So the cut is halved (entries and characters) until the JSON
 * is under MAX_STORED_VERDICT_BYTES; the first entries, the most telling, are the ones kept.
 */
export function storedVerdict(v: Verdict): Verdict {
  let entries = MAX_STORED_ENTRIES;
  let chars = MAX_STORED_TEXT;
  for (;;) {
    const cut = cutVerdict(v, entries, chars);
    // At one entry of 16 characters, what is left is the verdict's own names (digest, rule).
    if (Buffer.byteLength(JSON.stringify(cut)) <= MAX_STORED_VERDICT_BYTES || chars <= 16)
      return cut;
    entries = Math.ceil(entries / 2);
    chars = Math.ceil(chars / 2);
  }
}

function cutVerdict(v: Verdict, entries: number, chars: number): Verdict {
  const text = (s: string) => {
    if (s.length <= chars) return s;
    // Never half of a surrogate pair.
    const end = /[\uD800-\uDBFF]/.test(s.charAt(chars - 1)) ? chars - 1 : chars;
    return `${s.slice(0, end)}…`;
  };
  return {
    ...v,
    reasons: v.reasons.slice(0, entries).map(text),
    requirements: v.requirements.slice(0, entries).map((r) => ({
      ...r,
      requirement: text(r.requirement),
      satisfiedBy: r.satisfiedBy.slice(0, entries).map((s) => ({
        source: text(s.source),
        authority: text(s.authority),
        trustRoot: text(s.trustRoot),
      })),
      ...(r.reason === undefined ? {} : { reason: text(r.reason) }),
    })),
    failures: v.failures.slice(0, entries).map((f) => ({
      ...f,
      source: text(f.source),
      authority: text(f.authority),
      message: text(f.message),
    })),
    ...(v.unread === undefined
      ? {}
      : {
          unread: v.unread
            .slice(0, entries)
            .map((u) => ({ where: text(u.where), message: text(u.message) })),
        }),
  };
}
