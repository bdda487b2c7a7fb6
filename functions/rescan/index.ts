/**
 * Rescan function: consumes the package changes that feed syncs publish. For now it validates
 * each message and logs it; re-matching stored inventories arrives with the pipeline.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig } from '../../shared/config/env.js';
import { parseJsonEvent } from '../../shared/events/parse.js';
import { rescanMessage } from '../../shared/events/rescan.js';

const config = loadConfig([
  'inventoriesTable',
  'findingsTable',
  'advisoriesTable',
  'findingsTopicArn',
]);
const logger = new Logger();
const processor = new BatchProcessor(EventType.SQS);

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = parseJsonEvent(rescanMessage, 'rescan', record.body);
  logger.info('rescan request received', {
    messageId: record.messageId,
    source: message.source,
    packages: message.changes.length,
    inventoriesTable: config.inventoriesTable,
  });
}

export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, handleRecord, processor, { context }),
).use(injectLambdaContext(logger));
