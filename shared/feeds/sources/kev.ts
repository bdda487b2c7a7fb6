/**
 * CISA's Known Exploited Vulnerabilities catalog as a feed of CVE facts (`kev`), not advisories:
 * one JSON file (https://www.cisa.gov/known-exploited-vulnerabilities-catalog, the "JSON" link:
 * https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json), updated
 * on weekdays when CISA adds or edits a listing.
 *
 * A sync asks for it conditionally (whole-file.ts): a 304, or a body whose sha256 is the last
 * one, is `unchanged`. Otherwise the catalog is read whole (importers/kev.ts: 1,400 listings,
 * about 1.3 MB) and its facts handed to the sync in entries of `factsPerEntry`, by CVE, so the
 * sync checkpoints batch by batch and writes only the facts whose content changed. A file that
 * is not a catalog fails the sync (FeedFormatError) before anything is written.
 *
 * The entries of facts (`FactEntry`) are those of every source of CVE facts (EPSS too).
 */

import type { CveFact } from '../../advisories/cve-facts.js';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import { kevFacts } from '../../advisories/importers/kev.js';
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

export const KEV_URL =
  'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json';

/** The catalog is about 1.3 MB; far more is not CISA's catalog. */
const MAX_KEV_BYTES = 32 * 1024 * 1024;
/** Facts per entry: with the sources' batch size of 10 entries, 5,000 facts a checkpoint. */
export const FACTS_PER_ENTRY = 500;

/** Some facts of a feed, or the issues met while reading them: one entry of a facts source. */
export interface FactEntry extends FeedEntry {
  readonly facts: readonly CveFact[];
  readonly issues: readonly ImportIssue[];
}

/** An entry of facts; its name says which CVEs it holds. */
export function factEntry(facts: readonly CveFact[], issues: readonly ImportIssue[]): FactEntry {
  const first = facts[0]?.cve;
  const last = facts.at(-1)?.cve;
  return {
    name: first === undefined ? `${issues.length} issues` : `${first}..${last}`,
    read: async () => Buffer.from(JSON.stringify({ facts, issues })),
    facts,
    issues,
  };
}

/** An entry of facts as the sync wants it: no advisory records. */
export async function parseFactEntry(entry: FactEntry): Promise<ParsedEntry> {
  return { records: [], issues: [...entry.issues], facts: entry.facts };
}

/** CVE ids in number order (CVE-2014-0160 before CVE-2021-44228, CVE-2024-9999 before -10000). */
export function byCve(a: CveFact, b: CveFact): number {
  const [, ya = '', na = ''] = a.cve.split('-');
  const [, yb = '', nb = ''] = b.cve.split('-');
  return Number(ya) - Number(yb) || Number(na) - Number(nb) || (a.cve < b.cve ? -1 : 0);
}

/** Facts cut into entries of `size`; the issues ride with the first. */
export function factEntries(
  facts: readonly CveFact[],
  issues: readonly ImportIssue[],
  size: number,
): FactEntry[] {
  const out: FactEntry[] = [];
  for (let i = 0; i < facts.length; i += size)
    out.push(factEntry(facts.slice(i, i + size), i === 0 ? issues : []));
  if (out.length === 0 && issues.length > 0) out.push(factEntry([], issues));
  return out;
}

export interface KevSourceOptions {
  /** The catalog to download (KEV_URL by default). */
  readonly url?: string;
  /** Time allowed for the download. @default 60 s */
  readonly timeoutMs?: number;
  /** The largest download accepted (32 MiB by default). */
  readonly maxBytes?: number;
  /** Facts per entry (FACTS_PER_ENTRY by default). */
  readonly factsPerEntry?: number;
}

export class KevSource implements FeedSource {
  readonly id = 'kev';
  // Entries of FACTS_PER_ENTRY facts: 5,000 facts a batch.
  readonly batchSize = 10;
  readonly url: string;
  private readonly perEntry: number;

  constructor(private readonly opts: KevSourceOptions = {}) {
    this.url = opts.url ?? KEV_URL;
    this.perEntry = opts.factsPerEntry ?? FACTS_PER_ENTRY;
    if (!Number.isInteger(this.perEntry) || this.perEntry < 1)
      throw new FeedFormatError(`factsPerEntry ${this.perEntry} is not a positive integer`);
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    const got = await fetchWholeFile(this.url, 'kev', previous, {
      maxBytes: this.opts.maxBytes ?? MAX_KEV_BYTES,
      timeoutMs: this.opts.timeoutMs,
      signal,
    });
    if (got.kind === 'unchanged') return got;
    const issues: ImportIssue[] = [];
    const read = kevFacts(got.body.toString('utf8'), this.url, issues);
    // Every catalog has a version (the schema requires it): without one, nothing was read.
    if (read.catalogVersion === undefined)
      throw new FeedFormatError(issues[0]?.message ?? `${this.url}: not a KEV catalog`);
    const facts = [...read.facts].sort(byCve);
    return wholeFeed(got.fingerprint, factEntries(facts, issues, this.perEntry));
  }

  parse(entry: FactEntry): Promise<ParsedEntry> {
    return parseFactEntry(entry);
  }
}
