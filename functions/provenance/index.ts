/**
 * Provenance function: the re-verification pass (shared/pipeline/provenance.ts
 * reverifyProvenance). Invoked by EventBridge on its daily schedule (certificates expire, keys
 * are revoked), and when the policy or a trust object changes (S3 "Object Created", Parameter
 * Store change), when every verdict decided under the old policy or trust is decided again.
 * What does not fit in this invocation is counted and left to the next pass.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ConfigError, ENV_VARS, loadConfig } from '../../shared/config/env.js';
import { parseEvent } from '../../shared/events/parse.js';
import { provenanceTriggerEvent, triggerOf } from '../../shared/events/provenance-trigger.js';
import { logger } from '../../shared/observability.js';
import { PROVENANCE_FUNCTION_CONFIG, provenancePassDeps } from '../../shared/pipeline/aws.js';
import { type ReverifySummary, reverifyProvenance } from '../../shared/pipeline/provenance.js';

const config = loadConfig(PROVENANCE_FUNCTION_CONFIG);
const pass = provenancePassDeps(config);
if (pass === undefined)
  throw new ConfigError([
    `the provenance function needs a policy: ${ENV_VARS.provenancePolicy}, ${ENV_VARS.provenancePolicyS3} or ${ENV_VARS.provenancePolicySsm}`,
  ]);

// Time kept back to finish the verdict in hand and log the summary.
const MARGIN_MS = 30_000;

export const handler = middy(async (event: unknown, context: Context): Promise<ReverifySummary> => {
  const trigger = triggerOf(parseEvent(provenanceTriggerEvent, 'provenance trigger', event));
  const provenance = await pass.provenance(trigger.fresh);
  const summary = await reverifyProvenance(pass.pipeline, provenance, {
    deadline: Date.now() + Math.max(0, context.getRemainingTimeInMillis() - MARGIN_MS),
  });
  logger.info('provenance reverified', {
    trigger: trigger.kind,
    ...(trigger.changed === undefined ? {} : { changed: trigger.changed }),
    policyVersion: provenance.checker.policy.version,
    trustVersion: provenance.checker.trustVersion,
    ...summary,
  });
  return summary;
}).use(injectLambdaContext(logger));
