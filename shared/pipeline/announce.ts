/**
 * Announcing a committed findings generation exactly once per change: every run on a digest
 * calls announcePending first, under the lease, so a run that stopped after its commit is
 * finished by the next one; sendOnce keeps a dedupe record per message.
 */

import { asffFinding } from '../integrations/asff.js';
import { securityHubChanges } from '../integrations/changes.js';
import { importFindings } from '../integrations/security-hub.js';
import { deliverOnce } from '../notifications/fan-out.js';
import {
  buildMessage,
  dedupeKey,
  type EventType,
  type NotificationImage,
  type OutgoingMessage,
  type Trigger,
} from '../notifications/message.js';
import {
  type FindingRecord,
  findingSortKey,
  type StoredFinding,
  visibleFinding,
} from '../stores/findings-store.js';
import type { ImageRecord } from '../stores/image-store.js';
import { imageContext, nowOf, type PipelineDeps, saveImage } from './context.js';
import { changesOf } from './lifecycle.js';

/**
 * Publishes a message unless its change was already announced, then records it; with a fan-out
 * (the topic and EventBridge), once per destination (notifications/fan-out.ts deliverOnce).
 */
export async function sendOnce(deps: PipelineDeps, message: OutgoingMessage): Promise<boolean> {
  return deliverOnce(deps.notifier, deps.findings, message, nowOf(deps).toISOString());
}

const TRIGGERS: Record<NonNullable<ImageRecord['lastCommit']>['kind'], Trigger> = {
  scan: 'push',
  rescan: 'rescan',
  deleted: 'deleted',
  'out-of-window': 'out-of-window',
};

/**
 * The events a committed generation makes: SCAN_COMPLETED after a scan (always, with the active
 * findings), then FINDINGS_NEW, FINDINGS_RESOLVED, FIX_AVAILABLE and SEVERITY_CHANGED (another
 * effective severity, or newly known exploited) when it has such changes.
 */
function eventsOf(image: ImageRecord, stored: Parameters<typeof changesOf>[0], generation: number) {
  const changes = changesOf(stored, generation);
  const events: [EventType, FindingRecord[]][] = [];
  if (image.lastCommit?.kind === 'scan' && image.lastCommit.generation === generation) {
    const active = stored
      .flatMap((f) => visibleFinding(f, generation) ?? [])
      .filter((f) => f.status === 'ACTIVE');
    events.push(['SCAN_COMPLETED', active]);
  }
  events.push(
    ['FINDINGS_NEW', changes.added],
    ['FINDINGS_RESOLVED', changes.resolved],
    ['FIX_AVAILABLE', changes.fixAvailable],
    ['SEVERITY_CHANGED', changes.rerated],
  );
  return events.filter(([type, findings]) => type === 'SCAN_COMPLETED' || findings.length > 0);
}

/**
 * Announces the changes of the image's committed findings generation if they were not yet
 * announced. Returns the number of messages sent and the image record as it now is.
 */
export async function announcePending(
  deps: PipelineDeps,
  digest: string,
): Promise<{ sent: number; image: ImageRecord | undefined }> {
  const image = await deps.images.getImage(digest);
  const generation = image?.findingsGeneration ?? 0;
  if (image === undefined || generation <= (image.announcedGeneration ?? 0))
    return { sent: 0, image };
  const commit = image.lastCommit;
  const context = await imageContext(deps, digest, image);
  const report =
    deps.reports === undefined || image.reportKey === undefined
      ? undefined
      : {
          bucket: deps.reports.bucket,
          key: image.reportKey,
          ...(image.sbomKey === undefined ? {} : { sbomKey: image.sbomKey }),
        };
  let sent = 0;
  const stored = await deps.findings.stored(digest);
  for (const [eventType, findings] of eventsOf(image, stored, generation)) {
    const parts = [
      `generation:${generation}`,
      ...findings.map((f) => `${findingSortKey(f)}:${f.status}:${f.fixedVersion ?? ''}`),
    ];
    const message = buildMessage({
      eventType,
      dedupeKey: dedupeKey(eventType, digest, parts),
      occurredAt: commit?.at ?? nowOf(deps).toISOString(),
      trigger: commit === undefined ? 'push' : TRIGGERS[commit.kind],
      image: context,
      findings,
      ...(report === undefined ? {} : { report }),
      ...(eventType === 'SCAN_COMPLETED' && image.coverage !== undefined
        ? { coverage: image.coverage }
        : {}),
    });
    if (await sendOnce(deps, message)) sent++;
  }
  await exportToSecurityHub(deps, stored, generation, {
    image: context,
    updatedAt: commit?.at ?? nowOf(deps).toISOString(),
  });
  return {
    sent,
    image: await saveImage(deps, { ...image, announcedGeneration: generation }, image),
  };
}

/**
 * Security Hub (opt-in, issue 22): the findings the generation changed, as ASFF, once per
 * generation. A dedupe record beside the messages' says the generation went out; a stop before
 * it sends the same records again (same Id and UpdatedAt: Security Hub keeps one). Findings it
 * refuses after the retries are reported (`onFailed`), not retried forever.
 */
async function exportToSecurityHub(
  deps: PipelineDeps,
  stored: readonly StoredFinding[],
  generation: number,
  context: { image: NotificationImage; updatedAt: string },
): Promise<void> {
  const sink = deps.securityHub;
  if (sink === undefined) return;
  const digest = context.image.digest;
  const key = `SECURITY_HUB#${digest}#${generation}`;
  if (await deps.findings.notified(key)) return;
  const changed = securityHubChanges(stored, generation);
  if (changed.length > 0) {
    const asff = changed.map((f) => asffFinding(f, { productArn: sink.productArn, ...context }));
    const result = await importFindings(sink.client, asff, sink.options);
    if (result.failed.length > 0) sink.onFailed?.(digest, result.failed);
  }
  await deps.findings.markNotified(key, `${changed.length} findings`, nowOf(deps).toISOString());
}
