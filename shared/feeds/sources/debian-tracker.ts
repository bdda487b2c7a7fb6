/**
 * Debian's security tracker (`debian-tracker`): the tracker's JSON export
 * (https://security-tracker.debian.org/tracker/data/json) read as CVE facts, the urgency, status
 * and fixed version Debian gives each CVE per source package and release
 * (advisories/importers/debian-tracker.ts). It holds no advisories: Debian's records come from
 * osv.dev; this feed says how much each of their CVEs matters to Debian.
 *
 * The export is one file of 60-80 MB, regenerated every few minutes; the tracker sends a
 * Last-Modified that moves only when the content does (`page_json` in its
 * bin/tracker_service.py). It is asked for conditionally (whole-file.ts): a 304, or a body whose
 * sha256 is the last one, is `unchanged`. Otherwise the file is read and its facts, sorted by CVE,
 * become entries of `factsPerEntry` each (the file's issues first), so the sync writes only the
 * facts whose content changed, batch by batch, with its usual checkpoints; a resumed sync reads
 * the file again and finds the same entries in the same order.
 */
import type { CveFact } from '../../advisories/cve-facts.js';
import {
  DebianTrackerFileError,
  debianTrackerFacts,
} from '../../advisories/importers/debian-tracker.js';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import {
  type FeedEntry,
  type FeedFetch,
  FeedFormatError,
  type FeedSource,
  type ParsedEntry,
  wholeFeed,
} from '../types.js';
import { fetchWholeFile } from '../whole-file.js';

export const DEBIAN_TRACKER_SOURCE_ID = 'debian-tracker';
export const DEBIAN_TRACKER_URL = 'https://security-tracker.debian.org/tracker/data/json';

/** About three times the real export; more is refused as it arrives. */
const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;
const FACTS_PER_ENTRY = 500;

export interface DebianTrackerSourceOptions {
  /** The export to download (DEBIAN_TRACKER_URL by default). */
  readonly url?: string;
  /** Time allowed for the download. @default 300 s */
  readonly timeoutMs?: number;
  /** The largest download (or file given as an entry) accepted. @default 256 MiB */
  readonly maxBytes?: number;
  /** CVEs per entry. @default 500 */
  readonly factsPerEntry?: number;
}

/** A slice of the file's facts (or of its issues), already read. */
export interface DebianFactsEntry extends FeedEntry {
  readonly facts: readonly CveFact[];
  readonly issues: readonly ImportIssue[];
}

const isFactsEntry = (entry: FeedEntry): entry is DebianFactsEntry =>
  Array.isArray((entry as Partial<DebianFactsEntry>).facts) &&
  Array.isArray((entry as Partial<DebianFactsEntry>).issues);

/** The file's facts read as text, or a FeedFormatError: nothing of a broken file is stored. */
function readFacts(
  body: Buffer,
  source: string,
  issues: ImportIssue[],
  maxBytes: number,
): CveFact[] {
  if (body.length > maxBytes) throw new FeedFormatError(`${source}: over ${maxBytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (error) {
    throw new FeedFormatError(`${source}: not UTF-8 text`, { cause: error });
  }
  try {
    // UTF-8 never has fewer bytes than characters: the byte limit bounds the text too.
    return debianTrackerFacts(text, source, issues, { maxChars: maxBytes });
  } catch (error) {
    if (!(error instanceof DebianTrackerFileError)) throw error;
    throw new FeedFormatError(error.message, { cause: error });
  }
}

/** Issues first, then facts in CVE order: `perEntry` of each per entry, a stable order. */
export function debianFactsEntries(
  facts: readonly CveFact[],
  issues: readonly ImportIssue[],
  perEntry: number,
): DebianFactsEntry[] {
  const entries: DebianFactsEntry[] = [];
  const entry = (name: string, f: readonly CveFact[], i: readonly ImportIssue[]) =>
    entries.push({
      name,
      facts: f,
      issues: i,
      read: async () => Buffer.from(JSON.stringify({ facts: f, issues: i })),
    });
  for (let at = 0; at < issues.length; at += perEntry)
    entry(`issues-${at / perEntry}`, [], issues.slice(at, at + perEntry));
  for (let at = 0; at < facts.length; at += perEntry) {
    const slice = facts.slice(at, at + perEntry);
    entry(`${slice[0]?.cve}..${slice[slice.length - 1]?.cve}`, slice, []);
  }
  return entries;
}

export class DebianTrackerSource implements FeedSource {
  readonly id = DEBIAN_TRACKER_SOURCE_ID;
  // Entries of 500 CVEs' facts: 5,000 facts a batch.
  readonly batchSize = 10;
  readonly url: string;
  private readonly perEntry: number;
  private readonly maxBytes: number;

  constructor(private readonly opts: DebianTrackerSourceOptions = {}) {
    this.url = opts.url ?? DEBIAN_TRACKER_URL;
    this.perEntry = opts.factsPerEntry ?? FACTS_PER_ENTRY;
    this.maxBytes = opts.maxBytes ?? MAX_DOWNLOAD_BYTES;
    if (!Number.isInteger(this.perEntry) || this.perEntry < 1)
      throw new FeedFormatError(
        `factsPerEntry must be a positive integer, not ${JSON.stringify(opts.factsPerEntry)}`,
      );
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    const got = await fetchWholeFile(this.url, 'debian-tracker', previous, {
      maxBytes: this.maxBytes,
      timeoutMs: this.opts.timeoutMs ?? 300_000,
      signal,
    });
    if (got.kind === 'unchanged') return got;
    const issues: ImportIssue[] = [];
    const facts = readFacts(got.body, this.url, issues, this.maxBytes);
    return wholeFeed(got.fingerprint, debianFactsEntries(facts, issues, this.perEntry));
  }

  /**
   * An entry of this source's fetch; any other entry is read as a whole export (a copy of the
   * file given by hand), and a broken one is a FeedFormatError.
   */
  async parse(entry: FeedEntry): Promise<ParsedEntry> {
    if (isFactsEntry(entry))
      return { records: [], issues: [...entry.issues], facts: [...entry.facts] };
    const issues: ImportIssue[] = [];
    const facts = readFacts(await entry.read(), entry.name, issues, this.maxBytes);
    return { records: [], issues, facts };
  }
}
