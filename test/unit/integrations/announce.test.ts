/**
 * The announcement with its integrations (issue 22), through the scan and rescan use cases on
 * the embedded stores with a real image (Alpine 3.10 and a real npm lockfile) and the real npm
 * advisories, as scan-use-case.test.ts: every message goes to the topic and to EventBridge,
 * a destination that fails neither loses the other's delivery nor makes a retry send it twice;
 * Security Hub gets the findings a generation changed, and a closed finding ARCHIVED once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanRequest } from '../../../shared/events/scan-request.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { productArnOf } from '../../../shared/integrations/asff.js';
import type { FailedFinding } from '../../../shared/integrations/security-hub.js';
import { EventBridgeNotifier } from '../../../shared/notifications/eventbridge-notifier.js';
import {
  FanOutNotifier,
  NotificationDeliveryError,
} from '../../../shared/notifications/fan-out.js';
import { rescanPackages } from '../../../shared/pipeline/rescan.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import {
  CONCAT_STREAM_ADVISORY,
  MutableAdvisories,
  npmAdvisories,
  RecordingNotifier,
  writeTestImage,
} from '../../support/pipeline.js';
import {
  type Answer,
  fakeEventBridge,
  fakeSecurityHub,
  importOk,
  putEventsOk,
  type SeenCall,
} from './sdk-fakes.js';

const ACCOUNT = '111122223333';
const REGISTRY = `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`;
const work = mkdtempSync(path.join(tmpdir(), 'bosun-integrations-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let layout = '';
let digest = '';

beforeAll(async () => {
  layout = path.join(work, 'app-310');
  digest = (await writeTestImage(layout, 'app-310')).digest;
});

const push = (): ScanRequest => ({
  action: 'PUSH',
  registry: REGISTRY,
  repository: 'team/app',
  digest,
  tag: '1',
  eventTime: new Date().toISOString(),
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

/** Fresh stores; the topic recorded, EventBridge and Security Hub answered as `answers` say. */
function setup(
  answers: {
    events?: (c: SeenCall, i: number) => Answer;
    hub?: (c: SeenCall, i: number) => Answer;
  } = {},
) {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const sns = new RecordingNotifier();
  const events = fakeEventBridge(answers.events ?? putEventsOk);
  const hub = fakeSecurityHub(answers.hub ?? importOk);
  const failed: FailedFinding[] = [];
  const advisories = new MutableAdvisories(npmAdvisories());
  const deps: ScanDeps = {
    images: new ImageStore(EmbeddedItemTable.open(dir, 'images')),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(EmbeddedItemTable.open(dir, 'findings')),
    advisories,
    notifier: new FanOutNotifier([
      { name: 'sns', notifier: sns },
      {
        name: 'events',
        notifier: new EventBridgeNotifier(
          events.client,
          { source: 'bosun' },
          { maxAttempts: 2, baseDelayMs: 1 },
        ),
      },
    ]),
    securityHub: {
      client: hub.client,
      productArn: productArnOf('aws', 'us-west-2', ACCOUNT),
      options: { baseDelayMs: 1 },
      onFailed: (_digest, f) => failed.push(...f),
    },
    openImage: () => new OciLayoutSource(layout, 'latest').images(),
  };
  return { deps, sns, events, hub, failed, advisories };
}

const detailTypes = (seen: readonly SeenCall[]) =>
  seen.flatMap((c) => (c.body.Entries as { DetailType: string }[]).map((e) => e.DetailType));
const imported = (seen: readonly SeenCall[]) =>
  seen.flatMap((c) => c.body.Findings as AwsSecurityFinding[]);

