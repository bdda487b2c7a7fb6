/**
 * The feed seam. A source `fetch`es (answering `unchanged` when its fingerprint has not moved
 * since the last completed sync) and yields raw entries in a stable order; `parse` turns one
 * entry into normalized OSV records and recoverable issues. The sync (sync.ts) does the rest:
 * hashing, writing what changed, checkpoints, changed package keys.
 */

import type { CveFact } from '../advisories/cve-facts.js';
import type { ImportIssue } from '../advisories/importers/decode.js';
import type { OsvRecord } from '../advisories/osv.js';
import { BosunError } from '../errors.js';
import type { AdvisoryStore, FeedCheckpoint } from '../stores/advisory-store.js';

/** One unit of a feed: a file, a zip entry, or one record fetched by id. */
export interface FeedEntry {
  readonly name: string;
  read(): Promise<Buffer>;
}

export interface ChangedFeed {
  readonly kind: 'changed';
  /** Identifies this content: a resumed sync continues only if the fingerprint is the same. */
  readonly fingerprint: string;
  /** `full`: the whole feed; `incremental`: only records modified since the checkpoint. */
  readonly mode: 'full' | 'incremental';
  /** The checkpoint's watermark once this sync completes (incremental sources). */
  readonly watermark?: string;
  entries(): AsyncIterable<FeedEntry>;
  /**
   * Writes what this content holds besides advisories (Red Hat's repository-to-CPE mapping).
   * The sync calls it once every entry is written and before the checkpoint records the
   * content as complete, so a sync stopped before it ends, or during it, writes it again.
   */
  storeData?(store: AdvisoryStore): Promise<void>;
  /** Releases what the fetch holds (temporary files). */
  close(): Promise<void>;
}

export type FeedFetch = { readonly kind: 'unchanged'; readonly fingerprint: string } | ChangedFeed;

/** A whole feed already in hand (a folder's files, a parsed updateinfo): nothing to release. */
/** A feed read whole; `entries` is iterated once per read (an array, or entries made as read). */
export function wholeFeed(fingerprint: string, entries: Iterable<FeedEntry>): ChangedFeed {
  return {
    kind: 'changed',
    fingerprint,
    mode: 'full',
    async *entries() {
      yield* entries;
    },
    close: async () => {},
  };
}

export interface ParsedEntry {
  readonly records: OsvRecord[];
  readonly issues: ImportIssue[];
  /**
   * What the entry says of CVEs rather than packages (NVD ratings, KEV, EPSS): the sync writes
   * the facts whose content changed and, for those that can change findings, tells the rescan
   * queue about every package an advisory of that CVE names.
   */
  readonly facts?: readonly CveFact[];
}

export interface FeedSource {
  /** Stable name of this source: the checkpoint key. */
  readonly id: string;
  /**
   * Entries per batch (one checkpoint each) when an entry is large: an NVD page holds 2,000
   * CVEs, a facts entry 500. @default 200
   */
  readonly batchSize?: number;
  fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch>;
  parse(entry: FeedEntry): Promise<ParsedEntry>;
}

/** The feed could not be fetched (HTTP status, timeout, connection). Retry later. */
export class FeedFetchError extends BosunError {
  readonly fatal = true;
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${url}: ${message}`, options);
  }
}

/** The feed's container is malformed (a zip, an index CSV, an export file). */
export class FeedFormatError extends BosunError {
  readonly fatal = true;
}

/** Zip problems of a feed (all.zip, a local zip) are feed format errors. */
export const feedZipError = (message: string, cause?: unknown): Error =>
  new FeedFormatError(message, { cause });
