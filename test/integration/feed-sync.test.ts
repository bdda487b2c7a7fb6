/**
 * Feed syncs from an OSV-layout feed server on loopback into both store adapters: a first sync
 * of every shared OSV record, incremental add / modify / withdraw, interruption and resume, and
 * the faults a feed can have.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { InvalidAdvisoryError, type OsvRecord, parseOsv } from '../../shared/advisories/osv.js';
import type { PackageChange } from '../../shared/events/rescan.js';
import { OsvBucketSource } from '../../shared/feeds/sources/osv-bucket.js';
import { SyncAbortedError, syncFeed } from '../../shared/feeds/sync.js';
import { FeedFetchError, FeedFormatError } from '../../shared/feeds/types.js';
import {
  type AdvisoryStore,
  contentHash,
  packageKeysOf,
} from '../../shared/stores/advisory-store.js';
import { DynamoDbAdvisoryStore } from '../../shared/stores/dynamodb/advisory-store.js';
import { EmbeddedAdvisoryStore } from '../../shared/stores/embedded/advisory-store.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';
import { OsvFeedServer, type RawRecord, rawOsvRecords } from '../support/osv-feed.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

/** The shared OSV sets, published under the ecosystem folder OSV uses for each. */
const FEEDS: Record<string, string> = {
  Go: 'golang-vulndb/data/osv',
  PyPI: 'pypa-advisory-database/vulns',
  'crates.io': 'rustsec-osv/crates',
  AlmaLinux: 'almalinux-osv/advisories',
  CRAN: 'rconsortium-r-advisory-database/vulns',
};

const raw = new Map<string, RawRecord[]>();
function published(ecosystem: string): RawRecord[] {
  let records = raw.get(ecosystem);
  if (records === undefined) {
    // One record per id, as the bucket has it.
    records = [
      ...new Map(rawOsvRecords(FEEDS[ecosystem] as string).map((r) => [r.id, r])).values(),
    ];
    raw.set(ecosystem, records);
  }
  return records;
}

/** What a correct sync makes of published records: the valid ones, normalized. */
function valid(records: readonly RawRecord[]): OsvRecord[] {
  return records.flatMap((r) => {
    try {
      return [parseOsv(r, r.id)];
    } catch (error) {
      if (error instanceof InvalidAdvisoryError) return [];
      throw error;
    }
  });
}

const changeKey = (c: PackageChange) => `${c.change} ${c.ecosystem}#${c.name}`;

async function expectStored(store: AdvisoryStore, records: readonly OsvRecord[]): Promise<void> {
  const heads = await store.heads(records.map((r) => r.id));
  const wrong = records.filter((r) => heads.get(r.id)?.hash !== contentHash(r)).map((r) => r.id);
  expect(wrong).toEqual([]);
}

const adapters: [string, () => Promise<AdvisoryStore>][] = [
  [
    'embedded',
    async () => EmbeddedAdvisoryStore.open(mkdtempSync(path.join(tmpdir(), 'bosun-feed-'))),
  ],
  [
    'DynamoDB',
    async () =>
      new DynamoDbAdvisoryStore(
        documents,
        await freshTableLike(state, 'ScannerTablesAdvisories', tables),
      ),
  ],
];

