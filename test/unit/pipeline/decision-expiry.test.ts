/**
 * Suppressions and VEX documents that expire re-open their findings with one message, through
 * the scheduled sweep (pipeline/decisions.ts), on the embedded stores with a real image of real
 * files and the real npm advisories (test/support/pipeline.ts) in the real embedded advisory
 * store; and the rescans a decision change asks for name exactly the packages it can touch.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { rescanExpiredDecisions, rescansFor } from '../../../shared/pipeline/decisions.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { EmbeddedAdvisoryStore } from '../../../shared/stores/embedded/advisory-store.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { VexStore } from '../../../shared/stores/vex-store.js';
import {
  CONCAT_STREAM_ADVISORY,
  npmAdvisories,
  RecordingNotifier,
  writeTestImage,
} from '../../support/pipeline.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-decisions-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let digest = '';
let layout = '';

beforeAll(async () => {
  layout = path.join(work, 'image');
  digest = (await writeTestImage(layout, 'app-310')).digest;
});

async function setup(clock: { now: number }) {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const table = EmbeddedItemTable.open(dir, 'findings');
  const advisories = EmbeddedAdvisoryStore.open(path.join(dir, 'advisories'));
  await advisories.put(
    npmAdvisories().map((record) => ({
      id: record.id,
      hash: createHash('sha256').update(JSON.stringify(record)).digest('hex'),
      source: 'osv:npm',
      record,
    })),
  );
  const notifier = new RecordingNotifier();
  const deps: ScanDeps & { table: EmbeddedItemTable; advisories: EmbeddedAdvisoryStore } = {
    images: new ImageStore(EmbeddedItemTable.open(dir, 'images')),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(table),
    vex: new VexStore(table),
    advisories,
    notifier,
    table,
    now: () => new Date(clock.now),
    leaseWaitMs: 2_000,
    openImage: async () => new OciLayoutSource(layout, 'latest').images(),
  };
  return { deps, notifier };
}

async function concatStream(deps: ScanDeps) {
  const image = await deps.images.getImage(digest);
  return (await deps.findings.findings(digest, image?.findingsGeneration ?? 0)).filter((f) =>
    f.advisoryIds.includes(CONCAT_STREAM_ADVISORY),
  );
}

const push = {
  action: 'PUSH' as const,
  registry: 'registry.example.test',
  repository: 'team/app',
  digest: '',
  tag: '1',
  eventTime: new Date().toISOString(),
  eventId: 'push-1',
};

/** Runs `fn` with Date.now at the test's clock: the stores hide expired items by it. */
async function at<T>(clock: { now: number }, fn: () => Promise<T>): Promise<T> {
  const real = Date.now;
  Date.now = () => clock.now;
  try {
    return await fn();
  } finally {
    Date.now = real;
  }
}

describe('expired decisions', { timeout: 60_000 }, () => {
  it('re-opens a finding whose suppression expired, once, at the next sweep', async () => {
    const clock = { now: Date.now() };
    const { deps, notifier } = await setup(clock);
    await deps.findings.putSuppression({
      scope: 'team/app',
      vulnerabilityId: CONCAT_STREAM_ADVISORY,
      packageKey: 'npm#concat-stream',
      reason: 'only parses our own files',
      author: 'arn:aws:iam::123456789012:user/alice',
      expiresAt: Math.floor(clock.now / 1000) + 3600,
    });
    await scanImage({ ...push, digest }, deps);
    expect((await concatStream(deps)).map((f) => f.status)).toEqual(['SUPPRESSED']);
    // The first sweep, before the expiry: nothing to do.
    expect(await at(clock, () => rescanExpiredDecisions(deps))).toEqual({
      expired: 0,
      images: 0,
      messages: 0,
    });
    notifier.sent.length = 0;

    clock.now += 2 * 3600_000;
    const swept = await at(clock, () => rescanExpiredDecisions(deps));
    expect(swept).toEqual({ expired: 1, images: 1, messages: 1 });
    expect((await concatStream(deps)).map((f) => f.status)).toEqual(['ACTIVE']);
    expect(notifier.of('FINDINGS_NEW')).toHaveLength(1);
    // The next sweep starts where this one ended: the expiry is not seen twice.
    clock.now += 3600_000;
    expect((await at(clock, () => rescanExpiredDecisions(deps))).expired).toBe(0);
    expect(notifier.sent).toHaveLength(1);
  });

  it('forgets the expiry of a suppression deleted before it expired', async () => {
    const clock = { now: Date.now() };
    const { deps } = await setup(clock);
    const suppression = {
      scope: '*',
      vulnerabilityId: CONCAT_STREAM_ADVISORY,
      packageKey: '*',
      reason: 'r',
      author: 'a',
      expiresAt: Math.floor(clock.now / 1000) + 60,
    };
    await deps.findings.putSuppression(suppression);
    await deps.findings.deleteSuppression(suppression);
    clock.now += 3600_000;
    expect((await at(clock, () => rescanExpiredDecisions(deps))).expired).toBe(0);
  });

  it('rescans, for a decision, the packages its vulnerability was found in and no other', async () => {
    const clock = { now: Date.now() };
    const { deps } = await setup(clock);
    await scanImage({ ...push, digest }, deps);
    const any = await rescansFor(
      [{ kind: 'vex', scope: '*', vulnerabilityIds: [CONCAT_STREAM_ADVISORY], packageKey: '*' }],
      deps,
      'api',
    );
    expect(any).toEqual([
      {
        version: 1,
        source: 'api',
        changes: [
          {
            ecosystem: 'npm',
            name: 'concat-stream',
            change: 'modified',
            advisoryIds: [CONCAT_STREAM_ADVISORY],
          },
        ],
      },
    ]);
    const elsewhere = await rescansFor(
      [
        {
          kind: 'suppression',
          scope: '*',
          vulnerabilityIds: [CONCAT_STREAM_ADVISORY],
          packageKey: 'npm#left-pad',
        },
      ],
      deps,
      'api',
    );
    expect(elsewhere).toEqual([]);
  });
});