describe('announcing to the topic, EventBridge and Security Hub', { timeout: 120_000 }, () => {
  it('sends every message to both, and the scan findings to Security Hub as ACTIVE records', async () => {
    const { deps, sns, events, hub } = setup();
    await scanImage(push(), deps);
    const types = sns.bodies().map((b) => b.eventType);
    expect(types).toContain('SCAN_COMPLETED');
    expect(types).toContain('FINDINGS_NEW');
    expect(detailTypes(events.seen)).toEqual(
      types.map((t) =>
        t
          .split('_')
          .map((w) => w[0] + w.slice(1).toLowerCase())
          .join(' '),
      ),
    );
    const details = events.seen.map((c) =>
      JSON.parse((c.body.Entries as { Detail: string }[])[0]?.Detail ?? '{}'),
    );
    expect(details.map((d) => d.dedupeKey)).toEqual(sns.bodies().map((b) => b.dedupeKey));

    const findings = imported(hub.seen);
    const active = sns.of('SCAN_COMPLETED')[0]?.summary.total ?? 0;
    expect(active).toBeGreaterThan(0);
    expect(findings).toHaveLength(active);
    expect(hub.seen).toHaveLength(1);
    for (const f of findings) {
      expect(f.RecordState).toBe('ACTIVE');
      expect(f.Resources?.[0]).toMatchObject({
        Type: 'AwsEcrContainerImage',
        Details: {
          AwsEcrContainerImage: {
            RepositoryName: 'team/app',
            ImageDigest: digest,
            ImageTags: ['1'],
          },
        },
      });
    }
    expect(findings.map((f) => f.Vulnerabilities?.[0]?.Id)).toContain(CONCAT_STREAM_ADVISORY);
  });

  it("sends a withdrawn advisory's finding ARCHIVED and RESOLVED once, with the same Id and a later UpdatedAt", async () => {
    const { deps, hub, advisories } = setup();
    await scanImage(push(), deps);
    const before = imported(hub.seen).find(
      (f) => f.Vulnerabilities?.[0]?.Id === CONCAT_STREAM_ADVISORY,
    );
    hub.seen.length = 0;
    await new Promise((r) => setTimeout(r, 5));
    advisories.remove(CONCAT_STREAM_ADVISORY);
    await rescanPackages(withdrawal, deps);
    const after = imported(hub.seen);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({
      Id: before?.Id,
      RecordState: 'ARCHIVED',
      Workflow: { Status: 'RESOLVED' },
    });
    expect(Date.parse(after[0]?.UpdatedAt ?? '')).toBeGreaterThan(
      Date.parse(before?.UpdatedAt ?? ''),
    );
    // Delivered again, and rescanned again: nothing more goes to Security Hub.
    await rescanPackages(withdrawal, deps);
    await rescanPackages(withdrawal, deps);
    expect(imported(hub.seen)).toHaveLength(1);
  });

  it("keeps the topic's deliveries when EventBridge fails, and the retry sends only what EventBridge missed", async () => {
    let down = true;
    const { deps, sns, events } = setup({
      events: (call) =>
        down
          ? {
              body: {
                FailedEntryCount: 1,
                Entries: (call.body.Entries as unknown[]).map(() => ({
                  ErrorCode: 'InternalFailure',
                  ErrorMessage: 'down',
                })),
              },
            }
          : putEventsOk(call),
    });
    const error = await scanImage(push(), deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationDeliveryError);
    // The first message reached the topic; its EventBridge delivery failed, so the run stopped.
    expect(sns.bodies().map((b) => b.eventType)).toEqual(['SCAN_COMPLETED']);
    down = false;
    // The queue delivers the push again: the next run announces what was not announced.
    await scanImage(push(), deps);
    const keys = sns.bodies().map((b) => b.dedupeKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(sns.of('SCAN_COMPLETED')).toHaveLength(1);
    const delivered = events.seen
      .filter((_, i) => i >= 2) // the failed attempts of the first run
      .map(
        (c) => JSON.parse((c.body.Entries as { Detail: string }[])[0]?.Detail ?? '{}').dedupeKey,
      );
    expect(delivered).toEqual(keys);
    await scanImage(push(), deps);
    expect(sns.bodies().map((b) => b.dedupeKey)).toEqual(keys);
    expect(events.seen).toHaveLength(2 + keys.length);
  });

  it('delivers to EventBridge when the topic fails, and the retry sends the topic its message once', async () => {
    const { deps, sns, events } = setup();
    sns.failNext = 1;
    await expect(scanImage(push(), deps)).rejects.toBeInstanceOf(NotificationDeliveryError);
    const toEvents = events.seen.length;
    expect(toEvents).toBeGreaterThan(0);
    await scanImage(push(), deps);
    expect(events.seen.length).toBeGreaterThanOrEqual(toEvents);
    const keys = sns.bodies().map((b) => b.dedupeKey);
    expect(new Set(keys).size).toBe(keys.length);
    const eventKeys = events.seen.map(
      (c) => JSON.parse((c.body.Entries as { Detail: string }[])[0]?.Detail ?? '{}').dedupeKey,
    );
    expect(new Set(eventKeys).size).toBe(eventKeys.length);
    expect(new Set(eventKeys)).toEqual(new Set(keys));
  });

  it('reports findings Security Hub refuses, without holding back the announcement', async () => {
    const { deps, sns, failed } = setup({
      hub: (call) => {
        const sent = call.body.Findings as { Id: string }[];
        return {
          body: {
            FailedCount: sent.length,
            SuccessCount: 0,
            FailedFindings: sent.map((f) => ({
              Id: f.Id,
              ErrorCode: 'InvalidInput',
              ErrorMessage: 'refused',
            })),
          },
        };
      },
    });
    await scanImage(push(), deps);
    expect(failed.length).toBe(sns.of('SCAN_COMPLETED')[0]?.summary.total);
    expect(failed[0]).toMatchObject({ code: 'InvalidInput', message: 'refused' });
  });
});
