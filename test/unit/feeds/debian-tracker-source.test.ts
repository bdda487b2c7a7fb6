/**
 * The Debian security tracker feed source (shared/feeds/sources/debian-tracker.ts) against a
 * tracker on loopback serving real copies of its JSON export: osv.dev's subset (apparmor, 3 CVEs)
 * and vunnel's (6 packages, 7 CVEs). First fetch, unchanged (a 304, or the same content from a
 * server without validators), a changed file, a resumed sync, and the faults a server or a file
 * can have. Broken files are the real ones with one documented edit.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CveFact } from '../../../shared/advisories/cve-facts.js';
import { debianTrackerFacts } from '../../../shared/advisories/importers/debian-tracker.js';
import {
  DEBIAN_TRACKER_SOURCE_ID,
  DEBIAN_TRACKER_URL,
  DebianTrackerSource,
} from '../../../shared/feeds/sources/debian-tracker.js';
import { syncFeed } from '../../../shared/feeds/sync.js';
import {
  type ChangedFeed,
  type FeedEntry,
  type FeedFetch,
  FeedFetchError,
  FeedFormatError,
} from '../../../shared/feeds/types.js';
import type { FeedCheckpoint } from '../../../shared/stores/advisory-store.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const real = (relative: string) => readFileSync(path.join(dataDir(), 'advisories', relative));
const MOCK = 'osv-dev-vulnfeeds/vulnfeeds/test_data/debian/debian_security_tracker_mock.json';
const VUNNEL =
  'osv-samples-misc/anchore__vunnel/tests/unit/providers/debian/test-fixtures/input/debian.json';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-debian-tracker-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The tracker: one file per path, validators as configured, requests recorded. */
