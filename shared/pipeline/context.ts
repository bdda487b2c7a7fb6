/**
 * What the scan and rescan use cases share: their ports, the per-image lease that serializes
 * work on one digest, the image context notifications carry, and announcing a committed
 * findings generation exactly once per change.
 */
import { randomUUID } from 'node:crypto';
import { backoffMs, sleep } from '../concurrency.js';
import { BosunError } from '../errors.js';
import type { AdvisoryQuery } from '../matcher/types.js';
import {
  buildMessage,
  dedupeKey,
  type EventType,
  type NotificationImage,
  type Notifier,
  type OutgoingMessage,
  type Trigger,
} from '../notifications/message.js';
import {
  type FindingRecord,
  type FindingsStore,
  findingSortKey,
  type Suppression,
  visibleFinding,
} from '../stores/findings-store.js';
import type { ImageRecord, ImageStore } from '../stores/image-store.js';
import type { InventoryStore } from '../stores/inventory-store.js';
import type { ReportStore } from '../stores/s3.js';
import { changesOf, planGeneration } from './lifecycle.js';

export interface PipelineDeps {
  readonly images: ImageStore;
  readonly inventories: InventoryStore;
  readonly findings: FindingsStore;
  readonly advisories: AdvisoryQuery;
  readonly notifier: Notifier;
  readonly reports?: ReportStore;
  readonly analyzerVersion?: string;
  readonly now?: () => Date;
  /** How long a digest's lease lasts; longer than one scan can take. @default 15 minutes */
  readonly leaseMs?: number;
  /** How long to wait for another run's lease on the same digest. @default 60 s */
  readonly leaseWaitMs?: number;
}

/** Another run holds the digest's lease; the message is retried later. */
export class ImageBusyError extends BosunError {
  readonly fatal = false;
}

/** The image record moved under a run that held the lease (a lease expired mid-run). */
export class ImageConflictError extends BosunError {
  readonly fatal = false;
}

export const nowOf = (deps: PipelineDeps) => (deps.now ?? (() => new Date()))();

/** Runs `work` holding the digest's lease, waiting a while for another holder to finish. */
export async function withImageLease<T>(
  deps: PipelineDeps,
  digest: string,
  work: () => Promise<T>,
): Promise<T> {
  const holder = randomUUID();
  const ttl = deps.leaseMs ?? 15 * 60_000;
  const deadline = Date.now() + (deps.leaseWaitMs ?? 60_000);
  for (let attempt = 0; !(await deps.images.acquireLease(digest, holder, ttl)); attempt++) {
    if (Date.now() >= deadline)
      throw new ImageBusyError(`image ${digest} is being scanned by another run; retry later`);
    await sleep(backoffMs(attempt, 100, 2_000));
  }
  try {
    return await work();
  } finally {
    await deps.images.releaseLease(digest, holder);
  }
}

/**
 * Writes the image record if it is still at the revision read, and returns it as stored; a
 * conflict is an error.
 */
export async function saveImage(
  deps: PipelineDeps,
  record: Omit<ImageRecord, 'revision'>,
  current: ImageRecord | undefined,
): Promise<ImageRecord> {
  if (!(await deps.images.putImage(record, current?.revision)))
    throw new ImageConflictError(`image ${record.digest} changed while this run held its lease`);
  return { ...record, revision: (current?.revision ?? 0) + 1 };
}

/** `<registry>/<repository>` split at the registry host. */
export function splitRepository(full: string): { registry: string; name: string } {
  const slash = full.indexOf('/');
  return { registry: full.slice(0, slash), name: full.slice(slash + 1) };
}

/** The image as notifications describe it: where it is pushed and tagged (deletions left out). */
export async function imageContext(
  deps: PipelineDeps,
  digest: string,
  image: ImageRecord | undefined,
): Promise<NotificationImage> {
  const repos = (await deps.images.repositoriesOf(digest)).filter((r) => r.deletedAt === undefined);
  const first = repos[0] === undefined ? undefined : splitRepository(repos[0].repository);
  return {
    digest,
    ...(first === undefined ? {} : { registry: first.registry }),
    repositories: repos.map((r) => splitRepository(r.repository).name),
    tags: repos.flatMap((r) => r.tags.map((t) => `${splitRepository(r.repository).name}:${t}`)),
    ...(image?.platform === undefined ? {} : { platform: image.platform }),
    ...(image?.os === undefined ? {} : { os: image.os }),
  };
}

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
 * Announces the changes of the image's committed findings generation if they were not yet
 * announced: SCAN_COMPLETED after a scan, then FINDINGS_NEW, FINDINGS_RESOLVED and
 * FIX_AVAILABLE when the generation has such changes. Every run on a digest calls it first,
 * under the lease, so a run that stopped after its commit is finished by the next one.
 * Returns the number of messages sent and the image record as it now is.
 */
