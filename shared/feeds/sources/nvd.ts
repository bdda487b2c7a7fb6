/**
 * NVD's CVE API 2.0 (https://nvd.nist.gov/developers/vulnerabilities) as a feed of CVE facts:
 * NVD's and the CNAs' CVSS ratings of every CVE (importers/nvd.ts reads a page).
 *
 * - First sync (no watermark): every CVE, paged by `startIndex` (`resultsPerPage` up to 2,000;
 *   the whole NVD is about 300,000 CVEs, some 150 pages). The first page is asked for when the
 *   sync starts, for `totalResults`; the others when the sync reads their entry, so a resumed
 *   sync asks only for the pages from its cursor on. The watermark is the first page's
 *   `timestamp` (when NVD answered): a CVE modified during the long first load is read again by
 *   the next sync.
 * - Later syncs: `lastModStartDate`/`lastModEndDate` windows of at most 120 consecutive days
 *   (NVD's limit) from the watermark to now, each paged. `unchanged` only when every window is
 *   empty. The next watermark is the end of the last window, or NVD's `timestamp` of its answer
 *   when that is earlier (a local clock ahead of NVD's would skip what NVD dates in between).
 *
 * Each entry is one page (its URL is its name) and `parse` returns its facts, never records.
 * The fingerprint is the plan itself (pages of the first load, or the windows with their
 * totals), so a sync resumed from its cursor rebuilds the same entries without asking NVD.
 *
 * Paging while NVD changes: during a first load CVEs are only added, which moves later CVEs to
 * higher indexes, so pages read in increasing `startIndex` can only see a CVE twice, never miss
 * one. In a lastMod window a CVE only leaves (modified again, after the window's end: the next
 * sync reads it), which moves later CVEs to lower indexes; so a window's pages are read from the
 * last to the first, and again a CVE is at worst read twice. A page read twice hashes equal.
 * Both hold for pages asked for in entry order (the limiter serves requests in the order asked).
 *
 * Rate limits (https://nvd.nist.gov/developers/start-here): 5 requests in a rolling 30 s
 * window without an API key, 50 with one; NVD answers 403 when a client goes past them. Each
 * request waits its turn in a rolling-window limiter, and a 403, 429, 5xx, timeout or dropped
 * connection is retried after an exponential wait (6 s doubling, the pause NVD suggests between
 * requests, or the server's Retry-After) up to `maxAttempts`, then is a FeedFetchError. The API
 * key is sent as the `apiKey` header, never in a URL, and is kept out of every message.
 */
import * as z from 'zod';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import { type NvdPage, NvdPageError, nvdFactsOfPage } from '../../advisories/importers/nvd.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { readBody } from '../http.js';
import {
  type FeedEntry,
  type FeedFetch,
  FeedFetchError,
  FeedFormatError,
  type FeedSource,
  type ParsedEntry,
} from '../types.js';

export const NVD_CVE_API_URL = 'https://services.nvd.nist.gov/rest/json/cves/2.0';
/** The largest page the CVE API serves. */
export const NVD_MAX_RESULTS_PER_PAGE = 2000;
/** The longest lastMod range the CVE API accepts. */
export const NVD_MAX_WINDOW_DAYS = 120;
const DAY_MS = 86_400_000;
/** NVD's published limits: requests per rolling 30 s window. */
export const NVD_RATE_LIMITS = {
  anonymous: { requests: 5, windowMs: 30_000 },
  withApiKey: { requests: 50, windowMs: 30_000 },
} as const;
/**
 * Entries per sync batch for this source: one page (2,000 CVEs) per checkpoint, so that a stop
 * (a Lambda deadline) loses at most a page, a resume asks for no page twice, and pages are asked
 * for one after the other in the order the paging argument above needs.
 */
export const NVD_PAGES_PER_BATCH = 1;

/** A 2,000-CVE page is a few MB to a few tens of MB; far more is refused as it arrives. */
const MAX_PAGE_BYTES = 128 * 1024 * 1024;
/** 10,000 pages of 2,000 is 60 times today's NVD: a server claiming more is wrong. */
const MAX_PAGES = 10_000;
const RETRIED = new Set([403, 429, 500, 502, 503, 504]);

/** Time as the source sees it: real by default, driven by tests. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const done = () => {
        signal?.removeEventListener('abort', stop);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const stop = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', stop, { once: true });
    }),
};

/**
 * At most `requests` request starts in any `windowMs`: a caller waits (on the clock) until the
 * oldest start in the window leaves it. Callers are served in the order they ask.
 */
