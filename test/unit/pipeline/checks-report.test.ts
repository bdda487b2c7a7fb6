/**
 * The scan function's report carries the hardening checks from the same walk as the inventory
 * (shared/pipeline/scan/pull-inventory.ts runs the checks collector): `checks` and
 * `checkIssues` in report.json, `bosun:check` properties in the CycloneDX SBOM; and the planted
 * example credentials are in no object written and no message published.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/checks/secrets.js';
import type { CheckResult } from '../../../shared/checks/types.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import type { ReportStore } from '../../../shared/stores/s3.js';
import { AWS_EXAMPLE_SECRET, PLANTED, writeSecretsImage } from '../../support/check-images.js';
import { MutableAdvisories, npmAdvisories, RecordingNotifier } from '../../support/pipeline.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-checks-report-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let layout = '';
let digest = '';
beforeAll(async () => {
  layout = path.join(work, 'image');
  digest = (await writeSecretsImage(layout)).digest;
});

it('writes checks and checkIssues in report.json and bosun:check properties in the SBOM', async () => {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const objects = new Map<string, string>();
  const reports: ReportStore = {
    bucket: 'reports',
    async put(key, body) {
      objects.set(key, body);
    },
  };
  const notifier = new RecordingNotifier();
  const deps: ScanDeps = {
    images: new ImageStore(EmbeddedItemTable.open(dir, 'images')),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(EmbeddedItemTable.open(dir, 'findings')),
    advisories: new MutableAdvisories(npmAdvisories()),
    notifier,
    reports,
    now: () => new Date('2026-03-01T00:00:00.000Z'),
    openImage: () => new OciLayoutSource(layout, 'latest').images(),
  };
  const outcome = await scanImage(
    {
      action: 'PUSH',
      registry: 'registry.example.test',
      repository: 'team/app',
      digest,
      tag: '1.0',
      eventTime: '2026-03-01T00:00:00.000Z',
      eventId: 'push-1',
    },
    deps,
  );
  expect(outcome.status).toBe('scanned');
  const reportKey = [...objects.keys()].find((k) => k.endsWith('/report.json'));
  const sbomKey = [...objects.keys()].find((k) => k.endsWith('/sbom.cdx.json'));
  const report = JSON.parse(objects.get(reportKey ?? '') ?? '{}') as {
    checks?: CheckResult[];
    checkIssues?: unknown[];
  };
  expect(report.checks?.map((c) => `${c.id} ${c.secret?.rule ?? ''}`.trim())).toEqual([
    'BOSUN-IMG-010 aws-access-key-id',
    'BOSUN-IMG-011 aws-access-key-id',
    'BOSUN-IMG-011 aws-credentials-file',
    'BOSUN-IMG-001',
    'BOSUN-IMG-030',
    'BOSUN-IMG-032',
  ]);
  expect(report.checkIssues).toEqual([]);
  expect(
    report.checks?.find((c) => c.secret?.rule === 'aws-credentials-file')?.secret?.valueHash,
  ).toBe(sha256Hex(AWS_EXAMPLE_SECRET));
  const bom = JSON.parse(objects.get(sbomKey ?? '') ?? '{}') as {
    metadata: { properties: { name: string; value: string }[] };
  };
  expect(bom.metadata.properties.filter((p) => p.name === 'bosun:check')).toHaveLength(6);
  expect(bom.metadata.properties).toContainEqual({
    name: 'bosun:check',
    value: 'BOSUN-IMG-001 MEDIUM Image runs as root by default @ config.User',
  });
  const everything = [...objects.values(), JSON.stringify(notifier.sent)].join('\n');
  for (const value of PLANTED) expect(everything.includes(value), value).toBe(false);
}, 60_000);
