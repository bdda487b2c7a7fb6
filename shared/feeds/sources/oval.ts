/**
 * The publishers' OVAL files as feeds, one source per release:
 * - `azurelinux-oval:<1|2|3>`: Microsoft's Azure Linux (and CBL-Mariner, its former name) file
 *   in https://github.com/microsoft/AzureLinuxVulnerabilityData, regenerated several times a day;
 * - `oracle-oval:<7|8|9|10>`: Oracle's ELSA file of the release,
 *   https://linux.oracle.com/security/oval/ (bzip2).
 * SUSE's OVAL is not a source here: SUSE is synced from osv.dev; the importer reads SUSE's
 * per-product-line files given to `db sync --from`.
 *
 * A sync asks for the file conditionally (If-None-Match / If-Modified-Since with the ETag and
 * Last-Modified of the last sync, https://www.rfc-editor.org/rfc/rfc9110#section-13.1): a 304,
 * or a body whose sha256 is the last one, is `unchanged`. Otherwise the file is read
 * (importers/oval.ts) and each advisory becomes one entry, so the sync writes only those whose
 * content changed, batch by batch, with its usual checkpoints.
 */
import { createHash } from 'node:crypto';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import { OvalFileError, readOval } from '../../advisories/importers/oval.js';
import type { OsvRecord } from '../../advisories/osv.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import {
  type FeedEntry,
  type FeedFetch,
  FeedFetchError,
  FeedFormatError,
  type FeedSource,
  type ParsedEntry,
  wholeFeed,
} from '../types.js';

const AZURE = 'https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main';
const ORACLE = 'https://linux.oracle.com/security/oval';

/** Every OVAL feed Bosun reads, by source id, with the file it downloads. */
export const OVAL_FEEDS = {
  'azurelinux-oval:1': `${AZURE}/cbl-mariner-1.0-oval.xml`,
  'azurelinux-oval:2': `${AZURE}/cbl-mariner-2.0-oval.xml`,
  'azurelinux-oval:3': `${AZURE}/azurelinux-3.0-oval.xml`,
  'oracle-oval:7': `${ORACLE}/com.oracle.elsa-ol7.xml.bz2`,
  'oracle-oval:8': `${ORACLE}/com.oracle.elsa-ol8.xml.bz2`,
  'oracle-oval:9': `${ORACLE}/com.oracle.elsa-ol9.xml.bz2`,
  'oracle-oval:10': `${ORACLE}/com.oracle.elsa-ol10.xml.bz2`,
} as const;

export type OvalFeedId = keyof typeof OVAL_FEEDS;
export const OVAL_FEED_IDS = Object.keys(OVAL_FEEDS) as OvalFeedId[];

/** Microsoft's 2.0 file is tens of MB, Oracle's bzip2'd files a few: far more is refused. */
const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;

export interface OvalSourceOptions {
  /** The file to download (OVAL_FEEDS[id] by default). */
  readonly url?: string;
  readonly timeoutMs?: number;
  /** The largest download accepted (256 MiB by default). */
  readonly maxBytes?: number;
  /** The largest inflated file accepted (importers/oval.ts MAX_OVAL_XML_BYTES by default). */
  readonly maxXmlBytes?: number;
}

/** An entry of the file: one advisory, or one problem the file had. */
interface OvalEntry extends FeedEntry {
  readonly record?: OsvRecord;
  readonly issue?: ImportIssue;
}

/** What identifies the file served: its content, and the validators to ask with next time. */
interface Validators {
  readonly sha256?: string;
  readonly etag?: string;
  readonly lastModified?: string;
}

function fingerprintOf(v: Validators): string {
  return [
    `sha256=${v.sha256 ?? ''}`,
    ...(v.etag === undefined ? [] : [`etag=${encodeURIComponent(v.etag)}`]),
    ...(v.lastModified === undefined
      ? []
      : [`last-modified=${encodeURIComponent(v.lastModified)}`]),
  ].join(' ');
}

function validatorsOf(fingerprint: string | undefined): Validators {
  const parts = new Map(
    (fingerprint ?? '').split(' ').map((p) => {
      const eq = p.indexOf('=');
      return [p.slice(0, eq), decodeURIComponent(p.slice(eq + 1))] as const;
    }),
  );
  const get = (k: string) =>
    parts.get(k) === undefined || parts.get(k) === '' ? undefined : parts.get(k);
  const sha256 = get('sha256');
  const etag = get('etag');
  const lastModified = get('last-modified');
  return {
    ...(sha256 === undefined ? {} : { sha256 }),
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
  };
}