export class RollingWindowLimiter {
  private readonly starts: number[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly requests: number,
    readonly windowMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        const now = this.clock.now();
        while (this.starts.length > 0 && (this.starts[0] as number) <= now - this.windowMs)
          this.starts.shift();
        if (this.starts.length < this.requests) {
          this.starts.push(now);
          return;
        }
        await this.clock.sleep((this.starts[0] as number) + this.windowMs - now, signal);
      }
    });
    this.queue = turn.catch(() => {});
    return turn;
  }
}

export interface NvdSourceOptions {
  /** The CVE API endpoint. @default NVD_CVE_API_URL */
  readonly baseUrl?: string;
  /** NVD's API key (sent as the `apiKey` header; raises the rate limit tenfold). */
  readonly apiKey?: string;
  /** CVEs per page, 1 to 2,000. @default 2000 */
  readonly resultsPerPage?: number;
  /** Time allowed for one request, body included. @default 120 s */
  readonly timeoutMs?: number;
  /** The largest page accepted. @default 128 MiB */
  readonly maxPageBytes?: number;
  /** Attempts per request before a FeedFetchError. @default 5 */
  readonly maxAttempts?: number;
  /** First wait after a failed attempt, doubled each time. @default 6 s */
  readonly retryBaseMs?: number;
  /** The longest wait between attempts (a Retry-After too). @default 120 s */
  readonly retryMaxMs?: number;
  /** Requests per rolling window. @default NVD_RATE_LIMITS by whether a key is given */
  readonly rateLimit?: { readonly requests: number; readonly windowMs: number };
  readonly clock?: Clock;
  /** Operational events (retries), with constant messages; never given the API key. */
  readonly log?: (message: string, fields: Readonly<Record<string, unknown>>) => void;
}

/** One page of the plan: its URL is the entry's name. */
export interface NvdPageEntry extends FeedEntry {
  readonly startIndex: number;
}

const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date-time');
const count = z.number().int().nonnegative();
const perPage = z.number().int().min(1).max(NVD_MAX_RESULTS_PER_PAGE);
/** What a fingerprint holds: the pages of a first load, or the windows of a later sync. */
const planSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('full'),
    perPage,
    total: count,
    watermark: instant,
  }),
  z.object({
    mode: z.literal('incremental'),
    perPage,
    watermark: instant,
    windows: z.array(z.object({ start: instant, end: instant, total: count })),
  }),
]);
type Plan = z.output<typeof planSchema>;
type Window = { readonly start: string; readonly end: string };

const FINGERPRINT = 'nvd:';
const fingerprintOf = (plan: Plan) => `${FINGERPRINT}${JSON.stringify(plan)}`;

