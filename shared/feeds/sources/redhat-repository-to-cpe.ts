/**
 * Red Hat's repository-to-CPE mapping as feed data (advisories/importers/redhat-repository-to-cpe.ts
 * reads it): which product streams each repository's RPMs belong to, so an RHEL image's content
 * sets give the ecosystems its packages are matched against (inventory/redhat-repositories.ts).
 *
 * One file, fetched with a conditional GET (whole-file.ts): a 304 is `unchanged` without a
 * download, and a 200 whose content hashes as before is `unchanged` too. Otherwise the mapping is
 * written through the store (`putRepositoryCpes`, only the repositories that changed) by the
 * sync's `storeData` step, before the checkpoint records it; the file's malformed repositories
 * are its entries, each an issue.
 */
import type { ImportIssue } from '../../advisories/importers/decode.js';
import {
  importRepositoryToCpe,
  MAX_REPOSITORY_TO_CPE_BYTES,
} from '../../advisories/importers/redhat-repository-to-cpe.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import {
  type ChangedFeed,
  type FeedFetch,
  FeedFormatError,
  type FeedSource,
  type ParsedEntry,
} from '../types.js';
import { fetchWholeFile, parseRecordEntry, type RecordEntry, recordFeed } from '../whole-file.js';

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

export class RedHatRepositoryToCpeSource implements FeedSource {
  readonly id = 'redhat-repository-to-cpe';
  private readonly url: string;

  constructor(private readonly opts: RedHatRepositoryToCpeOptions = {}) {
    this.url = opts.url ?? REDHAT_REPOSITORY_TO_CPE_URL;
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    const got = await fetchWholeFile(this.url, this.id, previous, {
      maxBytes: this.opts.maxBytes ?? MAX_REPOSITORY_TO_CPE_BYTES,
      timeoutMs: this.opts.timeoutMs,
      signal,
    });
    if (got.kind === 'unchanged') return got;
    const issues: ImportIssue[] = [];
    const mapping = importRepositoryToCpe(got.body, this.url, issues);
    if (mapping === undefined)
      throw new FeedFormatError(
        issues[0]?.message ?? `${this.url}: not a repository-to-CPE mapping`,
      );
    // An empty mapping would leave every RHEL image without its repositories' ecosystems.
    if (mapping.size === 0)
      throw new FeedFormatError(
        `${this.url}: names no well-formed repository (${issues.length} malformed); the stored mapping is kept`,
      );
    const feed: ChangedFeed = {
      // The file's malformed repositories, each an entry carrying its issue.
      ...recordFeed(got.fingerprint, [], issues),
      storeData: async (store) => {
        await store.putRepositoryCpes(mapping);
      },
    };
    return feed;
  }

  parse(entry: RecordEntry): Promise<ParsedEntry> {
    return parseRecordEntry(entry);
  }
}
