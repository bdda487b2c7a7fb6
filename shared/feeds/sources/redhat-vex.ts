/**
 * Red Hat's CSAF VEX feed, https://security.access.redhat.com/data/csaf/v2/vex/ (announced in
 * https://www.redhat.com/en/blog/red-hat-vex-files-cves-are-now-generally-available; the
 * documents: https://redhatproductsecurity.github.io/security-data-guidelines/csaf-vex/): one
 * document per CVE at `<year>/cve-<year>-<n>.json`, and beside them, as a CSAF provider lays
 * them out (https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0.html, 7.1.13 and 7.1.14):
 * - `changes.csv`: `"<path>","<time of its last change>"` for every document;
 * - `deletions.csv`: the same for documents Red Hat deleted;
 * - `archive_latest.txt`: the name of the newest archive of every document,
 *   `csaf_vex_YYYY-MM-DD.tar.zst` (a zstd'd tar of `<year>/cve-….json`).
 *
 * The first sync (no watermark) reads the archive: one download instead of one request for each
 * CVE Red Hat has assessed, decompressed with fzstd (pure JS: Node 20's zlib has no zstd) into
 * the documents, one entry each, written in batches by the generic sync. Documents that
 * changes.csv or deletions.csv list from the archive's day on are taken from those lists instead
 * (fetched, or withdrawn), after the archive, so that the first sync ends current. Its cost: the
 * archive's download and decompression, and its size on disk while it is read; a sync stopped
 * part-way (a deadline) downloads and decompresses it again to get back to its place, since the
 * checkpoint keeps a count, not a byte offset. A newer archive restarts it.
 *
 * Later syncs read the two lists only: nothing changed when their ETags (or Last-Modified) are
 * the ones the last unchanged sync saw (a HEAD each), or when no line is newer than the
 * watermark; otherwise every document changed after the watermark is fetched, lazily, when the
 * sync reads its entry (the sync reads a few at once), and every one deleted after it becomes a
 * withdrawn record (the sync then tells the rescans which packages it no longer names). The new
 * watermark is the newest time in the lists.
 *
 * Entries are ordered by path, not by time, so that a sync resumed after the lists moved finds
 * the documents it had done at the same places: a document that changed again keeps its path,
 * and a new one only moves those after it back (they are read again, not skipped). A new one
 * that lands before the place is listed after the watermark the resumed sync keeps, so the next
 * sync reads it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import {
  importRedHatVex,
  MAX_VEX_DOCUMENT_BYTES,
  redHatVexId,
} from '../../advisories/importers/redhat-vex.js';
import { type OsvRecord, parseOsv } from '../../advisories/osv.js';
import { openDecompressed } from '../../layers/decompress.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { httpBytes, readBody } from '../http.js';
import {
  type ChangedFeed,
  type FeedEntry,
  type FeedFetch,
  FeedFetchError,
  FeedFormatError,
  type FeedSource,
  type ParsedEntry,
} from '../types.js';

export const REDHAT_VEX_BASE_URL = 'https://security.access.redhat.com/data/csaf/v2/vex/';

export interface RedHatVexOptions {
  /** Where the feed is (REDHAT_VEX_BASE_URL by default): a mirror, or a test server. */
  readonly baseUrl?: string;
  /** Time allowed for one request: a list, a document. */
  readonly timeoutMs?: number;
  /** Time allowed for the archive's download. */
  readonly archiveTimeoutMs?: number;
  /** Where the archive is downloaded (a temporary folder by default). */
  readonly tmpDir?: string;
  /** Largest archive downloaded (compressed). */
  readonly maxArchiveBytes?: number;
  /** Largest content read out of the archive, all documents together. */
  readonly maxInflatedBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_ARCHIVE_TIMEOUT_MS = 30 * 60_000;
/** Far above any real archive; past these the download or the read stops with an error. */
const DEFAULT_MAX_ARCHIVE_BYTES = 8 * 1024 ** 3;
const DEFAULT_MAX_INFLATED_BYTES = 256 * 1024 ** 3;
const MAX_ARCHIVE_ENTRIES = 2_000_000;
/** changes.csv lists every document (about 60 bytes a line). */
const MAX_LIST_BYTES = 256 * 1024 * 1024;
/**
 * Red Hat writes the lists after the documents, to the second: a document changed in the same
 * seconds as the newest line a sync saw can be listed after it read the list. A changed sync
 * reads again what the last ten minutes before its watermark listed (unchanged ones are not
 * rewritten: their content hash is the same).
 */
