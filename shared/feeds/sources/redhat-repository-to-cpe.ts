/**
 * Red Hat's repository-to-CPE mapping as feed data (advisories/importers/redhat-repository-to-cpe.ts
 * reads it): which product streams each repository's RPMs belong to, so an RHEL image's content
 * sets give the ecosystems its packages are matched against (inventory/redhat-repositories.ts).
 *
 * One file, fetched with a conditional GET: the ETag and Last-Modified of the last completed
 * sync are sent back (RFC 9110, 13.1.2 and 13.1.3), and a 304 is `unchanged` without a
 * download. A 200 whose content hashes as before is `unchanged` too. Otherwise the mapping is
 * written through the store (`putRepositoryCpes`, only the repositories that changed) by the
 * sync's `storeData` step, before the checkpoint records it; the file's malformed repositories
 * are its entries, each an issue.
 */
import { createHash } from 'node:crypto';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import {
  importRepositoryToCpe,
  MAX_REPOSITORY_TO_CPE_BYTES,
} from '../../advisories/importers/redhat-repository-to-cpe.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import {
  type ChangedFeed,
  type FeedEntry,
  type FeedFetch,
  FeedFetchError,
  FeedFormatError,
  type FeedSource,
  type ParsedEntry,
  wholeFeed,
} from '../types.js';

export const REDHAT_REPOSITORY_TO_CPE_URL =
  'https://security.access.redhat.com/data/meta/v1/repository-to-cpe.json';

export interface RedHatRepositoryToCpeOptions {
  /** Where the mapping is published (REDHAT_REPOSITORY_TO_CPE_URL by default). */
  readonly url?: string;
  /** Time allowed for the request, body included. @default 60 s */
  readonly timeoutMs?: number;
  /** Largest file read. @default MAX_REPOSITORY_TO_CPE_BYTES */
  readonly maxBytes?: number;
}

/** What a fingerprint keeps: the validators to send back, and the content's hash. */
interface Validators {
  readonly etag?: string;
  readonly lastModified?: string;
  readonly sha256: string;
}

function validatorsOf(fingerprint: string | undefined): Validators | undefined {
  if (fingerprint === undefined) return undefined;
  try {
    const v = JSON.parse(fingerprint) as Partial<Validators>;
    return typeof v.sha256 === 'string' ? (v as Validators) : undefined;
  } catch {
    return undefined;
  }
}

/** A malformed repository of the file, carried to the sync as an entry. */
interface IssueEntry extends FeedEntry {
  readonly issue: ImportIssue;
}

export class RedHatRepositoryToCpeSource implements FeedSource {
  readonly id = 'redhat-repository-to-cpe';
  private readonly url: string;

  constructor(private readonly opts: RedHatRepositoryToCpeOptions = {}) {
    this.url = opts.url ?? REDHAT_REPOSITORY_TO_CPE_URL;
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    // An unfinished sync reads the file whole again: its checkpoint's fingerprint is not complete.
    const before = previous?.cursor === undefined ? validatorsOf(previous?.fingerprint) : undefined;
    const response = await this.get(before, signal);
    if (response.status === 304 && before !== undefined && previous?.fingerprint !== undefined)
      return { kind: 'unchanged', fingerprint: previous.fingerprint };
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new FeedFetchError(this.url, `HTTP ${response.status} ${response.statusText}`.trim());
    }
    const body = await this.body(response);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const etag = response.headers.get('etag') ?? undefined;
    const lastModified = response.headers.get('last-modified') ?? undefined;
    const fingerprint = JSON.stringify({
      ...(etag === undefined ? {} : { etag }),
      ...(lastModified === undefined ? {} : { lastModified }),
      sha256,
    });
    if (before?.sha256 === sha256) return { kind: 'unchanged', fingerprint };
    const issues: ImportIssue[] = [];
    const mapping = importRepositoryToCpe(body, this.url, issues);
    if (mapping === undefined)
      throw new FeedFormatError(
        issues[0]?.message ?? `${this.url}: not a repository-to-CPE mapping`,
      );
    // An empty mapping would leave every RHEL image without its repositories' ecosystems.
    if (mapping.size === 0)
      throw new FeedFormatError(
        `${this.url}: names no well-formed repository (${issues.length} malformed); the stored mapping is kept`,
      );
    const entries: IssueEntry[] = issues.map((issue, i) => ({
      name: `issue-${i}`,
      read: async () => Buffer.alloc(0),
      issue,
    }));
    const feed: ChangedFeed = {
      ...wholeFeed(fingerprint, entries),
      storeData: async (store) => {
        await store.putRepositoryCpes(mapping);
      },
    };
    return feed;
  }

  async parse(entry: IssueEntry): Promise<ParsedEntry> {
    return { records: [], issues: [entry.issue] };
  }

  private async get(before: Validators | undefined, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 60_000);
    const headers: Record<string, string> = {};
    if (before?.etag !== undefined) headers['if-none-match'] = before.etag;
    if (before?.lastModified !== undefined) headers['if-modified-since'] = before.lastModified;
    try {
      return await fetch(this.url, {
        headers,
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
    } catch (error) {
      const e = error as Error & { cause?: Error };
      throw new FeedFetchError(
        this.url,
        timeout.aborted ? 'timed out' : (e.cause?.message ?? e.message),
        { cause: error },
      );
    }
  }

  /** The body, refused past the size limit as it arrives. */
  private async body(response: Response): Promise<Buffer> {
    const max = this.opts.maxBytes ?? MAX_REPOSITORY_TO_CPE_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > max) break;
        chunks.push(Buffer.from(chunk));
      }
    } catch (error) {
      throw new FeedFetchError(this.url, `body: ${(error as Error).message}`, { cause: error });
    }
    if (size > max) {
      await response.body?.cancel().catch(() => undefined);
      throw new FeedFetchError(this.url, `body over ${max} bytes`);
    }
    return Buffer.concat(chunks);
  }
}
