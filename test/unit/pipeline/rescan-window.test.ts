/**
 * The rescan window by use (issue 20): counted from the last push or, with `windowFrom: 'use'`,
 * from the later of the last push and the last use; a digest running now is never out of it.
 * On the embedded stores with a real image and the real npm advisories, as the rescan tests of
 * scan-use-case.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/env.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { inWindow, type RescanDeps, rescanPackages } from '../../../shared/pipeline/rescan.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore, type RepositoryRecord } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { WorkloadStore } from '../../../shared/stores/workload-store.js';
import {
  CONCAT_STREAM_ADVISORY,
  MutableAdvisories,
  npmAdvisories,
  RecordingNotifier,
  writeTestImage,
} from '../../support/pipeline.js';

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const REGISTRY = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
const work = mkdtempSync(path.join(tmpdir(), 'bosun-window-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let digest = '';
let layout = '';

beforeAll(async () => {
  layout = path.join(work, 'app-310');
  digest = (await writeTestImage(layout, 'app-310')).digest;
});

/** The image pushed 200 days ago and scanned (one active finding); a workload store beside it. */
async function oldImage(windowFrom: 'push' | 'use') {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const images = EmbeddedItemTable.open(dir, 'images');
  const notifier = new RecordingNotifier();
  const workloads = new WorkloadStore(images);
  const deps: ScanDeps & RescanDeps = {
    images: new ImageStore(images),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(EmbeddedItemTable.open(dir, 'findings')),
    advisories: new MutableAdvisories(npmAdvisories()),
    notifier,
    openImage: () => new OciLayoutSource(layout, 'latest').images(),
    audit: { workloads },
    windowDays: 90,
    windowFrom,
  };
  await scanImage(
    {
      action: 'PUSH',
      registry: REGISTRY,
      repository: 'team/old',
      digest,
      tag: '1',
      eventTime: ago(200),
      eventId: 'push-200-days-ago',
    },
    deps,
  );
  notifier.sent.length = 0;
  const workload = {
    digest,
    source: 'ecs',
    workload: `arn:aws:ecs:us-west-2:111122223333:task/web/0123456789abcdef0123456789abcdef#app`,
    image: `${REGISTRY}/team/old:1`,
  };
  return { deps, notifier, workloads, workload };
}
const change = {
  version: 1 as const,
  source: 'test',
  changes: [
    {
      ecosystem: 'npm',
      name: 'concat-stream',
      change: 'modified' as const,
      advisoryIds: [CONCAT_STREAM_ADVISORY],
    },
  ],
};
const active = async (deps: ScanDeps) => {
  const image = await deps.images.getImage(digest);
  return (await deps.findings.findings(digest, image?.findingsGeneration ?? 0)).filter(
    (f) => f.status === 'ACTIVE',
  );
};

describe('the rescan window by use', () => {
  it('rescans an image not pushed for 200 days but running, in either mode', async () => {
    for (const from of ['use', 'push'] as const) {
      const { deps, notifier, workloads, workload } = await oldImage(from);
      await workloads.record({ ...workload, seenAt: ago(0) });
      const summary = await rescanPackages(change, deps);
      expect(summary.outcomes, from).toEqual({ unchanged: 1 });
      expect(notifier.of('FINDINGS_RESOLVED')).toEqual([]);
      expect(await active(deps)).toHaveLength(1);
    }
  });

  it('does not rescan one neither pushed nor running for 200 days, and closes its findings', async () => {
    const { deps, notifier, workloads, workload } = await oldImage('use');
    await workloads.record({ ...workload, seenAt: ago(230) });
    await workloads.stop(workload, ago(200), true);
    const summary = await rescanPackages(change, deps);
    expect(summary.outcomes).toEqual({ 'out-of-window': 1 });
    expect(notifier.of('FINDINGS_RESOLVED').map((m) => m.findings[0]?.statusReason)).toEqual([
      'out-of-window',
    ]);
    expect(await active(deps)).toEqual([]);
  });

  it('counts from the last use only when told to: stopped 10 days ago', async () => {
    for (const [from, outcome] of [
      ['use', 'unchanged'],
      ['push', 'out-of-window'],
    ] as const) {
      const { deps, workloads, workload } = await oldImage(from);
      await workloads.record({ ...workload, seenAt: ago(30) });
      await workloads.stop(workload, ago(10), true);
      expect((await rescanPackages(change, deps)).outcomes, from).toEqual({ [outcome]: 1 });
    }
  });
});

describe('inWindow', () => {
  const now = new Date('2026-11-29T00:00:00Z');
  const repo = (pushed: string): RepositoryRecord => ({
    digest,
    repository: `${REGISTRY}/team/app`,
    tags: [],
    pushedAt: pushed,
  });
  const old = [repo('2026-01-01T00:00:00Z')];
  it('counts from the last push by default, and from the last use with use', () => {
    const inUse = { digest, inUseCount: 0, lastInUseAt: '2026-11-20T00:00:00Z' };
    expect(inWindow(old, 90, now)).toBe(false);
    expect(inWindow(old, 90, now, { from: 'push', inUse })).toBe(false);
    expect(inWindow(old, 90, now, { from: 'use', inUse })).toBe(true);
    expect(inWindow(old, 5, now, { from: 'use', inUse })).toBe(false);
    expect(inWindow([repo('2026-11-28T00:00:00Z')], 5, now, { from: 'use', inUse })).toBe(true);
  });
  it('keeps a digest in use now, whatever the mode', () => {
    const inUse = { digest, inUseCount: 3, lastInUseAt: '2025-01-01T00:00:00Z' };
    expect(inWindow(old, 1, now, { from: 'push', inUse })).toBe(true);
    expect(inWindow(old, 1, now, { from: 'use', inUse })).toBe(true);
  });
  it('reads BOSUN_RESCAN_WINDOW_FROM', () => {
    expect(loadConfig(['rescanWindowFrom'], { BOSUN_RESCAN_WINDOW_FROM: 'use' })).toEqual({
      rescanWindowFrom: 'use',
    });
    expect(loadConfig(['rescanWindowFrom'], {})).toEqual({ rescanWindowFrom: undefined });
    expect(() => loadConfig(['rescanWindowFrom'], { BOSUN_RESCAN_WINDOW_FROM: 'pull' })).toThrow(
      'BOSUN_RESCAN_WINDOW_FROM="pull" is not valid (push or use)',
    );
  });
});
