/**
 * `npm run bench:feeds`: a full import of every advisory under ../shared/data/advisories (all
 * formats, through the local-directory source) into DynamoDB Local and into the embedded
 * store, then an incremental sync of 100 changed records from an OSV-layout feed server on
 * loopback (modified_id.csv plus one GET per record) into each. Prints wall time and records/s.
 * Targets: the embedded import under 30 s; the 100-record incremental sync on DynamoDB Local
 * under 3 s.
 *
 * NVD (bench/nvd-year.ts): a year of CVEs (BENCH_NVD_CVES, 40,000 by default: NVD's 2024)
 * served like NVD's CVE API 2.0 on loopback, a first load into each store (pages of 2,000, one
 * per batch), then one lastMod window after 1,000 of them were modified. The rate limiter is
 * opened up: NVD's own limits (5 or 50 requests per 30 s) are waiting, not work, and are
 * reported as the time they would add.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DATA_DIR } from '../scripts/demo-data.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, PROJECT_ROOT } from '../scripts/local/services.js';
import { down, up } from '../scripts/local/stack.js';
import { LocalFeedSource } from '../shared/feeds/sources/local.js';
import {
  NVD_MAX_RESULTS_PER_PAGE,
  NVD_PAGES_PER_BATCH,
  NVD_RATE_LIMITS,
  NvdSource,
} from '../shared/feeds/sources/nvd.js';
import { OsvBucketSource } from '../shared/feeds/sources/osv-bucket.js';
import { type SyncResult, syncFeed } from '../shared/feeds/sync.js';
import type { AdvisoryStore } from '../shared/stores/advisory-store.js';
import { DynamoDbAdvisoryStore } from '../shared/stores/dynamodb/advisory-store.js';
import { documentClient } from '../shared/stores/dynamodb/client.js';
import { EmbeddedAdvisoryStore } from '../shared/stores/embedded/advisory-store.js';
import { freshTableLike } from '../test/support/aws.js';
import { OsvFeedServer, rawOsvRecords } from '../test/support/osv-feed.js';
import { NvdYear } from './nvd-year.js';

const DATA = path.join(DATA_DIR, 'advisories');

async function timed(label: string, run: () => Promise<SyncResult>): Promise<void> {
  const t = performance.now();
  const r = await run();
  const s = (performance.now() - t) / 1000;
  console.log(
    `${label.padEnd(34)} ${s.toFixed(2).padStart(7)} s  ${String(r.written).padStart(6)} written  ${String(r.position).padStart(6)} entries  ${Math.round(r.written / s)} records/s  ${r.changes.length} package changes`,
  );
}

/** A first load of the year, then one lastMod window holding 1,000 modified CVEs. */
async function benchNvd(name: string, store: AdvisoryStore, nvd: NvdYear): Promise<void> {
  const source = () =>
    new NvdSource({
      baseUrl: nvd.url,
      // Loopback: NVD's limits would only add waiting (see nvdWaits).
      rateLimit: { requests: 1_000_000, windowMs: 1 },
      timeoutMs: 300_000,
    });
  const sync = () => syncFeed({ source: source(), store, batchSize: NVD_PAGES_PER_BATCH });
  nvd.requests = 0;
  await timed(`${name}: NVD first load, ${nvd.count} CVEs`, sync);
  console.log(`${''.padEnd(34)} ${nvd.requests} requests; ${nvdWaits(nvd.requests)}`);
  nvd.modify(1000);
  nvd.requests = 0;
  await timed(`${name}: NVD window, 1000 modified`, sync);
  console.log(`${''.padEnd(34)} ${nvd.requests} requests`);
}

/** The least time NVD's rolling-window limits would add to `requests` requests. */
function nvdWaits(requests: number): string {
  const wait = (l: { requests: number; windowMs: number }) =>
    (Math.max(0, Math.ceil(requests / l.requests) - 1) * l.windowMs) / 1000;
  return `NVD's limits would add ${wait(NVD_RATE_LIMITS.anonymous)} s without a key, ${wait(NVD_RATE_LIMITS.withApiKey)} s with one`;
}

async function bench(
  name: string,
  store: AdvisoryStore,
  feed: OsvFeedServer,
  nvd: NvdYear,
): Promise<void> {
  await timed(`${name}: full import`, () => syncFeed({ source: new LocalFeedSource(DATA), store }));
  const source = new OsvBucketSource('crates.io', { baseUrl: feed.baseUrl });
  // Untimed: the first sync of the feed (all.zip), so that the next one is incremental.
  await syncFeed({ source, store });
  const changed = rawOsvRecords('rustsec-osv/crates')
    .slice(0, 100)
    .map((r) => ({
      ...r,
      modified: new Date().toISOString(),
      summary: `${r.summary ?? ''} (bench)`,
    }));
  feed.publish('crates.io', changed);
  await timed(`${name}: incremental, 100 changed`, () => syncFeed({ source, store }));
  feed.publish('crates.io', rawOsvRecords('rustsec-osv/crates'));
  await benchNvd(name, store, nvd);
}

async function main(): Promise<void> {
  const stackDir = path.join(PROJECT_ROOT, '.local', 'bench', 'stack');
  const { state, reused } = await up({ dir: stackDir });
  const feed = await OsvFeedServer.start();
  const nvdCount = Number(process.env.BENCH_NVD_CVES ?? 20 * NVD_MAX_RESULTS_PER_PAGE);
  // One year per store: the first store's run modifies its year.
  const years = [await NvdYear.start(DATA, nvdCount), await NvdYear.start(DATA, nvdCount)];
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-bench-feeds-'));
  try {
    feed.publish('crates.io', rawOsvRecords('rustsec-osv/crates'));
    const embedded = EmbeddedAdvisoryStore.open(dir);
    await bench('embedded', embedded, feed, years[0] as NvdYear);
    await embedded.close();

    const config = {
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: state.services.dynamodb.endpoint,
    };
    const tables = new DynamoDBClient(config);
    const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
    const documents = documentClient(config);
    await bench(
      'DynamoDB Local',
      new DynamoDbAdvisoryStore(documents, table),
      feed,
      years[1] as NvdYear,
    );
    tables.destroy();
    documents.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await feed.close();
    for (const year of years) await year.close();
    if (!reused) await down(stackDir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
