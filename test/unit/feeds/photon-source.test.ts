/**
 * The Photon feed source (shared/feeds/sources/photon.ts) against a publisher on loopback in
 * the photon_cve_metadata layout, serving the real files with ETag and Last-Modified:
 * vuln-list-update's photon_versions.json (1.0, 2.0, 3.0) and release files, then vunnel's later
 * 1.0 file. First sync, unchanged (every release file a 304), a changed file syncing only what
 * changed, a sync stopped between batches, and the faults a publisher can have
 * (vuln-list-update's own broken files among them).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PackageChange } from '../../../shared/events/rescan.js';
import { PhotonSource } from '../../../shared/feeds/sources/photon.js';
import { SyncAbortedError, syncFeed } from '../../../shared/feeds/sync.js';
import { FeedFetchError, FeedFormatError } from '../../../shared/feeds/types.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const vulnList = (file: string) =>
  path.join(dataDir(), 'advisories/vuln-list-update-fixtures/photon/testdata', file);
const vunnel = (file: string) =>
  path.join(
    dataDir(),
    'advisories/vunnel-fixtures/tests/unit/providers/photon/test-fixtures/input',
    file,
  );

// When the loopback publisher says the files were last changed.
const JAN_2025 = 'Wed, 01 Jan 2025 00:00:00 GMT';
const FEB_2025 = 'Sat, 01 Feb 2025 00:00:00 GMT';
const BASE = '/photon/photon_cve_metadata';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-photon-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Photon's metadata folder on loopback; what it serves can change between syncs. */
class Publisher {
  readonly files = new Map<string, { body: Buffer; lastModified: string }>();
  readonly failing = new Map<string, number>();
  readonly requests: { file: string; conditional: boolean; status: number }[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Publisher> {
    let publisher: Publisher | undefined;
    const server = createServer((req, res) => publisher?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    publisher = new Publisher(server);
    return publisher;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${BASE}/`;
  }

  /** Serves `name` with the bytes of a real file. */
  put(name: string, file: string, lastModified = JAN_2025): void {
    this.files.set(name, { body: readFileSync(file), lastModified });
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const file = (req.url ?? '').slice(BASE.length + 1);
    const conditional = req.headers['if-none-match'] !== undefined;
    const { status, headers, body } = this.answer(file, req);
    this.requests.push({ file, conditional, status });
    res.writeHead(status, headers).end(body);
  }

  private answer(
    file: string,
    req: IncomingMessage,
  ): { status: number; headers?: Record<string, string>; body?: Buffer } {
    const served = this.files.get(file);
    const failure = this.failing.get(file);
    if (failure !== undefined) return { status: failure };
    if (!(req.url ?? '').startsWith(`${BASE}/`) || served === undefined) return { status: 404 };
    const etag = `"${createHash('sha256').update(served.body).digest('hex').slice(0, 16)}"`;
    const headers = { etag, 'last-modified': served.lastModified };
    if (req.headers['if-none-match'] === etag) return { status: 304, headers };
    return { status: 200, headers, body: served.body };
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
  publisher.failing.clear();
  publisher.requests.length = 0;
});

/** vuln-list-update's real metadata folder: its release list and its three release files. */
function publishVulnList(lastModified = JAN_2025): void {
  publisher.put('photon_versions.json', vulnList('photon_versions.json'), lastModified);
  for (const release of ['1.0', '2.0', '3.0'])
    publisher.put(
      `cve_data_photon${release}.json`,
      vulnList(`cve_data_photon${release}.json`),
      lastModified,
    );
}

const newStore = () => EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
const source = (store: EmbeddedAdvisoryStore, maxBytes?: number) =>
  new PhotonSource({
    store,
    baseUrl: publisher.baseUrl,
    timeoutMs: 5_000,
    ...(maxBytes === undefined ? {} : { maxBytes }),
  });
const changes = (all: readonly PackageChange[]) =>
  all.map((c) => `${c.change} ${c.ecosystem}#${c.name} ${c.advisoryIds.join(',')}`).sort();
const RELEASE_FILES = [
  'cve_data_photon1.0.json',
  'cve_data_photon2.0.json',
  'cve_data_photon3.0.json',
];

describe('Photon feed source', () => {
  it('syncs every release, then finds them unchanged without downloading them, then writes only what changed', async () => {
    const store = newStore();
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
    publishVulnList();
    const first = await syncFeed({ source: source(store), store, deliver });
    // 16 ids; two are not affected anywhere (records without entries).
    expect(first).toMatchObject({ status: 'complete', written: 16, invalid: 0 });
    expect(changes(delivered)).toContain('added Photon OS:1.0#zlib PHOTON-CVE-2016-9843');
    expect(changes(delivered)).toContain(
      'added Photon OS:2.0#ansible PHOTON-CVE-2017-7473,PHOTON-CVE-2018-16876,PHOTON-CVE-2019-10156',
    );
    expect(delivered.some((c) => c.advisoryIds.includes('PHOTON-CVE-2025-0725'))).toBe(false);
    const zlib = await store.get('PHOTON-CVE-2016-9843');
    expect(zlib?.record.modified).toBe('2025-01-01T00:00:00Z');
    expect(zlib?.record.database_specific).toEqual({ cvss_score: 7.5 });

    publisher.requests.length = 0;
    const again = await syncFeed({ source: source(store), store, deliver });
    expect(again.status).toBe('unchanged');
    expect(publisher.requests).toEqual([
      { file: 'photon_versions.json', conditional: false, status: 200 },
      ...RELEASE_FILES.map((file) => ({ file, conditional: true, status: 304 })),
    ]);

    // Photon republishes every file a month later; only 1.0's content moved (vunnel's later
    // 1.0 file). Only its new ids are written; 2.0's and 3.0's records keep their date.
    delivered.length = 0;
    publishVulnList(FEB_2025);
    publisher.put('cve_data_photon1.0.json', vunnel('cve_data_photon1.0.json'), FEB_2025);
    const changed = await syncFeed({ source: source(store), store, deliver });
    expect(changed).toMatchObject({ status: 'complete', written: 2 });
    expect(changes(delivered)).toEqual([
      'added Photon OS:1.0#linux PHOTON-CVE-2016-9178',
      'added Photon OS:1.0#linux-esx PHOTON-CVE-2016-9178',
      'added Photon OS:1.0#perl PHOTON-CVE-2016-1238',
    ]);
    expect((await store.get('PHOTON-CVE-2016-1238'))?.record.modified).toBe('2025-02-01T00:00:00Z');
    expect((await store.get('PHOTON-CVE-2019-3828'))?.record.modified).toBe('2025-01-01T00:00:00Z');
    await store.close();
  });

  it('leaves out a branch that is no release number (edit: the real list with Photon’s `dev` branch)', async () => {
    const store = newStore();
    publishVulnList();
    publisher.files.set('photon_versions.json', {
      body: Buffer.from(
        readFileSync(vulnList('photon_versions.json'), 'utf8').replace('"3.0"]', '"3.0", "dev"]'),
      ),
      lastModified: JAN_2025,
    });
    const result = await syncFeed({ source: source(store), store });
    expect(result).toMatchObject({ status: 'complete', written: 16 });
    expect(publisher.requests.map((r) => r.file)).toEqual([
      'photon_versions.json',
      ...RELEASE_FILES,
    ]);
    await store.close();
  });

  it('resumes a sync stopped between batches: nothing lost, nothing delivered twice', async () => {
    const store = newStore();
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
    publishVulnList();
    const stop = new AbortController();
    await expect(
      syncFeed({
        source: source(store),
        store,
        deliver,
        batchSize: 5,
        signal: stop.signal,
        onBatch: () => stop.abort(),
      }),
    ).rejects.toThrow(SyncAbortedError);
    expect((await store.checkpoint('photon'))?.cursor?.position).toBe(5);
    publisher.requests.length = 0;
    const resumed = await syncFeed({ source: source(store), store, deliver, batchSize: 5 });
    expect(resumed).toMatchObject({ status: 'complete', written: 11 });
    // The resumed sync read every file again, not only newer ones.
    expect(publisher.requests.every((r) => !r.conditional && r.status === 200)).toBe(true);
    const ids = changes(delivered);
    expect(new Set(ids).size).toBe(ids.length);
    // 14 ids name an affected package (UNK-1 and CVE-2025-0725 are not affected).
    expect(new Set(delivered.flatMap((c) => c.advisoryIds)).size).toBe(14);
    let stored = 0;
    for await (const _ of store.all()) stored++;
    expect(stored).toBe(16);
    await store.close();
  });

  it('refuses HTTP errors, broken files and a file over the size cap, keeping what is stored', async () => {
    const store = newStore();
    publishVulnList();
    await syncFeed({ source: source(store), store });
    const before = await store.checkpoint('photon');
    const intact = async () => {
      expect(await store.checkpoint('photon')).toEqual(before);
      expect(
        (
          await store.heads([
            'PHOTON-CVE-2016-9843',
            'PHOTON-CVE-2015-8863',
            'PHOTON-CVE-2019-3828',
          ])
        ).size,
      ).toBe(3);
    };
    publisher.failing.set('cve_data_photon2.0.json', 500);
    await expect(syncFeed({ source: source(store), store })).rejects.toThrow(FeedFetchError);
    await expect(syncFeed({ source: source(store), store })).rejects.toThrow(
      /cve_data_photon2\.0\.json: HTTP 500/,
    );
    publisher.failing.clear();
    await intact();
    // vuln-list-update's broken files: a release list that is not JSON, an empty one, and a
    // release file cut short. A broken release file fails the whole sync: its packages are
    // not dropped from the records that name them.
    publisher.put('photon_versions.json', vulnList('invalid_photon_versions.json'));
    await expect(syncFeed({ source: source(store), store })).rejects.toThrow(
      /photon_versions\.json: not JSON: /,
    );
    publisher.put('photon_versions.json', vulnList('EOF.txt'));
    await expect(syncFeed({ source: source(store), store })).rejects.toThrow(FeedFormatError);
    publisher.put('photon_versions.json', vulnList('photon_versions.json'));
    publisher.put(
      'cve_data_photon3.0.json',
      vulnList('cve_data_photon_invalid_format.json'),
      FEB_2025,
    );
    await expect(syncFeed({ source: source(store), store })).rejects.toThrow(FeedFormatError);
    await expect(syncFeed({ source: source(store), store })).rejects.toThrow(
      /cve_data_photon3\.0\.json: not JSON: /,
    );
    await intact();
    publishVulnList(FEB_2025);
    publisher.put('cve_data_photon1.0.json', vunnel('cve_data_photon1.0.json'), FEB_2025);
    await expect(syncFeed({ source: source(store, 500), store })).rejects.toThrow(
      /cve_data_photon1\.0\.json: body over 500 bytes/,
    );
    await intact();
    await store.close();
  });
});
