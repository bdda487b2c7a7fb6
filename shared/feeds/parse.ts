/** Parsing of feed entries into OSV records, shared by the sources. */
import type { ImportIssue } from '../advisories/importers/decode.js';
import { BundledImporters, decodeAdvisoryBuffer, isAdvisoryFileName } from '../advisories/load.js';
import type { FeedEntry, ParsedEntry } from './types.js';

/**
 * One advisory file in any supported format. A file of a bundled format (Alpine secdb YAML,
 * Photon's CVE metadata) on its own becomes the records it names (a directory source bundles all
 * such files into one entry instead, since a CVE's record gathers every release that fixed it).
 */
export async function parseAdvisoryEntry(entry: FeedEntry): Promise<ParsedEntry> {
  if (!isAdvisoryFileName(entry.name)) return { records: [], issues: [] };
  const issues: ImportIssue[] = [];
  const bundled = new BundledImporters();
  const out = decodeAdvisoryBuffer(await entry.read(), entry.name, issues, bundled);
  const records = out === 'ignored' ? [] : out;
  records.push(...bundled.records());
  issues.push(...bundled.issues());
  return { records, issues, facts: bundled.facts };
}

/** Several files of bundled formats read together into one set of records. */
export async function parseBundle(files: readonly FeedEntry[]): Promise<ParsedEntry> {
  const issues: ImportIssue[] = [];
  const bundled = new BundledImporters();
  for (const f of files) decodeAdvisoryBuffer(await f.read(), f.name, issues, bundled);
  return {
    records: bundled.records(),
    issues: [...issues, ...bundled.issues()],
    facts: bundled.facts,
  };
}
