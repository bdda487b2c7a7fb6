/**
 * Export and import of the advisory store as one file, for air-gapped deployments: gzip'd JSON
 * lines, a header line first (`{"format":"bosun-advisories","version":1,...}`), then one line
 * per advisory (`{"id","source","record"}`). Importing goes through the normal sync (the file is
 * a feed source), so it writes only what changed and reports changed package keys.
 */

import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { InvalidAdvisoryError, parseOsv } from '../advisories/osv.js';
import type { AdvisoryStore, FeedCheckpoint } from '../stores/advisory-store.js';
import { fileSha256 } from './sources/local.js';
import {
  type FeedEntry,
  type FeedFetch,
  FeedFormatError,
  type FeedSource,
  type ParsedEntry,
} from './types.js';

export const EXPORT_FORMAT = 'bosun-advisories';
export const EXPORT_VERSION = 1;

/** Writes every advisory of `store` to `file` (atomically: a temporary file renamed). */
export async function exportAdvisories(store: AdvisoryStore, file: string): Promise<number> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  let count = 0;
  async function* lines() {
    yield `${JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date().toISOString() })}\n`;
    for await (const a of store.all()) {
      count++;
      yield `${JSON.stringify({ id: a.id, source: a.source, record: a.record })}\n`;
    }
  }
  try {
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(tmp));
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  return count;
}

/** An export file as a feed source. */
export class ExportFileSource implements FeedSource {
  readonly id: string;

  constructor(
    readonly file: string,
    id?: string,
  ) {
    this.id = id ?? `export:${path.resolve(file)}`;
  }

  async fetch(previous: FeedCheckpoint | undefined): Promise<FeedFetch> {
    const fingerprint = `export:${fileSha256(this.file)}`;
    if (previous?.fingerprint === fingerprint && previous.cursor === undefined)
      return { kind: 'unchanged', fingerprint };
    const file = this.file;
    // Opened when iteration starts: readline drops lines emitted before anyone reads them.
    let input: ReturnType<typeof createGunzip> | undefined;
    let rl: ReturnType<typeof createInterface> | undefined;
    return {
      kind: 'changed',
      fingerprint,
      mode: 'full',
      async *entries(): AsyncGenerator<FeedEntry> {
        let lineNo = 0;
        input = createReadStream(file).pipe(createGunzip());
        rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
        const lines = rl[Symbol.asyncIterator]();
        while (true) {
          let next: IteratorResult<string>;
          try {
            next = await lines.next();
          } catch (error) {
            throw new FeedFormatError(`${file}: not a gzip'd export: ${(error as Error).message}`, {
              cause: error,
            });
          }
          if (next.done === true) break;
          lineNo++;
          const line = next.value;
          if (lineNo === 1) {
            checkHeader(file, line);
            continue;
          }
          if (line === '') continue;
          yield { name: `${path.basename(file)}:${lineNo}`, read: async () => Buffer.from(line) };
        }
        if (lineNo === 0) throw new FeedFormatError(`${file}: empty; not a Bosun advisory export`);
      },
      close: async () => {
        rl?.close();
        input?.destroy();
      },
    };
  }

  async parse(entry: FeedEntry): Promise<ParsedEntry> {
    const text = (await entry.read()).toString('utf8');
    try {
      const line = JSON.parse(text) as { record?: unknown };
      return { records: [parseOsv(line.record, entry.name)], issues: [] };
    } catch (error) {
      if (error instanceof InvalidAdvisoryError)
        return { records: [], issues: [{ source: entry.name, message: error.message }] };
      if (error instanceof SyntaxError)
        return {
          records: [],
          issues: [{ source: entry.name, message: `${entry.name}: not JSON: ${error.message}` }],
        };
      throw error;
    }
  }
}

function checkHeader(file: string, line: string): void {
  let header: { format?: unknown; version?: unknown };
  try {
    header = JSON.parse(line) as typeof header;
  } catch {
    throw new FeedFormatError(`${file}: first line is not a Bosun advisory export header`);
  }
  if (header.format !== EXPORT_FORMAT)
    throw new FeedFormatError(
      `${file}: not a Bosun advisory export (format ${JSON.stringify(header.format)})`,
    );
  if (header.version !== EXPORT_VERSION)
    throw new FeedFormatError(
      `${file}: export version ${JSON.stringify(header.version)}; this Bosun reads version ${EXPORT_VERSION}`,
    );
}
