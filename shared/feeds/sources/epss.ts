/**
 * FIRST's EPSS scores as a feed of CVE facts (`epss`), not advisories: every scored CVE's
 * probability of exploitation activity in the next 30 days, recomputed daily and published as
 * one gzip'd CSV (importers/epss.ts). FIRST's data and statistics page
 * (https://www.first.org/epss/data_stats) links the day's file; since May 2025 that link is
 * https://epss.empiricalsecurity.com/epss_scores-current.csv.gz (the older epss.cyentia.com
 * address answers with a redirect to it; see ossf/cve-bin-tool#5059, DependencyTrack#5839).
 *
 * A sync asks for the file conditionally (whole-file.ts: If-None-Match / If-Modified-Since): a
 * 304 is `unchanged` without a download. A body is `unchanged` too when its sha256 is the last
 * one, or when its score date and model are those of the last completed sync (the same day
 * published again), or when its score date is older (a stale copy on the way: the scores stored
 * are newer). Otherwise the whole file is read once to check it (gzip, size, lines) so that a
 * broken file fails the sync (FeedFormatError) before anything is written, then read again,
 * line by line, into entries of `factsPerEntry` facts: about 300,000 rows are never all in
 * memory as facts.
 */
import { createGunzip } from 'node:zlib';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import {
  type EpssFact,
  EpssFileError,
  type EpssPreamble,
  EpssReader,
  MAX_EPSS_LINE_CHARS,
} from '../../advisories/importers/epss.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { type FeedFetch, FeedFormatError, type FeedSource, type ParsedEntry } from '../types.js';
import { conditionalGet, fileVersion, fingerprintOf, versionsIn } from '../whole-file.js';
import { FACTS_PER_ENTRY, type FactEntry, factEntry, parseFactEntry } from './kev.js';

export const EPSS_URL = 'https://epss.empiricalsecurity.com/epss_scores-current.csv.gz';

/** The gzip'd file is a few MB; far more is not FIRST's. */
const MAX_EPSS_DOWNLOAD_BYTES = 64 * 1024 * 1024;
/** Inflated it is about 10 MB (300,000 rows of ~30 characters). */
export const MAX_EPSS_CSV_BYTES = 256 * 1024 * 1024;

export interface EpssSourceOptions {
  /** The file to download (EPSS_URL by default); gzip'd or not. */
  readonly url?: string;
  /** Time allowed for the download. @default 120 s */
  readonly timeoutMs?: number;
  /** The largest download accepted (64 MiB by default). */
  readonly maxBytes?: number;
  /** The largest inflated CSV accepted (MAX_EPSS_CSV_BYTES by default). */
  readonly maxCsvBytes?: number;
  /** Facts per entry (FACTS_PER_ENTRY by default). */
  readonly factsPerEntry?: number;
}

/** What a fingerprint keeps of the scores besides the file's version. */
interface Scored {
  readonly scoreDate?: string;
  readonly modelVersion?: string;
}

function scoredIn(versions: unknown): Scored | undefined {
  if (versions === null || typeof versions !== 'object') return undefined;
  const { scoreDate, modelVersion } = versions as Record<string, unknown>;
  if (typeof scoreDate !== 'string') return undefined;
  return { scoreDate, ...(typeof modelVersion === 'string' ? { modelVersion } : {}) };
}

export class EpssSource implements FeedSource {
  readonly id = 'epss';
  // Entries of FACTS_PER_ENTRY facts: 5,000 facts a batch.
  readonly batchSize = 10;
  readonly url: string;
  private readonly perEntry: number;
  private readonly maxCsvBytes: number;

