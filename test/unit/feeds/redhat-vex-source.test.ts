/**
 * The Red Hat VEX feed source (shared/feeds/sources/redhat-vex.ts) against the feed's layout on
 * loopback: archive_latest.txt naming claircore's real csaf_vex_2023-10-31.tar.zst, the real
 * VEX documents of the shared data at their paths, and changes.csv / deletions.csv listing them.
 * The lists are written by the test (no real one is in the shared data): each document at its
 * own current_release_date, as Red Hat lists them; a "changed" document is a real one listed
 * with a later time. First sync, unchanged (no download), a change, a deletion, a sync stopped
 * between batches while the lists move, and the faults a server can have.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { decompress } from 'fzstd';
import * as tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PackageChange } from '../../../shared/events/rescan.js';
import { RedHatVexSource } from '../../../shared/feeds/sources/redhat-vex.js';
import { SyncAbortedError, syncFeed } from '../../../shared/feeds/sync.js';
import { FeedFetchError, FeedFormatError } from '../../../shared/feeds/types.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const claircore = () => path.join(dataDir(), 'advisories/claircore-fixtures');
const ARCHIVE = 'csaf_vex_2023-10-31.tar.zst';
const archiveFile = () => path.join(claircore(), 'rhel/vex/testdata/server', ARCHIVE);
const work = mkdtempSync(path.join(tmpdir(), 'bosun-redhat-vex-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Doc {
  readonly content: Buffer;
  /** document.tracking.current_release_date */
  readonly changed: string;
}

/** Every real VEX document of the shared data at its feed path (`2023/cve-2023-38545.json`). */
async function realDocuments(): Promise<Map<string, Doc>> {
  const contents: Buffer[] = [];
  for (const dir of ['rhel/vex/testdata', 'test/acceptance/testdata'])
    for (const n of readdirSync(path.join(claircore(), dir)).filter((f) => f.endsWith('.json')))
      contents.push(readFileSync(path.join(claircore(), dir, n)));
  const extract = tar.extract();
  Readable.from([Buffer.from(decompress(readFileSync(archiveFile())))]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    if (entry.header.type === 'file') contents.push(Buffer.concat(chunks));
  }
  const out = new Map<string, Doc>();
  for (const content of contents) {
    const { tracking } = JSON.parse(content.toString()).document;
    const id = (tracking.id as string).toLowerCase();
    out.set(`${id.split('-')[1]}/${id}.json`, { content, changed: tracking.current_release_date });
  }
  return out;
}

let docs: Map<string, Doc>;
const listing = (paths: readonly string[]): [string, string][] =>
  paths.map((p) => [p, docs.get(p)?.changed as string]);
/** What changes.csv lists at first: the archive's five and three newer documents. */
const FIRST = [
  '2023/cve-2023-0030.json',
  '2023/cve-2023-0044.json',
  '2023/cve-2023-0045.json',
  '2023/cve-2023-0049.json',
  '2023/cve-2023-0051.json',
  '2023/cve-2023-38545.json',
  '2024/cve-2024-0727.json',
  '2025/cve-2025-40907.json',
];

