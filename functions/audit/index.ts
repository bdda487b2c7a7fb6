/**
 * Audit function (docs/audit.md, "Workload inventory"): keeps the inventory of what runs and
 * judges it (shared/pipeline/audit.ts). Invoked by EventBridge with an ECS "Task State Change"
 * (a task's containers running or stopped, within seconds), a RegisterTaskDefinition call
 * through CloudTrail (the new revision's checks: shared/pipeline/taskdef-checks.ts), and on its
 * reconcile schedule (every source read again, what no longer runs removed). With ECS, running
 * tasks' revisions are checked and each container's effective findings reconciled too.
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
  type ObservedOutcome,
  observeTaskEvent,
  ReconcileIncompleteError,
  type ReconcileOutcome,
  reconcileWorkloads,
} from '../../shared/pipeline/audit-run.js';
import { AUDIT_CONFIG, auditDeps } from '../../shared/pipeline/aws.js';
import {
  checkRegisteredTaskDefinition,
  type RevisionOutcome,
  type RunningChecksOutcome,
  TaskDefinitionChecksOffError,
} from '../../shared/pipeline/taskdef-checks.js';

// The hardening checks' configuration, as the scan function reads it: task-definition and
// workload checks are disabled or re-rated per repository as the image checks are.
const config = loadConfig([...AUDIT_CONFIG, 'imageChecks']);
const deps = auditDeps(config, config.imageChecks);

function count(outcome: AuditOutcome): void {
  metrics.addMetric('WorkloadsRecorded', MetricUnit.Count, outcome.recorded);
  metrics.addMetric('WorkloadsRemoved', MetricUnit.Count, outcome.removed);
  metrics.addMetric('AuditMessages', MetricUnit.Count, outcome.messages);
}

/** The checks' part of an outcome, as logs and metrics carry it. */
function countChecks(checks: RunningChecksOutcome | undefined): Record<string, unknown> {
  if (checks === undefined) return {};
  metrics.addMetric('CheckedWorkloads', MetricUnit.Count, checks.workloads);
  metrics.addMetric('UnknownWorkloadUsers', MetricUnit.Count, checks.unknownUser);
  if (checks.unread.length > 0) logger.warn('task definitions not read', { unread: checks.unread });
  return { checks: { ...checks, unread: checks.unread.length } };
}

/** What a log line says of an outcome: the stopped workloads by count, not one by one. */
const summary = ({ stopped, checks, ...rest }: ObservedOutcome) => ({
  ...rest,
  stopped: stopped.length,
  ...countChecks(checks),
});

export const handler = middy(
  async (event: unknown): Promise<ObservedOutcome | ReconcileOutcome | RevisionOutcome> => {
    const trigger = parseEvent(auditTriggerEvent, 'audit trigger', event);
    if (trigger['detail-type'] === 'AWS API Call via CloudTrail') {
      if (deps.taskDefinitionChecks === undefined) throw new TaskDefinitionChecksOffError();
      const outcome = await checkRegisteredTaskDefinition(deps.taskDefinitionChecks, trigger);
      logger.info('task definition checked', { ...outcome });
      return outcome;
    }
    if (trigger.source === 'aws.ecs') {
      const outcome = await observeTaskEvent(deps.audit, trigger, deps.taskDefinitionChecks);
      count(outcome);
      logger.info('task state change observed', {
        taskArn: trigger.detail.taskArn,
        lastStatus: trigger.detail.lastStatus,
        ...summary(outcome),
      });
      return outcome;
    }
    const outcome = await reconcileWorkloads(deps.audit, deps.readers, deps.taskDefinitionChecks);
    for (const pass of outcome.passes) {
      count(pass);
      logger.info('workloads reconciled', summary(pass));
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
  },
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
