/**
 * Scan function: consumes the scan queue (ECR push/delete events). For now it validates each
 * message and logs the scan request; the scan use case arrives with the pipeline.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig } from '../../shared/config/env.js';
import { parseScanMessage } from '../../shared/events/scan-request.js';

const config = loadConfig(['imagesTable', 'inventoriesTable', 'findingsTable', 'findingsTopicArn']);
const logger = new Logger();
const processor = new BatchProcessor(EventType.SQS);

async function handleRecord(record: SQSRecord): Promise<void> {
  const request = parseScanMessage(record.body);
  if (request === null) {
    logger.info('scan request skipped', {
      messageId: record.messageId,
      reason: 'result is not SUCCESS',
    });
    return;
  }
  logger.info('scan request received', {
    messageId: record.messageId,
    request,
    imagesTable: config.imagesTable,
  });
}

export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, handleRecord, processor, { context }),
).use(injectLambdaContext(logger));
