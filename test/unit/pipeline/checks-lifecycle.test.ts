/**
 * The scan stores the hardening checks with their lifecycle after the findings commit
 * (shared/pipeline/scan/commit-checks.ts) and announces CHECKS_NEW once; the deployment's
 * checks configuration holds in the report and the stored checks alike; a push of the same
 * digest under a changed configuration moves its checks without a new pull; no planted secret
 * value is in any stored item, object or message. The image is built at test time from real
 * files (test/support/check-images.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChecksConfig, parseChecksConfig } from '../../../shared/checks/config.js';
import { sha256Hex } from '../../../shared/checks/secrets.js';
import type { CheckResult } from '../../../shared/checks/types.js';
import type { ScanRequest } from '../../../shared/events/scan-request.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { ChecksStore } from '../../../shared/stores/checks-store.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { AWS_EXAMPLE_SECRET, PLANTED, writeSecretsImage } from '../../support/check-images.js';
import { MutableAdvisories, npmAdvisories, RecordingNotifier } from '../../support/pipeline.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-checks-lifecycle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let layout = '';
let digest = '';
beforeAll(async () => {
  layout = path.join(work, 'image');
  digest = (await writeSecretsImage(layout)).digest;
}, 60_000);

const push = (eventId: string, repository = 'team-a/app'): ScanRequest => ({
  action: 'PUSH',
  registry: 'registry.example.test',
  repository,
  digest,
  tag: '1.0',
  eventTime: '2030-03-01T00:00:00.000Z',
  eventId,
});

function setup() {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const findingsTable = EmbeddedItemTable.open(dir, 'findings');
  const images = new ImageStore(EmbeddedItemTable.open(dir, 'images'));
  const inventories = new InventoryStore(EmbeddedItemTable.open(dir, 'inventories'));
  const objects = new Map<string, string>();
  const notifier = new RecordingNotifier();
  let now = new Date('2030-03-01T00:00:00.000Z');
  let checksConfig: ChecksConfig | undefined;
  const deps = (): ScanDeps => ({
    images,
    inventories,
    findings: new FindingsStore(findingsTable),
    checkStore: new ChecksStore(findingsTable),
    ...(checksConfig === undefined ? {} : { checksConfig }),
    advisories: new MutableAdvisories(npmAdvisories()),
    notifier,
    reports: {
      bucket: 'reports',
      async put(key, body) {
        objects.set(key, body);
      },
    },
    now: () => now,
    openImage: () => new OciLayoutSource(layout, 'latest').images(),
  });
  return {
    findingsTable,
    objects,
    notifier,
    deps,
    configure: (c: ChecksConfig) => {
      checksConfig = c;
    },
    at: (iso: string) => {
      now = new Date(iso);
    },
  };
}

const reportChecks = (objects: Map<string, string>) => {
  const key = [...objects.keys()].find((k) => k.endsWith('/report.json'));
  return (JSON.parse(objects.get(key ?? '') ?? '{}') as { checks?: CheckResult[] }).checks ?? [];
};

it('stores the checks after the findings commit and announces CHECKS_NEW once', async () => {
  const s = setup();
  const outcome = await scanImage(push('push-1'), s.deps());
  expect(outcome.status).toBe('scanned');
  const store = new ChecksStore(s.findingsTable);
  const stored = await store.open(digest);
  expect(stored.map((c) => c.checkId).sort()).toEqual(
    reportChecks(s.objects)
      .map((c) => c.id)
      .sort(),
  );
  expect(await store.imageUser(digest)).toMatchObject({ kind: 'root' });
  const news = s.notifier.of('CHECKS_NEW', digest);
  expect(news).toHaveLength(1);
  expect(news[0]?.checks).toMatchObject({ subject: digest, total: stored.length, omitted: 0 });
  const attributes = s.notifier.sent.find(
    (m) => m.attributes.eventType === 'CHECKS_NEW',
  )?.attributes;
  // The worst check's severity: the access key id's rule rates it critical.
  expect(stored.some((c) => c.severity === 'CRITICAL')).toBe(true);
  expect(attributes?.maxSeverity).toBe('CRITICAL');
  expect(attributes?.checkIds).toContain('BOSUN-IMG-011');
  expect(attributes?.repository).toEqual(['team-a/app']);
  // The same digest pushed again: already scanned, nothing to announce again.
  const again = await scanImage(push('push-2'), s.deps());
  expect(again.status).toBe('unchanged');
  expect(s.notifier.of('CHECKS_NEW', digest)).toHaveLength(1);
  expect(s.notifier.of('CHECKS_RESOLVED')).toEqual([]);
}, 60_000);

it('resolves the checks of an image deleted from every repository, once, and re-opens them when it is pushed again', async () => {
  const s = setup();
  await scanImage(push('push-1'), s.deps());
  const open = (await new ChecksStore(s.findingsTable).open(digest)).length;
  s.at('2030-03-02T00:00:00.000Z');
  const deleted = await scanImage(
    { ...push('delete-1'), action: 'DELETE', eventTime: '2030-03-02T00:00:00.000Z' },
    s.deps(),
  );
  expect(deleted.status).toBe('deleted');
  const resolved = s.notifier.of('CHECKS_RESOLVED', digest);
  expect(resolved).toHaveLength(1);
  expect(resolved[0]?.trigger).toBe('deleted');
  expect(resolved[0]?.checks?.total).toBe(open);
  const stored = await new ChecksStore(s.findingsTable).checks(digest);
  expect(new Set(stored.map((c) => `${c.status} ${c.resolvedReason}`))).toEqual(
    new Set(['RESOLVED image-deleted']),
  );
  // The same digest pushed back: already scanned, its checks open again from the store.
  s.at('2030-03-03T00:00:00.000Z');
  await scanImage({ ...push('push-2'), eventTime: '2030-03-03T00:00:00.000Z' }, s.deps());
  const reopened = s.notifier.of('CHECKS_NEW', digest);
  expect(reopened).toHaveLength(2);
  expect(reopened[1]?.checks?.total).toBe(open);
  expect(s.notifier.of('CHECKS_RESOLVED', digest)).toHaveLength(1);
}, 60_000);

it('applies a changed configuration to the report, the store and the messages, without a new pull', async () => {
  const s = setup();
  s.configure(
    parseChecksConfig(
      JSON.stringify({
        rules: [{ repositories: ['team-a/*'], severity: { 'BOSUN-IMG-032': 'CRITICAL' } }],
        suppressions: [
          {
            valueHash: `sha256:${sha256Hex(AWS_EXAMPLE_SECRET)}`,
            reason: "AWS's documented example key",
            author: 'security@example.com',
            expiresAt: '2030-06-01T00:00:00Z',
          },
        ],
      }),
      'test',
    ),
  );
  await scanImage(push('push-1'), s.deps());
  const report = reportChecks(s.objects);
  expect(report.find((c) => c.id === 'BOSUN-IMG-032')?.severity).toBe('CRITICAL');
  expect(report.some((c) => c.secret?.valueHash === sha256Hex(AWS_EXAMPLE_SECRET))).toBe(false);
  const store = new ChecksStore(s.findingsTable);
  const suppressed = (await store.checks(digest)).filter((c) => c.status === 'SUPPRESSED');
  expect(suppressed.map((c) => c.result.secret?.rule)).toEqual(['aws-credentials-file']);
  expect((await store.checks(digest)).find((c) => c.checkId === 'BOSUN-IMG-032')?.severity).toBe(
    'CRITICAL',
  );
  expect(
    s.notifier.of('CHECKS_NEW', digest)[0]?.checks?.listed.find((c) => c.id === 'BOSUN-IMG-032')
      ?.severity,
  ).toBe('CRITICAL');
  // The deployment disables the root check for team-a: the next push of the digest resolves it.
  s.configure(
    parseChecksConfig(
      JSON.stringify({ rules: [{ repositories: ['team-a/*'], disable: ['BOSUN-IMG-001'] }] }),
      'test',
    ),
  );
  s.at('2030-03-02T00:00:00.000Z');
  expect((await scanImage(push('push-2'), s.deps())).status).toBe('unchanged');
  const resolved = s.notifier.of('CHECKS_RESOLVED', digest);
  expect(resolved.map((m) => m.checks?.listed.map((c) => [c.id, c.resolvedReason]))).toEqual([
    [['BOSUN-IMG-001', 'disabled']],
  ]);
  // The suppression is gone from the configuration: the secret opens as new.
  expect(
    s.notifier
      .of('CHECKS_NEW', digest)
      .at(-1)
      ?.checks?.listed.map((c) => c.secret?.rule),
  ).toEqual(['aws-credentials-file']);
}, 60_000);

it('puts no planted secret value in any stored item, object or message', async () => {
  const s = setup();
  await scanImage(push('push-1'), s.deps());
  const items = await s.findingsTable.query(`DIGEST#${digest}`);
  expect(items.some((i) => String(i.sk).startsWith('CHECK#'))).toBe(true);
  const everything = [
    JSON.stringify(items),
    ...s.objects.values(),
    JSON.stringify(s.notifier.sent),
  ].join('\n');
  for (const value of PLANTED) expect(everything.includes(value), value).toBe(false);
}, 60_000);