/** The feed on loopback; what it serves can change between syncs. */
class Feed {
  changes: [string, string][] = [];
  deletions: [string, string][] = [];
  latest = `${ARCHIVE}\n`;
  archive = readFileSync(archiveFile());
  readonly overrides = new Map<string, number | Buffer>();
  readonly requests: string[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Feed> {
    let feed: Feed | undefined;
    const server = createServer((req, res) => feed?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    feed = new Feed(server);
    return feed;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/vex/`;
  }

  reset(): void {
    this.changes = listing(FIRST);
    this.deletions = [];
    this.latest = `${ARCHIVE}\n`;
    this.archive = readFileSync(archiveFile());
    this.overrides.clear();
    this.requests.length = 0;
  }

  private csv(rows: [string, string][]): Buffer {
    return Buffer.from(rows.map(([p, t]) => `"${p}","${t}"\n`).join(''));
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = (req.url ?? '').replace(/^\/vex\//, '');
    this.requests.push(`${req.method} ${url}`);
    const override = this.overrides.get(url);
    if (typeof override === 'number') {
      res.writeHead(override).end();
      return;
    }
    const list =
      url === 'changes.csv' ? this.changes : url === 'deletions.csv' ? this.deletions : undefined;
    const body =
      override ??
      (list !== undefined
        ? this.csv(list)
        : url === 'archive_latest.txt'
          ? Buffer.from(this.latest)
          : url === ARCHIVE
            ? this.archive
            : docs.get(url)?.content);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    // The lists carry an ETag, as Red Hat's server sends one.
    if (list !== undefined)
      res.setHeader('etag', `"${body.length}-${body.toString('base64').slice(-16)}"`);
    res.setHeader('content-length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** The documents and the archive fetched since the last reset, not the lists. */
  get downloads(): string[] {
    return this.requests
      .filter((r) => r.startsWith('GET ') && !/\.(csv|txt)$/.test(r))
      .map((r) => r.slice(4))
      .sort();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let feed: Feed;
beforeAll(async () => {
  docs = await realDocuments();
  feed = await Feed.start();
  feed.reset();
});
afterAll(() => feed.close());
afterEach(() => feed.reset());

const store = () => EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
const source = (opts: { maxArchiveBytes?: number } = {}) =>
  new RedHatVexSource({ baseUrl: feed.base, timeoutMs: 5_000, tmpDir: work, ...opts });
const lines = (all: readonly PackageChange[]) =>
  all.map((c) => `${c.change} ${c.ecosystem}#${c.name} ${c.advisoryIds.join(',')}`).sort();
const recorder = () => {
  const delivered: PackageChange[] = [];
  return { delivered, deliver: async (c: readonly PackageChange[]) => void delivered.push(...c) };
};
const ids = (paths: readonly string[]) =>
  paths.map((p) => `REDHAT-${path.basename(p, '.json').toUpperCase()}`);

describe('Red Hat VEX feed source', () => {
  it('reads the archive, then finds the lists unchanged without downloading anything, then reads a change and a deletion', async () => {
    const s = store();
    const { delivered, deliver } = recorder();
    const first = await syncFeed({ source: source(), store: s, deliver });
    expect(first).toMatchObject({ status: 'complete', mode: 'full', written: 8, invalid: 0 });
    expect(await s.heads(ids(FIRST))).toHaveProperty('size', 8);
    // The archive once; the documents listed from its day on (2023-10-31) fetched, the two
    // older ones read from the archive only.
    expect(feed.downloads).toEqual([
      '2023/cve-2023-0030.json',
      '2023/cve-2023-0044.json',
      '2023/cve-2023-0045.json',
      '2023/cve-2023-38545.json',
      '2024/cve-2024-0727.json',
      '2025/cve-2025-40907.json',
      ARCHIVE,
    ]);
    expect(lines(delivered)).toContain(
      'added Red Hat:enterprise_linux:9::baseos#curl REDHAT-CVE-2023-38545',
    );
    expect(lines(delivered)).toContain(
      'added Red Hat:enterprise_linux:8::appstream#perl-FCGI REDHAT-CVE-2025-40907',
    );
    expect(await s.checkpoint('redhat-vex')).toMatchObject({
      fingerprint: `archive:${ARCHIVE}`,
      watermark: '2026-02-11T12:37:55.000Z',
    });

    // Nothing moved: the lists are read (the archive's fingerprint is not theirs), nothing else.
    feed.requests.length = 0;
    expect((await syncFeed({ source: source(), store: s, deliver })).status).toBe('unchanged');
    expect(feed.requests.sort()).toEqual([
      'GET changes.csv',
      'GET deletions.csv',
      'HEAD changes.csv',
      'HEAD deletions.csv',
    ]);
    // Now their ETags are the checkpoint's: two HEAD requests are the whole sync.
    feed.requests.length = 0;
    expect((await syncFeed({ source: source(), store: s, deliver })).status).toBe('unchanged');
    expect(feed.requests.sort()).toEqual(['HEAD changes.csv', 'HEAD deletions.csv']);

    // A new document, and curl's listed again later with the same content: only the new one is
    // written, and only its packages are news.
    delivered.length = 0;
    feed.requests.length = 0;
    feed.changes.push(
      ['2026/cve-2026-27142.json', docs.get('2026/cve-2026-27142.json')?.changed as string],
      ['2023/cve-2023-38545.json', '2026-03-26T00:00:00+00:00'],
    );
    const changed = await syncFeed({ source: source(), store: s, deliver });
    expect(changed).toMatchObject({ status: 'complete', mode: 'incremental', written: 1 });
    // perl's document is at the watermark: the ten minutes before it are read again.
    expect(feed.downloads).toEqual([
      '2023/cve-2023-38545.json',
      '2025/cve-2025-40907.json',
      '2026/cve-2026-27142.json',
    ]);
    const golang = (await s.get('REDHAT-CVE-2026-27142'))?.record.affected ?? [];
    expect(lines(delivered)).toEqual(
      lines(
        golang.map((a) => ({
          change: 'added',
          ecosystem: a.package?.ecosystem as string,
          name: a.package?.name as string,
          advisoryIds: ['REDHAT-CVE-2026-27142'],
        })),
      ),
    );
    expect((await s.checkpoint('redhat-vex'))?.watermark).toBe('2026-03-26T00:00:00.000Z');

    // Red Hat deletes curl's document: its record is withdrawn and each package it named is news.
    const curl = (await s.get('REDHAT-CVE-2023-38545'))?.record.affected ?? [];
    delivered.length = 0;
    feed.requests.length = 0;
    feed.deletions.push(['2023/cve-2023-38545.json', '2026-03-27T00:00:00+00:00']);
    expect(await syncFeed({ source: source(), store: s, deliver })).toMatchObject({
      status: 'complete',
      written: 1,
    });
    expect(feed.downloads).toEqual([]);
    expect((await s.get('REDHAT-CVE-2023-38545'))?.record.withdrawn).toBe(
      '2026-03-27T00:00:00.000Z',
    );
    expect(new Set(delivered.map((c) => c.change))).toEqual(new Set(['withdrawn']));
    expect(new Set(delivered.map((c) => `${c.ecosystem}#${c.name}`))).toEqual(
      new Set(curl.map((a) => `${a.package?.ecosystem}#${a.package?.name}`)),
    );
    await s.close();
  });

  it('resumes a sync stopped between batches, even after the lists moved: nothing lost, nothing delivered twice', async () => {
    const s = store();
    const { delivered, deliver } = recorder();
    const stopAfter = async (batches: number) => {
      const stop = new AbortController();
      let n = 0;
      await expect(
        syncFeed({
          source: source(),
          store: s,
          deliver,
          batchSize: 1,
          signal: stop.signal,
          onBatch: () => {
            if (++n === batches) stop.abort();
          },
        }),
      ).rejects.toThrow(SyncAbortedError);
    };
    // Stopped inside the archive, then among the listed documents.
    await stopAfter(1);
    expect((await s.checkpoint('redhat-vex'))?.cursor).toEqual({
      fingerprint: `archive:${ARCHIVE}`,
      position: 1,
      watermark: '2026-02-11T12:37:55.000Z',
    });
    await stopAfter(6);
    expect((await s.checkpoint('redhat-vex'))?.cursor?.position).toBe(7);
    // A new document sorts before every listed one (2022/…): the listed part grows at its
    // start, moving the two already done back (they are read again, not written again).
    feed.changes.push(['2022/cve-2022-38752.json', '2026-03-01T00:00:00+00:00']);
    const resumed = await syncFeed({ source: source(), store: s, deliver, batchSize: 1 });
    expect(resumed).toMatchObject({ status: 'complete', written: 4 });
    expect(await s.heads(ids(FIRST))).toHaveProperty('size', FIRST.length);
    // The new document, listed after the first run's watermark, is the next sync's.
    expect((await s.checkpoint('redhat-vex'))?.watermark).toBe('2026-02-11T12:37:55.000Z');
    expect(await syncFeed({ source: source(), store: s, deliver })).toMatchObject({
      mode: 'incremental',
      written: 1,
    });
    expect(await s.heads(['REDHAT-CVE-2022-38752'])).toHaveProperty('size', 1);
    const seen = lines(delivered);
    expect(new Set(seen).size).toBe(seen.length);
    // Every record with a package is news once (the 2023 archive's documents name no rpm).
    expect(new Set(delivered.flatMap((c) => c.advisoryIds))).toEqual(
      new Set(ids(['2022/cve-2022-38752.json', ...FIRST.slice(5)])),
    );
    await s.close();
  });

  it('refuses a broken or oversized archive and HTTP errors, keeping what is stored', async () => {
    const fresh = store();
    const nothing = async () => {
      expect(await fresh.heads(ids(FIRST))).toHaveProperty('size', 0);
      expect((await fresh.checkpoint('redhat-vex'))?.completedAt).toBeUndefined();
    };
    // The real archive cut in half.
    feed.archive = readFileSync(archiveFile()).subarray(0, 3_000);
    await expect(syncFeed({ source: source(), store: fresh })).rejects.toThrow(FeedFormatError);
    await expect(syncFeed({ source: source(), store: fresh })).rejects.toThrow(
      new RegExp(`${ARCHIVE.replace(/\./g, '\\.')}: not a readable zstd'd tar archive: `),
    );
    await nothing();
    feed.reset();
    // The real archive is 6,581 bytes.
    await expect(
      syncFeed({ source: source({ maxArchiveBytes: 4_096 }), store: fresh }),
    ).rejects.toThrow(/csaf_vex_2023-10-31\.tar\.zst: body over 4096 bytes/);
    feed.overrides.set(ARCHIVE, 500);
    await expect(syncFeed({ source: source(), store: fresh })).rejects.toThrow(FeedFetchError);
    await expect(syncFeed({ source: source(), store: fresh })).rejects.toThrow(/HTTP 500/);
    feed.reset();
    feed.latest = 'index.html\n';
    await expect(syncFeed({ source: source(), store: fresh })).rejects.toThrow(
      /archive_latest\.txt: "index\.html" is not csaf_vex_YYYY-MM-DD\.tar\.zst/,
    );
    await nothing();
    await fresh.close();

    const s = store();
    feed.reset();
    await syncFeed({ source: source(), store: s });
    const before = await s.checkpoint('redhat-vex');
    const intact = async () => {
      expect(await s.checkpoint('redhat-vex')).toEqual(before);
      expect(await s.heads(ids(FIRST))).toHaveProperty('size', 8);
    };
    feed.overrides.set('changes.csv', 503);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(
      /changes\.csv: HTTP 503/,
    );
    feed.overrides.clear();
    // A line of changes.csv without its time.
    feed.changes.push(['2026/cve-2026-2673.json', 'yesterday']);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(
      /changes\.csv: line 9 is not "<year>\/cve-<id>\.json","<RFC 3339 time>": "\\"2026\/cve-2026-2673\.json\\",\\"yesterday\\""/,
    );
    feed.changes.pop();
    // A listed document the server fails on stops the sync; a later one succeeds.
    feed.changes.push(['2026/cve-2026-2673.json', '2026-03-30T00:00:00+00:00']);
    feed.overrides.set('2026/cve-2026-2673.json', 500);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(
      /2026\/cve-2026-2673\.json: HTTP 500/,
    );
    await intact();
    await s.close();
  });

  it('records a listed document that is gone or broken as an issue and goes on', async () => {
    const s = store();
    await syncFeed({ source: source(), store: s });
    const curl = await s.get('REDHAT-CVE-2023-38545');
    feed.changes.push(
      ['2026/cve-2026-2673.json', '2026-03-30T00:00:00+00:00'],
      ['2023/cve-2023-38545.json', '2026-03-30T00:00:00+00:00'],
      ['2026/cve-2026-0968.json', '2026-03-30T00:00:00+00:00'],
    );
    // Gone since the list was written; and curl's document served cut in half.
    feed.overrides.set('2026/cve-2026-2673.json', 404);
    const text = docs.get('2023/cve-2023-38545.json')?.content as Buffer;
    feed.overrides.set('2023/cve-2023-38545.json', text.subarray(0, text.length / 2));
    const result = await syncFeed({ source: source(), store: s });
    expect(result).toMatchObject({ status: 'complete', written: 1, invalid: 2 });
    expect(result.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/\/vex\/2023\/cve-2023-38545\.json: not JSON: /),
      `${feed.base}2026/cve-2026-2673.json: listed in changes.csv but not found (HTTP 404); skipped`,
    ]);
    expect(await s.get('REDHAT-CVE-2023-38545')).toEqual(curl);
    expect(await s.heads(['REDHAT-CVE-2026-0968'])).toHaveProperty('size', 1);
    await s.close();
  });
});