export class OvalSource implements FeedSource {
  readonly url: string;
  /** Microsoft's release (`azurelinux-oval:3` → `3`): its file is for that release. */
  private readonly release: string;

  constructor(
    readonly id: string,
    private readonly opts: OvalSourceOptions = {},
  ) {
    if (!Object.hasOwn(OVAL_FEEDS, id))
      throw new FeedFormatError(
        `no OVAL feed ${JSON.stringify(id)}; known: ${OVAL_FEED_IDS.join(', ')}`,
      );
    this.url = opts.url ?? OVAL_FEEDS[id as OvalFeedId];
    this.release = id.slice(id.indexOf(':') + 1);
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    // A sync stopped half-way reads the whole file again to resume where it stopped.
    const last = previous?.cursor === undefined ? validatorsOf(previous?.fingerprint) : {};
    const got = await this.download(last, signal);
    if (got === 'not-modified') return { kind: 'unchanged', fingerprint: fingerprintOf(last) };
    const sha256 = createHash('sha256').update(got.body).digest('hex');
    const fingerprint = fingerprintOf({ ...got.validators, sha256 });
    if (last.sha256 === sha256) return { kind: 'unchanged', fingerprint };
    const issues: ImportIssue[] = [];
    let records: OsvRecord[];
    try {
      records = readOval(got.body, this.url, issues, {
        ...(this.id.startsWith('azurelinux-oval:') ? { release: this.release } : {}),
        ...(this.opts.maxXmlBytes === undefined ? {} : { maxXmlBytes: this.opts.maxXmlBytes }),
      });
    } catch (error) {
      if (!(error instanceof OvalFileError)) throw error;
      throw new FeedFormatError(error.message, { cause: error });
    }
    const entries: OvalEntry[] = [
      ...issues.map((issue, i) => ({
        name: `issue-${i}`,
        read: async () => Buffer.alloc(0),
        issue,
      })),
      ...records
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((record) => ({ name: record.id, read: async () => Buffer.alloc(0), record })),
    ];
    return wholeFeed(fingerprint, entries);
  }

  async parse(entry: OvalEntry): Promise<ParsedEntry> {
    return {
      records: entry.record === undefined ? [] : [entry.record],
      issues: entry.issue === undefined ? [] : [entry.issue],
    };
  }

  /** A conditional GET: the body and its validators, or `not-modified` (304). */
  private async download(
    last: Validators,
    signal?: AbortSignal,
  ): Promise<'not-modified' | { body: Buffer; validators: Validators }> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 120_000);
    const headers: Record<string, string> = {};
    if (last.etag !== undefined) headers['if-none-match'] = last.etag;
    if (last.lastModified !== undefined) headers['if-modified-since'] = last.lastModified;
    let response: Response;
    try {
      response = await fetch(this.url, {
        headers,
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
    } catch (error) {
      const reason = timeout.aborted
        ? 'timed out'
        : ((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message);
      throw new FeedFetchError(this.url, reason, { cause: error });
    }
    if (response.status === 304 && Object.keys(headers).length > 0) {
      await response.body?.cancel();
      return 'not-modified';
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new FeedFetchError(this.url, `HTTP ${response.status} ${response.statusText}`.trim());
    }
    const body = await this.body(response, timeout);
    const etag = response.headers.get('etag') ?? undefined;
    const lastModified = response.headers.get('last-modified') ?? undefined;
    return {
      body,
      validators: {
        ...(etag === undefined ? {} : { etag }),
        ...(lastModified === undefined ? {} : { lastModified }),
      },
    };
  }

  /** The body, refused past `maxBytes` as it arrives. */
  private async body(response: Response, timeout: AbortSignal): Promise<Buffer> {
    const max = this.opts.maxBytes ?? MAX_DOWNLOAD_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > max) break;
        chunks.push(Buffer.from(chunk));
      }
    } catch (error) {
      throw new FeedFetchError(
        this.url,
        `body: ${timeout.aborted ? 'timed out' : (error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (size > max) {
      await response.body?.cancel().catch(() => undefined);
      throw new FeedFetchError(this.url, `body over ${max} bytes`);
    }
    return Buffer.concat(chunks);
  }
}
