/**
 * DynamoDB stops answering in the middle of a sync's writes (its process is frozen with
 * SIGSTOP, on an instance of DynamoDB Local this test owns): the sync fails, and once DynamoDB
 * is back the next run completes with nothing lost and no change delivered twice.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type ServiceState,
  startDynamoDb,
  stopService,
} from '../../scripts/local/services.js';
import { DEFAULT_TOOLS_DIR } from '../../scripts/local/stack.js';
import { InvalidAdvisoryError, parseOsv } from '../../shared/advisories/osv.js';
import type { PackageChange } from '../../shared/events/rescan.js';
import { OsvBucketSource } from '../../shared/feeds/sources/osv-bucket.js';
import { syncFeed } from '../../shared/feeds/sync.js';
import { contentHash, packageKeysOf } from '../../shared/stores/advisory-store.js';
import { DynamoDbAdvisoryStore } from '../../shared/stores/dynamodb/advisory-store.js';
import { documentClient } from '../../shared/stores/dynamodb/client.js';
import { freshTableLike, localClientConfig } from '../support/aws.js';
import { OsvFeedServer, rawOsvRecords } from '../support/osv-feed.js';

const state = inject('localStack');
let own: ServiceState;
let feed: OsvFeedServer;

beforeAll(async () => {
  own = await startDynamoDb({
    dir: mkdtempSync(path.join(tmpdir(), 'bosun-ddb-')),
    toolsDir: DEFAULT_TOOLS_DIR,
  });
  feed = await OsvFeedServer.start();
  feed.publish('crates.io', rawOsvRecords('rustsec-osv/crates'));
}, 60_000);

afterAll(async () => {
  process.kill(own.pid, 'SIGCONT');
  await stopService(own);
  await feed.close();
});

it('a sync whose DynamoDB stops mid-write completes on the next run, nothing lost or repeated', async () => {
  const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: own.endpoint };
  const stackClient = new DynamoDBClient(localClientConfig(state));
  const ownClient = new DynamoDBClient(config);
  const table = await freshTableLike(state, 'ScannerTablesAdvisories', stackClient, ownClient);
  stackClient.destroy();

  // A client that gives up quickly, and freezes DynamoDB as its 12th batch write starts.
  const impatient = documentClient({
    ...config,
    maxAttempts: 1,
    requestHandler: { requestTimeout: 1000, connectionTimeout: 1000, throwOnRequestTimeout: true },
  });
  let writes = 0;
  impatient.middlewareStack.add(
    (next, context) => async (args) => {
      if (/BatchWrite/.test(context.commandName ?? '') && ++writes === 12)
        process.kill(own.pid, 'SIGSTOP');
      return next(args);
    },
    { step: 'initialize', name: 'freezeDynamoDb' },
  );
  const delivered: PackageChange[] = [];
  const deliver = async (c: readonly PackageChange[]) => void delivered.push(...c);
  const source = new OsvBucketSource('crates.io', { baseUrl: feed.baseUrl });
  await expect(
    syncFeed({
      source,
      store: new DynamoDbAdvisoryStore(impatient, table),
      deliver,
      batchSize: 100,
      holder: 'message-1',
    }),
  ).rejects.toThrow();
  expect(writes).toBeGreaterThanOrEqual(12);
  process.kill(own.pid, 'SIGCONT');
  impatient.destroy();

  const documents = documentClient(config);
  const store = new DynamoDbAdvisoryStore(documents, table);
  const checkpoint = await store.checkpoint('osv:crates.io');
  expect(checkpoint?.pending?.length).toBeGreaterThan(0);
  // The retry holds the same lease (the feed-sync function uses the message id as holder).
  const result = await syncFeed({ source, store, deliver, batchSize: 100, holder: 'message-1' });
  expect(result.status).toBe('complete');

  const records = rawOsvRecords('rustsec-osv/crates').flatMap((r) => {
    try {
      return [parseOsv(r, r.id)];
    } catch (error) {
      if (error instanceof InvalidAdvisoryError) return [];
      throw error;
    }
  });
  const heads = await store.heads(records.map((r) => r.id));
  expect(records.filter((r) => heads.get(r.id)?.hash !== contentHash(r))).toEqual([]);
  for (const r of records.slice(0, 50))
    for (const key of packageKeysOf(r)) {
      const [ecosystem, name] = key.split('#') as [string, string];
      expect((await store.candidates(ecosystem, name)).map((c) => c.record.id)).toContain(r.id);
    }
  const triples = delivered.flatMap((c) =>
    c.advisoryIds.map((id) => `${c.ecosystem}#${c.name} ${id}`),
  );
  expect(new Set(triples).size).toBe(triples.length);
  expect(new Set(triples)).toEqual(
    new Set(
      records
        .filter((r) => r.withdrawn === undefined)
        .flatMap((r) => packageKeysOf(r).map((k) => `${k} ${r.id}`)),
    ),
  );
  documents.destroy();
  ownClient.destroy();
}, 120_000);