function planOf(fingerprint: string | undefined): Plan | undefined {
  if (fingerprint?.startsWith(FINGERPRINT) !== true) return undefined;
  try {
    const parsed = planSchema.safeParse(JSON.parse(fingerprint.slice(FINGERPRINT.length)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `since` to `until` in consecutive windows of at most 120 days. Bounds are inclusive at NVD,
 * so a CVE modified exactly on a bound is read twice, which changes nothing.
 */
export function lastModWindows(since: number, until: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let start = since; start < until; start += NVD_MAX_WINDOW_DAYS * DAY_MS)
    out.push({ start, end: Math.min(until, start + NVD_MAX_WINDOW_DAYS * DAY_MS) });
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** NVD's extended ISO-8601 with an explicit UTC offset, its `+` escaped in the query. */
const nvdDate = (instant: string) =>
  new Date(Date.parse(instant)).toISOString().replace('Z', '%2B00:00');

export class NvdSource implements FeedSource {
  readonly id = 'nvd';
  readonly batchSize = NVD_PAGES_PER_BATCH;
  readonly baseUrl: string;
  private readonly perPage: number;
  private readonly clock: Clock;
  private readonly limiter: RollingWindowLimiter;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(private readonly opts: NvdSourceOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? NVD_CVE_API_URL).replace(/\/+$/, '');
    this.perPage = opts.resultsPerPage ?? NVD_MAX_RESULTS_PER_PAGE;
    if (
      !Number.isInteger(this.perPage) ||
      this.perPage < 1 ||
      this.perPage > NVD_MAX_RESULTS_PER_PAGE
    )
      throw new RangeError(
        `resultsPerPage ${opts.resultsPerPage} is not an integer from 1 to ${NVD_MAX_RESULTS_PER_PAGE}`,
      );
    if (opts.apiKey !== undefined && !/^[\x21-\x7e]+$/.test(opts.apiKey))
      throw new RangeError('apiKey is empty or has characters an HTTP header cannot carry');
    this.clock = opts.clock ?? systemClock;
    const limit =
      opts.rateLimit ??
      (opts.apiKey === undefined ? NVD_RATE_LIMITS.anonymous : NVD_RATE_LIMITS.withApiKey);
    this.limiter = new RollingWindowLimiter(limit.requests, limit.windowMs, this.clock);
    this.headers = {
      accept: 'application/json',
      ...(opts.apiKey === undefined ? {} : { apiKey: opts.apiKey }),
    };
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    // A sync stopped part way: its cursor's fingerprint is the plan it was reading.
    const resumed = planOf(previous?.cursor?.fingerprint);
    if (resumed !== undefined) return this.feed(resumed, new Map(), signal);
    const since = previous?.watermark;
    if (since === undefined || Number.isNaN(Date.parse(since))) return this.firstLoad(signal);
    return this.windows(since, signal);
  }

  async parse(entry: FeedEntry): Promise<ParsedEntry> {
    const issues: ImportIssue[] = [];
    const page = this.readPage(await entry.read(), entry.name, issues);
    const expected = (entry as Partial<NvdPageEntry>).startIndex;
    if (expected !== undefined && page.startIndex !== expected)
      throw new FeedFormatError(
        `${entry.name}: answered startIndex ${page.startIndex} to a request for ${expected}`,
      );
    return { records: [], issues, facts: page.facts };
  }

  private async firstLoad(signal?: AbortSignal): Promise<FeedFetch> {
    const url = this.pageUrl(0);
    const body = await this.request(url, signal);
    const first = this.readPage(body, url, []);
    if (first.timestamp === undefined)
      throw new FeedFormatError(`${url}: no timestamp, so no watermark for the next sync`);
    const plan: Plan = {
      mode: 'full',
      perPage: this.perPage,
      total: first.totalResults,
      watermark: first.timestamp,
    };
    return this.feed(plan, new Map([[url, body]]), signal);
  }

  private async windows(since: string, signal?: AbortSignal): Promise<FeedFetch> {
    const now = this.clock.now();
    const windows: { start: string; end: string; total: number }[] = [];
    const cached = new Map<string, Buffer>();
    // NVD's clock may be behind ours: the earliest time NVD answered is the safe watermark.
    let watermark = now;
    for (const w of lastModWindows(Date.parse(since), now)) {
      const window = { start: iso(w.start), end: iso(w.end) };
      const url = this.pageUrl(0, window);
      const body = await this.request(url, signal);
      const page = this.readPage(body, url, []);
      windows.push({ ...window, total: page.totalResults });
      // A window of one page is read whole now; a longer one is read last page first (above).
      if (page.totalResults > 0 && page.totalResults <= this.perPage) cached.set(url, body);
      if (page.timestamp !== undefined) watermark = Math.min(watermark, Date.parse(page.timestamp));
    }
    if (windows.every((w) => w.total === 0))
      return { kind: 'unchanged', fingerprint: `${FINGERPRINT}since:${since}` };
    const plan: Plan = {
      mode: 'incremental',
      perPage: this.perPage,
      watermark: iso(watermark),
      windows,
    };
    return this.feed(plan, cached, signal);
  }

  /** The plan as entries: one per page, read when the sync reaches it. */
  private feed(plan: Plan, cached: Map<string, Buffer>, signal?: AbortSignal): FeedFetch {
    const pages: { url: string; startIndex: number }[] = [];
    const starts = (total: number) =>
      Array.from({ length: Math.ceil(total / plan.perPage) }, (_, i) => i * plan.perPage);
    const totalPages = (plan.mode === 'full' ? [plan.total] : plan.windows.map((w) => w.total))
      .map((t) => Math.ceil(t / plan.perPage))
      .reduce((a, b) => a + b, 0);
    if (totalPages > MAX_PAGES)
      throw new FeedFormatError(
        `${this.baseUrl}: ${totalPages} pages of ${plan.perPage} CVEs is over ${MAX_PAGES}`,
      );
    if (plan.mode === 'full')
      for (const s of starts(plan.total))
        pages.push({ url: this.pageUrl(s, undefined, plan.perPage), startIndex: s });
    else
      for (const w of plan.windows)
        for (const s of starts(w.total).reverse())
          pages.push({ url: this.pageUrl(s, w, plan.perPage), startIndex: s });
    this.opts.log?.('nvd sync planned', { mode: plan.mode, pages: pages.length });
    const request = (url: string) => this.request(url, signal);
    return {
      kind: 'changed',
      fingerprint: fingerprintOf(plan),
      mode: plan.mode,
      watermark: plan.watermark,
      async *entries() {
        for (const { url, startIndex } of pages)
          yield {
            name: url,
            startIndex,
            read: async () => {
              const body = cached.get(url);
              cached.delete(url);
              return body ?? request(url);
            },
          } satisfies NvdPageEntry;
      },
      close: async () => cached.clear(),
    };
  }

  private pageUrl(startIndex: number, window?: Window, perPage = this.perPage): string {
    const range =
      window === undefined
        ? ''
        : `lastModStartDate=${nvdDate(window.start)}&lastModEndDate=${nvdDate(window.end)}&`;
    return `${this.baseUrl}?${range}resultsPerPage=${perPage}&startIndex=${startIndex}`;
  }

  /** A page read, or a FeedFormatError naming its URL. */
  private readPage(body: Buffer, url: string, issues: ImportIssue[]): NvdPage {
    try {
      return nvdFactsOfPage(body.toString('utf8'), url, issues);
    } catch (error) {
      if (!(error instanceof NvdPageError)) throw error;
      throw new FeedFormatError(error.message, { cause: error });
    }
  }

  /** One GET, in its turn, retried as the header comment says. */
  private async request(url: string, signal?: AbortSignal): Promise<Buffer> {
    const attempts = Math.max(1, this.opts.maxAttempts ?? 5);
    const maxWait = this.opts.retryMaxMs ?? 120_000;
    for (let attempt = 1; ; attempt++) {
      await this.limiter.take(signal).catch((error: unknown) => {
        throw new FeedFetchError(url, 'aborted', { cause: error });
      });
      const got = await this.attempt(url, signal);
      if (got.kind === 'body') return got.body;
      if (attempt >= attempts)
        throw new FeedFetchError(url, `${got.reason}; gave up after ${attempt} attempts`);
      const waitMs = Math.min(
        maxWait,
        got.retryAfterMs ?? (this.opts.retryBaseMs ?? 6_000) * 2 ** (attempt - 1),
      );
      this.opts.log?.('nvd request retried', { url, reason: got.reason, attempt, waitMs });
      await this.clock.sleep(waitMs, signal).catch((error: unknown) => {
        throw new FeedFetchError(url, 'aborted', { cause: error });
      });
    }
  }

  private async attempt(
    url: string,
    signal?: AbortSignal,
  ): Promise<
    | { kind: 'body'; body: Buffer }
    | { kind: 'retry'; reason: string; retryAfterMs?: number | undefined }
  > {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 120_000);
    const both = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
    let response: Response;
    try {
      response = await fetch(url, { headers: this.headers, signal: both });
    } catch (error) {
      if (signal?.aborted === true) throw new FeedFetchError(url, 'aborted', { cause: error });
      return { kind: 'retry', reason: timeout.aborted ? 'timed out' : this.reasonOf(error) };
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      // NVD says why in a `message` header (an invalid key, a bad parameter).
      const said = response.headers.get('message');
      const reason = this.scrub(
        `HTTP ${response.status}${said === null ? '' : `: ${said.slice(0, 200)}`}`,
      );
      if (!RETRIED.has(response.status)) throw new FeedFetchError(url, reason);
      return {
        kind: 'retry',
        reason,
        retryAfterMs: retryAfterMs(response.headers.get('retry-after'), this.clock.now()),
      };
    }
    const max = this.opts.maxPageBytes ?? MAX_PAGE_BYTES;
    let body: Buffer | undefined;
    try {
      body = await readBody(response, max);
    } catch (error) {
      if (signal?.aborted === true) throw new FeedFetchError(url, 'aborted', { cause: error });
      return {
        kind: 'retry',
        reason: `body: ${timeout.aborted ? 'timed out' : this.reasonOf(error)}`,
      };
    }
    if (body === undefined) throw new FeedFetchError(url, `body over ${max} bytes`);
    return { kind: 'body', body };
  }

  private reasonOf(error: unknown): string {
    const e = error as Error & { cause?: Error };
    return this.scrub(e.cause?.message ?? e.message);
  }

  /** Keeps the API key out of any text that leaves the source. */
  private scrub(text: string): string {
    const key = this.opts.apiKey;
    return key === undefined ? text : text.split(key).join('[apiKey]');
  }
}

/** A Retry-After (seconds or an HTTP date) in ms from `now`, if the server sent one. */
function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
