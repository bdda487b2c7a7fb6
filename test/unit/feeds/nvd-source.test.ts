/**
 * The NVD feed source (shared/feeds/sources/nvd.ts) against a server on loopback that answers
 * like NVD's CVE API 2.0 from the real responses:
 * - without a lastMod range it pages vunnel's real 38-CVE page (full-page.json) by `startIndex`
 *   and `resultsPerPage`: the same CVEs in the same order, cut into pages of N (synthetic
 *   paging of a real page; the header fields are computed as NVD computes them);
 * - with `lastModStartDate`/`lastModEndDate` it answers the CVEs of osv.dev's 23 real
 *   single-CVE responses whose `lastModified` is in the range, oldest first; a range holding
 *   exactly one of them is answered with that real response, byte for byte. A range over 120
 *   days or a page over 2,000 is refused as NVD refuses it (404 with a `message` header).
 * Time is a driven clock: the rate limiter's and the retries' waits are recorded, never slept.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CveFact } from '../../../shared/advisories/cve-facts.js';
import {
  type Clock,
  lastModWindows,
  NVD_CVE_API_URL,
  NVD_PAGES_PER_BATCH,
  NvdSource,
  type NvdSourceOptions,
  RollingWindowLimiter,
} from '../../../shared/feeds/sources/nvd.js';
import { SyncAbortedError, syncFeed } from '../../../shared/feeds/sync.js';
import {
  type ChangedFeed,
  type FeedEntry,
  FeedFetchError,
  FeedFormatError,
} from '../../../shared/feeds/types.js';
import type { FeedCheckpoint } from '../../../shared/stores/advisory-store.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const advisories = (relative: string) => path.join(dataDir(), 'advisories', relative);
const FULL_PAGE = 'vunnel-fixtures/tests/unit/providers/nvd/test-fixtures/full-page.json';
const SINGLES = 'osv-dev-vulnfeeds/vulnfeeds/test_data/nvdcve-2.0';
const DAY = 86_400_000;

interface RawCve {
  readonly id: string;
  readonly lastModified: string;
  readonly [field: string]: unknown;
}

const utc = (nvdTime: string) => Date.parse(/Z$/.test(nvdTime) ? nvdTime : `${nvdTime}Z`);
/** A time as NVD writes it: UTC without a zone. */
const nvdTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '');

/** A clock that only moves when the source waits on it; every wait is recorded. */
class DrivenClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

interface Request {
  readonly params: Record<string, string>;
  readonly apiKey: string | undefined;
  readonly at: number;
  readonly status: number;
}

