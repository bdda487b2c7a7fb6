import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { SEVERITIES } from '../../shared/advisories/severity.js';
import type { BosunFunction } from './bosun-function.js';
import type { QueueWithDlq } from './queue-with-dlq.js';

export interface DashboardProps {
  readonly scanFunction: BosunFunction;
  readonly rescanFunction: BosunFunction;
  readonly feedSyncFunction: BosunFunction;
  readonly scanQueue: QueueWithDlq;
  readonly rescanQueue: QueueWithDlq;
  readonly feedSyncQueue: QueueWithDlq;
}

/** The namespace shared/observability.ts's metrics are in (POWERTOOLS_METRICS_NAMESPACE). */
const NAMESPACE = 'Bosun';
const HOUR = Duration.hours(1);

/**
 * A metric the functions emit (shared/observability.ts, functions/*): Powertools adds the
 * `service` dimension, `bosun-<handler dir>` (bosun-function.ts).
 */
function bosunMetric(name: string, handlerDir: string, statistic = 'Sum'): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: NAMESPACE,
    metricName: name,
    dimensionsMap: { service: `bosun-${handlerDir}` },
    statistic,
    period: HOUR,
    label: name,
  });
}

const capitalized = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1).toLowerCase()}`;

/** What a scan ends as (ScanOutcome's statuses: measureScan counts `Scans<Status>`). */
export const SCAN_OUTCOMES = [
  'scanned',
  'unchanged',
  'failed',
  'unsupported',
  'index',
  'skipped',
  'deleted',
] as const;

/**
 * The operations dashboard (docs/integrations.md): scans per hour by outcome, failures, queue
 * ages, findings by severity, feed syncs. Every metric is one the functions already emit or
 * one AWS publishes for the queue or function.
 */
export function buildDashboard(scope: Construct, props: DashboardProps): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.days(7),
  });
  const width = 12;
  const height = 6;
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Scans per hour, by outcome',
      width,
      height,
      stacked: true,
      left: SCAN_OUTCOMES.map((o) => bosunMetric(`Scans${capitalized(o)}`, 'scan')),
    }),
    new cloudwatch.GraphWidget({
      title: 'Failures per hour',
      width,
      height,
      left: [
        bosunMetric('ScansFailed', 'scan'),
        bosunMetric('ScanErrors', 'scan'),
        bosunMetric('RescanErrors', 'rescan'),
        bosunMetric('FeedErrors', 'feed-sync'),
        bosunMetric('SecurityHubFindingsRefused', 'scan'),
        bosunMetric('SecurityHubFindingsRefused', 'rescan'),
      ],
      right: [props.scanFunction, props.rescanFunction, props.feedSyncFunction].map((f) =>
        f.function.metricErrors({ period: HOUR, label: `${f.node.id} errors` }),
      ),
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Queue ages (oldest message, seconds)',
      width,
      height,
      left: [props.scanQueue, props.rescanQueue, props.feedSyncQueue].map((q) =>
        q.queue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: 'Maximum',
          label: `${q.node.id} age`,
        }),
      ),
      right: [props.scanQueue, props.rescanQueue, props.feedSyncQueue].map((q) =>
        q.dlq.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
          label: `${q.node.id} dead letters`,
        }),
      ),
    }),
    new cloudwatch.GraphWidget({
      title: 'Active findings of completed scans, by severity',
      width,
      height,
      stacked: true,
      left: SEVERITIES.map((s) => bosunMetric(`Findings${capitalized(s)}`, 'scan')),
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Feed freshness: feed sources synced per hour (none: advisories grow stale)',
      width,
      height,
      left: [
        bosunMetric('FeedChanges', 'feed-sync', 'SampleCount').with({
          label: 'Feed sources synced',
        }),
        bosunMetric('FeedErrors', 'feed-sync'),
      ],
      right: [
        bosunMetric('FeedChanges', 'feed-sync').with({ label: 'Package changes' }),
        bosunMetric('ImagesRescanned', 'rescan'),
      ],
    }),
  );
  return dashboard;
}
