/**
 * Wolfi's and Chainguard's secdb JSON (advisories/importers/secdb-json.ts), one source each:
 * `secdb:wolfi` (https://packages.wolfi.dev/os/security.json) and `secdb:chainguard`
 * (https://packages.cgr.dev/chainguard/security.json). Each is one file, fetched with a
 * conditional GET (RFC 9110 §13.1: If-None-Match with the ETag, If-Modified-Since with the
 * Last-Modified of the last completed sync): a 304 is `unchanged` without a download. Otherwise
 * the file is read whole and each record is one entry, so that the sync writes only the records
 * whose content changed, batch by batch, with its usual checkpoints.
 *
 * The file has no date per record. A record is dated by the file's Last-Modified the first time
 * its content is seen; after that it keeps the date it is stored with for as long as nothing
 * else in it changes (`keepModified`). Dating every record by the file would make each
 * publication rewrite every record and rescan every image with a package of the distribution.
 *
 * The HTTP and record-entry helpers here are shared with the Photon source (photon.ts).
 */
import { createHash } from 'node:crypto';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import {
  decodeSecdbJson,
  type SecdbDistro,
  secdbJsonRecords,
  UNKNOWN_MODIFIED,
} from '../../advisories/importers/secdb-json.js';
import type { OsvRecord } from '../../advisories/osv.js';
import {
  type AdvisoryStore,
  contentHash,
  type FeedCheckpoint,
} from '../../stores/advisory-store.js';
import type { HttpOptions } from '../http.js';
import {
  type FeedEntry,
  type FeedFetch,
  FeedFetchError,
  FeedFormatError,
  type FeedSource,
  type ParsedEntry,
  wholeFeed,
} from '../types.js';

/** Where each distribution publishes its secdb. */
export const SECDB_URLS = {
  wolfi: 'https://packages.wolfi.dev/os/security.json',
  chainguard: 'https://packages.cgr.dev/chainguard/security.json',
} as const;

const DISTROS: Record<keyof typeof SECDB_URLS, SecdbDistro> = {
  wolfi: 'Wolfi',
  chainguard: 'Chainguard',
};

/** Wolfi's secdb is a few MB; far more is not a secdb. */
const MAX_SECDB_BYTES = 64 * 1024 * 1024;

/** The stored record of an id: what keeps a record's date while its content does not move. */
export type RecordReader = Pick<AdvisoryStore, 'get'>;

export interface SecdbOptions {
  /** The advisory store the source is synced into (see keepModified). */
  readonly store: RecordReader;
  /** The secdb to read (SECDB_URLS by default). */
  readonly url?: string;
  readonly timeoutMs?: number;
  /** Largest file accepted (64 MiB by default). */
  readonly maxBytes?: number;
}

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
 * A GET that, given what the last sync saw of the file, asks only for a newer one
 * (https://www.rfc-editor.org/rfc/rfc9110#section-13.1). The body is refused past `maxBytes`
 * as it arrives; statuses other than 2xx and 304 are FeedFetchErrors naming the URL.
 */
export async function conditionalGet(
  url: string,
  known: FileVersion | undefined,
  opts: HttpOptions = {},
): Promise<ConditionalResult> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal]);
  const headers: Record<string, string> = {};
  if (known?.etag !== undefined) headers['if-none-match'] = known.etag;
  if (known?.lastModified !== undefined) headers['if-modified-since'] = known.lastModified;
  let response: Response;
  try {
    response = await fetch(url, { signal, headers });
  } catch (error) {
    const e = error as Error & { cause?: Error };
    throw new FeedFetchError(url, timeout.aborted ? 'timed out' : (e.cause?.message ?? e.message), {
      cause: error,
    });
  }
  if (response.status === 304 && Object.keys(headers).length > 0) {
    await response.body?.cancel();
    return { kind: 'not-modified' };
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new FeedFetchError(url, `HTTP ${response.status} ${response.statusText}`.trim());
  }
  const body = await boundedBody(url, response, opts.maxBytes ?? Number.POSITIVE_INFINITY);
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  return {
    kind: 'body',
    body,
    version: {
      ...(etag === undefined ? {} : { etag }),
      ...(lastModified === undefined ? {} : { lastModified }),
      sha256: createHash('sha256').update(body).digest('hex'),
    },
  };
}

