/**
 * `npm run bench:feeds`: a full import of every advisory under ../shared/data/advisories (all
 * formats, through the local-directory source) into DynamoDB Local and into the embedded
 * store, then an incremental sync of 100 changed records from an OSV-layout feed server on
 * loopback (modified_id.csv plus one GET per record) into each. Prints wall time and records/s.
 * Targets: the embedded import under 30 s; the 100-record incremental sync on DynamoDB Local
 * under 3 s.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DATA_DIR } from '../scripts/demo-data.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, PROJECT_ROOT } from '../scripts/local/services.js';
import { down, up } from '../scripts/local/stack.js';
import { LocalFeedSource } from '../shared/feeds/sources/local.js';
import { OsvBucketSource } from '../shared/feeds/sources/osv-bucket.js';
import { type SyncResult, syncFeed } from '../shared/feeds/sync.js';
import type { AdvisoryStore } from '../shared/stores/advisory-store.js';
import { DynamoDbAdvisoryStore } from '../shared/stores/dynamodb/advisory-store.js';
import { documentClient } from '../shared/stores/dynamodb/client.js';
import { EmbeddedAdvisoryStore } from '../shared/stores/embedded/advisory-store.js';
import { freshTableLike } from '../test/support/aws.js';
import { OsvFeedServer, rawOsvRecords } from '../test/support/osv-feed.js';

const DATA = path.join(DATA_DIR, 'advisories');

async function timed(label: string, run: () => Promise<SyncResult>): Promise<void> {
  const t = performance.now();
  const r = await run();
  const s = (performance.now() - t) / 1000;
  console.log(
    `${label.padEnd(34)} ${s.toFixed(2).padStart(7)} s  ${String(r.written).padStart(6)} written  ${String(r.position).padStart(6)} entries  ${Math.round(r.written / s)} records/s  ${r.changes.length} package changes`,
  );
}

async function bench(name: string, store: AdvisoryStore, feed: OsvFeedServer): Promise<void> {
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
}

async function main(): Promise<void> {
  const stackDir = path.join(PROJECT_ROOT, '.local', 'bench', 'stack');
  const { state, reused } = await up({ dir: stackDir });
  const feed = await OsvFeedServer.start();
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-bench-feeds-'));
  try {
    feed.publish('crates.io', rawOsvRecords('rustsec-osv/crates'));
    const embedded = EmbeddedAdvisoryStore.open(dir);
    await bench('embedded', embedded, feed);
    await embedded.close();

    const config = {
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: state.services.dynamodb.endpoint,
    };
    const tables = new DynamoDBClient(config);
    const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
    const documents = documentClient(config);
    await bench('DynamoDB Local', new DynamoDbAdvisoryStore(documents, table), feed);
    tables.destroy();
    documents.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await feed.close();
    if (!reused) await down(stackDir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
