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
 * The conditional GET and the record entries are those of every whole-file feed (whole-file.ts).
 */
import type { ImportIssue } from '../../advisories/importers/decode.js';
import {
  decodeSecdbJson,
  type SecdbDistro,
  secdbJsonRecords,
} from '../../advisories/importers/secdb-json.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { type FeedFetch, FeedFormatError, type FeedSource, type ParsedEntry } from '../types.js';
import {
  fetchWholeFile,
  modifiedOf,
  parseRecordEntry,
  type RecordEntry,
  type RecordReader,
  recordFeed,
} from '../whole-file.js';

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

// Still named here for the callers that import it from this module (feeds/registry.ts).
export type { RecordReader } from '../whole-file.js';

export interface SecdbOptions {
  /** The advisory store the source is synced into (see keepModified). */
  readonly store: RecordReader;
  /** The secdb to read (SECDB_URLS by default). */
  readonly url?: string;
  readonly timeoutMs?: number;
  /** Largest file accepted (64 MiB by default). */
  readonly maxBytes?: number;
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
    const got = await fetchWholeFile(this.url, 'secdb', previous, {
      maxBytes: this.opts.maxBytes ?? MAX_SECDB_BYTES,
      timeoutMs: this.opts.timeoutMs,
      signal,
    });
    if (got.kind === 'unchanged') return got;
    const issues: ImportIssue[] = [];
    const doc = decodeSecdbJson(got.body.toString('utf8'), this.url, issues);
    // A file that cannot be read at all fails the sync: what is stored stays as it is.
    if (doc === undefined)
      throw new FeedFormatError(issues[0]?.message ?? `${this.url}: not a secdb JSON file`);
    const records = secdbJsonRecords(doc, this.url, issues, this.distro, modifiedOf(got.version));
    return recordFeed(got.fingerprint, records, issues);
  }

  parse(entry: RecordEntry): Promise<ParsedEntry> {
    return parseRecordEntry(entry, this.opts.store);
  }
}
