/**
 * Feed-sync function: runs on a schedule. For now it validates the scheduled event and logs
 * it; the advisory sync arrives with the feeds issue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { loadConfig } from '../../shared/config/env.js';
import { parseEvent } from '../../shared/events/parse.js';
import { scheduledEvent } from '../../shared/events/schedule.js';

const config = loadConfig(['advisoriesTable', 'rescanQueueUrl']);
const logger = new Logger();

export const handler = middy(async (event: unknown) => {
  const scheduled = parseEvent(scheduledEvent, 'Scheduled Event', event);
  logger.info('feed sync requested', {
    eventId: scheduled.id,
    time: scheduled.time,
    advisoriesTable: config.advisoriesTable,
    rescanQueueUrl: config.rescanQueueUrl,
  });
  return { status: 'accepted' as const, eventId: scheduled.id };
}).use(injectLambdaContext(logger));
