/**
 * OSV's public export, one ecosystem at a time (https://google.github.io/osv.dev/data/):
 * `<base>/<ecosystem>/all.zip` holds every record; `<base>/<ecosystem>/modified_id.csv` lists
 * `<modified>,<id>` for every record, newest first; `<base>/<ecosystem>/<id>.json` is one record.
 *
 * The first sync reads the CSV's newest date, then all.zip, and keeps that date as its
 * watermark. Later syncs read the CSV only down to the watermark and fetch those records one by
 * one. Reading the CSV before the zip means a record modified in between is read twice (the
 * content hash makes the second time a no-op), never missed.
 */

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { ZipReader } from '../../zip.js';
import { httpBytes, httpLines, httpToFile } from '../http.js';
import { parseAdvisoryEntry } from '../parse.js';
import {
  type FeedEntry,
  type FeedFetch,
  FeedFormatError,
  type FeedSource,
  feedZipError,
  type ParsedEntry,
} from '../types.js';
import { fileSha256 } from './local.js';

/** OSV's public bucket over HTTPS. */
export const OSV_PUBLIC_BASE_URL = 'https://osv-vulnerabilities.storage.googleapis.com';

export interface OsvBucketOptions {
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Where all.zip is downloaded (a temporary folder by default). */
  readonly tmpDir?: string;
}

// RFC 3339 date-time as OSV writes it, then an id (OSV ids: letters, digits, `-`, `_`, `.`, `:`).
const CSV_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z),([A-Za-z0-9._:-]+)$/;

export class OsvBucketSource implements FeedSource {
  readonly id: string;
  private readonly base: string;

  constructor(
    readonly ecosystem: string,
    private readonly opts: OsvBucketOptions = {},
  ) {
    this.id = `osv:${ecosystem}`;
    this.base = `${(opts.baseUrl ?? OSV_PUBLIC_BASE_URL).replace(/\/+$/, '')}/${encodeURIComponent(ecosystem)}`;
  }

  /**
   * The CSV's lines newer than `after` (all when undefined, then only the first is needed),
   * checked for shape and order; reading stops at the first line not newer.
   */
  private async newer(
    after: string | undefined,
    firstOnly: boolean,
    signal?: AbortSignal,
  ): Promise<{ modified: string; id: string }[]> {
    const url = `${this.base}/modified_id.csv`;
    const out: { modified: string; id: string }[] = [];
    let lineNo = 0;
    let last: string | undefined;
    for await (const line of httpLines(url, { timeoutMs: this.opts.timeoutMs, signal })) {
      lineNo++;
      if (line === '') continue;
      const m = CSV_LINE.exec(line);
      if (m === null)
        throw new FeedFormatError(
          `${url}: line ${lineNo} is not "<modified>,<id>": ${JSON.stringify(line.slice(0, 200))}`,
        );
      const modified = m[1] as string;
      const time = Date.parse(modified);
      if (Number.isNaN(time))
        throw new FeedFormatError(`${url}: line ${lineNo}: bad date ${modified}`);
      if (last !== undefined && time > Date.parse(last))
        throw new FeedFormatError(
          `${url}: line ${lineNo}: not newest first (${modified} after ${last})`,
        );
      last = modified;
      if (after !== undefined && time <= Date.parse(after)) break;
      out.push({ modified, id: m[2] as string });
      if (firstOnly) break;
    }
    return out;
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    const http = { timeoutMs: this.opts.timeoutMs, signal };
    if (previous?.watermark === undefined) {
      const [newest] = await this.newer(undefined, true, signal);
      const dir = mkdtempSync(path.join(this.opts.tmpDir ?? tmpdir(), 'bosun-osv-'));
      try {
        const file = path.join(dir, 'all.zip');
        await httpToFile(`${this.base}/all.zip`, file, {
          ...http,
          timeoutMs: this.opts.timeoutMs ?? 300_000,
        });
        const zip = await ZipReader.open(file, feedZipError);
        return {
          kind: 'changed',
          fingerprint: `all.zip:${fileSha256(file)}`,
          mode: 'full',
          ...(newest === undefined ? {} : { watermark: newest.modified }),
          entries: () => zip.entries(),
          close: async () => {
            zip.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
    const lines = await this.newer(previous.watermark, false, signal);
    if (lines.length === 0) return { kind: 'unchanged', fingerprint: `csv:${previous.watermark}` };
    const fingerprint = `csv:${createHash('sha256')
      .update(lines.map((l) => `${l.modified},${l.id}`).join('\n'))
      .digest('hex')}`;
    const base = this.base;
    // Oldest first, so that the order is stable when more lines arrive before a resume.
    const ordered = [...lines].reverse();
    return {
      kind: 'changed',
      fingerprint,
      mode: 'incremental',
      watermark: lines[0]?.modified,
      async *entries() {
        for (const { id } of ordered)
          yield {
            name: `${id}.json`,
            read: () => httpBytes(`${base}/${encodeURIComponent(id)}.json`, http),
          } satisfies FeedEntry;
      },
      close: async () => {},
    };
  }

  parse(entry: FeedEntry): Promise<ParsedEntry> {
    return parseAdvisoryEntry(entry);
  }
}
