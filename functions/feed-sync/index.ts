/**
 * Feed-sync function: consumes the feed-sync queue (the schedule's `{"version":1}`, or a
 * continuation naming one source), syncs the configured OSV ecosystems and publishers' feeds
 * into the advisory table, and sends changed package keys to the rescan queue. The work is in shared/feeds.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoDbFromConfig, sqsFromConfig } from '../../shared/config/clients.js';
import { loadConfig } from '../../shared/config/env.js';
import { cachedSecret } from '../../shared/config/secrets.js';
import { feedSyncMessage } from '../../shared/events/feed-sync.js';
import { parseJsonEvent } from '../../shared/events/parse.js';
import { osvSources, vendorSources } from '../../shared/feeds/registry.js';
import { RescanPublisher } from '../../shared/feeds/rescan-publisher.js';
import { runFeedSync } from '../../shared/feeds/run.js';
import type { FeedSource } from '../../shared/feeds/types.js';
import { logger, measureFeedSync, metrics } from '../../shared/observability.js';
import { DynamoDbAdvisoryStore } from '../../shared/stores/dynamodb/advisory-store.js';

const config = loadConfig([
  'advisoriesTable',
  'rescanQueueUrl',
  'feedSyncQueueUrl',
  'feedEcosystems',
  'feedVendorSources',
  'nvdApiKeySecretArn',
  'osvBaseUrl',
  'region',
  'dynamodbEndpoint',
  'sqsEndpoint',
]);
const processor = new BatchProcessor(EventType.SQS);
const store = new DynamoDbAdvisoryStore(dynamoDbFromConfig(config), config.advisoriesTable);
const sqs = sqsFromConfig(config);
const nvdApiKey =
  config.nvdApiKeySecretArn === undefined
    ? undefined
    : cachedSecret(
        new SecretsManagerClient(config.region === undefined ? {} : { region: config.region }),
        config.nvdApiKeySecretArn,
      );

/**
 * The configured sources. NVD's API key is read from its secret only when NVD is to be synced;
 * it only raises NVD's rate limit, so a key that cannot be read is a warning, not a failure of
 * every feed.
 */
async function configuredSources(only: string | undefined): Promise<FeedSource[]> {
  const wantsNvd =
    (config.feedVendorSources ?? []).includes('nvd') && (only === undefined || only === 'nvd');
  let key: string | undefined;
  if (wantsNvd && nvdApiKey !== undefined)
    try {
      key = await nvdApiKey();
    } catch (error) {
      logger.warn("NVD's API key could not be read; NVD is synced at its lower rate", { error });
    }
  return [
    ...osvSources(config.feedEcosystems, {
      ...(config.osvBaseUrl === undefined ? {} : { baseUrl: config.osvBaseUrl }),
    }),
    ...vendorSources(config.feedVendorSources ?? [], {
      store,
      log: (message, fields) => logger.info(message, { ...fields }),
      ...(key === undefined ? {} : { nvdApiKey: key }),
    }),
  ];
}

// Time kept back to finish the batch in hand and save its checkpoint.
const MARGIN_MS = 60_000;

async function handleRecord(record: SQSRecord, context: Context): Promise<void> {
  const message = parseJsonEvent(feedSyncMessage, 'feed-sync', record.body);
  const sources = await configuredSources(message.source);
  const chosen =
    message.source === undefined ? sources : sources.filter((s) => s.id === message.source);
  if (chosen.length === 0) {
    logger.warn('feed source is not configured; ignored', { source: message.source });
    return;
  }
  const summaries = await measureFeedSync(() =>
    runFeedSync({
      sources: chosen,
      store,
      deliverFor: (source) => new RescanPublisher(sqs, config.rescanQueueUrl, source).deliver,
      deadline: Date.now() + Math.max(0, context.getRemainingTimeInMillis() - MARGIN_MS),
      holder: record.messageId,
      continueLater: async (source) => {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: config.feedSyncQueueUrl,
            MessageBody: JSON.stringify({ version: 1, source }),
          }),
        );
      },
    }),
  );
  for (const summary of summaries) logger.info('feed synced', { ...summary });
}

export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, (record: SQSRecord) => handleRecord(record, context), processor, {
    context,
  }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
