/**
 * The repository-to-CPE feed source (shared/feeds/sources/redhat-repository-to-cpe.ts) against
 * a loopback server that publishes the whole real mapping as Red Hat's server does, with an
 * ETag and a Last-Modified and 304s to conditional requests. First sync, unchanged without a
 * download, a changed file (only its changes written), a sync stopped between batches and one
 * stopped while it writes the mapping, and the faults a server or a file can have. Changed and
 * malformed files are the real one with documented edits.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PackageChange } from '../../../shared/events/rescan.js';
import {
  REDHAT_REPOSITORY_TO_CPE_URL,
  RedHatRepositoryToCpeSource,
} from '../../../shared/feeds/sources/redhat-repository-to-cpe.js';
import { SyncAbortedError, syncFeed } from '../../../shared/feeds/sync.js';
import { FeedFetchError, FeedFormatError } from '../../../shared/feeds/types.js';
import type { RepositoryCpesWrite } from '../../../shared/stores/advisory-store.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import {
  editedRepositoryCpes,
  expectedLookup,
  PROBES,
  realRepositoryCpes,
} from '../../contract/repository-cpes.js';
import { dataDir } from '../../support/fixtures.js';

const realFile = () =>
  readFileSync(path.join(dataDir(), 'advisories/redhat-repository-to-cpe/repository-to-cpe.json'));
const work = mkdtempSync(path.join(tmpdir(), 'bosun-repo-cpe-source-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The real file with `edit` applied to its parsed `data`. */
function editedFile(edit: (data: Record<string, unknown>) => void): Buffer {
  const doc = JSON.parse(realFile().toString('utf8')) as { data: Record<string, unknown> };
  edit(doc.data);
  return Buffer.from(JSON.stringify(doc));
}

/** The edits of editedRepositoryCpes() (test/contract/repository-cpes.ts), on the file. */
const nextFile = () =>
  editedFile((data) => {
    delete data['rhel-8-for-x86_64-appstream-rpms'];
    delete data['cf-me-5.1-for-rhel-5-rpms'];
    data['rhel-8-for-x86_64-baseos-rpms'] = {
      cpes: ['cpe:/o:redhat:enterprise_linux:8::baseos', 'cpe:/o:redhat:rhel_eus:8.8::baseos'],
    };
    data['rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_6'] = {
      cpes: ['cpe:/o:redhat:rhel_eus:9.6::baseos'],
    };
  });

