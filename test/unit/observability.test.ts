/**
 * What the handlers' metrics hold (shared/observability.ts): the embedded-metric-format document
 * that logMetrics flushes after each invocation, built from real use-case outcomes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type Emf = { _aws: { CloudWatchMetrics: { Namespace: string }[] } } & Record<string, unknown>;

async function load() {
  vi.resetModules();
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Bosun');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'bosun-scan');
  return import('../../shared/observability.js');
}
let module: Awaited<ReturnType<typeof load>>;
beforeEach(async () => {
  module = await load();
});
afterEach(() => {
  module.metrics.clearMetrics();
  vi.unstubAllEnvs();
});
const flushed = () => module.metrics.serializeMetrics() as unknown as Emf;

describe('scan metrics', () => {
  it('records the duration, the outcome and the active findings by severity of a scan', async () => {
    const outcome = await module.measureScan(async () => ({
      status: 'scanned',
      findings: 3,
      bySeverity: { HIGH: 1, MEDIUM: 2 },
      messages: 2,
    }));
    expect(outcome.status).toBe('scanned');
    const emf = flushed();
    expect(emf._aws.CloudWatchMetrics[0]?.Namespace).toBe('Bosun');
    expect(emf).toMatchObject({ ScansScanned: 1, FindingsHigh: 1, FindingsMedium: 2 });
    expect(emf.ScanDuration).toBeTypeOf('number');
    expect(emf.ScanErrors).toBeUndefined();
  });

  it('records a failed scan as such, and a scan that threw as an error, rethrowing it', async () => {
    await module.measureScan(async () => ({ status: 'failed', reason: 'bad layer', messages: 1 }));
    await expect(
      module.measureScan(async () => {
        throw new Error('registry unreachable');
      }),
    ).rejects.toThrow('registry unreachable');
    const emf = flushed();
    expect(emf).toMatchObject({ ScansFailed: 1, ScanErrors: 1 });
    // One duration for each scan, as an EMF value list.
    expect(emf.ScanDuration).toHaveLength(2);
  });
});

describe('rescan and feed metrics', () => {
  it('records images rescanned and messages, feed changes and invalid records, and failures', async () => {
    await module.measureRescan(async () => ({ images: 4, outcomes: { changed: 4 }, messages: 3 }));
    await module.measureFeedSync(async () => [
      { source: 'osv:Go', status: 'busy' },
      {
        source: 'osv:PyPI',
        status: 'complete',
        mode: 'incremental',
        position: 5,
        written: 5,
        unchanged: 0,
        invalid: 1,
        changes: 12,
        issues: 1,
      },
    ]);
    await expect(
      module.measureFeedSync(async () => {
        throw new Error('OSV unreachable');
      }),
    ).rejects.toThrow();
    expect(flushed()).toMatchObject({
      ImagesRescanned: 4,
      RescanMessages: 3,
      FeedChanges: 12,
      FeedIssues: 1,
      FeedErrors: 1,
    });
  });
});
