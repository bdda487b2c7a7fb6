/**
 * Trust-refresh function: run daily by a schedule, refreshes each configured Sigstore trusted
 * root from its TUF repository into the S3 object verification reads (shared/provenance/
 * trust-refresh.ts, docs/provenance-trust-refresh.md). A root that could not be refreshed keeps
 * its object, is logged as an error and counted, and fails the invocation once the others are
 * done, so the function's error metric and the schedule's retries see it.
 */
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { s3FromConfig } from '../../shared/config/clients.js';
import { loadTrustRefreshConfig } from '../../shared/config/trust-refresh.js';
import { logger, metrics } from '../../shared/observability.js';
import { refreshTrustedRoots } from '../../shared/provenance/trust-refresh.js';
import { S3Objects } from '../../shared/stores/s3-objects.js';

const config = loadTrustRefreshConfig();
const objects = new S3Objects(s3FromConfig(config));
// Lambda's writable disk (/tmp): the TUF client's metadata lasts while the function stays warm.
const CACHE_DIR = path.join(tmpdir(), 'bosun-tuf');

export interface TrustRefreshResult {
  readonly written: string[];
  readonly unchanged: string[];
}

export const handler = middy(async (): Promise<TrustRefreshResult> => {
  const run = await refreshTrustedRoots(config.sources, { objects, cacheDir: CACHE_DIR });
  for (const outcome of run.outcomes) logger.info('trusted root refreshed', { ...outcome });
  for (const error of run.failures)
    logger.error('trusted root not refreshed', { root: error.root, failure: error.failure, error });
  const written = run.outcomes.filter((o) => o.status === 'written').map((o) => o.name);
  metrics.addMetric('TrustRootsWritten', MetricUnit.Count, written.length);
  metrics.addMetric('TrustRootRefreshFailures', MetricUnit.Count, run.failures.length);
  if (run.failures.length > 0)
    throw new AggregateError(run.failures, run.failures.map((f) => f.message).join('; '));
  return {
    written,
    unchanged: run.outcomes.filter((o) => o.status === 'unchanged').map((o) => o.name),
  };
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