describe.each(adapters)('feed sync into the %s store', (_name, makeStore) => {
  let feed: OsvFeedServer;
  beforeAll(async () => {
    feed = await OsvFeedServer.start();
    for (const ecosystem of Object.keys(FEEDS)) feed.publish(ecosystem, published(ecosystem));
  });
  afterAll(() => feed.close());

  const source = (ecosystem: string, timeoutMs?: number) =>
    new OsvBucketSource(ecosystem, { baseUrl: feed.baseUrl, ...(timeoutMs ? { timeoutMs } : {}) });

  it('first sync of every shared OSV record, then exactly the changes of add, modify, withdraw', async () => {
    const store = await makeStore();
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
    for (const ecosystem of Object.keys(FEEDS)) {
      const records = valid(published(ecosystem));
      const result = await syncFeed({ source: source(ecosystem), store, deliver });
      expect(result).toMatchObject({ status: 'complete', mode: 'full', written: records.length });
      expect(result.issues.length).toBe(published(ecosystem).length - records.length);
      await expectStored(store, records);
      const checkpoint = await store.checkpoint(`osv:${ecosystem}`);
      expect(checkpoint?.fingerprint).toMatch(/^all\.zip:[0-9a-f]{64}$/);
      expect(checkpoint?.cursor).toBeUndefined();
      expect(checkpoint?.watermark).toBe(
        published(ecosystem)
          .map((r) => r.modified)
          .sort((a, b) => Date.parse(b) - Date.parse(a))[0],
      );
    }
    // Records first seen withdrawn never matched anything: they change no package.
    // The 7 PyPA records that break the OSV schema are issues that name them.
    expect((await store.checkpoint('osv:PyPI'))?.issues?.length).toBe(7);
    const everyKey = new Set(
      Object.keys(FEEDS).flatMap((e) =>
        valid(published(e)).flatMap((r) => (r.withdrawn === undefined ? packageKeysOf(r) : [])),
      ),
    );
    expect(new Set(delivered.map(changeKey))).toEqual(
      new Set([...everyKey].map((k) => `added ${k}`)),
    );

    // Publish: one modified, one with a package removed, one new, one withdrawn.
    const when = '2026-12-01T00:00:00Z';
    const openssl = feed.record('crates.io', 'RUSTSEC-2016-0001');
    feed.publish('crates.io', [
      { ...openssl, modified: when, summary: 'changed upstream' },
      { ...feed.record('crates.io', 'RUSTSEC-2016-0002'), id: 'RUSTSEC-2099-0001', modified: when },
    ]);
    const qatzip = feed.record('AlmaLinux', 'ALBA-2022:8256');
    feed.publish('AlmaLinux', [
      {
        ...qatzip,
        modified: when,
        affected: (qatzip.affected as { package: { name: string } }[]).filter(
          (a) => a.package.name !== 'qatzip-devel',
        ),
      },
    ]);
    const pypi = valid(published('PyPI'))[0] as OsvRecord;
    feed.publish('PyPI', [{ ...feed.record('PyPI', pypi.id), modified: when, withdrawn: when }]);
    const secondPackage = packageKeysOf(
      parseOsv(feed.record('crates.io', 'RUSTSEC-2099-0001'), 'x'),
    );

    feed.requests.length = 0;
    delivered.length = 0;
    const results = [];
    for (const ecosystem of Object.keys(FEEDS))
      results.push(await syncFeed({ source: source(ecosystem), store, deliver }));
    expect(results.map((r) => [r.source, r.status, r.written])).toEqual([
      ['osv:Go', 'unchanged', 0],
      ['osv:PyPI', 'complete', 1],
      ['osv:crates.io', 'complete', 2],
      ['osv:AlmaLinux', 'complete', 1],
      ['osv:CRAN', 'unchanged', 0],
    ]);
    expect(results[2]?.mode).toBe('incremental');
    expect(feed.recordRequests().sort()).toEqual(
      [
        `/PyPI/${pypi.id}.json`,
        '/crates.io/RUSTSEC-2016-0001.json',
        '/crates.io/RUSTSEC-2099-0001.json',
        '/AlmaLinux/ALBA-2022:8256.json',
      ].sort(),
    );
    expect(feed.requests.filter((r) => r.endsWith('all.zip'))).toEqual([]);
    expect(delivered.map((c) => `${changeKey(c)} ${c.advisoryIds.join(',')}`).sort()).toEqual(
      [
        'modified crates.io#openssl RUSTSEC-2016-0001',
        ...secondPackage.map((k) => `added ${k} RUSTSEC-2099-0001`),
        'modified AlmaLinux:9#qatzip ALBA-2022:8256',
        'modified AlmaLinux:9#qatzip-devel ALBA-2022:8256',
        'modified AlmaLinux:9#qatzip-libs ALBA-2022:8256',
        ...packageKeysOf(pypi).map((k) => `withdrawn ${k} ${pypi.id}`),
      ].sort(),
    );
    expect(await store.candidates('AlmaLinux:9', 'qatzip-devel')).toEqual([]);
    expect((await store.heads([pypi.id])).get(pypi.id)?.withdrawn).toBe(true);
    expect((await store.checkpoint('osv:crates.io'))?.watermark).toBe(when);

    // Nothing new: no record is fetched, nothing is delivered.
    feed.requests.length = 0;
    delivered.length = 0;
    for (const ecosystem of Object.keys(FEEDS))
      expect((await syncFeed({ source: source(ecosystem), store, deliver })).status).toBe(
        'unchanged',
      );
    expect(feed.recordRequests()).toEqual([]);
    expect(delivered).toEqual([]);

    // A full re-read of the same content rewrites nothing.
    await store.saveCheckpoint({ source: 'osv:crates.io' });
    const again = await syncFeed({ source: source('crates.io'), store, deliver });
    expect(again).toMatchObject({ mode: 'full', written: 0 });
    expect(again.unchanged).toBe(valid(published('crates.io')).length + 1);
    expect(delivered).toEqual([]);
    await store.close();
  }, 240_000);

  it('a sync stopped between batches resumes there: nothing lost, nothing delivered twice', async () => {
    const store = await makeStore();
    const delivered: PackageChange[] = [];
    const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
    const stop = new AbortController();
    let batches = 0;
    await expect(
      syncFeed({
        source: source('crates.io'),
        store,
        deliver,
        batchSize: 100,
        signal: stop.signal,
        onBatch: () => {
          if (++batches === 3) stop.abort();
        },
      }),
    ).rejects.toThrow(SyncAbortedError);
    expect((await store.checkpoint('osv:crates.io'))?.cursor?.position).toBe(300);
    // Out of time: one more batch, then `partial` for the caller to continue later.
    const partial = await syncFeed({
      source: source('crates.io'),
      store,
      deliver,
      batchSize: 100,
      deadline: Date.now(),
    });
    expect(partial).toMatchObject({ status: 'partial', position: 400 });
    const resumed = await syncFeed({ source: source('crates.io'), store, deliver, batchSize: 100 });
    expect(resumed.status).toBe('complete');
    const records = valid(feed.records('crates.io'));
    expect(resumed.written).toBe(records.length - 400);
    await expectStored(store, records);
    const triples = delivered.flatMap((c) => c.advisoryIds.map((id) => `${changeKey(c)} ${id}`));
    expect(new Set(triples).size).toBe(triples.length);
    expect(new Set(triples)).toEqual(
      new Set(
        records
          .filter((r) => r.withdrawn === undefined)
          .flatMap((r) => packageKeysOf(r).map((k) => `added ${k} ${r.id}`)),
      ),
    );
    await store.close();
  }, 120_000);

  it('feed faults are clear errors and leave the stored data and checkpoint as they were', async () => {
    const store = await makeStore();
    await syncFeed({ source: source('CRAN'), store });
    const records = valid(published('CRAN'));
    const before = await store.checkpoint('osv:CRAN');
    const intact = async () => {
      expect(await store.checkpoint('osv:CRAN')).toEqual(before);
      await expectStored(store, records);
    };

    feed.faults.set('/CRAN/modified_id.csv', 'status-500');
    await expect(syncFeed({ source: source('CRAN'), store })).rejects.toThrow(
      new FeedFetchError(`${feed.baseUrl}/CRAN/modified_id.csv`, 'HTTP 500 Internal Server Error'),
    );
    await intact();
    feed.faults.set('/CRAN/modified_id.csv', 'hang');
    await expect(syncFeed({ source: source('CRAN', 300), store })).rejects.toThrow(
      /modified_id\.csv: timed out/,
    );
    await intact();
    feed.faults.set('/CRAN/modified_id.csv', { body: '2026-12-01T00:00:00Z;RSEC-2023-1\n' });
    await expect(syncFeed({ source: source('CRAN'), store })).rejects.toThrow(FeedFormatError);
    await expect(syncFeed({ source: source('CRAN'), store })).rejects.toThrow(
      /line 1 is not "<modified>,<id>"/,
    );
    await intact();
    feed.faults.delete('/CRAN/modified_id.csv');

    // A first sync whose all.zip is not a zip.
    feed.faults.set('/CRAN/all.zip', { body: 'PK\u0003\u0004 but not really a zip' });
    await store.saveCheckpoint({ source: 'osv:CRAN' });
    await expect(syncFeed({ source: source('CRAN'), store })).rejects.toThrow(/not a readable zip/);
    await expectStored(store, records);
    feed.faults.delete('/CRAN/all.zip');
    await store.saveCheckpoint(before ?? { source: 'osv:CRAN' });

    // One record breaks the schema, another changes: the first is an issue, the second lands.
    const [first, second] = published('CRAN') as [RawRecord, RawRecord];
    const when = '2026-12-02T00:00:00Z';
    feed.publish('CRAN', [
      { ...first, modified: when, affected: [{ ranges: [{ type: 'BOGUS', events: [] }] }] },
      { ...second, modified: when, summary: 'changed' },
    ]);
    const result = await syncFeed({ source: source('CRAN'), store });
    expect(result).toMatchObject({ status: 'complete', written: 1, invalid: 1 });
    expect(result.issues[0]?.message).toContain(`invalid OSV record ${first.id}.json`);
    const stillFirst = records.find((r) => r.id === first.id) as OsvRecord;
    expect((await store.heads([first.id])).get(first.id)?.hash).toBe(contentHash(stillFirst));
    expect((await store.get(second.id))?.record.summary).toBe('changed');

    // A record that cannot be fetched stops the sync before anything of its batch is written.
    const third = published('CRAN')[2] as RawRecord;
    feed.publish('CRAN', [{ ...third, modified: '2026-12-03T00:00:00Z', summary: 'third' }]);
    feed.faults.set(`/CRAN/${third.id}.json`, 'status-500');
    await expect(syncFeed({ source: source('CRAN'), store })).rejects.toThrow(FeedFetchError);
    expect((await store.get(third.id))?.record.summary).not.toBe('third');
    feed.faults.delete(`/CRAN/${third.id}.json`);
    expect(await syncFeed({ source: source('CRAN'), store })).toMatchObject({ written: 1 });
    expect((await store.get(third.id))?.record.summary).toBe('third');
    // Restore what other tests of this file read.
    feed.publish('CRAN', published('CRAN'));
    await store.close();
  }, 60_000);
});
