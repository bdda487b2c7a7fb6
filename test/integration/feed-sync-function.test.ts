/**
 * The feed-sync function on the local stack, configured from the template: a scheduled request
 * syncs the configured ecosystems from a loopback OSV feed into the advisories table and puts
 * the changed package keys on the rescan queue; with no time left it hands every source on to
 * the feed-sync queue instead.
 */
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { functionEnv } from '../../scripts/local/stack.js';
import { InvalidAdvisoryError, parseOsv } from '../../shared/advisories/osv.js';
import { type RescanMessage, rescanMessage } from '../../shared/events/rescan.js';
import { packageKeysOf } from '../../shared/stores/advisory-store.js';
import { drainQueue, freshTableLike, localClients, resourceByPrefix } from '../support/aws.js';
import { fixtureText } from '../support/fixtures.js';
import { lambdaContext, sqsEvent } from '../support/lambda.js';
import { OsvFeedServer, rawOsvRecords } from '../support/osv-feed.js';

const state = inject('localStack');
const clients = localClients(state);
const rescanQueue = resourceByPrefix(state, 'ScannerRescanQueue').ref;
const feedSyncQueue = resourceByPrefix(state, 'ScannerFeedSyncQueue').ref;
let feed: OsvFeedServer;

beforeAll(async () => {
  feed = await OsvFeedServer.start();
  feed.publish('crates.io', rawOsvRecords('rustsec-osv/crates'));
  feed.publish('CRAN', rawOsvRecords('rconsortium-r-advisory-database/vulns'));
  for (const [name, value] of Object.entries(functionEnv(state, 'feed-sync')))
    vi.stubEnv(name, value);
  vi.stubEnv('BOSUN_OSV_BASE_URL', feed.baseUrl);
  vi.stubEnv('BOSUN_FEED_ECOSYSTEMS', 'crates.io,CRAN');
  // A table of its own, so that the first sync is a first sync however often this runs.
  vi.stubEnv(
    'BOSUN_ADVISORIES_TABLE',
    await freshTableLike(state, 'ScannerTablesAdvisories', clients.dynamodb),
  );
  vi.resetModules();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  clients.destroy();
  await feed.close();
});

const withTime = (ms: number) => ({
  ...lambdaContext('feed-sync'),
  getRemainingTimeInMillis: () => ms,
});

it('syncs on schedule and sends each changed package once to the rescan queue', async () => {
  await drainQueue(clients.sqs, rescanQueue);
  const { handler } = await import('../../functions/feed-sync/index.js');
  const event = sqsEvent([fixtureText('events/feed-sync/schedule.json')], 'FeedSyncQueue');
  expect(await handler(event, withTime(15 * 60_000))).toEqual({ batchItemFailures: [] });

  const messages = (await drainQueue(clients.sqs, rescanQueue)).map(
    (b) => rescanMessage.parse(JSON.parse(b)) as RescanMessage,
  );
  expect(new Set(messages.map((m) => m.source))).toEqual(new Set(['osv:crates.io', 'osv:CRAN']));
  const sent = messages.flatMap((m) =>
    m.changes.flatMap((c) =>
      c.advisoryIds.map((id) => `${c.change} ${c.ecosystem}#${c.name} ${id}`),
    ),
  );
  expect(new Set(sent).size).toBe(sent.length);
  const expected = [
    ...rawOsvRecords('rustsec-osv/crates'),
    ...rawOsvRecords('rconsortium-r-advisory-database/vulns'),
  ].flatMap((r) => {
    try {
      const record = parseOsv(r, r.id);
      return record.withdrawn === undefined
        ? packageKeysOf(record).map((k) => `added ${k} ${record.id}`)
        : [];
    } catch (error) {
      if (error instanceof InvalidAdvisoryError) return [];
      throw error;
    }
  });
  expect(new Set(sent)).toEqual(new Set(expected));

  // A second scheduled run finds nothing new and sends nothing.
  expect(await handler(event, withTime(15 * 60_000))).toEqual({ batchItemFailures: [] });
  expect(await drainQueue(clients.sqs, rescanQueue)).toEqual([]);
}, 120_000);

it('with no time left, hands each source on to the feed-sync queue', async () => {
  await drainQueue(clients.sqs, feedSyncQueue);
  const { handler } = await import('../../functions/feed-sync/index.js');
  const event = sqsEvent([fixtureText('events/feed-sync/schedule.json')], 'FeedSyncQueue');
  // The function keeps 60 s back; with 60 s left the deadline is now.
  expect(await handler(event, withTime(60_000))).toEqual({ batchItemFailures: [] });
  const continued = (await drainQueue(clients.sqs, feedSyncQueue)).map((b) => JSON.parse(b));
  expect(continued).toEqual([
    { version: 1, source: 'osv:crates.io' },
    { version: 1, source: 'osv:CRAN' },
  ]);
});
