/**
 * Feeds published as whole files (secdb, Photon, OVAL, Red Hat's repository-to-CPE mapping):
 * one conditional GET, the fingerprint that carries what it asks with next time, and the entries
 * of a file read whole, one record each (ALAS's updateinfo too).
 *
 * A file is asked for with the ETag and Last-Modified of the last completed sync
 * (If-None-Match, If-Modified-Since; https://www.rfc-editor.org/rfc/rfc9110#section-13.1): a
 * 304 is `unchanged` without a download, and so is a body whose sha256 is the last one, for
 * servers that send no validators or ignore them.
 */
import { createHash } from 'node:crypto';
import type { ImportIssue } from '../advisories/importers/decode.js';
import { UNKNOWN_MODIFIED } from '../advisories/importers/secdb-json.js';
import type { OsvRecord } from '../advisories/osv.js';
import { type AdvisoryStore, contentHash, type FeedCheckpoint } from '../stores/advisory-store.js';
import { type HttpOptions, httpGet } from './http.js';
import {
  type ChangedFeed,
  type FeedEntry,
  FeedFetchError,
  type ParsedEntry,
  wholeFeed,
} from './types.js';

/** What identifies one version of a file: its validators and the digest of its body. */
export interface FileVersion {
  readonly etag?: string;
  readonly lastModified?: string;
  readonly sha256?: string;
}

export type ConditionalResult =
  | { readonly kind: 'not-modified' }
  | { readonly kind: 'body'; readonly body: Buffer; readonly version: FileVersion };

/**
 * A GET that, given what the last sync saw of the file, asks only for a newer one; without
 * `known`, a plain GET. The body is refused past `maxBytes` as it arrives; statuses other than
 * 2xx and 304 are FeedFetchErrors naming the URL.
 */
export async function conditionalGet(
  url: string,
  known: FileVersion | undefined,
  opts: HttpOptions = {},
): Promise<ConditionalResult> {
  const headers: Record<string, string> = {};
  if (known?.etag !== undefined) headers['if-none-match'] = known.etag;
  if (known?.lastModified !== undefined) headers['if-modified-since'] = known.lastModified;
  const got = await httpGet(url, headers, opts);
  if (got.status === 304) return { kind: 'not-modified' };
  const etag = got.headers.get('etag') ?? undefined;
  const lastModified = got.headers.get('last-modified') ?? undefined;
  return {
    kind: 'body',
    body: got.body,
    version: {
      ...(etag === undefined ? {} : { etag }),
      ...(lastModified === undefined ? {} : { lastModified }),
      sha256: createHash('sha256').update(got.body).digest('hex'),
    },
  };
}

/** The file with the version it was served as (a plain GET). */
export async function getFile(
  url: string,
  opts: HttpOptions = {},
): Promise<{ readonly body: Buffer; readonly version: FileVersion }> {
  const got = await conditionalGet(url, undefined, opts);
  // Not expected: http.ts refuses a 304 to a request that was not conditional.
  if (got.kind !== 'body') throw new FeedFetchError(url, 'answered 304 to a plain GET');
  return got;
}

/** A file's Last-Modified (an HTTP date) as an RFC 3339 instant; "unknown" without one. */
export function modifiedOf(version: FileVersion): string {
  const time = version.lastModified === undefined ? Number.NaN : Date.parse(version.lastModified);
  return Number.isNaN(time) ? UNKNOWN_MODIFIED : new Date(time).toISOString().replace('.000Z', 'Z');
}

/** A fingerprint that carries the file versions a later sync asks with. */
export function fingerprintOf(kind: string, versions: unknown): string {
  return `${kind}:${JSON.stringify(versions)}`;
}

/** The versions a fingerprint of `fingerprintOf(kind, …)` carries; undefined for any other. */
export function versionsIn(kind: string, fingerprint: string | undefined): unknown {
  if (fingerprint === undefined || !fingerprint.startsWith(`${kind}:`)) return undefined;
  try {
    return JSON.parse(fingerprint.slice(kind.length + 1)) as unknown;
  } catch {
    return undefined;
  }
}

