/**
 * Rescan function: consumes the package changes feed syncs publish and re-matches the stored
 * inventories of the images that have those packages (shared/pipeline/rescan.ts); no image is
 * pulled again; and, on a schedule, the findings of suppressions and VEX documents that expired
 * (shared/pipeline/decisions.ts).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig } from '../../shared/config/env.js';
import { parseJsonEvent } from '../../shared/events/parse.js';
import { rescanQueueMessage } from '../../shared/events/rescan.js';
import { logger, measureRescan, metrics } from '../../shared/observability.js';
import { RESCAN_CONFIG, rescanDeps } from '../../shared/pipeline/aws.js';
import { rescanExpiredDecisions } from '../../shared/pipeline/decisions.js';
import { INTEGRATIONS_CONFIG, withIntegrations } from '../../shared/pipeline/integrations.js';
import { rescanPackages } from '../../shared/pipeline/rescan.js';

const config = loadConfig([...RESCAN_CONFIG, ...INTEGRATIONS_CONFIG]);
const processor = new BatchProcessor(EventType.SQS);
// The rescan's ports, with what the sweep of expired decisions also reads; EventBridge and
// Security Hub as configured (docs/integrations.md).
const deps = withIntegrations(rescanDeps(config), config, (digest, failed) => {
  logger.warn('security hub findings refused', { digest, failed });
  metrics.addMetric('SecurityHubFindingsRefused', MetricUnit.Count, failed.length);
});

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = parseJsonEvent(rescanQueueMessage, 'rescan', record.body);
  if ('kind' in message) {
    // The schedule's sweep: findings of expired suppressions and VEX documents re-open.
    const swept = await rescanExpiredDecisions(deps);
    logger.info('expired decisions swept', { messageId: record.messageId, ...swept });
    return;
  }
  const summary = await measureRescan(() => rescanPackages(message, deps));
  logger.info('rescan done', {
    messageId: record.messageId,
    source: message.source,
    packages: message.changes.length,
    ...summary,
  });
}

export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, handleRecord, processor, { context, processInParallel: false }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