class Tracker {
  readonly files = new Map<string, Buffer>();
  validators: 'etag' | 'last-modified' | 'none' = 'last-modified';
  failWith: number | undefined;
  readonly log: { url: string; conditional: boolean; status: number }[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Tracker> {
    let tracker: Tracker | undefined;
    const server = createServer((req, res) => tracker?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    tracker = new Tracker(server);
    return tracker;
  }

  url(file: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${file}`;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const conditional =
      req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
    const { status, headers, body } = this.answer(url, req);
    this.log.push({ url, conditional, status });
    res.writeHead(status, headers).end(body);
  }

  private answer(
    url: string,
    req: IncomingMessage,
  ): { status: number; headers?: Record<string, string>; body?: Buffer } {
    const body = this.files.get(url.slice(1));
    if (this.failWith !== undefined) return { status: this.failWith };
    if (body === undefined) return { status: 404 };
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    // As the tracker does: a Last-Modified that moves only when the content does.
    const lastModified = new Date(Date.UTC(2025, 0, 1) + body.length * 1000).toUTCString();
    const headers: Record<string, string> =
      this.validators === 'etag'
        ? { etag }
        : this.validators === 'last-modified'
          ? { 'last-modified': lastModified }
          : {};
    const fresh =
      (this.validators === 'etag' && req.headers['if-none-match'] === etag) ||
      (this.validators === 'last-modified' && req.headers['if-modified-since'] === lastModified);
    return fresh ? { status: 304, headers } : { status: 200, headers, body };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let tracker: Tracker;
beforeAll(async () => {
  tracker = await Tracker.start();
});
afterAll(() => tracker.close());
afterEach(() => {
  tracker.files.clear();
  tracker.validators = 'last-modified';
  tracker.failWith = undefined;
  tracker.log.length = 0;
});

const source = (opts = {}) =>
  new DebianTrackerSource({ url: tracker.url('tracker/data/json'), timeoutMs: 10_000, ...opts });

/** The checkpoint a completed sync of `fetched` leaves. */
const completed = (fetched: FeedFetch): FeedCheckpoint => ({
  source: DEBIAN_TRACKER_SOURCE_ID,
  fingerprint: fetched.fingerprint,
});

function changed(fetched: FeedFetch): ChangedFeed {
  expect(fetched.kind).toBe('changed');
  return fetched as ChangedFeed;
}

/** Every entry of a fetch, parsed: names, issues and facts, in order. */
async function readAll(src: DebianTrackerSource, fetched: FeedFetch) {
  const names: string[] = [];
  const issues: string[] = [];
  const facts: CveFact[] = [];
  const feed = changed(fetched);
  for await (const entry of feed.entries()) {
    names.push(entry.name);
    const parsed = await src.parse(entry);
    expect(parsed.records).toEqual([]);
    issues.push(...parsed.issues.map((i) => i.message));
    facts.push(...(parsed.facts ?? []));
  }
  await feed.close();
  return { names, issues, facts };
}

const factsOf = (relative: string, name: string) =>
  debianTrackerFacts(real(relative).toString(), name, []);

describe('Debian security tracker feed source', () => {
  it('is `debian-tracker`, reads the tracker by default, and refuses a bad batch size', () => {
    const src = new DebianTrackerSource();
    expect(src.id).toBe('debian-tracker');
    expect(src.url).toBe(DEBIAN_TRACKER_URL);
    expect(DEBIAN_TRACKER_URL).toBe('https://security-tracker.debian.org/tracker/data/json');
    expect(() => new DebianTrackerSource({ factsPerEntry: 0 })).toThrow(
      /factsPerEntry must be a positive integer, not 0/,
    );
  });

  it('reads the whole export into entries of facts, then finds it unchanged by a 304', async () => {
    tracker.files.set('tracker/data/json', real(VUNNEL));
    const src = source({ factsPerEntry: 3 });
    const first = await src.fetch(undefined);
    expect(changed(first).mode).toBe('full');
    expect(first.fingerprint).toMatch(
      /^debian-tracker:\{"lastModified":".*","sha256":"[0-9a-f]{64}"\}$/,
    );
    const all = await readAll(src, first);
    expect(all.names).toEqual([
      'CVE-2005-3111..CVE-2008-7220',
      'CVE-2013-1444..CVE-2022-0456',
      'CVE-2025-53603..CVE-2025-53603',
    ]);
    expect(all.issues).toEqual([]);
    expect(all.facts).toEqual(factsOf(VUNNEL, tracker.url('tracker/data/json')));
    expect(all.facts).toHaveLength(7);

    tracker.log.length = 0;
    const again = await src.fetch(completed(first));
    expect(again).toEqual({ kind: 'unchanged', fingerprint: first.fingerprint });
    expect(tracker.log).toEqual([{ url: '/tracker/data/json', conditional: true, status: 304 }]);
  });

  it('asks with the ETag when that is the validator, and knows the same content without one', async () => {
    tracker.files.set('tracker/data/json', real(MOCK));
    tracker.validators = 'etag';
    const first = await source().fetch(undefined);
    expect((await readAll(source(), first)).names).toEqual(['CVE-2014-1424..CVE-2017-6507']);
    tracker.log.length = 0;
    expect((await source().fetch(completed(first))).kind).toBe('unchanged');
    expect(tracker.log).toEqual([{ url: '/tracker/data/json', conditional: true, status: 304 }]);
    // A server that sends no validator: the body comes again, its sha256 is the last one.
    tracker.validators = 'none';
    const plain = await source().fetch(undefined);
    tracker.log.length = 0;
    expect((await source().fetch(completed(plain))).kind).toBe('unchanged');
    expect(tracker.log).toEqual([{ url: '/tracker/data/json', conditional: false, status: 200 }]);
  });

  it('reads a changed export: the new urgency is in its fact', async () => {
    tracker.files.set('tracker/data/json', real(MOCK));
    const first = await source().fetch(undefined);
    // Debian assigns CVE-2017-6507 an urgency in bookworm (one value of the real file edited).
    const doc = JSON.parse(real(MOCK).toString());
    doc.apparmor['CVE-2017-6507'].releases.bookworm.urgency = 'low';
    tracker.files.set('tracker/data/json', Buffer.from(JSON.stringify(doc, null, 2)));
    const next = await source().fetch(completed(first));
    expect(next.fingerprint).not.toBe(first.fingerprint);
    const { facts } = await readAll(source(), next);
    const fact = facts.find((f) => f.cve === 'CVE-2017-6507');
    expect(fact?.kind === 'debian' && fact.facts.packages.apparmor?.bookworm).toEqual({
      urgency: 'low',
      status: 'resolved',
      fixedVersion: '2.11.0-3',
    });
    expect(facts.filter((f) => f.cve !== 'CVE-2017-6507')).toEqual(
      factsOf(MOCK, tracker.url('tracker/data/json')).filter((f) => f.cve !== 'CVE-2017-6507'),
    );
  });

  it('downloads the file again whole to resume a stopped sync, into the same entries', async () => {
    tracker.files.set('tracker/data/json', real(VUNNEL));
    const src = source({ factsPerEntry: 2 });
    const first = await src.fetch(undefined);
    const stopped: FeedCheckpoint = {
      source: DEBIAN_TRACKER_SOURCE_ID,
      cursor: { fingerprint: first.fingerprint, position: 2 },
    };
    tracker.log.length = 0;
    const resumed = await src.fetch(stopped);
    expect(tracker.log).toEqual([{ url: '/tracker/data/json', conditional: false, status: 200 }]);
    expect(resumed.fingerprint).toBe(first.fingerprint);
    expect((await readAll(src, resumed)).names).toEqual((await readAll(src, first)).names);
  });

  it("puts a file's issues first, and reads the rest", async () => {
    // vunnel's file with backupninja's only release given a status the tracker never writes.
    const text = real(VUNNEL).toString();
    const doc = JSON.parse(text);
    doc.backupninja['CVE-2005-3111'].releases.sid.status = 'fixed';
    tracker.files.set('tracker/data/json', Buffer.from(JSON.stringify(doc, null, 2)));
    const src = source();
    const { names, issues, facts } = await readAll(src, await src.fetch(undefined));
    expect(names).toEqual(['issues-0', 'CVE-2005-3111..CVE-2025-53603']);
    expect(issues).toEqual([
      `${tracker.url('tracker/data/json')}: backupninja CVE-2005-3111 sid: status: Invalid option: expected one of "resolved"|"open"|"undetermined" (value "fixed"); skipped`,
    ]);
    expect(facts).toHaveLength(7);
  });

  it('refuses HTTP errors, a broken file, a file that is not UTF-8, and a download over its limit', async () => {
    const src = source();
    tracker.failWith = 503;
    await expect(src.fetch(undefined)).rejects.toThrow(FeedFetchError);
    await expect(src.fetch(undefined)).rejects.toThrow(/tracker\/data\/json: HTTP 503/);
    tracker.failWith = undefined;
    // A download cut short.
    const text = real(MOCK);
    tracker.files.set('tracker/data/json', text.subarray(0, 2000));
    await expect(src.fetch(undefined)).rejects.toThrow(FeedFormatError);
    await expect(src.fetch(undefined)).rejects.toThrow(/unterminated (value|string) at \d+/);
    // One byte of CVE-2014-1424's description replaced by one that UTF-8 never has.
    const at = text.indexOf('miscompilation');
    const latin = Buffer.concat([text.subarray(0, at), Buffer.from([0xff]), text.subarray(at + 1)]);
    tracker.files.set('tracker/data/json', latin);
    await expect(src.fetch(undefined)).rejects.toThrow(/tracker\/data\/json: not UTF-8 text/);
    tracker.files.set('tracker/data/json', real(VUNNEL));
    await expect(source({ maxBytes: 4096 }).fetch(undefined)).rejects.toThrow(FeedFetchError);
    await expect(source({ maxBytes: 4096 }).fetch(undefined)).rejects.toThrow(
      /body over 4096 bytes/,
    );
  });

  it('reads an entry holding a whole export given by hand, within the same limit', async () => {
    const entry = (relative: string, body = real(relative)): FeedEntry => ({
      name: relative,
      read: async () => body,
    });
    const parsed = await source().parse(entry(MOCK));
    expect(parsed).toEqual({ records: [], issues: [], facts: factsOf(MOCK, MOCK) });
    await expect(source().parse(entry(MOCK, real(MOCK).subarray(0, 100)))).rejects.toThrow(
      FeedFormatError,
    );
    await expect(source({ maxBytes: 1000 }).parse(entry(MOCK))).rejects.toThrow(
      /debian_security_tracker_mock\.json: over 1000 bytes/,
    );
  });

  it('syncs into the store: the first sync writes every fact, the same content again writes none', async () => {
    const store = EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
    const delivered: unknown[] = [];
    const deliver = async (c: readonly unknown[]) => void delivered.push(...c);
    tracker.files.set('tracker/data/json', real(VUNNEL));
    const first = await syncFeed({ source: source({ factsPerEntry: 3 }), store, deliver });
    expect(first).toMatchObject({ status: 'complete', written: 7, unchanged: 0, issues: [] });
    const stored = await store.cveFacts(['CVE-2008-7220', 'CVE-2022-0358']);
    expect(stored.get('CVE-2008-7220')?.debian?.packages.prototypejs?.stretch).toEqual({
      urgency: 'high**',
      status: 'resolved',
      fixedVersion: '1.6.0.2-1',
    });
    expect(stored.get('CVE-2022-0358')?.debian).toEqual({ packages: { 'chromium-browser': {} } });
    // No advisory in the store names these CVEs: no package to rescan.
    expect(delivered).toEqual([]);

    tracker.log.length = 0;
    const again = await syncFeed({ source: source({ factsPerEntry: 3 }), store, deliver });
    expect(again).toMatchObject({ status: 'unchanged', written: 0 });
    expect(tracker.log).toEqual([{ url: '/tracker/data/json', conditional: true, status: 304 }]);

    // The tracker regenerates the export without whitespace, as it serves it: new bytes, a new
    // Last-Modified, the same facts.
    const compact = JSON.stringify(JSON.parse(real(VUNNEL).toString()));
    tracker.files.set('tracker/data/json', Buffer.from(compact));
    const regenerated = await syncFeed({ source: source({ factsPerEntry: 3 }), store, deliver });
    expect(regenerated).toMatchObject({ status: 'complete', written: 0, unchanged: 7 });

    // One urgency moves: that CVE's fact alone is written.
    tracker.files.set('tracker/data/json', Buffer.from(compact.replace('"low**"', '"medium"')));
    const moved = await syncFeed({ source: source({ factsPerEntry: 3 }), store, deliver });
    expect(moved).toMatchObject({ status: 'complete', written: 1, unchanged: 6 });
    const txt2man = (await store.cveFacts(['CVE-2013-1444'])).get('CVE-2013-1444')?.debian;
    expect(txt2man?.packages.txt2man).toMatchObject({
      stretch: { urgency: 'medium' },
      jessie: { urgency: 'low**' },
    });
    await store.close();
  });
});
