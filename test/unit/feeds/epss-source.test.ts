/**
 * The EPSS feed source (shared/feeds/sources/epss.ts) against a server on loopback serving the
 * real EPSS rows that exist, gzip'd as FIRST serves its daily file: claircore's 29 rows (score
 * date 2024-10-25), vunnel's example (2025-02-20) and vunnel's two negative cases. No whole daily
 * file could be obtained, so the ~300,000-row streaming is exercised on these rows only. The
 * first fetch, unchanged (a 304, the same content, the same score date in other bytes, an older
 * score date), a new day, and the faults a server can have.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CveFact } from '../../../shared/advisories/cve-facts.js';
import { epssFacts } from '../../../shared/advisories/importers/epss.js';
import { EPSS_URL, EpssSource } from '../../../shared/feeds/sources/epss.js';
import type { FactEntry } from '../../../shared/feeds/sources/kev.js';
import { syncFeed } from '../../../shared/feeds/sync.js';
import { type FeedFetch, FeedFetchError, FeedFormatError } from '../../../shared/feeds/types.js';
import type { FeedCheckpoint } from '../../../shared/stores/advisory-store.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const real = (relative: string) =>
  readFileSync(path.join(dataDir(), 'advisories', relative), 'utf8');
const CLAIRCORE = 'claircore-fixtures/enricher/epss/testdata/data.csv';
const VUNNEL = 'vunnel-fixtures/tests/unit/providers/epss/test-fixtures';
const work = mkdtempSync(path.join(tmpdir(), 'bosun-epss-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const gz = (text: string, level = 6) => gzipSync(Buffer.from(text), { level });

/** The day's file on a server: validators as configured, requests recorded. */
class Publisher {
  body: Buffer | undefined;
  validators: 'etag' | 'none' = 'etag';
  failWith: number | undefined;
  readonly log: { conditional: boolean; status: number }[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Publisher> {
    let publisher: Publisher | undefined;
    const server = createServer((req, res) => publisher?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    publisher = new Publisher(server);
    return publisher;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/epss_scores-current.csv.gz`;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const conditional = req.headers['if-none-match'] !== undefined;
    const etag =
      this.body === undefined
        ? ''
        : `"${createHash('sha256').update(this.body).digest('hex').slice(0, 16)}"`;
    const headers: Record<string, string> = this.validators === 'etag' ? { etag } : {};
    const status =
      this.failWith ??
      (this.body === undefined
        ? 404
        : this.validators === 'etag' && req.headers['if-none-match'] === etag
          ? 304
          : 200);
    this.log.push({ conditional, status });
    res.writeHead(status, headers).end(status === 200 ? this.body : undefined);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let publisher: Publisher;
beforeAll(async () => {
  publisher = await Publisher.start();
});
afterAll(() => publisher.close());
afterEach(() => {
  publisher.body = undefined;
  publisher.validators = 'etag';
  publisher.failWith = undefined;
  publisher.log.length = 0;
});

const source = (opts = {}) =>
  new EpssSource({ url: publisher.url, timeoutMs: 10_000, factsPerEntry: 10, ...opts });

/** What a completed sync of `fetched` leaves in the checkpoint. */
const completed = (fetched: FeedFetch): FeedCheckpoint => ({
  source: 'epss',
  fingerprint: fetched.fingerprint,
  completedAt: '2024-10-25T13:00:00Z',
});

/** Every entry of a changed fetch, parsed. */
async function read(fetched: FeedFetch, epss = source()) {
  if (fetched.kind !== 'changed') throw new Error(`expected a changed feed, got ${fetched.kind}`);
  const names: string[] = [];
  const sizes: number[] = [];
  const facts: CveFact[] = [];
  const issues: string[] = [];
  for await (const entry of fetched.entries()) {
    const parsed = await epss.parse(entry as FactEntry);
    expect(parsed.records).toEqual([]);
    names.push(entry.name);
    sizes.push(parsed.facts?.length ?? 0);
    facts.push(...(parsed.facts ?? []));
    issues.push(...parsed.issues.map((i) => i.message));
  }
  await fetched.close();
  return { names, sizes, facts, issues };
}

describe('EPSS feed source', () => {
  it("is `epss`, reading the file FIRST's data page links by default", () => {
    expect(new EpssSource().id).toBe('epss');
    expect(new EpssSource().url).toBe(EPSS_URL);
    expect(EPSS_URL).toBe('https://epss.empiricalsecurity.com/epss_scores-current.csv.gz');
    expect(() => new EpssSource({ factsPerEntry: 1.5 })).toThrow(/factsPerEntry 1.5/);
  });

  it("streams the gzip'd file into entries of facts, the same facts as the rows read whole", async () => {
    publisher.body = gz(real(CLAIRCORE));
    const fetched = await source().fetch(undefined);
    expect(fetched).toMatchObject({ kind: 'changed', mode: 'full' });
    expect(fetched.fingerprint).toMatch(
      /^epss:\{"etag":".*","sha256":"[0-9a-f]{64}","scoreDate":"2024-10-25T00:00:00\+0000","modelVersion":"v2023\.03\.01"\}$/,
    );
    const { names, sizes, facts, issues } = await read(fetched);
    expect(issues).toEqual([]);
    expect(sizes).toEqual([10, 10, 9]);
    // Each entry is named by its first and last rows: the file's 1st-10th, 11th-20th, 21st-29th.
    const cves = real(CLAIRCORE)
      .split('\n')
      .filter((l) => l.startsWith('CVE-'))
      .map((l) => l.split(',')[0]);
    expect(names).toEqual([
      `${cves[0]}..${cves[9]}`,
      `${cves[10]}..${cves[19]}`,
      `${cves[20]}..${cves[28]}`,
    ]);
    expect(names[0]).toBe('CVE-1999-0005..CVE-2022-34668');
    expect(facts).toEqual(epssFacts(real(CLAIRCORE), 'data.csv', []).facts);
    expect(facts[0]).toEqual({
      kind: 'epss',
      cve: 'CVE-1999-0005',
      facts: { score: 0.91963, percentile: 0.9903, date: '2024-10-25' },
    });
    // The entries can be read again (a resumed sync skips those it finished).
    if (fetched.kind === 'changed') expect((await read(fetched)).facts).toEqual(facts);
  });

  it('reads the file served plain too', async () => {
    publisher.body = Buffer.from(real(`${VUNNEL}/example-1.csv`));
    const { facts } = await read(await source().fetch(undefined));
    expect(facts.map((f) => f.cve)).toEqual([
      'CVE-1999-0001',
      'CVE-1999-0002',
      'CVE-1999-0003',
      'CVE-1999-0004',
      'CVE-1999-0005',
    ]);
  });

  it('is unchanged on a 304, on the same bytes, and on the same score date in other bytes', async () => {
    publisher.body = gz(real(CLAIRCORE));
    const first = await source().fetch(undefined);
    publisher.log.length = 0;
    expect(await source().fetch(completed(first))).toEqual({
      kind: 'unchanged',
      fingerprint: first.fingerprint,
    });
    expect(publisher.log).toEqual([{ conditional: true, status: 304 }]);

    // No validators: the body comes again, with the same sha256.
    publisher.validators = 'none';
    const plain = await source().fetch(undefined);
    publisher.log.length = 0;
    const same = await source().fetch(completed(plain));
    expect(same).toEqual({ kind: 'unchanged', fingerprint: plain.fingerprint });
    expect(publisher.log).toEqual([{ conditional: false, status: 200 }]);

    // The same day's scores gzip'd again (other bytes, a new ETag): nothing to read.
    publisher.validators = 'etag';
    publisher.body = gz(real(CLAIRCORE), 9);
    expect(publisher.body.equals(gz(real(CLAIRCORE)))).toBe(false);
    const regzipped = await source().fetch(completed(first));
    expect(regzipped.kind).toBe('unchanged');
    expect(regzipped.fingerprint).not.toBe(first.fingerprint);
    expect(regzipped.fingerprint).toContain('"scoreDate":"2024-10-25T00:00:00+0000"');
  });

  it("reads a new day's scores, and keeps the newer ones when an older file is served", async () => {
    publisher.body = gz(real(CLAIRCORE));
    const october = await source().fetch(undefined);
    publisher.body = gz(real(`${VUNNEL}/example-1.csv`));
    const february = await source().fetch(completed(october));
    expect(february.fingerprint).toContain('"scoreDate":"2025-02-20T00:00:00+0000"');
    const { facts } = await read(february);
    expect(facts.find((f) => f.cve === 'CVE-1999-0005')).toEqual({
      kind: 'epss',
      cve: 'CVE-1999-0005',
      facts: { score: 0.91963, percentile: 0.99214, date: '2025-02-20' },
    });
    // A stale copy of October's file: the stored February scores stay.
    publisher.body = gz(real(CLAIRCORE));
    expect(await source().fetch(completed(february))).toEqual({
      kind: 'unchanged',
      fingerprint: february.fingerprint,
    });
  });

  it('asks without validators when resuming an interrupted sync', async () => {
    publisher.body = gz(real(CLAIRCORE));
    const first = await source().fetch(undefined);
    publisher.log.length = 0;
    const resumed = await source().fetch({
      ...completed(first),
      cursor: { fingerprint: first.fingerprint, position: 1 },
    });
    expect(resumed.kind).toBe('changed');
    expect(resumed.fingerprint).toBe(first.fingerprint);
    expect(publisher.log).toEqual([{ conditional: false, status: 200 }]);
  });

  it('hands a bad row to the sync as an issue of its entry, and the other rows as facts', async () => {
    // claircore's CVE-2022-34671 with a percentile over 1 (one edit of the real rows).
    const body = real(CLAIRCORE);
    expect(body.split('CVE-2022-34671,0.00142,0.50809')).toHaveLength(2);
    publisher.body = gz(
      body.replace('CVE-2022-34671,0.00142,0.50809', 'CVE-2022-34671,0.00142,50.809'),
    );
    const { sizes, facts, issues } = await read(await source().fetch(undefined));
    expect(sizes).toEqual([10, 10, 8]);
    expect(facts.some((f) => f.cve === 'CVE-2022-34671')).toBe(false);
    expect(issues).toEqual([
      `${publisher.url}: line 15 CVE-2022-34671: percentile "50.809" is not a number from 0 to 1; skipped`,
    ]);
  });

  it('refuses an HTTP error, a file that is not EPSS CSV, a broken gzip and files over their limits', async () => {
    publisher.body = gz(real(CLAIRCORE));
    publisher.failWith = 503;
    await expect(source().fetch(undefined)).rejects.toThrow(FeedFetchError);
    await expect(source().fetch(undefined)).rejects.toThrow(
      /epss_scores-current\.csv\.gz: HTTP 503/,
    );
    publisher.failWith = undefined;
    // vunnel's negative cases.
    publisher.body = gz(real(`${VUNNEL}/invalid-header.csv`));
    await expect(source().fetch(undefined)).rejects.toThrow(FeedFormatError);
    await expect(source().fetch(undefined)).rejects.toThrow(
      /line 2: header "invalid,header,format" is not cve,epss,percentile/,
    );
    publisher.body = gz(real(`${VUNNEL}/missing-date.csv`));
    await expect(source().fetch(undefined)).rejects.toThrow(/has no score_date: not EPSS CSV/);
    // The download cut short: the gzip stream ends early. The whole file is checked before
    // the sync is handed any of it.
    const whole = gz(real(CLAIRCORE));
    publisher.body = whole.subarray(0, whole.length - 40);
    await expect(source().fetch(undefined)).rejects.toThrow(FeedFormatError);
    await expect(source().fetch(undefined)).rejects.toThrow(/not gzip'd EPSS CSV: /);
    publisher.body = whole;
    await expect(source({ maxBytes: 200 }).fetch(undefined)).rejects.toThrow(FeedFetchError);
    await expect(source({ maxBytes: 200 }).fetch(undefined)).rejects.toThrow(/body over 200 bytes/);
    await expect(source({ maxCsvBytes: 500 }).fetch(undefined)).rejects.toThrow(FeedFormatError);
    await expect(source({ maxCsvBytes: 500 }).fetch(undefined)).rejects.toThrow(
      /inflates past 500 bytes/,
    );
  });

  it("syncs into a store: every score the first time, nothing while the day is the same, a new day's scores", async () => {
    const store = EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
    publisher.body = gz(real(CLAIRCORE));
    const first = await syncFeed({ source: source(), store, batchSize: 2 });
    expect(first).toMatchObject({ status: 'complete', written: 29, invalid: 0 });
    expect((await store.cveFacts(['CVE-2024-9987'])).get('CVE-2024-9987')?.epss).toEqual({
      score: 0.00043,
      percentile: 0.09778,
      date: '2024-10-25',
    });
    publisher.log.length = 0;
    expect(await syncFeed({ source: source(), store })).toMatchObject({
      status: 'unchanged',
      written: 0,
    });
    expect(publisher.log).toEqual([{ conditional: true, status: 304 }]);
    // February's five scores: four CVEs new, CVE-1999-0005 rescored; EPSS announces nothing.
    publisher.body = gz(real(`${VUNNEL}/example-1.csv`));
    const delivered: unknown[] = [];
    const next = await syncFeed({
      source: source(),
      store,
      deliver: async (c) => void delivered.push(...c),
    });
    expect(next).toMatchObject({ status: 'complete', written: 5 });
    expect(delivered).toEqual([]);
    expect((await store.cveFacts(['CVE-1999-0005'])).get('CVE-1999-0005')?.epss).toEqual({
      score: 0.91963,
      percentile: 0.99214,
      date: '2025-02-20',
    });
    await store.close();
  });
});
