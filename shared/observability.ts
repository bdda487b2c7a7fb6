/**
 * The handlers' one Powertools logger and metrics, and the metrics each use case's outcome
 * becomes (Powertools' examples keep these in one commons module). Namespace and service come
 * from the function's environment (POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME, set by
 * the construct). Metrics are CloudWatch embedded-metric-format lines that the handlers'
 * logMetrics middleware flushes at the end of each invocation: no API call, no permission.
 *
 * Metric names (namespace `Bosun`): ScanDuration (ms), ScansScanned / ScansUnchanged /
 * ScansFailed / ScansUnsupported / ... (count per outcome), ScanErrors (a scan that threw and
 * will be retried), Findings<Severity> (active findings of each completed scan), ImagesRescanned,
 * RescanMessages, RescanErrors, FeedChanges, FeedIssues, FeedErrors.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { FeedRunSummary } from './feeds/run.js';
import type { RescanSummary } from './pipeline/rescan.js';
import type { ScanOutcome } from './pipeline/scan.js';

export const logger = new Logger();
export const metrics = new Metrics();

const capitalized = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1).toLowerCase()}`;

/** Runs a scan, recording its duration and outcome (or that it threw, to be retried). */
export async function measureScan(scan: () => Promise<ScanOutcome>): Promise<ScanOutcome> {
  const started = performance.now();
  try {
    const outcome = await scan();
    metrics.addMetric(`Scans${capitalized(outcome.status)}`, MetricUnit.Count, 1);
    if (outcome.status === 'scanned')
      for (const [severity, count] of Object.entries(outcome.bySeverity))
        metrics.addMetric(`Findings${capitalized(severity)}`, MetricUnit.Count, count ?? 0);
    return outcome;
  } catch (error) {
    metrics.addMetric('ScanErrors', MetricUnit.Count, 1);
    throw error;
  } finally {
    metrics.addMetric('ScanDuration', MetricUnit.Milliseconds, performance.now() - started);
  }
}

/** Runs a rescan of one message, recording the images it touched, or that it threw. */
export async function measureRescan(rescan: () => Promise<RescanSummary>): Promise<RescanSummary> {
  try {
    const summary = await rescan();
    metrics.addMetric('ImagesRescanned', MetricUnit.Count, summary.images);
    metrics.addMetric('RescanMessages', MetricUnit.Count, summary.messages);
    return summary;
  } catch (error) {
    metrics.addMetric('RescanErrors', MetricUnit.Count, 1);
    throw error;
  }
}

/** Runs a feed sync, recording the package changes and invalid records per run, or a failure. */
export async function measureFeedSync(
  sync: () => Promise<FeedRunSummary[]>,
): Promise<FeedRunSummary[]> {
  try {
    const summaries = await sync();
    for (const s of summaries)
      if ('changes' in s) {
        metrics.addMetric('FeedChanges', MetricUnit.Count, s.changes);
        metrics.addMetric('FeedIssues', MetricUnit.Count, s.issues);
      }
    return summaries;
  } catch (error) {
    metrics.addMetric('FeedErrors', MetricUnit.Count, 1);
    throw error;
  }
}
