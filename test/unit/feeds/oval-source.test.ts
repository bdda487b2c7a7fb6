/**
 * The OVAL feed source (shared/feeds/sources/oval.ts) against a publisher's server on loopback
 * serving the real files: Microsoft's whole azurelinux-3.0 file, vunnel's CBL-Mariner 2.0 file,
 * vuln-list-update's bzip2'd Oracle file and its broken Microsoft file. First sync, unchanged
 * (a conditional GET answered 304, or the same content), a changed file, a sync stopped between
 * batches, and the faults a server can have.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PackageChange } from '../../../shared/events/rescan.js';
import { OVAL_FEED_IDS, OVAL_FEEDS, OvalSource } from '../../../shared/feeds/sources/oval.js';
import { SyncAbortedError, syncFeed } from '../../../shared/feeds/sync.js';
import { FeedFetchError, FeedFormatError } from '../../../shared/feeds/types.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { dataDir } from '../../support/fixtures.js';

const real = (relative: string) => readFileSync(path.join(dataDir(), 'advisories', relative));
const AZL3 = 'azurelinux-oval/azurelinux-3.0-oval.xml';
const MARINER2 =
  'vunnel-fixtures/tests/unit/providers/mariner/test-fixtures/mariner-truncated-2.0-oval.xml';
const ORACLE = 'vuln-list-update-fixtures/oracle/oval/testdata/all-positive-data.xml.bz2';
const BROKEN = 'vuln-list-update-fixtures/mariner/testdata/sad/cbl-mariner-1.0-oval.xml';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-oval-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A publisher's server: one file per path, validators as configured, requests recorded. */
class Publisher {
  readonly files = new Map<string, Buffer>();
  /** Which validators the server sends and honours. */
  validators: 'etag' | 'last-modified' | 'none' = 'etag';
  failWith: number | undefined;
  readonly log: { url: string; conditional: boolean; status: number }[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Publisher> {
    let publisher: Publisher | undefined;
    const server = createServer((req, res) => publisher?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    publisher = new Publisher(server);
    return publisher;
  }

  url(file: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${file}`;
  }

  /** Bodies sent (200s). */
  get downloads(): number {
    return this.log.filter((l) => l.status === 200).length;
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
    // A date the content determines, as a static file server's mtime would be.
    const lastModified = new Date(Date.UTC(2024, 0, 1) + body.length * 1000).toUTCString();
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

let publisher: Publisher;
beforeAll(async () => {
  publisher = await Publisher.start();
});
afterAll(() => publisher.close());
afterEach(() => {
  publisher.files.clear();
  publisher.validators = 'etag';
  publisher.failWith = undefined;
  publisher.log.length = 0;
});

const store = () => EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
const changes = (all: readonly PackageChange[]) =>
  all.map((c) => `${c.change} ${c.ecosystem}#${c.name} ${c.advisoryIds.join(',')}`).sort();
const collect = () => {
  const delivered: PackageChange[] = [];
  return { delivered, deliver: async (c: readonly PackageChange[]) => void delivered.push(...c) };
};

// Whole real OVAL files (tens of MB of XML) parsed several times: seconds on a shared machine.
describe('OVAL feed source', { timeout: 60_000 }, () => {
  it('names its feeds and refuses any other', () => {
    expect(OVAL_FEED_IDS).toEqual([
      'azurelinux-oval:1',
      'azurelinux-oval:2',
      'azurelinux-oval:3',
      'oracle-oval:7',
      'oracle-oval:8',
      'oracle-oval:9',
      'oracle-oval:10',
    ]);
    const none = { store: { get: async () => undefined } };
    expect(new OvalSource('oracle-oval:9', none).url).toBe(OVAL_FEEDS['oracle-oval:9']);
    expect(() => new OvalSource('oracle-oval:6', none)).toThrow(FeedFormatError);
    expect(() => new OvalSource('oracle-oval:6', none)).toThrow(
      /"oracle-oval:6".*known: azurelinux-oval:1, /,
    );
  });

  it('syncs the whole azurelinux-3.0 file, finds it unchanged by a 304, then writes only the definition that changed', async () => {
    const s = store();
    const { delivered, deliver } = collect();
    publisher.files.set('azurelinux-3.0-oval.xml', real(AZL3));
    const source = () =>
      new OvalSource('azurelinux-oval:3', {
        store: s,
        url: publisher.url('azurelinux-3.0-oval.xml'),
        timeoutMs: 10_000,
      });
    const first = await syncFeed({ source: source(), store: s, deliver });
    expect(first).toMatchObject({ status: 'complete', written: 1005, invalid: 0 });
    expect((await s.get('AZL-3-CVE-2024-47191'))?.record.affected?.[0]?.package).toEqual({
      ecosystem: 'Azure Linux:3',
      name: 'oath-toolkit',
      purl: 'pkg:rpm/azurelinux/oath-toolkit',
    });
    expect(changes(delivered)).toContain('added Azure Linux:3#oath-toolkit AZL-3-CVE-2024-47191');

    publisher.log.length = 0;
    const again = await syncFeed({ source: source(), store: s, deliver });
    expect(again.status).toBe('unchanged');
    expect(publisher.log).toEqual([
      { url: '/azurelinux-3.0-oval.xml', conditional: true, status: 304 },
    ]);

    // Microsoft publishes a later fix of oath-toolkit (one evr edited in the real file).
    const xml = real(AZL3).toString('utf8');
    expect(xml.split('>0:2.6.7-3.azl3<')).toHaveLength(2);
    publisher.files.set(
      'azurelinux-3.0-oval.xml',
      Buffer.from(xml.replace('>0:2.6.7-3.azl3<', '>0:2.6.7-4.azl3<')),
    );
    delivered.length = 0;
    const changed = await syncFeed({ source: source(), store: s, deliver });
    expect(changed).toMatchObject({ status: 'complete', written: 1, unchanged: 1004 });
    expect(changes(delivered)).toEqual([
      'modified Azure Linux:3#oath-toolkit AZL-3-CVE-2024-47191',
    ]);
    expect(
      (await s.get('AZL-3-CVE-2024-47191'))?.record.affected?.[0]?.ranges?.[0]?.events,
    ).toEqual([{ introduced: '0' }, { fixed: '2.6.7-4.azl3' }]);
    await s.close();
  });

  it('writes nothing and changes no package when Microsoft regenerates the file with nothing new', async () => {
    const s = store();
    const { delivered, deliver } = collect();
    const xml = real(AZL3).toString('utf8');
    publisher.files.set('azurelinux-3.0-oval.xml', Buffer.from(xml));
    const source = () =>
      new OvalSource('azurelinux-oval:3', {
        store: s,
        url: publisher.url('azurelinux-3.0-oval.xml'),
        timeoutMs: 10_000,
      });
    expect(await syncFeed({ source: source(), store: s, deliver })).toMatchObject({
      status: 'complete',
      written: 1005,
    });
    // A definition without advisory_date (75 in this file) is dated by the generator timestamp.
    const undated = (await s.get('AZL-3-CVE-2024-42861'))?.record;
    expect(undated?.modified).toMatch(/^2024-10-10T12:04:24/);

    // The same definitions regenerated hours later: only <oval:timestamp> moves (one edit of
    // the real file), so the body and its ETag are new and the file is downloaded and read.
    const stamp = '<oval:timestamp>2024-10-10T12:04:24.575063301Z</oval:timestamp>';
    expect(xml.split(stamp)).toHaveLength(2);
    publisher.files.set(
      'azurelinux-3.0-oval.xml',
      Buffer.from(
        xml.replace(stamp, '<oval:timestamp>2024-10-10T18:31:02.104215930Z</oval:timestamp>'),
      ),
    );
    delivered.length = 0;
    publisher.log.length = 0;
    const regenerated = await syncFeed({ source: source(), store: s, deliver });
    expect(publisher.downloads).toBe(1);
    expect(regenerated).toMatchObject({ status: 'complete', written: 0, unchanged: 1005 });
    expect(delivered).toEqual([]);
    expect((await s.get('AZL-3-CVE-2024-42861'))?.record).toEqual(undated);
    await s.close();
  });

  it('asks with Last-Modified when that is the validator, and knows the same content when there is none', async () => {
    const s = store();
    publisher.files.set('com.oracle.elsa-ol7.xml.bz2', real(ORACLE));
    const source = () =>
      new OvalSource('oracle-oval:7', {
        store: s,
        url: publisher.url('com.oracle.elsa-ol7.xml.bz2'),
        timeoutMs: 10_000,
      });
    publisher.validators = 'last-modified';
    // vuln-list-update's Oracle file, bzip2'd: 14 ELSAs, each read from its criteria comments.
    const first = await syncFeed({ source: source(), store: s });
    expect(first).toMatchObject({ status: 'complete', written: 14, invalid: 14 });
    expect(
      (await s.get('ELSA-2011-1268'))?.record.affected?.map((a) => a.package?.ecosystem),
    ).toEqual([
      'Oracle Linux:5',
      'Oracle Linux:5',
      'Oracle Linux:5',
      'Oracle Linux:6',
      'Oracle Linux:6',
      'Oracle Linux:6',
    ]);
    publisher.log.length = 0;
    expect((await syncFeed({ source: source(), store: s })).status).toBe('unchanged');
    expect(publisher.log).toEqual([
      { url: '/com.oracle.elsa-ol7.xml.bz2', conditional: true, status: 304 },
    ]);
    // A server that sends no validator: the body is read, its sha256 is the last one.
    publisher.validators = 'none';
    publisher.log.length = 0;
    expect((await syncFeed({ source: source(), store: s })).status).toBe('unchanged');
    expect(publisher.downloads).toBe(1);
    await s.close();
  });

  it("reads a Microsoft file as its feed's release whatever its name", async () => {
    const s = store();
    // The 2.0 preview mixes 1.0's packages (`.cm1`) in: only the feed says which release it is.
    publisher.files.set(
      'feed.xml',
      real('vuln-list-update-fixtures/mariner/testdata/happy/cbl-mariner-2.0-preview-oval.xml'),
    );
    const source = new OvalSource('azurelinux-oval:2', {
      store: s,
      url: publisher.url('feed.xml'),
      timeoutMs: 10_000,
    });
    expect(await syncFeed({ source, store: s })).toMatchObject({
      status: 'complete',
      written: 4,
      invalid: 0,
    });
    expect((await s.get('AZL-2-CVE-2014-8139'))?.record.affected?.[0]?.package?.ecosystem).toBe(
      'Azure Linux:2',
    );
    await s.close();
  });

  it('resumes a sync stopped between batches: nothing lost, nothing delivered twice', async () => {
    const s = store();
    const { delivered, deliver } = collect();
    publisher.files.set('cbl-mariner-2.0-oval.xml', real(MARINER2));
    const source = () =>
      new OvalSource('azurelinux-oval:2', {
        store: s,
        url: publisher.url('cbl-mariner-2.0-oval.xml'),
        timeoutMs: 10_000,
      });
    const stop = new AbortController();
    await expect(
      syncFeed({
        source: source(),
        store: s,
        deliver,
        batchSize: 2,
        signal: stop.signal,
        onBatch: () => stop.abort(),
      }),
    ).rejects.toThrow(SyncAbortedError);
    expect((await s.checkpoint('azurelinux-oval:2'))?.cursor?.position).toBe(2);
    // With a cursor the file is read again whole (no conditional request) to resume.
    publisher.log.length = 0;
    const resumed = await syncFeed({ source: source(), store: s, deliver, batchSize: 2 });
    expect(resumed).toMatchObject({ status: 'complete', written: 3 });
    expect(publisher.log).toEqual([
      { url: '/cbl-mariner-2.0-oval.xml', conditional: false, status: 200 },
    ]);
    const ids = [
      'CVE-2022-3736',
      'CVE-2023-0687',
      'CVE-2023-21977',
      'CVE-2023-21980',
      'CVE-2023-29404',
    ].map((c) => `AZL-2-${c}`);
    expect(await s.heads(ids)).toHaveProperty('size', 5);
    const seen = changes(delivered);
    expect(new Set(seen).size).toBe(seen.length);
    // glibc's not-applicable CVE names no package: it changes no finding.
    expect(changes(delivered)).toEqual([
      'added Azure Linux:2#bind AZL-2-CVE-2022-3736',
      'added Azure Linux:2#golang AZL-2-CVE-2023-29404',
      'added Azure Linux:2#mysql AZL-2-CVE-2023-21977,AZL-2-CVE-2023-21980',
    ]);
    await s.close();
  });

  it('refuses HTTP errors, a broken file, a download or an inflation over its limit, keeping what is stored', async () => {
    const s = store();
    publisher.files.set('cbl-mariner-2.0-oval.xml', real(MARINER2));
    const source = (opts = {}) =>
      new OvalSource('azurelinux-oval:2', {
        store: s,
        url: publisher.url('cbl-mariner-2.0-oval.xml'),
        timeoutMs: 10_000,
        ...opts,
      });
    await syncFeed({ source: source(), store: s });
    const before = await s.checkpoint('azurelinux-oval:2');
    const intact = async () => {
      expect(await s.checkpoint('azurelinux-oval:2')).toEqual(before);
      expect((await s.get('AZL-2-CVE-2022-3736'))?.record.affected?.[0]?.package?.name).toBe(
        'bind',
      );
    };
    publisher.failWith = 500;
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(FeedFetchError);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(
      /cbl-mariner-2\.0-oval\.xml: HTTP 500/,
    );
    await intact();
    publisher.failWith = undefined;
    // vuln-list-update's broken CBL-Mariner file.
    publisher.files.set('cbl-mariner-2.0-oval.xml', real(BROKEN));
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(FeedFormatError);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(/not well-formed XML/);
    await intact();
    publisher.files.set('cbl-mariner-2.0-oval.xml', real(AZL3));
    await expect(syncFeed({ source: source({ maxBytes: 100_000 }), store: s })).rejects.toThrow(
      /body over 100000 bytes/,
    );
    await intact();
    publisher.files.set('cbl-mariner-2.0-oval.xml', real(ORACLE));
    const inflated = syncFeed({ source: source({ maxXmlBytes: 10_000 }), store: s });
    await expect(inflated).rejects.toThrow(FeedFormatError);
    await expect(syncFeed({ source: source({ maxXmlBytes: 10_000 }), store: s })).rejects.toThrow(
      /inflates past 10000 bytes/,
    );
    await intact();
    await s.close();
  });
});