async function boundedBody(url: string, response: Response, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > max) break;
      chunks.push(Buffer.from(chunk));
    }
  } catch (error) {
    throw new FeedFetchError(url, `body: ${(error as Error).message}`, { cause: error });
  }
  if (size > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new FeedFetchError(url, `body over ${max} bytes`);
  }
  return Buffer.concat(chunks);
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

/** One record of a feed read whole, or one problem it had. */
export interface RecordEntry extends FeedEntry {
  readonly record?: OsvRecord;
  readonly issue?: ImportIssue;
}

/** The issues first, then the records by id: a stable order for a resumed sync. */
export function recordEntries(records: readonly OsvRecord[], issues: readonly ImportIssue[]) {
  const none = async () => Buffer.alloc(0);
  return [
    ...issues.map((issue, i): RecordEntry => ({ name: `issue-${i}`, read: none, issue })),
    ...[...records]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((record): RecordEntry => ({ name: record.id, read: none, record })),
  ];
}

/**
 * The record with the `modified` it is stored with when nothing else in it changed: the file's
 * date says when the file last changed, not this record, so a record keeps the date of the
 * first file its content was read from.
 */
export async function keepModified(record: OsvRecord, store: RecordReader): Promise<OsvRecord> {
  const stored = (await store.get(record.id))?.record;
  if (stored === undefined || stored.modified === record.modified) return record;
  const same = { ...record, modified: stored.modified };
  return contentHash(same) === contentHash(stored) ? same : record;
}

export async function parseRecordEntry(
  entry: RecordEntry,
  store: RecordReader,
): Promise<ParsedEntry> {
  return {
    records: entry.record === undefined ? [] : [await keepModified(entry.record, store)],
    issues: entry.issue === undefined ? [] : [entry.issue],
  };
}

export class SecdbSource implements FeedSource {
  readonly id: string;
  readonly distro: SecdbDistro;
  private readonly url: string;

  constructor(
    name: string,
    private readonly opts: SecdbOptions,
  ) {
    if (!Object.hasOwn(SECDB_URLS, name))
      throw new FeedFormatError(
        `no secdb for ${JSON.stringify(name)}; known: ${Object.keys(SECDB_URLS).join(', ')}`,
      );
    const known = name as keyof typeof SECDB_URLS;
    this.id = `secdb:${known}`;
    this.distro = DISTROS[known];
    this.url = opts.url ?? SECDB_URLS[known];
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    // A resumed sync needs the file itself, whatever the last completed one saw.
    const known =
      previous?.cursor === undefined
        ? fileVersion(versionsIn('secdb', previous?.fingerprint))
        : undefined;
    const got = await conditionalGet(this.url, known, {
      maxBytes: this.opts.maxBytes ?? MAX_SECDB_BYTES,
      ...(this.opts.timeoutMs === undefined ? {} : { timeoutMs: this.opts.timeoutMs }),
      ...(signal === undefined ? {} : { signal }),
    });
    // Only asked with what `previous` carries: its fingerprint is the file's.
    if (got.kind === 'not-modified')
      return { kind: 'unchanged', fingerprint: previous?.fingerprint as string };
    const fingerprint = fingerprintOf('secdb', got.version);
    // A server without validators sends the file again: the same bytes are no change either.
    if (previous?.fingerprint === fingerprint && previous.cursor === undefined)
      return { kind: 'unchanged', fingerprint };
    const issues: ImportIssue[] = [];
    const doc = decodeSecdbJson(got.body.toString('utf8'), this.url, issues);
    // A file that cannot be read at all fails the sync: what is stored stays as it is.
    if (doc === undefined)
      throw new FeedFormatError(issues[0]?.message ?? `${this.url}: not a secdb JSON file`);
    const records = secdbJsonRecords(doc, this.url, issues, this.distro, modifiedOf(got.version));
    return wholeFeed(fingerprint, recordEntries(records, issues));
  }

  parse(entry: RecordEntry): Promise<ParsedEntry> {
    return parseRecordEntry(entry, this.opts.store);
  }
}