/** NVD's CVE API on loopback (see the header comment). */
class FakeNvd {
  /** The CVEs answered without a lastMod range, in NVD's order. */
  cves: RawCve[] = [];
  /** The CVEs a lastMod range selects from, with their real single-CVE response. */
  readonly modified: { cve: RawCve; response: string }[] = [];
  /** Statuses answered, one per request, before the server answers normally again. */
  readonly failures: { status: number; headers?: Record<string, string> }[] = [];
  /** Bodies answered instead of a page, by startIndex. */
  readonly overrides = new Map<number, string>();
  readonly requests: Request[] = [];
  clock: Clock = new DrivenClock(0);
  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeNvd> {
    let nvd: FakeNvd | undefined;
    const server = createServer((req, res) => nvd?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    nvd = new FakeNvd(server);
    return nvd;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/rest/json/cves/2.0`;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://nvd');
    const params = Object.fromEntries(url.searchParams);
    const key = req.headers.apikey;
    const { status, headers, body } = this.answer(params);
    this.requests.push({
      params,
      apiKey: typeof key === 'string' ? key : undefined,
      at: this.clock.now(),
      status,
    });
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
  }

  private answer(params: Record<string, string>): {
    status: number;
    headers?: Record<string, string>;
    body?: string;
  } {
    const failure = this.failures.shift();
    if (failure !== undefined) return failure;
    const perPage = Number(params.resultsPerPage ?? 2000);
    const startIndex = Number(params.startIndex ?? 0);
    const refuse = (message: string) => ({ status: 404, headers: { message } });
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 2000)
      return refuse('Invalid resultsPerPage');
    const { lastModStartDate: from, lastModEndDate: to } = params;
    if ((from === undefined) !== (to === undefined))
      return refuse('Both lastModStartDate and lastModEndDate are required');
    let selected: RawCve[] = this.cves;
    if (from !== undefined && to !== undefined) {
      const [start, end] = [Date.parse(from), Date.parse(to)];
      if (Number.isNaN(start) || Number.isNaN(end) || end < start || end - start > 120 * DAY)
        return refuse('The lastMod date range must be within 120 days');
      const hits = this.modified
        .filter(({ cve }) => utc(cve.lastModified) >= start && utc(cve.lastModified) <= end)
        .sort((a, b) => utc(a.cve.lastModified) - utc(b.cve.lastModified));
      const [only] = hits;
      if (hits.length === 1 && only !== undefined && startIndex === 0)
        return { status: 200, body: only.response };
      selected = hits.map((h) => h.cve);
    }
    const override = this.overrides.get(startIndex);
    if (override !== undefined) return { status: 200, body: override };
    const slice = selected.slice(startIndex, startIndex + perPage);
    return {
      status: 200,
      body: JSON.stringify({
        resultsPerPage: slice.length,
        startIndex,
        totalResults: selected.length,
        format: 'NVD_CVE',
        version: '2.0',
        timestamp: nvdTime(this.clock.now()),
        vulnerabilities: slice.map((cve) => ({ cve })),
      }),
    };
  }

  reset(): void {
    this.cves = fullPageCves();
    this.failures.length = 0;
    this.overrides.clear();
    this.requests.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const fullPageCves = (): RawCve[] =>
  JSON.parse(readFileSync(advisories(FULL_PAGE), 'utf8')).vulnerabilities.map(
    (v: { cve: RawCve }) => v.cve,
  );

let nvd: FakeNvd;
beforeAll(async () => {
  nvd = await FakeNvd.start();
  for (const name of readdirSync(advisories(SINGLES))
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const response = readFileSync(advisories(`${SINGLES}/${name}`), 'utf8');
    nvd.modified.push({ cve: JSON.parse(response).vulnerabilities[0].cve, response });
  }
  expect(nvd.modified).toHaveLength(23);
});
afterAll(() => nvd.close());
afterEach(() => nvd.reset());

/** A source on the fake NVD with a driven clock starting at `at`. */
function source(at: string, opts: Partial<NvdSourceOptions> = {}) {
  const clock = new DrivenClock(Date.parse(at));
  nvd.clock = clock;
  const logged: { message: string; fields: Readonly<Record<string, unknown>> }[] = [];
  const nvdSource = new NvdSource({
    baseUrl: nvd.url,
    clock,
    timeoutMs: 10_000,
    log: (message, fields) => logged.push({ message, fields }),
    ...opts,
  });
  return { source: nvdSource, clock, logged };
}

const changed = async (s: NvdSource, previous?: FeedCheckpoint): Promise<ChangedFeed> => {
  const got = await s.fetch(previous);
  if (got.kind !== 'changed') throw new Error(`expected a changed feed, got ${got.kind}`);
  return got;
};

async function entriesOf(feed: ChangedFeed): Promise<FeedEntry[]> {
  const out: FeedEntry[] = [];
  for await (const e of feed.entries()) out.push(e);
  return out;
}

/** Parses entries in order, as the sync does, and gathers their facts. */
async function factsOf(s: NvdSource, entries: readonly FeedEntry[]): Promise<CveFact[]> {
  const facts: CveFact[] = [];
  for (const e of entries) {
    const parsed = await s.parse(e);
    expect(parsed.records).toEqual([]);
    expect(parsed.issues).toEqual([]);
    facts.push(...(parsed.facts ?? []));
  }
  return facts;
}

const startIndexes = () => nvd.requests.map((r) => Number(r.params.startIndex));
const windowsAsked = () =>
  nvd.requests.map((r) => `${r.params.lastModStartDate} ${r.params.lastModEndDate}`);

describe('NVD feed source', () => {
  it('is the nvd source, on NVD by default, with at most 2,000 CVEs a page', () => {
    const s = new NvdSource();
    expect(s.id).toBe('nvd');
    expect(s.baseUrl).toBe(NVD_CVE_API_URL);
    expect(NVD_CVE_API_URL).toBe('https://services.nvd.nist.gov/rest/json/cves/2.0');
    expect(() => new NvdSource({ resultsPerPage: 2001 })).toThrow(
      /resultsPerPage 2001 is not an integer from 1 to 2000/,
    );
    expect(() => new NvdSource({ resultsPerPage: 0 })).toThrow(RangeError);
    expect(() => new NvdSource({ apiKey: 'two words' })).toThrow(/apiKey/);
  });

  it('loads every CVE in pages by startIndex, the first page asked once, watermark NVD’s time', async () => {
    const { source: s } = source('2023-10-18T18:04:18.493Z', { resultsPerPage: 10 });
    const feed = await changed(s, undefined);
    expect(feed.mode).toBe('full');
    expect(feed.watermark).toBe('2023-10-18T18:04:18.493Z');
    // Only the first page is asked for before the sync reads entries.
    expect(startIndexes()).toEqual([0]);
    const entries = await entriesOf(feed);
    expect(entries.map((e) => new URL(e.name).searchParams.get('startIndex'))).toEqual([
      '0',
      '10',
      '20',
      '30',
    ]);
    const facts = await factsOf(s, entries);
    expect(facts.map((f) => f.cve)).toEqual(fullPageCves().map((c) => c.id));
    expect(startIndexes()).toEqual([0, 10, 20, 30]);
    for (const r of nvd.requests) {
      expect(r.params.resultsPerPage).toBe('10');
      expect(r.params.lastModStartDate).toBeUndefined();
      expect(r.apiKey).toBeUndefined();
    }
    await feed.close();
  });

  it('resumes a first load stopped between pages, asking only for the pages left', async () => {
    const first = source('2023-10-18T18:04:18.493Z', { resultsPerPage: 10 });
    const feed = await changed(first.source, undefined);
    const entries = await entriesOf(feed);
    const done = await factsOf(first.source, entries.slice(0, 2));
    await feed.close();
    expect(done).toHaveLength(20);

    // NVD publishes a CVE meanwhile (one of osv.dev's real ones) and time moves on.
    nvd.cves.push(nvd.modified[0]?.cve as RawCve);
    nvd.requests.length = 0;
    const later = source('2023-10-19T09:00:00.000Z', { resultsPerPage: 10 });
    const checkpoint: FeedCheckpoint = {
      source: 'nvd',
      cursor: { fingerprint: feed.fingerprint, position: 2, watermark: feed.watermark as string },
    };
    const resumed = await changed(later.source, checkpoint);
    // The same plan, rebuilt from the cursor without asking NVD.
    expect(resumed.fingerprint).toBe(feed.fingerprint);
    expect(resumed.watermark).toBe('2023-10-18T18:04:18.493Z');
    expect(nvd.requests).toEqual([]);
    const again = await entriesOf(resumed);
    expect(again.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    const rest = await factsOf(later.source, again.slice(2));
    expect(startIndexes()).toEqual([20, 30]);
    // The new CVE comes last, in the last planned page's room (it had 8 of 10): read too. One
    // past the planned pages would be read by the next sync, its lastModified being after the
    // watermark.
    expect([...done, ...rest].map((f) => f.cve)).toEqual([
      ...fullPageCves().map((c) => c.id),
      'CVE-2014-1424',
    ]);
  });

  it('reads a 300-day gap as three lastMod windows of at most 120 days, each window last page first', async () => {
    const { source: s } = source('2023-10-28T00:00:00.000Z', { resultsPerPage: 2 });
    const feed = await changed(s, { source: 'nvd', watermark: '2023-01-01T00:00:00.000Z' });
    expect(feed.mode).toBe('incremental');
    const plan = [
      '2023-01-01T00:00:00.000+00:00 2023-05-01T00:00:00.000+00:00',
      '2023-05-01T00:00:00.000+00:00 2023-08-29T00:00:00.000+00:00',
      '2023-08-29T00:00:00.000+00:00 2023-10-28T00:00:00.000+00:00',
    ];
    expect(windowsAsked()).toEqual(plan);
    for (const r of nvd.requests) {
      const span =
        Date.parse(r.params.lastModEndDate ?? '') - Date.parse(r.params.lastModStartDate ?? '');
      expect(span).toBeLessThanOrEqual(120 * DAY);
    }
    const facts = await factsOf(s, await entriesOf(feed));
    // The second window holds three CVEs (two pages, read from the last); the others one page
    // each, already in hand.
    expect(startIndexes()).toEqual([0, 0, 0, 2, 0]);
    expect(windowsAsked().slice(3)).toEqual([plan[1], plan[1]]);
    expect(facts.map((f) => f.cve)).toEqual([
      'CVE-2022-34668',
      'CVE-2021-28429',
      'CVE-2023-24256',
      'CVE-2022-36749',
      'CVE-2022-32746',
      'CVE-2022-46285',
    ]);
    // The next sync starts at the end of the last window: no answer was stamped earlier (the
    // first window's real response is stamped 2023-11-27, the others at the clock's now).
    expect(feed.watermark).toBe('2023-10-28T00:00:00.000Z');
    expect(facts.every((f) => f.kind === 'nvd')).toBe(true);
  });

  it('is unchanged only when every window is empty, never skipping a later one', async () => {
    const empty = source('2025-03-30T00:00:00.000Z');
    const since = '2024-11-22T00:00:00.000Z';
    const none = await empty.source.fetch({ source: 'nvd', watermark: since });
    expect(none).toEqual({ kind: 'unchanged', fingerprint: `nvd:since:${since}` });
    expect(nvd.requests).toHaveLength(2);

    nvd.requests.length = 0;
    const later = source('2024-10-01T00:00:00.000Z');
    const feed = await changed(later.source, {
      source: 'nvd',
      watermark: '2023-11-21T00:00:00.000Z',
    });
    expect(nvd.requests.map((r) => r.status)).toEqual([200, 200, 200]);
    const facts = await factsOf(later.source, await entriesOf(feed));
    expect(facts.map((f) => f.cve)).toEqual(['CVE-2024-47177']);
    // Its one page was answered while planning: nothing asked twice.
    expect(nvd.requests).toHaveLength(3);
  });

  it('keeps to 5 requests per rolling 30 s without a key, 50 with one', async () => {
    const anonymous = source('2023-10-18T18:04:18.493Z', { resultsPerPage: 4 });
    await factsOf(anonymous.source, await entriesOf(await changed(anonymous.source)));
    expect(nvd.requests).toHaveLength(10);
    const times = nvd.requests.map((r) => r.at);
    for (const t of times)
      expect(times.filter((u) => u >= t && u < t + 30_000).length).toBeLessThanOrEqual(5);
    expect(anonymous.clock.sleeps).toEqual([30_000]);

    nvd.requests.length = 0;
    const keyed = source('2023-10-18T18:04:18.493Z', { resultsPerPage: 4, apiKey: 'k-123' });
    await factsOf(keyed.source, await entriesOf(await changed(keyed.source)));
    expect(nvd.requests).toHaveLength(10);
    expect(keyed.clock.sleeps).toEqual([]);
  });

  it('waits out throttling (403, then 429 with Retry-After) and goes on', async () => {
    const { source: s, clock, logged } = source('2023-10-18T18:04:18.493Z');
    nvd.failures.push({ status: 403 }, { status: 429, headers: { 'retry-after': '45' } });
    const feed = await changed(s);
    expect(nvd.requests.map((r) => r.status)).toEqual([403, 429, 200]);
    expect(clock.sleeps).toEqual([6_000, 45_000]);
    expect(logged.filter((l) => l.message === 'nvd request retried').map((l) => l.fields)).toEqual([
      {
        url: expect.stringContaining('startIndex=0'),
        reason: 'HTTP 403',
        attempt: 1,
        waitMs: 6_000,
      },
      {
        url: expect.stringContaining('startIndex=0'),
        reason: 'HTTP 429',
        attempt: 2,
        waitMs: 45_000,
      },
    ]);
    expect(await factsOf(s, await entriesOf(feed))).toHaveLength(38);
  });

  it('sends the API key as the apiKey header and never lets it out', async () => {
    const key = 'b7f0c2d4-3e51-4a8e-9c1d-2f6a7b8c9d0e';
    const { source: s, logged } = source('2023-10-18T18:04:18.493Z', {
      apiKey: key,
      maxAttempts: 2,
    });
    // A throttled answer, then one whose message repeats the key, as a proxy might.
    nvd.failures.push(
      { status: 403 },
      { status: 403, headers: { message: `Invalid apiKey ${key}` } },
    );
    const failed = await s.fetch(undefined).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(FeedFetchError);
    expect(String((failed as Error).message)).toMatch(
      /HTTP 403: Invalid apiKey \[apiKey\]; gave up after 2 attempts/,
    );
    expect(nvd.requests.map((r) => r.apiKey)).toEqual([key, key]);
    await factsOf(s, await entriesOf(await changed(s)));
    expect(nvd.requests.every((r) => r.apiKey === key)).toBe(true);
    expect(nvd.requests.every((r) => !Object.values(r.params).some((v) => v.includes(key)))).toBe(
      true,
    );
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).not.toContain(key);
    expect(JSON.stringify(failed)).not.toContain(key);
    expect((failed as Error).message).not.toContain(key);
  });

  it('gives up on an HTTP 500 that persists with a FeedFetchError, and on a 404 at once', async () => {
    const { source: s, clock } = source('2023-10-18T18:04:18.493Z', { maxAttempts: 3 });
    nvd.failures.push({ status: 500 }, { status: 500 }, { status: 500 });
    await expect(s.fetch(undefined)).rejects.toThrow(FeedFetchError);
    expect(nvd.requests.map((r) => r.status)).toEqual([500, 500, 500]);
    expect(clock.sleeps).toEqual([6_000, 12_000]);
    nvd.failures.push({ status: 500 }, { status: 500 }, { status: 500 });
    await expect(s.fetch(undefined)).rejects.toThrow(
      /startIndex=0: HTTP 500; gave up after 3 attempts/,
    );
    // What NVD refuses (a bad parameter) is not retried: its message says why.
    nvd.requests.length = 0;
    nvd.failures.push({ status: 404, headers: { message: 'Invalid parameter' } });
    await expect(s.fetch(undefined)).rejects.toThrow(/startIndex=0: HTTP 404: Invalid parameter$/);
    expect(nvd.requests).toHaveLength(1);
  });

  it('refuses a broken page with a FeedFormatError naming it, and a page of the wrong startIndex', async () => {
    const { source: s } = source('2023-10-18T18:04:18.493Z', { resultsPerPage: 10 });
    const real = readFileSync(advisories(FULL_PAGE), 'utf8');
    // The real page cut short, as a dropped connection leaves it, answered for startIndex 10.
    nvd.overrides.set(10, real.slice(0, 4096));
    // The real page (startIndex 0) answered for startIndex 20: a server ignoring startIndex.
    nvd.overrides.set(20, real);
    const entries = await entriesOf(await changed(s));
    await expect(s.parse(entries[1] as FeedEntry)).rejects.toThrow(FeedFormatError);
    await expect(s.parse(entries[1] as FeedEntry)).rejects.toThrow(/startIndex=10: not JSON/);
    await expect(s.parse(entries[2] as FeedEntry)).rejects.toThrow(
      /startIndex=20: answered startIndex 0 to a request for 20/,
    );
    // A first page that cannot be read: nothing to plan with.
    nvd.overrides.set(0, '<html>Service Unavailable</html>');
    await expect(s.fetch(undefined)).rejects.toThrow(/startIndex=0: not JSON/);
  });
});

describe('NVD through the sync', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'bosun-nvd-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes every fact on the first sync, resumes a stopped one, and writes nothing when NVD has nothing new', async () => {
    const store = EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
    const opts = { resultsPerPage: 10 };
    const stop = new AbortController();
    let batches = 0;
    await expect(
      syncFeed({
        source: source('2023-10-18T18:04:18.493Z', opts).source,
        store,
        batchSize: NVD_PAGES_PER_BATCH,
        signal: stop.signal,
        onBatch: () => {
          if (++batches === 2) stop.abort();
        },
      }),
    ).rejects.toThrow(SyncAbortedError);
    expect((await store.checkpoint('nvd'))?.cursor?.position).toBe(2);
    expect(startIndexes()).toEqual([0, 10]);

    nvd.requests.length = 0;
    const first = await syncFeed({
      source: source('2023-10-18T18:30:00.000Z', opts).source,
      store,
      batchSize: NVD_PAGES_PER_BATCH,
    });
    expect(first).toMatchObject({ status: 'complete', mode: 'full', position: 4, written: 18 });
    expect(startIndexes()).toEqual([20, 30]);
    const ids = fullPageCves().map((c) => c.id);
    expect((await store.cveFacts(ids)).size).toBe(38);
    expect((await store.cveFacts(['CVE-2023-27314'])).get('CVE-2023-27314')?.nvd).toMatchObject({
      status: 'Analyzed',
      lastModified: '2023-10-18T18:00:24.900Z',
    });
    // The watermark is NVD's time when the stopped sync began, kept through the resume.
    expect((await store.checkpoint('nvd'))?.watermark).toBe('2023-10-18T18:04:18.493Z');

    nvd.requests.length = 0;
    const again = await syncFeed({
      source: source('2023-10-19T06:00:00.000Z', opts).source,
      store,
      batchSize: NVD_PAGES_PER_BATCH,
    });
    expect(again).toMatchObject({ status: 'unchanged', written: 0 });
    expect(windowsAsked()).toEqual(['2023-10-18T18:04:18.493+00:00 2023-10-19T06:00:00.000+00:00']);

    // Ten days later NVD has modified CVE-2023-4863 (osv.dev's real response): one fact.
    const later = await syncFeed({
      source: source('2023-10-29T00:00:00.000Z', opts).source,
      store,
      batchSize: NVD_PAGES_PER_BATCH,
    });
    expect(later).toMatchObject({ status: 'complete', mode: 'incremental', written: 1 });
    expect((await store.cveFacts(['CVE-2023-4863'])).get('CVE-2023-4863')?.nvd?.status).toBe(
      'Modified',
    );
    await store.close();
  });
});

describe('lastMod windows and the rate limiter', () => {
  it('cuts a gap into consecutive windows of at most 120 days', () => {
    const at = (d: string) => Date.parse(d);
    expect(lastModWindows(at('2024-01-01'), at('2024-01-02'))).toEqual([
      { start: at('2024-01-01'), end: at('2024-01-02') },
    ]);
    const windows = lastModWindows(at('2023-01-01'), at('2023-10-28'));
    expect(windows.map((w) => (w.end - w.start) / DAY)).toEqual([120, 120, 60]);
    expect(windows.every((w, i) => i === 0 || w.start === windows[i - 1]?.end)).toBe(true);
    expect(lastModWindows(at('2024-01-02'), at('2024-01-01'))).toEqual([]);
  });

  it('lets no more than N requests start in any window', async () => {
    const clock = new DrivenClock(1_000);
    const limiter = new RollingWindowLimiter(2, 30_000, clock);
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, () => limiter.take().then(() => starts.push(clock.now()))),
    );
    expect(starts).toEqual([1_000, 1_000, 31_000, 31_000, 61_000]);
    expect(clock.sleeps).toEqual([30_000, 30_000]);
  });
});
