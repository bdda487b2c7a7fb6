/**
 * VEX in the scan and rescan use cases (embedded stores, a real image of real files and the
 * real npm advisories: test/support/pipeline.ts): a statement that the image is not affected
 * suppresses the finding with one message, one that says it is affected changes nothing, and a
 * document that expires re-opens the finding with one message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { rescanPackages } from '../../../shared/pipeline/rescan.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { VexStore, vexIdOf } from '../../../shared/stores/vex-store.js';
import { parseVex } from '../../../shared/vex/parse.js';
import {
  CONCAT_STREAM_ADVISORY,
  MutableAdvisories,
  npmAdvisories,
  RecordingNotifier,
  writeTestImage,
} from '../../support/pipeline.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-vex-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let digest = '';
let layout = '';

beforeAll(async () => {
  layout = path.join(work, 'image');
  digest = (await writeTestImage(layout, 'app-310')).digest;
});

function setup(now: () => Date = () => new Date()) {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const findingsTable = EmbeddedItemTable.open(dir, 'findings');
  const notifier = new RecordingNotifier();
  const vex = new VexStore(findingsTable);
  const deps: ScanDeps = {
    images: new ImageStore(EmbeddedItemTable.open(dir, 'images')),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(findingsTable),
    advisories: new MutableAdvisories(npmAdvisories()),
    notifier,
    vex,
    now,
    leaseWaitMs: 2_000,
    openImage: async () => new OciLayoutSource(layout, 'latest').images(),
  };
  return { deps, notifier, vex };
}

async function visible(deps: ScanDeps) {
  const image = await deps.images.getImage(digest);
  return (await deps.findings.findings(digest, image?.findingsGeneration ?? 0)).filter((f) =>
    f.advisoryIds.includes(CONCAT_STREAM_ADVISORY),
  );
}

const push = () => ({
  action: 'PUSH' as const,
  registry: 'registry.example.test',
  repository: 'team/app',
  digest,
  tag: '1',
  eventTime: new Date().toISOString(),
  eventId: 'push-1',
});

const changed = {
  version: 1 as const,
  source: 'vex',
  changes: [
    {
      ecosystem: 'npm',
      name: 'concat-stream',
      change: 'modified' as const,
      advisoryIds: [CONCAT_STREAM_ADVISORY],
    },
  ],
};

/** An OpenVEX document about this image's concat-stream, written as a user would. */
function openVex(status: string, timestamp = '2026-01-01T00:00:00Z'): string {
  return JSON.stringify({
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': `https://openvex.dev/docs/example/bosun-${status}`,
    author: 'team-app security',
    timestamp,
    version: 1,
    statements: [
      {
        vulnerability: { name: CONCAT_STREAM_ADVISORY },
        products: [
          {
            '@id': `pkg:oci/app@${encodeURIComponent(digest)}`,
            subcomponents: [{ '@id': 'pkg:npm/concat-stream@1.5.0' }],
          },
        ],
        status,
        ...(status === 'not_affected'
          ? { justification: 'vulnerable_code_not_in_execute_path' }
          : {}),
      },
    ],
  });
}

async function putVex(vex: VexStore, text: string, expiresAt?: number) {
  const doc = parseVex(text);
  await vex.put({
    scope: 'team/app',
    id: vexIdOf(doc, text),
    ...(doc.id === undefined ? {} : { documentId: doc.id }),
    format: doc.format,
    statements: doc.statements,
    uploadedBy: 'arn:aws:iam::123456789012:user/alice',
    uploadedAt: new Date().toISOString(),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  });
}

describe('VEX statements on findings', { timeout: 60_000 }, () => {
  it('suppresses a finding the image is not affected by on rescan, with one message', async () => {
    const { deps, notifier, vex } = setup();
    await scanImage(push(), deps);
    expect((await visible(deps)).map((f) => f.status)).toEqual(['ACTIVE']);
    notifier.sent.length = 0;

    await putVex(vex, openVex('not_affected'));
    await rescanPackages(changed, deps);
    const [finding] = await visible(deps);
    expect(finding?.status).toBe('SUPPRESSED');
    expect(finding?.statusReason).toBe(
      'vex: not_affected (vulnerable_code_not_in_execute_path) in https://openvex.dev/docs/example/bosun-not_affected',
    );
    expect(notifier.of('FINDINGS_RESOLVED')).toHaveLength(1);
    expect(notifier.sent).toHaveLength(1);
    // The same change again: nothing more.
    await rescanPackages(changed, deps);
    expect(notifier.sent).toHaveLength(1);
  });

  it('applies at the first scan too, and leaves an affected statement ACTIVE', async () => {
    const suppressed = setup();
    await putVex(suppressed.vex, openVex('fixed'));
    await scanImage(push(), suppressed.deps);
    expect((await visible(suppressed.deps)).map((f) => [f.status, f.statusReason])).toEqual([
      ['SUPPRESSED', 'vex: fixed in https://openvex.dev/docs/example/bosun-fixed'],
    ]);
    expect(suppressed.notifier.of('FINDINGS_NEW')).toHaveLength(0);

    const affected = setup();
    await putVex(affected.vex, openVex('affected'));
    await scanImage(push(), affected.deps);
    expect((await visible(affected.deps)).map((f) => f.status)).toEqual(['ACTIVE']);
  });

  it('re-opens the finding with one message once the document expires', async () => {
    let clock = Date.now();
    const { deps, notifier, vex } = setup(() => new Date(clock));
    await putVex(vex, openVex('not_affected'), Math.floor(clock / 1000) + 3600);
    await scanImage(push(), deps);
    expect((await visible(deps)).map((f) => f.status)).toEqual(['SUPPRESSED']);
    notifier.sent.length = 0;

    // The store hides an expired document as DynamoDB's TTL would remove it.
    clock += 2 * 3600_000;
    const realNow = Date.now;
    Date.now = () => clock;
    try {
      await rescanPackages(changed, deps);
    } finally {
      Date.now = realNow;
    }
    expect((await visible(deps)).map((f) => f.status)).toEqual(['ACTIVE']);
    expect(notifier.of('FINDINGS_NEW')).toHaveLength(1);
    expect(notifier.sent).toHaveLength(1);
  });
});
