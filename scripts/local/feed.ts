/**
 * Syncs advisories from a local directory, zip, Bosun export or OSV-layout URL into the local
 * stack's advisory table, and sends the changed packages to its rescan queue: what the
 * feed-sync function does with OSV's bucket, for a machine without access to it.
 *
 *   tsx scripts/local/feed.ts <dir|zip|export|url>
 */
import * as path from 'node:path';
import { dynamoDbFromConfig, sqsFromConfig } from '../../shared/config/clients.js';
import { loadConfig } from '../../shared/config/env.js';
import { sourceFor } from '../../shared/feeds/registry.js';
import { RescanPublisher } from '../../shared/feeds/rescan-publisher.js';
import { type FeedRunSummary, runFeedSync } from '../../shared/feeds/run.js';
import { DynamoDbAdvisoryStore } from '../../shared/stores/dynamodb/advisory-store.js';
import { DEFAULT_LOCAL_DIR, functionEnv, type LocalStackState, readState } from './stack.js';

export async function syncLocalFeed(
  state: LocalStackState,
  location: string,
  env: Record<string, string> = {},
): Promise<FeedRunSummary[]> {
  const functionVars = { ...functionEnv(state, 'feed-sync'), ...env };
  const config = loadConfig(
    ['advisoriesTable', 'rescanQueueUrl', 'region', 'dynamodbEndpoint', 'sqsEndpoint'],
    functionVars,
  );
  // The SDK reads credentials from the environment: the local stack's, as the function has.
  process.env.AWS_ACCESS_KEY_ID ??= functionVars.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY ??= functionVars.AWS_SECRET_ACCESS_KEY;
  const ddb = dynamoDbFromConfig(config);
  const sqs = sqsFromConfig(config);
  const store = new DynamoDbAdvisoryStore(ddb, config.advisoriesTable);
  try {
    return await runFeedSync({
      sources: [sourceFor(location, { store })],
      store,
      deliverFor: (source) => new RescanPublisher(sqs, config.rescanQueueUrl, source).deliver,
      deadline: Number.POSITIVE_INFINITY,
      holder: `local-${process.pid}`,
      continueLater: async () => {},
    });
  } finally {
    ddb.destroy();
    sqs.destroy();
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const location = process.argv[2];
  const state = readState(process.env.BOSUN_LOCAL_DIR ?? DEFAULT_LOCAL_DIR);
  if (location === undefined || state === undefined) {
    console.error(
      'usage: tsx scripts/local/feed.ts <dir|zip|export|url> (with the local stack up)',
    );
    process.exit(2);
  }
  console.log(JSON.stringify(await syncLocalFeed(state, location), null, 2));
}
