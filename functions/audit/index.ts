/**
 * Audit function (docs/audit.md, "Workload inventory"): keeps the inventory of what runs and
 * judges it (shared/pipeline/audit.ts). Invoked by EventBridge with an ECS "Task State Change"
 * (a task's containers running or stopped, within seconds) and on its reconcile schedule (every
 * source read again, what no longer runs removed).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../../shared/config/env.js';
import { auditTriggerEvent } from '../../shared/events/audit-trigger.js';
import { parseEvent } from '../../shared/events/parse.js';
import { logger, metrics } from '../../shared/observability.js';
import type { AuditOutcome } from '../../shared/pipeline/audit.js';
import {
  observeTaskEvent,
  ReconcileIncompleteError,
  type ReconcileOutcome,
  reconcileWorkloads,
} from '../../shared/pipeline/audit-run.js';
import { AUDIT_CONFIG, auditDeps } from '../../shared/pipeline/aws.js';

const deps = auditDeps(loadConfig(AUDIT_CONFIG));

function count(outcome: AuditOutcome): void {
  metrics.addMetric('WorkloadsRecorded', MetricUnit.Count, outcome.recorded);
  metrics.addMetric('WorkloadsRemoved', MetricUnit.Count, outcome.removed);
  metrics.addMetric('AuditMessages', MetricUnit.Count, outcome.messages);
}

export const handler = middy(async (event: unknown): Promise<AuditOutcome | ReconcileOutcome> => {
  const trigger = parseEvent(auditTriggerEvent, 'audit trigger', event);
  if (trigger.source === 'aws.ecs') {
    const outcome = await observeTaskEvent(deps.audit, trigger);
    count(outcome);
    logger.info('task state change observed', {
      taskArn: trigger.detail.taskArn,
      lastStatus: trigger.detail.lastStatus,
      ...outcome,
    });
    return outcome;
  }
  const outcome = await reconcileWorkloads(deps.audit, deps.readers);
  for (const pass of outcome.passes) {
    count(pass);
    logger.info('workloads reconciled', { ...pass });
  }
  for (const { source, region, error } of outcome.failures)
    logger.error('workloads not reconciled', { source, region, error });
  if (outcome.failures.length > 0) {
    metrics.addMetric('AuditErrors', MetricUnit.Count, outcome.failures.length);
    throw new ReconcileIncompleteError(
      `not reconciled: ${outcome.failures.map((f) => `${f.source} in ${f.region} (${f.error.message})`).join('; ')}`,
    );
  }
  return outcome;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
