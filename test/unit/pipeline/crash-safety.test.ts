/**
 * The one commit path (shared/pipeline/commit.ts) under stops: a scan, a rescan and a closing
 * (deletion, and out of the rescan window) are each stopped before every write they make in
 * turn, at the item-table level (a batch is stopped half-way), at the reports bucket and at
 * SNS; the next delivery must leave the same state a run never stopped leaves, and announce
 * each change once. The one documented duplicate: a stop right after SNS accepted a message and
 * before its dedupe record, which repeats that message with the same dedupeKey.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanRequest } from '../../../shared/events/scan-request.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import type { Notifier, OutgoingMessage } from '../../../shared/notifications/message.js';
import { rescanPackages } from '../../../shared/pipeline/rescan.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import type { ItemTable, Write } from '../../../shared/stores/item-table.js';
import type { ReportStore } from '../../../shared/stores/s3.js';
import {
  CONCAT_STREAM_ADVISORY,
  MutableAdvisories,
  npmAdvisories,
  RecordingNotifier,
  writeTestImage,
} from '../../support/pipeline.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-crash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let layout = '';
let digest = '';
beforeAll(async () => {
  layout = path.join(work, 'image');
  digest = (await writeTestImage(layout, 'app-310')).digest;
});

class Stopped extends Error {}

/** Counts writes and stops the run at the chosen one. */
class StopSwitch {
  readonly points: string[] = [];
  stopAt: number | undefined;
  /** True when this write is the one to stop at. */
  hit(label: string): boolean {
    this.points.push(label);
    return this.points.length === this.stopAt;
  }
}

const isLease = (writes: readonly Write[]) =>
  writes.every((w) => ('put' in w ? w.put.sk : w.delete.sk) === 'LEASE');

/**
 * The table with a stop before any write. A lease is a lock, not state: a stopped run's lease
 * runs out by its deadline, so lease writes are not stop points here.
 */
function stoppable(table: ItemTable, name: string, stops: StopSwitch): ItemTable {
  return {
    get: (key) => table.get(key),
    query: (pk, range) => table.query(pk, range),
    queryIndex: (index, value, range) => table.queryIndex(index, value, range),
    async transact(writes) {
      if (!isLease(writes) && stops.hit(`${name}: transact`)) throw new Stopped(name);
      return table.transact(writes);
    },
    async batch(writes) {
      if (stops.hit(`${name}: batch`)) {
        await table.batch(writes.slice(0, Math.ceil(writes.length / 2)));
        throw new Stopped(name);
      }
      return table.batch(writes);
    },
  };
}

class StoppableNotifier implements Notifier {
  readonly inner = new RecordingNotifier();
  constructor(private readonly stops: StopSwitch) {}
  async publish(message: OutgoingMessage): Promise<string> {
    if (this.stops.hit('sns: publish')) throw new Stopped('sns');
    return this.inner.publish(message);
  }
}

function world() {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const stops = new StopSwitch();
  const table = (name: string) => stoppable(EmbeddedItemTable.open(dir, name), name, stops);
  const objects = new Map<string, string>();
  const reports: ReportStore = {
    bucket: 'reports',
    async put(key, body) {
      if (stops.hit('s3: put')) throw new Stopped('s3');
      objects.set(key, body);
    },
  };
  const notifier = new StoppableNotifier(stops);
  const advisories = new MutableAdvisories(npmAdvisories());
  let clock = Date.now();
  const deps: ScanDeps = {
    images: new ImageStore(table('images')),
    inventories: new InventoryStore(table('inventories')),
    findings: new FindingsStore(table('findings')),
    advisories,
    notifier,
    reports,
    now: () => new Date(clock),
    leaseWaitMs: 2_000,
    openImage: () => new OciLayoutSource(layout, 'latest').images(),
  };
  const later = (days: number) => {
    clock += days * 86_400_000;
  };
  return { deps, stops, notifier: notifier.inner, advisories, objects, later };
}
type World = ReturnType<typeof world>;

const push = (eventTime: string): ScanRequest => ({
  action: 'PUSH',
  registry: 'registry.example.test',
  repository: 'team/app',
  digest,
  tag: '1.0',
  eventTime,
  eventId: 'push-1',
});
const withdrawal = {
  version: 1 as const,
  source: 'test',
  changes: [
    {
      ecosystem: 'npm',
      name: 'concat-stream',
      change: 'withdrawn' as const,
      advisoryIds: [CONCAT_STREAM_ADVISORY],
    },
  ],
};

