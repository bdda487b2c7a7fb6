/**
 * The ALAS feed source (shared/feeds/sources/alas.ts) against an Amazon Linux repository on
 * loopback in the createrepo layout: a mirror list naming the repository, the real repomd.xml of
 * vuln-list-update's fixtures (its updateinfo checksum set to the file served), and real
 * updateinfo files. First sync, unchanged (no download), a changed file, a sync stopped between
 * batches, and the faults a repository can have.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PackageChange } from '../../../shared/events/rescan.js';
import { AlasSource } from '../../../shared/feeds/sources/alas.js';
import { SyncAbortedError, syncFeed } from '../../../shared/feeds/sync.js';
import { FeedFetchError, FeedFormatError } from '../../../shared/feeds/types.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const fixtures = () =>
  path.join(dataDir(), 'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures');
const work = mkdtempSync(path.join(tmpdir(), 'bosun-alas-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An Amazon Linux repository on loopback; what it serves can change between syncs. */
class Repository {
  updateinfo = readFileSync(path.join(fixtures(), 'updateinfo_2_items.xml.gz'));
  checksum: string | undefined;
  failWith: number | undefined;
  readonly requests: string[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Repository> {
    let repo: Repository | undefined;
    const server = createServer((req, res) => repo?.serve(req.url ?? '', res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    repo = new Repository(server);
    return repo;
  }

  get mirrorList(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/mirror.list`;
  }

  private serve(url: string, res: import('node:http').ServerResponse): void {
    this.requests.push(url);
    if (this.failWith !== undefined && url.startsWith('/repo/')) {
      res.writeHead(this.failWith).end();
      return;
    }
    const base = this.mirrorList.replace(/\/mirror\.list$/, '');
    if (url === '/mirror.list') res.end(`${base}/repo/\n`);
    else if (url === '/repo/repodata/repomd.xml') {
      // The real repomd.xml, naming the updateinfo served here by its checksum.
      const sum = this.checksum ?? createHash('sha256').update(this.updateinfo).digest('hex');
      res.end(
        readFileSync(path.join(fixtures(), 'repomd_valid.xml'), 'utf8').replace(
          'e6f569f8ed2246a6b06c0fef7cfd71560df02781327e31c38396ed358d591d48',
          sum,
        ),
      );
    } else if (url === '/repo/repodata/updateinfo.xml.gz') res.end(this.updateinfo);
    else res.writeHead(404).end();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let repo: Repository;
beforeAll(async () => {
  repo = await Repository.start();
});
afterAll(() => repo.close());
afterEach(() => {
  repo.updateinfo = readFileSync(path.join(fixtures(), 'updateinfo_2_items.xml.gz'));
  repo.checksum = undefined;
  repo.failWith = undefined;
  repo.requests.length = 0;
});

const store = () => EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
const source = () => new AlasSource('2', { mirrorListUrl: repo.mirrorList, timeoutMs: 5_000 });
const changes = (all: readonly PackageChange[]) =>
  all.map((c) => `${c.change} ${c.ecosystem}#${c.name} ${c.advisoryIds.join(',')}`).sort();

describe('ALAS feed source', () => {
  it('syncs the updates, then finds the repository unchanged without downloading it, then the changes', async () => {
    const s = store();
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
    const first = await syncFeed({ source: source(), store: s, deliver });
    expect(first).toMatchObject({ status: 'complete', written: 2 });
    expect((await s.get('ALAS2-2018-942'))?.record.affected?.[0]?.package?.ecosystem).toBe(
      'Amazon Linux:2',
    );
    expect(changes(delivered)).toContain('added Amazon Linux:2#qemu-kvm ALAS2-2018-942');

    repo.requests.length = 0;
    const again = await syncFeed({ source: source(), store: s, deliver });
    expect(again.status).toBe('unchanged');
    expect(repo.requests).toEqual(['/mirror.list', '/repo/repodata/repomd.xml']);

    // The repository publishes another updateinfo: the new advisory is added, nothing rewritten.
    delivered.length = 0;
    repo.updateinfo = readFileSync(path.join(fixtures(), 'updateinfo_1_item.xml.gz'));
    const changed = await syncFeed({ source: source(), store: s, deliver });
    expect(changed).toMatchObject({ status: 'complete', written: 1 });
    expect(new Set(delivered.flatMap((c) => c.advisoryIds))).toEqual(new Set(['ALAS2-2018-939']));
    expect(delivered.every((c) => c.change === 'added')).toBe(true);
    await s.close();
  });

  it('resumes a sync stopped between batches: nothing lost, nothing delivered twice', async () => {
    const s = store();
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
    const stop = new AbortController();
    await expect(
      syncFeed({
        source: source(),
        store: s,
        deliver,
        batchSize: 1,
        signal: stop.signal,
        onBatch: () => stop.abort(),
      }),
    ).rejects.toThrow(SyncAbortedError);
    expect((await s.checkpoint('alas:2'))?.cursor?.position).toBe(1);
    const resumed = await syncFeed({ source: source(), store: s, deliver, batchSize: 1 });
    expect(resumed).toMatchObject({ status: 'complete', written: 1 });
    expect(await s.heads(['ALAS2-2018-942', 'ALAS2-2018-949'])).toHaveProperty('size', 2);
    const ids = changes(delivered);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(delivered.flatMap((c) => c.advisoryIds))).toEqual(
      new Set(['ALAS2-2018-942', 'ALAS2-2018-949']),
    );
    await s.close();
  });

  it('refuses a file whose checksum is not the one repomd.xml names, a broken file, and HTTP errors, keeping what is stored', async () => {
    const s = store();
    await syncFeed({ source: source(), store: s });
    const before = await s.checkpoint('alas:2');
    const intact = async () => {
      expect(await s.checkpoint('alas:2')).toEqual(before);
      expect(await s.heads(['ALAS2-2018-942', 'ALAS2-2018-949'])).toHaveProperty('size', 2);
    };
    repo.updateinfo = readFileSync(path.join(fixtures(), 'updateinfo_1_item.xml.gz'));
    repo.checksum = '0'.repeat(64);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(FeedFormatError);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(
      /updateinfo\.xml\.gz: sha256 [0-9a-f]{64} is not the 0{64} that repomd\.xml names/,
    );
    await intact();
    // A broken updateinfo (vuln-list-update's own) is reported; nothing is written.
    repo.checksum = undefined;
    repo.updateinfo = readFileSync(path.join(fixtures(), 'updateinfo_invalid.xml.gz'));
    const broken = await syncFeed({ source: source(), store: s });
    expect(broken).toMatchObject({ written: 0, invalid: 1 });
    expect(broken.issues[0]?.message).toMatch(/not well-formed XML/);
    repo.failWith = 500;
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(FeedFetchError);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(/HTTP 500/);
    expect(await s.heads(['ALAS2-2018-942', 'ALAS2-2018-949'])).toHaveProperty('size', 2);
    await s.close();
  });
});
