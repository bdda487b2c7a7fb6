/**
 * Backfill function (docs/audit.md, "Backfill"): queues a scan of every image already in ECR.
 * Invoked with the documented message (`{"version":1,"backfill":{...}}`: by hand, by itself to
 * continue, shared/pipeline/backfill-run.ts), it works on that backfill until shortly before
 * its timeout; invoked by CloudFormation with the deploy-time resource's request, it registers
 * the pull-time exclusions, records the deploy-time backfill, answers, then works on it.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { loadConfig } from '../../shared/config/env.js';
import { type BackfillRequest, parseBackfillEvent } from '../../shared/events/backfill.js';
import {
  isCustomResourceRequest,
  parseDeployTimeRequest,
} from '../../shared/events/custom-resource.js';
import { logger, metrics } from '../../shared/observability.js';
import { BACKFILL_CONFIG, backfillDeps } from '../../shared/pipeline/aws.js';
import { deployTimeStep } from '../../shared/pipeline/backfill-deploy.js';
import { type BackfillRun, runBackfill } from '../../shared/pipeline/backfill-run.js';

const deps = backfillDeps(loadConfig(BACKFILL_CONFIG));
const backfill = { ...deps.backfill, log: logger };

// Time kept back to finish the page in hand (ECR's backoff included) and continue.
const MARGIN_MS = 60_000;

async function run(request: BackfillRequest, context: Context): Promise<BackfillRun> {
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - MARGIN_MS);
  try {
    const outcome = await runBackfill(
      backfill,
      deps.continuation(context.functionName),
      request,
      deadline,
    );
    const { result, delta, continued } = outcome;
    metrics.addMetric('BackfillQueued', MetricUnit.Count, delta.queued);
    metrics.addMetric('BackfillSkipped', MetricUnit.Count, delta.skipped);
    metrics.addMetric('BackfillFailed', MetricUnit.Count, delta.failed);
    logger.info('backfill invocation done', {
      backfillId: result.id,
      stop: result.stop,
      phase: result.phase,
      counts: result.counts,
      missing: result.missing,
      continued,
    });
    return outcome;
  } catch (error) {
    metrics.addMetric('BackfillErrors', MetricUnit.Count, 1);
    throw error;
  }
}

export const handler = middy(async (event: unknown, context: Context) => {
  if (!isCustomResourceRequest(event))
    return (await run(parseBackfillEvent(event), context)).result;
  const step = await deployTimeStep(
    { backfill, ecr: deps.ecr, log: logger },
    parseDeployTimeRequest(event),
  );
  // CloudFormation has its answer; a failure from here on is the backfill's, not the stack's.
  if (step.backfill !== undefined)
    await run(step.backfill, context).catch((error: Error) =>
      logger.error('deploy-time backfill failed; invoke the function to go on', { error }),
    );
  return step.response;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