const OVERLAP_MS = 10 * 60_000;

const DOCUMENT_PATH = /^(\d{4})\/cve-(\d{4}-\d{4,})\.json$/;
const ARCHIVE_NAME = /^csaf_vex_(\d{4}-\d{2}-\d{2})\.tar\.zst$/;
const LIST_LINE = /^"?([^",]+)"?\s*,\s*"?([^",]+)"?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** A line of changes.csv or deletions.csv. */
interface Listed {
  readonly path: string;
  readonly time: number;
  readonly deleted: boolean;
}

/** An entry of this source: a document (archived or to fetch), a deletion, or a problem. */
interface VexEntry extends FeedEntry {
  /** The document's bytes, or the issue that stands for it (gone, too large). */
  load?(): Promise<Buffer | ImportIssue>;
  /** The source named in issues. */
  readonly source?: string;
  readonly record?: OsvRecord;
  readonly issue?: ImportIssue;
}

const byPath = (a: Listed, b: Listed) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
const cveOf = (documentPath: string) => `CVE-${DOCUMENT_PATH.exec(documentPath)?.[2] ?? ''}`;
const message = (error: unknown) => {
  const e = error as Error & { cause?: Error };
  return e.cause?.message ?? e.message;
};

/** A request with a timeout; connection failures are FeedFetchErrors naming the URL. */
async function send(
  url: string,
  method: 'GET' | 'HEAD',
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return await fetch(url, {
      method,
      signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
    });
  } catch (error) {
    throw new FeedFetchError(url, timeout.aborted ? 'timed out' : message(error), {
      cause: error,
    });
  }
}

async function refuse(url: string, response: Response): Promise<never> {
  await response.body?.cancel().catch(() => undefined);
  throw new FeedFetchError(url, `HTTP ${response.status} ${response.statusText}`.trim());
}

/** The body, or undefined when it is over `max` bytes (read no further). */
async function bodyUpTo(url: string, response: Response, max: number): Promise<Buffer | undefined> {
  try {
    return await readBody(response, max);
  } catch (error) {
    throw new FeedFetchError(url, `body: ${message(error)}`, { cause: error });
  }
}

/** Streams the body into `file`, refused past `max` bytes as it arrives. */
async function download(
  url: string,
  file: string,
  max: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const response = await send(url, 'GET', timeoutMs, signal);
  if (!response.ok || response.body === null) await refuse(url, response);
  let size = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      callback(size > max ? new FeedFetchError(url, `body over ${max} bytes`) : null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      cap,
      createWriteStream(file),
    );
  } catch (error) {
    if (error instanceof FeedFetchError) throw error;
    throw new FeedFetchError(url, `body: ${message(error)}`, { cause: error });
  }
}

/** The lines of changes.csv or deletions.csv; a line of another shape fails the whole list. */
export function parseVexList(text: string, url: string, deleted: boolean): Listed[] {
  const out: Listed[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const m = LIST_LINE.exec(line);
    const documentPath = m?.[1]?.trim() ?? '';
    const when = m?.[2]?.trim() ?? '';
    const time = RFC3339.test(when) ? Date.parse(when) : Number.NaN;
    if (!DOCUMENT_PATH.test(documentPath) || Number.isNaN(time))
      throw new FeedFormatError(
        `${url}: line ${i + 1} is not "<year>/cve-<id>.json","<RFC 3339 time>": ${JSON.stringify(line.slice(0, 200))}`,
      );
    out.push({ path: documentPath, time, deleted });
  }
  return out;
}

/** The newest line per document: a change, or a deletion (which wins a tie: the file is gone). */
function latestPerDocument(lists: readonly Listed[][]): Listed[] {
  const latest = new Map<string, Listed>();
  for (const list of lists)
    for (const l of list) {
      const had = latest.get(l.path);
      if (had === undefined || l.time > had.time || (l.time === had.time && l.deleted))
        latest.set(l.path, l);
    }
  return [...latest.values()];
}

/** A deleted document as its record withdrawn at the time deletions.csv gives. */
function withdrawal(l: Listed, source: string): OsvRecord {
  const when = new Date(l.time).toISOString();
  const cve = cveOf(l.path);
  return parseOsv(
    {
      id: redHatVexId(cve),
      modified: when,
      withdrawn: when,
      aliases: [cve],
      details: `Red Hat deleted its VEX document ${l.path} (deletions.csv).`,
    },
    source,
  );
}