/** A FileVersion read back from a fingerprint: only its text fields, or undefined. */
export function fileVersion(value: unknown): FileVersion | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const text = (k: string) => (typeof v[k] === 'string' ? { [k]: v[k] as string } : {});
  const out: FileVersion = { ...text('etag'), ...text('lastModified'), ...text('sha256') };
  return Object.keys(out).length === 0 ? undefined : out;
}

export type WholeFileFetch =
  | { readonly kind: 'unchanged'; readonly fingerprint: string }
  | {
      readonly kind: 'changed';
      readonly fingerprint: string;
      readonly body: Buffer;
      readonly version: FileVersion;
    };

/**
 * A feed's one file, if it changed since the last completed sync. The fingerprint is
 * `fingerprintOf(kind, version)`: a checkpoint of another form (an older release of the source)
 * only costs one plain download, after which the sync writes only what changed.
 */
export async function fetchWholeFile(
  url: string,
  kind: string,
  previous: FeedCheckpoint | undefined,
  opts: HttpOptions = {},
): Promise<WholeFileFetch> {
  // A resumed sync needs the file itself, whatever the last completed one saw.
  const known =
    previous?.cursor === undefined
      ? fileVersion(versionsIn(kind, previous?.fingerprint))
      : undefined;
  const got = await conditionalGet(url, known, opts);
  // Only asked with what `previous` carries: its fingerprint is the file's.
  if (got.kind === 'not-modified')
    return { kind: 'unchanged', fingerprint: previous?.fingerprint as string };
  const fingerprint = fingerprintOf(kind, got.version);
  // A server without validators sends the file again: the same bytes are no change either.
  if (known?.sha256 === got.version.sha256) return { kind: 'unchanged', fingerprint };
  return { kind: 'changed', fingerprint, body: got.body, version: got.version };
}

/** The stored record of an id: what keeps a record's date while its content does not move. */
export type RecordReader = Pick<AdvisoryStore, 'get'>;

/** One record of a feed read whole, or one problem it had. */
export interface RecordEntry extends FeedEntry {
  readonly record?: OsvRecord;
  readonly issue?: ImportIssue;
}

/** The issues first, then the records by id: a stable order for a resumed sync. */
export function recordEntries(
  records: readonly OsvRecord[],
  issues: readonly ImportIssue[],
): RecordEntry[] {
  const none = async () => Buffer.alloc(0);
  return [
    ...issues.map((issue, i): RecordEntry => ({ name: `issue-${i}`, read: none, issue })),
    ...[...records]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((record): RecordEntry => ({ name: record.id, read: none, record })),
  ];
}

/** A file read whole as a changed feed: its records and issues, one entry each. */
export function recordFeed(
  fingerprint: string,
  records: readonly OsvRecord[],
  issues: readonly ImportIssue[],
): ChangedFeed {
  return wholeFeed(fingerprint, recordEntries(records, issues));
}

/**
 * The record with the `modified` it is stored with when nothing else in it changed. For files
 * that date a record by the file (its Last-Modified, an OVAL generator timestamp): that date
 * says when the file last changed, not this record, so a record keeps the date of the first file
 * its content was read from. Otherwise every publication would rewrite every such record and
 * rescan every image with one of its packages.
 */
export async function keepModified(record: OsvRecord, store: RecordReader): Promise<OsvRecord> {
  const stored = (await store.get(record.id))?.record;
  if (stored === undefined || stored.modified === record.modified) return record;
  const same = { ...record, modified: stored.modified };
  return contentHash(same) === contentHash(stored) ? same : record;
}

/** A RecordEntry parsed; with `store`, its record keeps its stored date (keepModified). */
export async function parseRecordEntry(
  entry: RecordEntry,
  store?: RecordReader,
): Promise<ParsedEntry> {
  const record =
    entry.record === undefined || store === undefined
      ? entry.record
      : await keepModified(entry.record, store);
  return {
    records: record === undefined ? [] : [record],
    issues: entry.issue === undefined ? [] : [entry.issue],
  };
}