  constructor(private readonly opts: EpssSourceOptions = {}) {
    this.url = opts.url ?? EPSS_URL;
    this.perEntry = opts.factsPerEntry ?? FACTS_PER_ENTRY;
    this.maxCsvBytes = opts.maxCsvBytes ?? MAX_EPSS_CSV_BYTES;
    if (!Number.isInteger(this.perEntry) || this.perEntry < 1)
      throw new FeedFormatError(`factsPerEntry ${this.perEntry} is not a positive integer`);
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    // A resumed sync needs the file itself, whatever the last completed one saw.
    const before =
      previous?.cursor === undefined ? versionsIn('epss', previous?.fingerprint) : undefined;
    const got = await conditionalGet(this.url, fileVersion(before), {
      maxBytes: this.opts.maxBytes ?? MAX_EPSS_DOWNLOAD_BYTES,
      timeoutMs: this.opts.timeoutMs ?? 120_000,
      signal,
    });
    // Only asked conditionally with what `previous` carries: its fingerprint is the file's.
    if (got.kind === 'not-modified')
      return { kind: 'unchanged', fingerprint: previous?.fingerprint as string };
    const body = got.body;
    const preamble = await this.preamble(body);
    const fingerprint = fingerprintOf('epss', {
      ...got.version,
      scoreDate: preamble.scoreDate,
      ...(preamble.modelVersion === undefined ? {} : { modelVersion: preamble.modelVersion }),
    });
    const last = scoredIn(before);
    if (
      fileVersion(before)?.sha256 === got.version.sha256 ||
      (last?.scoreDate === preamble.scoreDate && last.modelVersion === preamble.modelVersion)
    )
      return { kind: 'unchanged', fingerprint };
    if (last?.scoreDate !== undefined && preamble.date < last.scoreDate.slice(0, 10))
      return { kind: 'unchanged', fingerprint: previous?.fingerprint as string };
    // The whole file, checked before the sync writes anything of it.
    const check = this.facts(body, []);
    while ((await check.next()).done !== true) {
      // Only a FeedFormatError matters here; the facts are read again, entry by entry.
    }
    return {
      kind: 'changed',
      fingerprint,
      mode: 'full',
      entries: () => this.entries(body),
      close: async () => {},
    };
  }

  parse(entry: FactEntry): Promise<ParsedEntry> {
    return parseFactEntry(entry);
  }

  /** The file's metadata line, read from its first lines only. */
  private async preamble(body: Buffer): Promise<EpssPreamble> {
    const reader = new EpssReader(this.url, []);
    for await (const line of this.lines(body)) {
      this.read(reader, line);
      if (reader.started) return reader.preamble as EpssPreamble;
    }
    this.end(reader);
    throw new FeedFormatError(`${this.url}: not EPSS CSV`);
  }

  /** Facts in entries of `perEntry`, each with the issues met since the last. */
  private async *entries(body: Buffer): AsyncGenerator<FactEntry> {
    const issues: ImportIssue[] = [];
    let facts: EpssFact[] = [];
    for await (const fact of this.facts(body, issues)) {
      facts.push(fact);
      if (facts.length < this.perEntry) continue;
      yield factEntry(facts, issues.splice(0));
      facts = [];
    }
    if (facts.length > 0 || issues.length > 0) yield factEntry(facts, issues.splice(0));
  }

  /** Every fact of the file, line by line; a file that is not FIRST's is a FeedFormatError. */
  private async *facts(body: Buffer, issues: ImportIssue[]): AsyncGenerator<EpssFact> {
    const reader = new EpssReader(this.url, issues);
    for await (const line of this.lines(body)) {
      const fact = this.read(reader, line);
      if (fact !== undefined) yield fact;
    }
    this.end(reader);
  }

  private read(reader: EpssReader, line: string): EpssFact | undefined {
    try {
      return reader.line(line);
    } catch (error) {
      if (!(error instanceof EpssFileError)) throw error;
      throw new FeedFormatError(error.message, { cause: error });
    }
  }

  private end(reader: EpssReader): void {
    try {
      reader.end();
    } catch (error) {
      if (!(error instanceof EpssFileError)) throw error;
      throw new FeedFormatError(error.message, { cause: error });
    }
  }

  /**
   * The body's lines, inflated as they are read when it is gzip'd (RFC 1952's magic bytes
   * 1f 8b; a server may also send it plain), refused past `maxCsvBytes` inflated or at a line
   * longer than any of FIRST's.
   */
  private async *lines(body: Buffer): AsyncGenerator<string> {
    const gzipped = body[0] === 0x1f && body[1] === 0x8b;
    const gunzip = gzipped ? createGunzip() : undefined;
    gunzip?.end(body);
    const decoder = new TextDecoder();
    let size = 0;
    let rest = '';
    try {
      for await (const chunk of (gunzip ?? [body]) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.maxCsvBytes)
          throw new FeedFormatError(`${this.url}: inflates past ${this.maxCsvBytes} bytes`);
        rest += decoder.decode(chunk, { stream: true });
        let start = 0;
        for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n', start)) {
          yield rest.slice(start, nl);
          start = nl + 1;
        }
        rest = rest.slice(start);
        if (rest.length > MAX_EPSS_LINE_CHARS)
          throw new FeedFormatError(
            `${this.url}: a line is over ${MAX_EPSS_LINE_CHARS} characters: not EPSS CSV`,
          );
      }
    } catch (error) {
      if (error instanceof FeedFormatError) throw error;
      throw new FeedFormatError(`${this.url}: not gzip'd EPSS CSV: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      gunzip?.destroy();
    }
    rest += decoder.decode();
    if (rest !== '') yield rest;
  }
}
