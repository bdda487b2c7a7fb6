/**
 * Announcing a committed findings generation exactly once per change: every run on a digest
 * calls announcePending first, under the lease, so a run that stopped after its commit is
 * finished by the next one; sendOnce keeps a dedupe record per message.
 */
import {
  buildMessage,
  dedupeKey,
  type EventType,
  type OutgoingMessage,
  type Trigger,
} from '../notifications/message.js';
import { type FindingRecord, findingSortKey, visibleFinding } from '../stores/findings-store.js';
import type { ImageRecord } from '../stores/image-store.js';
import { imageContext, nowOf, type PipelineDeps, saveImage } from './context.js';
import { changesOf } from './lifecycle.js';

/** Publishes a message unless its change was already announced, then records it. */
export async function sendOnce(deps: PipelineDeps, message: OutgoingMessage): Promise<boolean> {
  if (await deps.findings.notified(message.dedupeKey)) return false;
  const id = await deps.notifier.publish(message);
  // A stop between publish and this write is the one way a message goes out twice; it carries
  // the same dedupeKey (body and attribute), so subscribers can drop the copy.
  await deps.findings.markNotified(message.dedupeKey, id, nowOf(deps).toISOString());
  return true;
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
  for (const [eventType, findings] of eventsOf(
    image,
    await deps.findings.stored(digest),
    generation,
  )) {
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
  return {
    sent,
    image: await saveImage(deps, { ...image, announcedGeneration: generation }, image),
  };
}