export class RedHatVexSource implements FeedSource {
  readonly id = 'redhat-vex';
  private readonly base: string;

  constructor(private readonly opts: RedHatVexOptions = {}) {
    this.base = `${(opts.baseUrl ?? REDHAT_VEX_BASE_URL).replace(/\/+$/, '')}/`;
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** ETag (or Last-Modified) of both lists, or undefined when the server gives neither. */
  private async validators(signal?: AbortSignal): Promise<string | undefined> {
    const out: string[] = [];
    for (const name of ['changes.csv', 'deletions.csv']) {
      const url = `${this.base}${name}`;
      const response = await send(url, 'HEAD', this.timeoutMs, signal);
      if (!response.ok) await refuse(url, response);
      const v = response.headers.get('etag') ?? response.headers.get('last-modified');
      if (v === null) return undefined;
      out.push(`${name}=${v}`);
    }
    return out.join(';');
  }

  private async list(name: string, deleted: boolean, signal?: AbortSignal): Promise<Listed[]> {
    const url = `${this.base}${name}`;
    const body = await httpBytes(url, {
      timeoutMs: this.timeoutMs,
      maxBytes: MAX_LIST_BYTES,
      signal,
    });
    return parseVexList(body.toString('utf8'), url, deleted);
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    const validators = await this.validators(signal);
    const watermark = previous?.watermark;
    const resuming = previous?.cursor !== undefined;
    if (
      !resuming &&
      watermark !== undefined &&
      validators !== undefined &&
      previous?.fingerprint === `lists:${validators}`
    )
      return { kind: 'unchanged', fingerprint: `lists:${validators}` };
    const listed = latestPerDocument([
      await this.list('changes.csv', false, signal),
      await this.list('deletions.csv', true, signal),
    ]);
    const newest = listed.reduce((t, l) => Math.max(t, l.time), Number.NEGATIVE_INFINITY);
    const since = watermark === undefined ? Number.NaN : Date.parse(watermark);
    // No watermark (or one that is not a time): the first sync, from the archive.
    if (Number.isNaN(since)) return this.full(listed, newest, signal);
    if (!resuming && !listed.some((l) => l.time > since)) {
      const lists =
        validators ??
        createHash('sha256')
          .update(listed.map((l) => `${l.path},${l.time},${l.deleted}`).join('\n'))
          .digest('hex');
      return { kind: 'unchanged', fingerprint: `lists:${lists}` };
    }
    const selected = listed.filter((l) => l.time > since - OVERLAP_MS).sort(byPath);
    const entries = selected.map((l) => this.listedEntry(l));
    return {
      kind: 'changed',
      // The same for a resumed sync: its watermark has not moved yet.
      fingerprint: `since:${watermark}`,
      mode: 'incremental',
      watermark: new Date(Math.max(newest, since)).toISOString(),
      async *entries() {
        yield* entries;
      },
      close: async () => {},
    };
  }

  /** The first sync: the archive, then what the lists say changed from its day on. */
  private async full(listed: Listed[], newest: number, signal?: AbortSignal): Promise<ChangedFeed> {
    const latestUrl = `${this.base}archive_latest.txt`;
    const name = (await httpBytes(latestUrl, { timeoutMs: this.timeoutMs, maxBytes: 4096, signal }))
      .toString('utf8')
      .trim();
    const day = ARCHIVE_NAME.exec(name)?.[1];
    if (day === undefined)
      throw new FeedFormatError(
        `${latestUrl}: ${JSON.stringify(name.slice(0, 200))} is not csaf_vex_YYYY-MM-DD.tar.zst`,
      );
    // The archive holds the documents as of its day; whatever the lists date from that day on
    // is read from them, the archive's copy left out.
    const since = Date.parse(`${day}T00:00:00Z`);
    const after = listed.filter((l) => l.time >= since).sort(byPath);
    const taken = new Set(after.map((l) => l.path));
    const dir = mkdtempSync(path.join(this.opts.tmpDir ?? tmpdir(), 'bosun-redhat-vex-'));
    const file = path.join(dir, name);
    try {
      await download(
        `${this.base}${name}`,
        file,
        this.opts.maxArchiveBytes ?? DEFAULT_MAX_ARCHIVE_BYTES,
        this.opts.archiveTimeoutMs ?? DEFAULT_ARCHIVE_TIMEOUT_MS,
        signal,
      );
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const archived = (): AsyncGenerator<VexEntry> =>
      archiveEntries(file, name, taken, this.opts.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES);
    const listedEntries = after.map((l) => this.listedEntry(l));
    return {
      kind: 'changed',
      fingerprint: `archive:${name}`,
      mode: 'full',
      watermark: new Date(Math.max(newest, since)).toISOString(),
      async *entries() {
        yield* archived();
        yield* listedEntries;
      },
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }

  /** A listed document: fetched when the sync reads it, or withdrawn when it was deleted. */
  private listedEntry(l: Listed): VexEntry {
    const url = `${this.base}${l.path}`;
    if (l.deleted)
      return { name: l.path, read: async () => Buffer.alloc(0), record: withdrawal(l, url) };
    const load = async (): Promise<Buffer | ImportIssue> => {
      const response = await send(url, 'GET', this.timeoutMs);
      // Listed but gone (deleted since the list was read): the next deletions.csv says so.
      if (response.status === 404) {
        await response.body?.cancel().catch(() => undefined);
        return {
          source: url,
          message: `${url}: listed in changes.csv but not found (HTTP 404); skipped`,
        };
      }
      if (!response.ok) await refuse(url, response);
      return (
        (await bodyUpTo(url, response, MAX_VEX_DOCUMENT_BYTES)) ?? {
          source: url,
          message: `${url}: over ${MAX_VEX_DOCUMENT_BYTES} bytes; not a VEX document; skipped`,
        }
      );
    };
    return {
      name: l.path,
      source: url,
      load,
      read: async () => {
        const got = await load();
        if (Buffer.isBuffer(got)) return got;
        throw new FeedFetchError(url, got.message);
      },
    };
  }

  async parse(entry: FeedEntry): Promise<ParsedEntry> {
    const e = entry as VexEntry;
    if (e.record !== undefined) return { records: [e.record], issues: [] };
    if (e.issue !== undefined) return { records: [], issues: [e.issue] };
    if (e.load === undefined) return { records: [], issues: [] };
    const got = await e.load();
    if (!Buffer.isBuffer(got)) return { records: [], issues: [got] };
    const issues: ImportIssue[] = [];
    const records = importRedHatVex(got.toString('utf8'), e.source ?? e.name, issues);
    return { records, issues };
  }
}

/**
 * The archive's documents in its order, each read into memory (the sync holds a batch of them);
 * those the lists supersede are yielded empty, so that every document keeps its place when a
 * stopped sync resumes with lists that have moved.
 */
async function* archiveEntries(
  file: string,
  name: string,
  superseded: ReadonlySet<string>,
  maxInflated: number,
): AsyncGenerator<VexEntry> {
  const { stream, compression } = await openDecompressed(createReadStream(file), name);
  if (compression !== 'zstd') {
    stream.destroy();
    throw new FeedFormatError(`${name}: not zstd data (${compression})`);
  }
  const extract = tar.extract();
  stream.on('error', (error) => extract.destroy(error));
  stream.pipe(extract);
  let count = 0;
  let inflated = 0;
  try {
    for await (const entry of extract) {
      const size = entry.header.size ?? 0;
      inflated += size;
      if (++count > MAX_ARCHIVE_ENTRIES || inflated > maxInflated)
        throw new FeedFormatError(
          `${name}: over ${count > MAX_ARCHIVE_ENTRIES ? `${MAX_ARCHIVE_ENTRIES} entries` : `${maxInflated} bytes of content`}`,
        );
      const documentPath = entry.header.name.replace(/^\.\//, '');
      const source = `${name}/${documentPath}`;
      if (entry.header.type !== 'file' || !DOCUMENT_PATH.test(documentPath)) {
        entry.resume();
        continue;
      }
      if (superseded.has(documentPath) || size > MAX_VEX_DOCUMENT_BYTES) {
        entry.resume();
        yield {
          name: documentPath,
          read: async () => Buffer.alloc(0),
          ...(superseded.has(documentPath)
            ? {}
            : {
                issue: {
                  source,
                  message: `${source}: over ${MAX_VEX_DOCUMENT_BYTES} bytes; not a VEX document; skipped`,
                },
              }),
        };
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const content = Buffer.concat(chunks);
      yield { name: documentPath, source, read: async () => content, load: async () => content };
    }
  } catch (error) {
    if (error instanceof FeedFormatError) throw error;
    throw new FeedFormatError(`${name}: not a readable zstd'd tar archive: ${message(error)}`, {
      cause: error,
    });
  } finally {
    stream.destroy();
    extract.destroy();
  }
}
