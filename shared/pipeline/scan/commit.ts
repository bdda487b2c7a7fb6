/**
 * Step: the scan's generation committed through the one commit path (../commit.ts), the image
 * record now describing the scanned image (platform, OS, layers, inventory, report), then
 * announced. The inventory this one replaces is retired after the commit.
 */
import type { Severity } from '../../advisories/severity.js';
import { platformString } from '../../image/types.js';
import { judgeRunning } from '../audit.js';
import { commitGeneration } from '../commit.js';
import type { FindingDraft } from '../lifecycle.js';
import { generationOf, need, type ScanRun, type ScanStep } from './run.js';

export const commitScan: ScanStep = async (run: ScanRun) => {
  const { scanId, now } = run;
  const marked = need(run.image, 'the marked image');
  const target = need(run.target, 'the image');
  const inventory = need(run.inventory, 'the inventory');
  const unsupported = inventory.os === undefined && inventory.packages.length === 0;
  const os = inventory.os?.prettyName ?? inventory.os?.ecosystem;
  const generation = generationOf(run);
  const messages = await commitGeneration(
    run.deps,
    marked,
    { generation, kind: 'scan', at: now },
    ({ reason: _reason, ...rest }) => ({
      ...rest,
      status: unsupported ? 'UNSUPPORTED' : 'COMPLETE',
      ...(unsupported ? { reason: 'no supported operating system or package was found' } : {}),
      ...(target.configDigest === undefined ? {} : { configDigest: target.configDigest }),
      platform: platformString(target.platform),
      ...(os === undefined ? {} : { os }),
      layers: target.layers.flatMap((l) => (l.digest === undefined ? [] : [l.digest])),
      analyzerVersion: run.analyzerVersion,
      scanId,
      ...(run.reportKeys ?? {}),
      ...(run.coverage === undefined ? {} : { coverage: run.coverage }),
      ...(rest.scanId !== undefined && rest.scanId !== scanId
        ? { retiredScanId: rest.scanId }
        : {}),
      firstScannedAt: rest.firstScannedAt ?? now,
      lastScannedAt: now,
    }),
  );
  // Workloads running the digest are judged on what the scan found (pipeline/audit.ts).
  const judged = await judgeRunning(run.deps, marked.digest, 'push');
  return unsupported
    ? {
        status: 'unsupported',
        reason: 'no supported operating system or package',
        messages: messages + judged,
      }
    : {
        status: 'scanned',
        ...activeBySeverity(need(run.drafts, 'the drafts')),
        messages: messages + judged,
      };
};

function activeBySeverity(drafts: readonly FindingDraft[]) {
  const bySeverity: Partial<Record<Severity, number>> = {};
  const active = drafts.filter((d) => d.status === 'ACTIVE');
  for (const d of active)
    bySeverity[d.severity.severity] = (bySeverity[d.severity.severity] ?? 0) + 1;
  return { findings: active.length, bySeverity };
}
