/** Parsing of feed entries into OSV records, shared by the sources. */
import { AlpineSecdbImporter } from '../advisories/importers/alpine-secdb.js';
import type { ImportIssue } from '../advisories/importers/decode.js';
import { decodeAdvisoryBuffer, isAdvisoryFileName } from '../advisories/load.js';
import type { FeedEntry, ParsedEntry } from './types.js';

/**
 * One advisory file in any supported format. An Alpine secdb file on its own becomes the
 * records it names (a directory source bundles all its secdb files into one entry instead,
 * since a CVE's record gathers every release and repository that fixed it).
 */
export async function parseAdvisoryEntry(entry: FeedEntry): Promise<ParsedEntry> {
  if (!isAdvisoryFileName(entry.name)) return { records: [], issues: [] };
  const issues: ImportIssue[] = [];
  const secdb = new AlpineSecdbImporter();
  const out = decodeAdvisoryBuffer(await entry.read(), entry.name, issues, secdb);
  const records = out === 'ignored' ? [] : out;
  records.push(...secdb.osv());
  issues.push(...secdb.issues);
  return { records, issues };
}

/** Several secdb files read together into one set of records. */
export async function parseSecdbBundle(files: readonly FeedEntry[]): Promise<ParsedEntry> {
  const secdb = new AlpineSecdbImporter();
  for (const f of files) secdb.add((await f.read()).toString('utf8'), f.name);
  return { records: secdb.osv(), issues: [...secdb.issues] };
}