/** Red Hat's server on loopback: validators on every answer, 304 when they still hold. */
class Publisher {
  body: Buffer = realFile();
  lastModified = 'Wed, 12 Feb 2025 00:48:44 GMT';
  validators = true;
  failWith: number | undefined;
  /** Each request: whether it was conditional, and the status answered. */
  readonly requests: { conditional: boolean; status: number }[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Publisher> {
    let publisher: Publisher | undefined;
    const server = createServer((req, res) => publisher?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    publisher = new Publisher(server);
    return publisher;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/data/meta/v1/repository-to-cpe.json`;
  }

  get etag(): string {
    return `"${createHash('sha256').update(this.body).digest('hex').slice(0, 16)}"`;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const conditional =
      req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
    const answer = (status: number, headers: Record<string, string> = {}, body?: Buffer) => {
      this.requests.push({ conditional, status });
      res.writeHead(status, headers).end(body);
    };
    const headers: Record<string, string> = this.validators
      ? { etag: this.etag, 'last-modified': this.lastModified }
      : {};
    if (req.url !== new URL(this.url).pathname) answer(404);
    else if (this.failWith !== undefined) answer(this.failWith);
    else if (this.validators && req.headers['if-none-match'] === this.etag) answer(304, headers);
    else answer(200, { 'content-type': 'application/json', ...headers }, this.body);
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
  publisher.body = realFile();
  publisher.validators = true;
  publisher.failWith = undefined;
  publisher.requests.length = 0;
  vi.restoreAllMocks();
});

const store = () => EmbeddedAdvisoryStore.open(mkdtempSync(path.join(work, 'store-')));
const source = (maxBytes?: number) =>
  new RedHatRepositoryToCpeSource({
    url: publisher.url,
    timeoutMs: 5_000,
    ...(maxBytes === undefined ? {} : { maxBytes }),
  });
const lookup = (s: EmbeddedAdvisoryStore) => s.repositoryCpes([...PROBES]);

describe('repository-to-CPE feed source', () => {
  it("publishes Red Hat's URL under its id", () => {
    const s = new RedHatRepositoryToCpeSource();
    expect(s.id).toBe('redhat-repository-to-cpe');
    expect(REDHAT_REPOSITORY_TO_CPE_URL).toBe(
      'https://security.access.redhat.com/data/meta/v1/repository-to-cpe.json',
    );
  });

  it('syncs the mapping, then finds it unchanged by a 304 without a download, then writes only what a new file changes', async () => {
    const s = store();
    const writes: RepositoryCpesWrite[] = [];
    const put = s.putRepositoryCpes.bind(s);
    vi.spyOn(s, 'putRepositoryCpes').mockImplementation(async (m) => {
      const w = await put(m);
      writes.push(w);
      return w;
    });
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);

    const first = await syncFeed({ source: source(), store: s, deliver });
    expect(first).toMatchObject({ status: 'complete', written: 0, invalid: 0, issues: [] });
    expect(writes).toEqual([{ put: 10_106, deleted: 0 }]);
    expect(await lookup(s)).toEqual(expectedLookup(realRepositoryCpes(), PROBES));

    publisher.requests.length = 0;
    const again = await syncFeed({ source: source(), store: s, deliver });
    expect(again.status).toBe('unchanged');
    expect(publisher.requests).toEqual([{ conditional: true, status: 304 }]);
    expect(writes).toHaveLength(1);

    publisher.body = nextFile();
    const changed = await syncFeed({ source: source(), store: s, deliver });
    expect(changed).toMatchObject({ status: 'complete', issues: [] });
    expect(writes[1]).toEqual({ put: 2, deleted: 2 });
    expect(await lookup(s)).toEqual(expectedLookup(editedRepositoryCpes(), PROBES));
    // A mapping names no advisory: nothing for rescans.
    expect(delivered).toEqual([]);
    await s.close();
  });

  it('finds a file served without validators unchanged by its content', async () => {
    publisher.validators = false;
    const s = store();
    await syncFeed({ source: source(), store: s });
    publisher.requests.length = 0;
    const again = await syncFeed({ source: source(), store: s });
    expect(again.status).toBe('unchanged');
    expect(publisher.requests).toEqual([{ conditional: false, status: 200 }]);
    await s.close();
  });

  it('resumes a sync stopped between batches: the mapping is written once, each issue reported once', async () => {
    // The real file with two repositories made malformed: each is an entry (an issue) of the feed.
    publisher.body = editedFile((data) => {
      data['rhel-8-for-x86_64-appstream-rpms'] = { cpes: [] };
      data['rhel-8-for-x86_64-baseos-rpms'] = { cpes: ['enterprise_linux:8::baseos'] };
    });
    const s = store();
    const stop = new AbortController();
    await expect(
      syncFeed({
        source: source(),
        store: s,
        batchSize: 1,
        signal: stop.signal,
        onBatch: () => stop.abort(),
      }),
    ).rejects.toThrow(SyncAbortedError);
    expect((await s.checkpoint('redhat-repository-to-cpe'))?.cursor?.position).toBe(1);
    // Not written yet: the mapping is written once every entry is.
    expect(await lookup(s)).toEqual(new Map());
    const resumed = await syncFeed({ source: source(), store: s, batchSize: 1 });
    expect(resumed).toMatchObject({ status: 'complete', invalid: 1 });
    expect(resumed.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/repository rhel-8-for-x86_64-baseos-rpms: cpes\.0: /),
    ]);
    const stored = await s.repositoryCpes([
      'rhel-8-for-x86_64-appstream-rpms',
      'rhel-8-for-x86_64-baseos-rpms',
      'rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4',
    ]);
    expect(stored).toEqual(
      new Map([
        ['rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4', ['cpe:/o:redhat:rhel_eus:9.4::baseos']],
      ]),
    );
    await s.close();
  });

  it('a sync whose mapping write failed is not complete: the next one writes it', async () => {
    const s = store();
    await syncFeed({ source: source(), store: s });
    publisher.body = nextFile();
    vi.spyOn(s, 'putRepositoryCpes').mockRejectedValueOnce(new Error('disk full'));
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow('disk full');
    expect(await lookup(s)).toEqual(expectedLookup(realRepositoryCpes(), PROBES));
    publisher.requests.length = 0;
    const retried = await syncFeed({ source: source(), store: s });
    expect(retried.status).toBe('complete');
    expect(publisher.requests).toEqual([{ conditional: true, status: 200 }]);
    expect(await lookup(s)).toEqual(expectedLookup(editedRepositoryCpes(), PROBES));
    await s.close();
  });

  it('refuses HTTP errors, a file over the size limit, a broken file and one with no repository, keeping the stored mapping', async () => {
    const s = store();
    await syncFeed({ source: source(), store: s });
    const before = await s.checkpoint('redhat-repository-to-cpe');
    const intact = async () => {
      expect(await s.checkpoint('redhat-repository-to-cpe')).toEqual(before);
      expect(await lookup(s)).toEqual(expectedLookup(realRepositoryCpes(), PROBES));
    };
    publisher.failWith = 500;
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(FeedFetchError);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(/HTTP 500/);
    await intact();
    publisher.failWith = undefined;
    publisher.body = nextFile();
    await expect(syncFeed({ source: source(1024 * 1024), store: s })).rejects.toThrow(
      /repository-to-cpe\.json: body over 1048576 bytes/,
    );
    await intact();
    // The real file cut short.
    publisher.body = realFile().subarray(0, 100_000);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(FeedFormatError);
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(/not JSON/);
    await intact();
    // The real file with every repository taken out.
    publisher.body = editedFile((data) => {
      for (const id of Object.keys(data)) delete data[id];
    });
    await expect(syncFeed({ source: source(), store: s })).rejects.toThrow(
      /names no well-formed repository \(0 malformed\); the stored mapping is kept/,
    );
    await intact();
    await s.close();
  });
});