/** What a finished run leaves: the image record's outcome, visible findings, inventory, reports. */
async function outcomeOf(w: World) {
  const image = await w.deps.images.getImage(digest);
  const findings = await w.deps.findings.findings(digest, image?.findingsGeneration ?? 0);
  const inventory =
    image?.scanId === undefined
      ? undefined
      : await w.deps.inventories.getInventory(digest, image.scanId);
  return {
    image: {
      status: image?.status,
      findingsGeneration: image?.findingsGeneration,
      announcedGeneration: image?.announcedGeneration,
      lastCommit: image?.lastCommit?.kind,
      scanId: image?.scanId,
      retiredScanId: image?.retiredScanId,
      reportKey: image?.reportKey,
    },
    findings: findings
      .map((f) => [f.vulnerabilityId, f.packageKey, f.installedVersion, f.status, f.statusReason])
      .sort(),
    packages: inventory?.packages.length,
    indexed: await w.deps.inventories.imagesWithPackage('npm#concat-stream'),
    reported: image?.reportKey === undefined ? undefined : w.objects.has(image.reportKey),
    events: [...new Set(w.notifier.sent.map((m) => m.dedupeKey))].length,
  };
}

interface Scenario {
  /** What happens before the run that is stopped (never stopped itself). */
  readonly before: (w: World) => Promise<void>;
  /** The run under test, delivered again after a stop. */
  readonly run: (w: World) => Promise<unknown>;
}

const scenarios: Record<string, Scenario> = {
  scan: {
    before: async () => {},
    run: (w) => scanImage(push('2026-12-01T00:00:00.000Z'), w.deps),
  },
  rescan: {
    before: async (w) => {
      await scanImage(push(new Date().toISOString()), w.deps);
      w.advisories.remove(CONCAT_STREAM_ADVISORY);
    },
    run: (w) => rescanPackages(withdrawal, w.deps),
  },
  'closing on deletion': {
    before: async (w) => {
      await scanImage(push(new Date().toISOString()), w.deps);
    },
    run: (w) => scanImage({ ...push(new Date().toISOString()), action: 'DELETE' }, w.deps),
  },
  'closing out of the rescan window': {
    before: async (w) => {
      await scanImage(push(new Date().toISOString()), w.deps);
      w.later(120);
    },
    run: (w) => rescanPackages(withdrawal, w.deps),
  },
};

// Each scenario runs the use case once per write it makes, stopped before that write: over the
// 5 s default on a loaded machine.
describe.each(Object.entries(scenarios))('%s', { timeout: 60_000 }, (_name, scenario) => {
  it('stopped before any one of its writes, is finished by the next delivery, announcing each change once', async () => {
    const reference = world();
    await scenario.before(reference);
    const sentBefore = reference.notifier.sent.length;
    const pointsBefore = reference.stops.points.length;
    await scenario.run(reference);
    const points = reference.stops.points.slice(pointsBefore);
    const expected = await outcomeOf(reference);
    const messages = reference.notifier.sent.length - sentBefore;
    // The run writes its image record, findings and notifications at least.
    expect(points.length).toBeGreaterThan(3);
    expect(messages).toBeGreaterThan(0);

    for (let stop = 1; stop <= points.length; stop++) {
      const w = world();
      await scenario.before(w);
      const sent = w.notifier.sent.length;
      w.stops.stopAt = w.stops.points.length + stop;
      await expect(scenario.run(w), `stopped at ${points[stop - 1]}`).rejects.toThrow();
      w.stops.stopAt = undefined;
      await scenario.run(w);
      await scenario.run(w);
      expect(await outcomeOf(w), `stopped at write ${stop}: ${points[stop - 1]}`).toEqual(expected);
      // Right after SNS accepted a message, before its dedupe record: that message twice.
      const duplicate = points[stop - 2] === 'sns: publish' ? 1 : 0;
      expect(w.notifier.sent.length - sent, `stopped at write ${stop}`).toBe(messages + duplicate);
    }
  });
});
