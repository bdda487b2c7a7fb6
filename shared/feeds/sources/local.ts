/**
 * Advisories from this machine: a directory tree (OSV JSON/YAML, RubySec, npm legacy, Alpine
 * secdb files, in any mix) or a zip of OSV records such as OSV's `all.zip`. For offline and
 * air-gapped use, and the tests. Each sync reads the whole source; the store's content hashes
 * keep unchanged records from being rewritten.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { advisoryFiles, isAdvisoryFileName } from '../../advisories/load.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { ZipReader } from '../../zip.js';
import { parseAdvisoryEntry, parseSecdbBundle } from '../parse.js';
import {
  type FeedEntry,
  type FeedFetch,
  type FeedSource,
  feedZipError,
  type ParsedEntry,
  wholeFeed,
} from '../types.js';

const SECDB_BUNDLE = 'alpine-secdb';

/** Whether a YAML file starts like an Alpine secdb file (`distroversion:` near the top). */
function looksLikeSecdb(file: string): boolean {
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
    const secdb = files.filter(looksLikeSecdb);
    const others = files.filter((f) => !secdb.includes(f));
    const entries: BundleEntry[] = others.map(entry);
    if (secdb.length > 0)
      entries.push({
        name: SECDB_BUNDLE,
        read: async () => Buffer.alloc(0),
        bundle: secdb.map(entry),
      });
    return wholeFeed(fingerprint, entries);
  }

  parse(entry: BundleEntry): Promise<ParsedEntry> {
    return entry.bundle === undefined ? parseAdvisoryEntry(entry) : parseSecdbBundle(entry.bundle);
  }
}
