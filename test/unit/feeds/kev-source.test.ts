/**
 * The KEV feed source (shared/feeds/sources/kev.ts) against CISA's server on loopback serving
 * the real catalog of 2025-08-25, vuln-list-update's broken catalog and vunnel's lone listing:
 * the first fetch, unchanged (a conditional GET answered 304, or the same content), a changed
 * catalog (one documented edit of the real file), and the faults a server can have.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CveFact } from '../../../shared/advisories/cve-facts.js';
import { kevFacts } from '../../../shared/advisories/importers/kev.js';
import { parseOsv } from '../../../shared/advisories/osv.js';
import type { PackageChange } from '../../../shared/events/rescan.js';
import {
  FACTS_PER_ENTRY,
  type FactEntry,
  KEV_URL,
  KevSource,
} from '../../../shared/feeds/sources/kev.js';
import { syncFeed } from '../../../shared/feeds/sync.js';
import { type FeedFetch, FeedFetchError, FeedFormatError } from '../../../shared/feeds/types.js';
import { contentHash, type FeedCheckpoint } from '../../../shared/stores/advisory-store.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const real = (relative: string) => readFileSync(path.join(dataDir(), 'advisories', relative));
const CATALOG = 'cisa-kev/known_exploited_vulnerabilities.json';
const SAD = 'vuln-list-update-fixtures/kevc/testdata/sad/known_exploited_vulnerabilities.json';
const SINGLE = 'vunnel-fixtures/tests/unit/providers/kev/test-fixtures/single-entry/example1.json';
/** AlmaLinux's libwebp advisory, which names CVE-2023-4863 among its related ids. */
const ALSA = 'almalinux-osv/advisories/almalinux9/ALSA-2023:5214.json';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-kev-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** CISA's server: one file, validators as configured, requests recorded. */
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
    return `http://127.0.0.1:${port}/feeds/known_exploited_vulnerabilities.json`;
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

/** The real catalog with one edit inside one CVE's listing. */
function editListing(cve: string, from: string, to: string): Buffer {
  const json = real(CATALOG).toString('utf8');
  const listing = json.indexOf(`"cveID": "${cve}"`);
  const at = json.indexOf(from, listing);
  expect(listing).toBeGreaterThan(0);
  expect(json.indexOf('"cveID"', listing + 1)).toBeGreaterThan(at);
  return Buffer.from(`${json.slice(0, at)}${to}${json.slice(at + from.length)}`);
}

const source = (opts = {}) => new KevSource({ url: publisher.url, timeoutMs: 10_000, ...opts });

/** What a completed sync of `fetched` leaves in the checkpoint. */
const completed = (fetched: FeedFetch): FeedCheckpoint => ({
  source: 'kev',
  fingerprint: fetched.fingerprint,
  completedAt: '2025-08-25T18:00:00Z',
});

/** Every entry of a changed fetch, parsed. */
async function read(fetched: FeedFetch, kev = source()) {
  if (fetched.kind !== 'changed') throw new Error(`expected a changed feed, got ${fetched.kind}`);
  const names: string[] = [];
  const facts: CveFact[] = [];
  const issues: string[] = [];
  for await (const entry of fetched.entries()) {
    names.push(entry.name);
    const parsed = await kev.parse(entry as FactEntry);
    expect(parsed.records).toEqual([]);
    facts.push(...(parsed.facts ?? []));
    issues.push(...parsed.issues.map((i) => i.message));
  }
  await fetched.close();
  return { names, facts, issues, byCve: new Map(facts.map((f) => [f.cve, f])) };
}

