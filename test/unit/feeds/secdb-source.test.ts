/**
 * The secdb feed sources (shared/feeds/sources/secdb.ts) against a publisher on loopback serving
 * the real files with ETag and Last-Modified: vuln-list-update's Wolfi secdb (binutils only),
 * then vunnel's (27 packages, binutils unchanged), and vunnel's Chainguard secdb. First sync,
 * unchanged (a 304, no download), a changed file syncing only what changed, a sync stopped
 * between batches, and the faults a publisher can have.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PackageChange } from '../../../shared/events/rescan.js';
import { SecdbSource } from '../../../shared/feeds/sources/secdb.js';
import { SyncAbortedError, syncFeed } from '../../../shared/feeds/sync.js';
import { FeedFetchError, FeedFormatError } from '../../../shared/feeds/types.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const advisories = () => path.join(dataDir(), 'advisories');
const WOLFI_BINUTILS = () =>
  path.join(advisories(), 'vuln-list-update-fixtures/wolfi/testdata/security.json');
const WOLFI = () =>
  path.join(
    advisories(),
    'vunnel-fixtures/tests/unit/providers/wolfi/test-fixtures/input/secdb/security.json',
  );
const CHAINGUARD = () =>
  path.join(
    advisories(),
    'osv-samples-misc/anchore__vunnel/tests/unit/providers/chainguard/test-fixtures/input/secdb/security.json',
  );
/** Real files that are no secdb: a broken JSON file, and Chainguard's OSV index. */
const BROKEN_JSON = () =>
  path.join(
    advisories(),
    'vuln-list-update-fixtures/photon/testdata/cve_data_photon_invalid_format.json',
  );
const OSV_INDEX = () =>
  path.join(
    advisories(),
    'osv-samples-misc/anchore__vunnel/tests/unit/providers/chainguard/test-fixtures/input/osv/all.json',
  );

// When the loopback publisher says each file was last changed (the fixtures' own dates).
const NOV_2022 = 'Tue, 01 Nov 2022 00:00:00 GMT';
const NOV_2023 = 'Wed, 15 Nov 2023 00:00:00 GMT';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-secdb-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Served {
  body: Buffer;
  lastModified: string;
}