export async function announcePending(
  deps: PipelineDeps,
  digest: string,
): Promise<{ sent: number; image: ImageRecord | undefined }> {
  const image = await deps.images.getImage(digest);
  const generation = image?.findingsGeneration ?? 0;
  if (image === undefined || generation <= (image.announcedGeneration ?? 0))
    return { sent: 0, image };
  const stored = await deps.findings.stored(digest);
  const changes = changesOf(stored, generation);
  const commit = image.lastCommit;
  const trigger = commit === undefined ? 'push' : TRIGGERS[commit.kind];
  const context = await imageContext(deps, digest, image);
  const occurredAt = commit?.at ?? nowOf(deps).toISOString();
  const report =
    deps.reports === undefined || image.reportKey === undefined
      ? undefined
      : {
          bucket: deps.reports.bucket,
          key: image.reportKey,
          ...(image.sbomKey === undefined ? {} : { sbomKey: image.sbomKey }),
        };
  const events: [EventType, FindingRecord[]][] = [];
  if (commit?.kind === 'scan' && commit.generation === generation) {
    const active = stored
      .flatMap((f) => visibleFinding(f, generation) ?? [])
      .filter((f) => f.status === 'ACTIVE');
    events.push(['SCAN_COMPLETED', active]);
  }
  events.push(
    ['FINDINGS_NEW', changes.added],
    ['FINDINGS_RESOLVED', changes.resolved],
    ['FIX_AVAILABLE', changes.fixAvailable],
  );
  let sent = 0;
  for (const [eventType, findings] of events) {
    if (eventType !== 'SCAN_COMPLETED' && findings.length === 0) continue;
    const parts = [
      `generation:${generation}`,
      ...findings.map((f) => `${findingSortKey(f)}:${f.status}:${f.fixedVersion ?? ''}`),
    ];
    const message = buildMessage({
      eventType,
      dedupeKey: dedupeKey(eventType, digest, parts),
      occurredAt,
      trigger,
      image: context,
      findings,
      ...(report === undefined ? {} : { report }),
    });
    if (await sendOnce(deps, message)) sent++;
  }
  return {
    sent,
    image: await saveImage(deps, { ...image, announcedGeneration: generation }, image),
  };
}

/** Suppressions that can apply to an image: global, per repository, per digest. */
export async function suppressionsFor(
  deps: PipelineDeps,
  digest: string,
  repositories: readonly string[],
  global = true,
): Promise<Suppression[]> {
  const scopes = [...(global ? ['*'] : []), digest, ...repositories];
  return (await Promise.all(scopes.map((s) => deps.findings.suppressions(s)))).flat();
}

/**
 * Commits a planned findings generation of an image and announces it: the image is marked
 * with the pending generation first (a run that stops midway is undone by the next), the
 * findings are written, and one conditional write of the image record commits them.
 */
export async function commitGeneration(
  deps: PipelineDeps,
  image: ImageRecord,
  plan: { readonly writes: readonly FindingRecord[]; readonly removes: readonly FindingRecord[] },
  commit: {
    readonly generation: number;
    readonly kind: NonNullable<ImageRecord['lastCommit']>['kind'];
    readonly at: string;
  },
  extra: Partial<ImageRecord> = {},
): Promise<number> {
  const marked = await saveImage(deps, { ...image, pendingGeneration: commit.generation }, image);
  await deps.findings.write(plan.writes);
  await deps.findings.remove(plan.removes);
  await saveImage(
    deps,
    { ...marked, ...extra, findingsGeneration: commit.generation, lastCommit: commit },
    marked,
  );
  return (await announcePending(deps, image.digest)).sent;
}

/**
 * Closes every open finding of an image in one generation (deleted, or out of the rescan
 * window) and announces it. Nothing is written when nothing is open.
 */
export async function closeAllFindings(
  deps: PipelineDeps,
  image: ImageRecord,
  kind: 'deleted' | 'out-of-window',
  reason: string,
): Promise<number> {
  const committed = image.findingsGeneration ?? 0;
  const generation = committed + 1;
  const now = nowOf(deps).toISOString();
  const plan = planGeneration({
    digest: image.digest,
    stored: await deps.findings.stored(image.digest),
    committed,
    generation,
    observed: [],
    closeReason: () => reason,
    touchUnchanged: false,
    now,
  });
  if (plan.writes.length === 0 && plan.removes.length === 0) {
    if (image.lastCommit?.kind !== kind)
      await saveImage(
        deps,
        { ...image, lastCommit: { generation: committed, kind, at: now } },
        image,
      );
    return 0;
  }
  return commitGeneration(deps, image, plan, { generation, kind, at: now });
}
