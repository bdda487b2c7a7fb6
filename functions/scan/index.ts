/**
 * Scan function: consumes the scan queue (ECR push and delete events, and the registry
 * webhook's scan requests) and runs the scan use case (shared/pipeline/scan.ts) for each.
 * Records of one batch run one after another: duplicates of one digest then find the first
 * one's result instead of waiting for its lease.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoDbFromConfig } from '../../shared/config/clients.js';
import { loadConfig } from '../../shared/config/env.js';
import { parseScanMessage } from '../../shared/events/scan-request.js';
import { readingMillisWithin } from '../../shared/layers/limits.js';
import { logger, measureScan, metrics } from '../../shared/observability.js';
import { SCAN_CONFIG, scanDeps } from '../../shared/pipeline/aws.js';
import { INTEGRATIONS_CONFIG, withIntegrations } from '../../shared/pipeline/integrations.js';
import { scanAttempt, scanImage } from '../../shared/pipeline/scan.js';
import { ChecksStore } from '../../shared/stores/checks-store.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';

const config = loadConfig([...SCAN_CONFIG, ...INTEGRATIONS_CONFIG, 'imageChecks']);
const processor = new BatchProcessor(EventType.SQS);
// The provenance policy, when one is configured, is read before the first scan. EventBridge and
// Security Hub as configured (docs/integrations.md).
const deps = withIntegrations(
  {
    ...(await scanDeps(config)),
    // The hardening checks' lifecycle, beside the findings (stores/checks-store.ts).
    checkStore: new ChecksStore(
      new DynamoDbItemTable(dynamoDbFromConfig(config), config.findingsTable),
    ),
    ...(config.imageChecks === undefined ? {} : { checksConfig: config.imageChecks }),
  },
  config,
  (digest, failed) => {
    logger.warn('security hub findings refused', { digest, failed });
    metrics.addMetric('SecurityHubFindingsRefused', MetricUnit.Count, failed.length);
  },
);

async function handleRecord(record: SQSRecord, context: Context): Promise<void> {
  const request = parseScanMessage(record.body);
  if (request === null) {
    logger.info('scan request skipped', {
      messageId: record.messageId,
      reason: 'result is not SUCCESS',
    });
    return;
  }
  // The queue's last delivery before its dead-letter queue: a scan still failing then is
  // recorded as FAILED (and announced) rather than left IN_PROGRESS.
  const attempt = scanAttempt(record.attributes.ApproximateReceiveCount, config.scanMaxReceives);
  // Reading the image stops in time for the scan to end, FAILED with its reason, before Lambda
  // ends the invocation (a shorter scanTimeout than the default leaves less).
  const budget = { maxImageMillis: readingMillisWithin(context.getRemainingTimeInMillis()) };
  const outcome = await measureScan(() =>
    scanImage(request, { ...deps, layerLimits: { ...deps.layerLimits, ...budget } }, attempt),
  );
  logger.info('scan request done', {
    messageId: record.messageId,
    action: request.action,
    repository: `${request.registry}/${request.repository}`,
    digest: request.digest,
    outcome,
  });
}

export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, handleRecord, processor, { context, processInParallel: false }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