/** A publisher on loopback; what it serves, and whether it sends validators, can change. */
class Publisher {
  readonly files = new Map<string, Served>();
  validators = true;
  failWith: number | undefined;
  readonly requests: { url: string; conditional: boolean; status: number }[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Publisher> {
    let publisher: Publisher | undefined;
    const server = createServer((req, res) => publisher?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    publisher = new Publisher(server);
    return publisher;
  }

  url(file: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${file}`;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const conditional =
      req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
    const { status, headers, body } = this.answer(url, req);
    this.requests.push({ url, conditional, status });
    res.writeHead(status, headers).end(body);
  }

  private answer(
    url: string,
    req: IncomingMessage,
  ): { status: number; headers?: Record<string, string>; body?: Buffer } {
    const file = this.files.get(url);
    if (this.failWith !== undefined) return { status: this.failWith };
    if (file === undefined) return { status: 404 };
    if (!this.validators) return { status: 200, body: file.body };
    const etag = `"${createHash('sha256').update(file.body).digest('hex').slice(0, 16)}"`;
    const headers = { etag, 'last-modified': file.lastModified };
    // RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only without it.
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    if (inm !== undefined ? inm === etag : ims !== undefined && ims === file.lastModified)
      return { status: 304, headers };
    return { status: 200, headers, body: file.body };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let publisher: Publisher;
beforeAll(async () => {
  publisher = await Publisher.start();
});
afterAll(() => publisher.close());
afterEach(() => {
  publisher.files.clear();
  publisher.validators = true;
  publisher.failWith = undefined;
  publisher.requests.length = 0;
});

const serve = (file: string, lastModified: string) =>
  publisher.files.set('/os/security.json', { body: readFileSync(file), lastModified });
const newStore = () => EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
const wolfi = (store: EmbeddedAdvisoryStore, maxBytes?: number) =>
  new SecdbSource('wolfi', {
    store,
    url: publisher.url('/os/security.json'),
    timeoutMs: 5_000,
    ...(maxBytes === undefined ? {} : { maxBytes }),
  });
const changes = (all: readonly PackageChange[]) =>
  all.map((c) => `${c.change} ${c.ecosystem}#${c.name} ${c.advisoryIds.join(',')}`).sort();

describe('secdb feed sources', () => {
  it('syncs the file, then finds it unchanged without downloading it, then writes only what changed', async () => {
    const store = newStore();
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
    serve(WOLFI_BINUTILS(), NOV_2022);
    const first = await syncFeed({ source: wolfi(store), store, deliver });
    expect(first).toMatchObject({ status: 'complete', written: 3 });
    expect(changes(delivered)).toEqual([
      'added Wolfi#binutils WOLFI-CVE-2022-38126,WOLFI-CVE-2022-38128,WOLFI-CVE-2022-38533',
    ]);
    expect((await store.get('WOLFI-CVE-2022-38533'))?.record.modified).toBe('2022-11-01T00:00:00Z');

    publisher.requests.length = 0;
    const again = await syncFeed({ source: wolfi(store), store, deliver });
    expect(again.status).toBe('unchanged');
    expect(publisher.requests).toEqual([
      { url: '/os/security.json', conditional: true, status: 304 },
    ]);

    // A later publication: 26 more packages, binutils as it was. Only the new records are
    // written; binutils' keep the date they were first read with.
    delivered.length = 0;
    serve(WOLFI(), NOV_2023);
    const changed = await syncFeed({ source: wolfi(store), store, deliver });
    expect(changed).toMatchObject({ status: 'complete', written: 56, unchanged: 3 });
    expect(delivered.every((c) => c.change === 'added')).toBe(true);
    expect(delivered.some((c) => c.name === 'binutils')).toBe(false);
    expect(changes(delivered)).toContain(
      'added Wolfi#curl WOLFI-CVE-2022-32221,WOLFI-CVE-2022-42916',
    );
    expect((await store.get('WOLFI-CVE-2022-38533'))?.record.modified).toBe('2022-11-01T00:00:00Z');
    expect((await store.get('WOLFI-CVE-2022-42916'))?.record.modified).toBe('2023-11-15T00:00:00Z');
    await store.close();
  });

  it('finds a file served without validators unchanged by its bytes', async () => {
    const store = newStore();
    publisher.validators = false;
    serve(WOLFI_BINUTILS(), NOV_2022);
    await syncFeed({ source: wolfi(store), store });
    // Without a Last-Modified the records' date is unknown.
    expect((await store.get('WOLFI-CVE-2022-38533'))?.record.modified).toBe('1970-01-01T00:00:00Z');
    publisher.requests.length = 0;
    const again = await syncFeed({ source: wolfi(store), store });
    expect(again).toMatchObject({ status: 'unchanged', written: 0 });
    expect(publisher.requests).toEqual([
      { url: '/os/security.json', conditional: false, status: 200 },
    ]);
    await store.close();
  });

  it('reads Chainguard’s secdb into the Chainguard ecosystem', async () => {
    const store = newStore();
    publisher.files.set('/chainguard/security.json', {
      body: readFileSync(CHAINGUARD()),
      lastModified: NOV_2023,
    });
    const source = new SecdbSource('chainguard', {
      store,
      url: publisher.url('/chainguard/security.json'),
    });
    expect(source.id).toBe('secdb:chainguard');
    const delivered: PackageChange[] = [];
    const result = await syncFeed({
      source,
      store,
      deliver: async (c) => void delivered.push(...c),
    });
    expect(result).toMatchObject({ status: 'complete', written: 189, invalid: 0 });
    expect(changes(delivered)).toContain(
      'added Chainguard#go-1.20 CHAINGUARD-CVE-2022-41723,CHAINGUARD-CVE-2023-24532',
    );
    expect(() => new SecdbSource('alpine', { store })).toThrow(
      /no secdb for "alpine"; known: wolfi, chainguard/,
    );
    await store.close();
  });

  it('resumes a sync stopped between batches: nothing lost, nothing delivered twice', async () => {
    const store = newStore();
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
    serve(WOLFI(), NOV_2023);
    const stop = new AbortController();
    await expect(
      syncFeed({
        source: wolfi(store),
        store,
        deliver,
        batchSize: 20,
        signal: stop.signal,
        onBatch: () => stop.abort(),
      }),
    ).rejects.toThrow(SyncAbortedError);
    expect((await store.checkpoint('secdb:wolfi'))?.cursor?.position).toBe(20);
    const resumed = await syncFeed({ source: wolfi(store), store, deliver, batchSize: 20 });
    expect(resumed).toMatchObject({ status: 'complete', written: 39 });
    // The resumed sync asked for the whole file, not for a newer one.
    expect(publisher.requests.map((r) => r.conditional)).toEqual([false, false]);
    const ids = changes(delivered);
    expect(new Set(ids).size).toBe(ids.length);
    const all = new Set(delivered.flatMap((c) => c.advisoryIds));
    // 53 ids name an affected package; the 6 listed only under `0` name none.
    expect(all.size).toBe(53);
    let stored = 0;
    for await (const _ of store.all()) stored++;
    expect(stored).toBe(59);
    await store.close();
  });

  it('refuses HTTP errors, a broken file and one over the size cap, keeping what is stored', async () => {
    const store = newStore();
    serve(WOLFI_BINUTILS(), NOV_2022);
    await syncFeed({ source: wolfi(store), store });
    const before = await store.checkpoint('secdb:wolfi');
    const intact = async () => {
      expect(await store.checkpoint('secdb:wolfi')).toEqual(before);
      const heads = await store.heads([
        'WOLFI-CVE-2022-38126',
        'WOLFI-CVE-2022-38128',
        'WOLFI-CVE-2022-38533',
      ]);
      expect(heads.size).toBe(3);
    };
    publisher.failWith = 500;
    await expect(syncFeed({ source: wolfi(store), store })).rejects.toThrow(FeedFetchError);
    await expect(syncFeed({ source: wolfi(store), store })).rejects.toThrow(
      /security\.json: HTTP 500/,
    );
    await intact();
    publisher.failWith = undefined;
    serve(BROKEN_JSON(), NOV_2023);
    await expect(syncFeed({ source: wolfi(store), store })).rejects.toThrow(FeedFormatError);
    await expect(syncFeed({ source: wolfi(store), store })).rejects.toThrow(
      /security\.json: not JSON: /,
    );
    serve(OSV_INDEX(), NOV_2023);
    await expect(syncFeed({ source: wolfi(store), store })).rejects.toThrow(
      /security\.json: not a secdb JSON file: \(root\): /,
    );
    await intact();
    serve(WOLFI(), NOV_2023);
    await expect(syncFeed({ source: wolfi(store, 1000), store })).rejects.toThrow(
      /security\.json: body over 1000 bytes/,
    );
    await expect(syncFeed({ source: wolfi(store, 1000), store })).rejects.toThrow(FeedFetchError);
    await intact();
    await store.close();
  });
});
