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

import type { Verdict, VerdictStatus } from '../provenance/verdict.js';
import { TABLE_KEYS } from './dynamodb/keys.js';
import type { Item, ItemTable } from './item-table.js';

const INDEX = TABLE_KEYS.images.byRepository;
/** The index partition of verdict items. */
export const PROVENANCE_INDEX_KEY = '#provenance';

/** Listed failures and reasons kept in a stored verdict (a DynamoDB item holds 400 KB). */
const MAX_STORED_ENTRIES = 50;
const MAX_STORED_TEXT = 1_000;

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
    return (await this.table.queryIndex(INDEX, PROVENANCE_INDEX_KEY, { to: before })).map(fromItem);
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
    [INDEX.sortKey]: r.checkedAt,
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

/** The verdict cut to what an item can hold: the first reasons and failures, each shortened. */
export function storedVerdict(v: Verdict): Verdict {
  const text = (s: string) => (s.length > MAX_STORED_TEXT ? `${s.slice(0, MAX_STORED_TEXT)}…` : s);
  return {
    ...v,
    reasons: v.reasons.slice(0, MAX_STORED_ENTRIES).map(text),
    requirements: v.requirements.slice(0, MAX_STORED_ENTRIES).map((r) => ({
      ...r,
      requirement: text(r.requirement),
      satisfiedBy: r.satisfiedBy.slice(0, MAX_STORED_ENTRIES),
      ...(r.reason === undefined ? {} : { reason: text(r.reason) }),
    })),
    failures: v.failures
      .slice(0, MAX_STORED_ENTRIES)
      .map((f) => ({ ...f, message: text(f.message) })),
    ...(v.unread === undefined
      ? {}
      : {
          unread: v.unread
            .slice(0, MAX_STORED_ENTRIES)
            .map((u) => ({ where: text(u.where), message: text(u.message) })),
        }),
  };
}
