/**
 * Advisories from this machine: a directory tree (every format shared/advisories/load.ts reads,
 * in any mix) or a zip of OSV records such as OSV's `all.zip`. For offline and
 * air-gapped use, and the tests. Each sync reads the whole source; the store's content hashes
 * keep unchanged records from being rewritten.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import { isPhotonName } from '../../advisories/importers/photon.js';
import {
  importRepositoryToCpe,
  MAX_REPOSITORY_TO_CPE_BYTES,
  REPOSITORY_TO_CPE_FILE,
} from '../../advisories/importers/redhat-repository-to-cpe.js';
import { advisoryFiles, isAdvisoryFileName } from '../../advisories/load.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { ZipReader } from '../../zip.js';
import { parseAdvisoryEntry, parseBundle } from '../parse.js';
import {
  type FeedEntry,
  type FeedFetch,
  type FeedSource,
  feedZipError,
  type ParsedEntry,
  wholeFeed,
} from '../types.js';

const BUNDLE = 'bundled-formats';

/**
 * Whether a file is of a format whose records gather several files: Photon's CVE metadata (by
 * name), or a YAML file that starts like an Alpine secdb file (`distroversion:` near the top).
 */
function isBundled(file: string): boolean {
  if (isPhotonName(path.basename(file))) return true;
  if (!/\.ya?ml$/.test(file)) return false;
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, head.length, 0);
    return /^distroversion:/m.test(head.subarray(0, n).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

/** sha256 of a file, read in chunks. */
export function fileSha256(file: string): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

interface BundleEntry extends FeedEntry {
  readonly bundle?: readonly FeedEntry[];
  /** A problem of a file that is no advisory (Red Hat's repository-to-CPE mapping). */
  readonly issue?: ImportIssue;
}

export class LocalFeedSource implements FeedSource {
  readonly id: string;

  constructor(
    readonly location: string,
    id?: string,
  ) {
    this.id = id ?? `local:${path.resolve(location)}`;
  }

  async fetch(previous: FeedCheckpoint | undefined): Promise<FeedFetch> {
    const isZip = statSync(this.location).isFile() && this.location.endsWith('.zip');
    return isZip ? this.fetchZip(previous) : this.fetchTree(previous);
  }

  private async fetchZip(previous: FeedCheckpoint | undefined): Promise<FeedFetch> {
    const fingerprint = `zip:${fileSha256(this.location)}`;
    if (previous?.fingerprint === fingerprint && previous.cursor === undefined)
      return { kind: 'unchanged', fingerprint };
    const zip = await ZipReader.open(this.location, feedZipError);
    return {
      kind: 'changed',
      fingerprint,
      mode: 'full',
      entries: () => zip.entries(),
      close: async () => zip.close(),
    };
  }

  private async fetchTree(previous: FeedCheckpoint | undefined): Promise<FeedFetch> {
    const root = this.location;
    const files = advisoryFiles(root).filter(isAdvisoryFileName);
    const hash = createHash('sha256');
    for (const f of files) {
      const st = statSync(f);
      hash.update(`${path.relative(root, f)}\0${st.size}\0${st.mtimeMs}\n`);
    }
    const fingerprint = `tree:${hash.digest('hex')}`;
    if (previous?.fingerprint === fingerprint && previous.cursor === undefined)
      return { kind: 'unchanged', fingerprint };
    const entry = (f: string): FeedEntry => ({
      name: path.relative(root, f) || path.basename(f),
      read: async () => readFileSync(f),
    });
    // Red Hat's repository-to-CPE mapping is no advisory: the store keeps it (storeData).
    const mappings = files.filter((f) => path.basename(f) === REPOSITORY_TO_CPE_FILE);
    const bundled = files.filter(isBundled);
    const skip = new Set([...bundled, ...mappings]);
    const others = files.filter((f) => !skip.has(f));
    const last = mappings.at(-1);
    const issues: ImportIssue[] = [];
    let mapping: ReturnType<typeof importRepositoryToCpe> | undefined;
    if (last !== undefined) {
      // Bounded before it is read, and never stored empty: an empty mapping would drop every
      // repository's ecosystems (the network source refuses it the same way).
      const name = entry(last).name;
      if (statSync(last).size > MAX_REPOSITORY_TO_CPE_BYTES)
        issues.push({
          source: name,
          message: `${name}: over ${MAX_REPOSITORY_TO_CPE_BYTES} bytes; not read`,
        });
      else mapping = importRepositoryToCpe(readFileSync(last), name, issues);
    }
    // Entries are made as the sync reads them: a tree of 500,000 files held as entries (each a
    // name and a closure) took about 150 MB for the whole sync.
    const entries: Iterable<BundleEntry> = {
      *[Symbol.iterator]() {
        for (const f of others) yield entry(f);
        if (bundled.length > 0)
          yield { name: BUNDLE, read: async () => Buffer.alloc(0), bundle: bundled.map(entry) };
        for (const [i, issue] of issues.entries())
          yield { name: `mapping-issue-${i}`, read: async () => Buffer.alloc(0), issue };
      },
    };
    const feed = wholeFeed(fingerprint, entries);
    return mapping === undefined || mapping.size === 0
      ? feed
      : { ...feed, storeData: async (store) => void (await store.putRepositoryCpes(mapping)) };
  }

  async parse(entry: BundleEntry): Promise<ParsedEntry> {
    if (entry.issue !== undefined) return { records: [], issues: [entry.issue] };
    return entry.bundle === undefined ? parseAdvisoryEntry(entry) : parseBundle(entry.bundle);
  }
}