describe('KEV feed source', () => {
  it("is `kev`, reading CISA's JSON feed by default", () => {
    expect(new KevSource().id).toBe('kev');
    expect(new KevSource().url).toBe(KEV_URL);
    expect(KEV_URL).toBe(
      'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json',
    );
    expect(() => new KevSource({ factsPerEntry: 0 })).toThrow(/factsPerEntry 0/);
  });

  it('hands the whole real catalog to the sync as facts, by CVE, in entries of 500', async () => {
    publisher.body = real(CATALOG);
    const fetched = await source().fetch(undefined);
    expect(fetched).toMatchObject({ kind: 'changed', mode: 'full' });
    expect(fetched.fingerprint).toMatch(/^kev:\{"etag":/);
    const { names, facts, issues, byCve } = await read(fetched);
    expect(issues).toEqual([]);
    expect(FACTS_PER_ENTRY).toBe(500);
    expect(names).toHaveLength(3);
    expect(facts).toHaveLength(1404);
    // The same facts as the catalog read directly, in CVE number order.
    const direct = kevFacts(real(CATALOG).toString('utf8'), 'catalog', []).facts;
    expect(new Set(facts.map((f) => JSON.stringify(f)))).toEqual(
      new Set(direct.map((f) => JSON.stringify(f))),
    );
    const number = (cve: string) => cve.split('-').slice(1).map(Number) as [number, number];
    for (let i = 1; i < facts.length; i++) {
      const [y0, n0] = number(facts[i - 1]?.cve ?? '');
      const [y1, n1] = number(facts[i]?.cve ?? '');
      expect(y0 < y1 || (y0 === y1 && n0 < n1), facts[i]?.cve).toBe(true);
    }
    expect(names[0]).toBe(`${facts[0]?.cve}..${facts[499]?.cve}`);
    expect(byCve.get('CVE-2021-44228')).toEqual({
      kind: 'kev',
      cve: 'CVE-2021-44228',
      facts: {
        dateAdded: '2021-12-10',
        dueDate: '2021-12-24',
        ransomware: 'Known',
        name: 'Apache Log4j2 Remote Code Execution Vulnerability',
      },
    });
  });

  it('is unchanged on a 304, and on the same content from a server without validators', async () => {
    publisher.body = real(CATALOG);
    const first = await source().fetch(undefined);
    if (first.kind === 'changed') await first.close();
    publisher.log.length = 0;
    const again = await source().fetch(completed(first));
    expect(again).toEqual({ kind: 'unchanged', fingerprint: first.fingerprint });
    expect(publisher.log).toEqual([{ conditional: true, status: 304 }]);

    publisher.validators = 'none';
    const plain = await source().fetch(undefined);
    if (plain.kind === 'changed') await plain.close();
    publisher.log.length = 0;
    const same = await source().fetch(completed(plain));
    expect(same.kind).toBe('unchanged');
    expect(publisher.log).toEqual([{ conditional: false, status: 200 }]);
  });

  it('reads a changed catalog again whole: a CVE now known in ransomware campaigns', async () => {
    publisher.body = real(CATALOG);
    const first = await source().fetch(undefined);
    const before = (await read(first)).byCve.get('CVE-2023-4863');
    expect(before?.kind === 'kev' && before.facts.ransomware).toBe('Unknown');
    // CISA marks the WebP overflow as used by ransomware (one edit of the real file).
    publisher.body = editListing(
      'CVE-2023-4863',
      '"knownRansomwareCampaignUse": "Unknown"',
      '"knownRansomwareCampaignUse": "Known"',
    );
    const changed = await source().fetch(completed(first));
    expect(changed.kind).toBe('changed');
    expect(changed.fingerprint).not.toBe(first.fingerprint);
    const { facts, byCve } = await read(changed);
    expect(facts).toHaveLength(1404);
    expect(byCve.get('CVE-2023-4863')).toEqual({
      kind: 'kev',
      cve: 'CVE-2023-4863',
      facts: {
        dateAdded: '2023-09-13',
        dueDate: '2023-10-04',
        ransomware: 'Known',
        name: 'Google Chromium WebP Heap-Based Buffer Overflow Vulnerability',
      },
    });
  });

  it('hands a bad listing to the sync as an issue with the first entry, and the rest as facts', async () => {
    // Log4Shell's due date written the way a person might.
    publisher.body = editListing(
      'CVE-2021-44228',
      '"dueDate": "2021-12-24"',
      '"dueDate": "24/12/2021"',
    );
    const { names, facts, issues, byCve } = await read(await source().fetch(undefined));
    expect(facts).toHaveLength(1403);
    expect(byCve.has('CVE-2021-44228')).toBe(false);
    expect(issues).toEqual([
      expect.stringMatching(
        /^http:\/\/127\.0\.0\.1:\d+\/feeds\/known_exploited_vulnerabilities\.json: vulnerabilities\[\d+\] CVE-2021-44228: dueDate: .*\("24\/12\/2021"\); skipped$/,
      ),
    ]);
    expect(names).toHaveLength(3);
  });

  it('refuses an HTTP error, a file that is no catalog and a download over its limit', async () => {
    publisher.body = real(CATALOG);
    publisher.failWith = 500;
    await expect(source().fetch(undefined)).rejects.toThrow(FeedFetchError);
    await expect(source().fetch(undefined)).rejects.toThrow(
      /known_exploited_vulnerabilities\.json: HTTP 500/,
    );
    publisher.failWith = undefined;
    // vuln-list-update's broken catalog.
    publisher.body = real(SAD);
    await expect(source().fetch(undefined)).rejects.toThrow(FeedFormatError);
    await expect(source().fetch(undefined)).rejects.toThrow(/: not JSON: /);
    // vunnel's one listing, not a catalog.
    publisher.body = real(SINGLE);
    await expect(source().fetch(undefined)).rejects.toThrow(
      /: not a KEV catalog: catalogVersion: /,
    );
    publisher.body = real(CATALOG);
    await expect(source({ maxBytes: 100_000 }).fetch(undefined)).rejects.toThrow(FeedFetchError);
    await expect(source({ maxBytes: 100_000 }).fetch(undefined)).rejects.toThrow(
      /body over 100000 bytes/,
    );
  });

  it('syncs into a store: the first sync writes every fact, an unchanged one nothing, a changed listing one fact and its packages', async () => {
    const store = EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
    const alsa = parseOsv(JSON.parse(real(ALSA).toString('utf8')), 'ALSA-2023:5214.json');
    await store.put([{ id: alsa.id, hash: contentHash(alsa), source: 'test', record: alsa }]);
    const delivered: PackageChange[] = [];
    const deliver = async (changes: readonly PackageChange[]) => void delivered.push(...changes);
    publisher.body = real(CATALOG);

    const first = await syncFeed({ source: source(), store, deliver });
    expect(first).toMatchObject({ status: 'complete', written: 1404, invalid: 0 });
    expect((await store.cveFacts(['CVE-2021-44228'])).get('CVE-2021-44228')?.kev).toEqual({
      dateAdded: '2021-12-10',
      dueDate: '2021-12-24',
      ransomware: 'Known',
      name: 'Apache Log4j2 Remote Code Execution Vulnerability',
    });

    publisher.log.length = 0;
    delivered.length = 0;
    const again = await syncFeed({ source: source(), store, deliver });
    expect(again).toMatchObject({ status: 'unchanged', written: 0 });
    expect(publisher.log).toEqual([{ conditional: true, status: 304 }]);
    expect(delivered).toEqual([]);

    // CISA marks the WebP overflow as used by ransomware: one fact moves, and the packages of
    // the advisory of that CVE are told.
    publisher.body = editListing(
      'CVE-2023-4863',
      '"knownRansomwareCampaignUse": "Unknown"',
      '"knownRansomwareCampaignUse": "Known"',
    );
    const changed = await syncFeed({ source: source(), store, deliver });
    expect(changed).toMatchObject({ status: 'complete', written: 1, unchanged: 1403 });
    expect((await store.cveFacts(['CVE-2023-4863'])).get('CVE-2023-4863')?.kev?.ransomware).toBe(
      'Known',
    );
    expect(delivered.map((c) => `${c.change} ${c.ecosystem}#${c.name} ${c.advisoryIds}`)).toEqual(
      alsa.affected?.map((a) => `modified AlmaLinux:9#${a.package?.name} ALSA-2023:5214`),
    );
    await store.close();
  });
});
