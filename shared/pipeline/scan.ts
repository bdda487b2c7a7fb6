/**
 * The scan use case: one ScanRequest (an ECR event or a registry notification) in; the image
 * pulled by digest, inventoried (layer results cached), matched, and recorded: image record,
 * tags and tag moves, inventory with its reverse index, findings with their lifecycle, report
 * and SBOM; then the changes announced.
 *
 * Crash safety and idempotency: work on a digest holds its lease; the inventory is written
 * under a scan id derived from the digest and the analyzer (a retry rewrites the same items);
 * findings are written as a new generation that the image record commits in one conditional
 * write; announcements follow the committed state and are deduplicated per change. A run that
 * stops anywhere is finished by the next delivery; a duplicate of a completed scan does nothing.
 */
import { createHash } from 'node:crypto';
import type { BosunError } from '../errors.js';
import type { ScanRequest } from '../events/scan-request.js';
import { EXTRACTOR_SET_ID } from '../extractors/registry.js';
import { pushedKind } from '../image/select.js';
import { type Image, type ImageSet, platformString } from '../image/types.js';
import { buildInventory, type Inventory, matchablePackages } from '../inventory/inventory.js';
import { LayerError } from '../layers/errors.js';
import type { LayerLimits } from '../layers/limits.js';
import type { LayerCache } from '../layers/walk.js';
import { matchPackages } from '../matcher/match.js';
import { buildMessage, dedupeKey } from '../notifications/message.js';
import {
  DigestMismatchError,
  InvalidReferenceError,
  ManifestError,
  NotFoundError,
  UnsupportedMediaTypeError,
} from '../registry/errors.js';
import { toCycloneDx } from '../sbom/cyclonedx.js';
import type { ImageRecord } from '../stores/image-store.js';
import {
  announcePending,
  closeAllFindings,
  imageContext,
  nowOf,
  type PipelineDeps,
  saveImage,
  sendOnce,
  splitRepository,
  suppressionsFor,
  withImageLease,
} from './context.js';
import { draftsOf, planGeneration } from './lifecycle.js';

/** Bosun's release and its extractor set: a scan by another analyzer version is redone. */
export const ANALYZER_VERSION = `0.1.0+${createHash('sha256').update(EXTRACTOR_SET_ID).digest('hex').slice(0, 12)}`;

export interface ScanDeps extends PipelineDeps {
  /** Reads the image a request names (by digest) from its registry. */
  openImage(request: ScanRequest): Promise<ImageSet>;
  readonly layerCache?: LayerCache;
  readonly layerLimits?: Partial<LayerLimits>;
}

export type ScanOutcome =
  | { readonly status: 'scanned'; readonly findings: number; readonly messages: number }
  | { readonly status: 'unchanged' | 'index' | 'skipped' | 'deleted'; readonly messages: number }
  | {
      readonly status: 'failed' | 'unsupported';
      readonly reason: string;
      readonly messages: number;
    };

/** Errors that say the image itself cannot be scanned: retrying the message cannot help. */
function isImageProblem(error: unknown): error is BosunError {
  return (
    error instanceof LayerError ||
    error instanceof DigestMismatchError ||
    error instanceof ManifestError ||
    error instanceof UnsupportedMediaTypeError ||
    error instanceof InvalidReferenceError ||
    error instanceof NotFoundError
  );
}

/** The inventory's scan id: the same image read by the same analyzer always gets the same. */
export function scanIdOf(digest: string, analyzerVersion: string): string {
  return createHash('sha256')
    .update(`${digest}\u0000${analyzerVersion}`)
    .digest('hex')
    .slice(0, 16);
}

/** Which delivery of the request this is: the last one fails the scan rather than retry it. */
export interface ScanAttempt {
  readonly receives: number;
  readonly final: boolean;
}

/**
 * The attempt an SQS delivery is: its ApproximateReceiveCount against the queue's
 * maxReceiveCount (after that delivery the message goes to the dead-letter queue).
 */
export function scanAttempt(
  receiveCount: string | undefined,
  maxReceives: number | undefined,
): ScanAttempt {
  const receives = Math.max(1, Number.parseInt(receiveCount ?? '', 10) || 1);
  return { receives, final: maxReceives !== undefined && receives >= maxReceives };
}

export async function scanImage(
  request: ScanRequest,
  deps: ScanDeps,
  attempt: ScanAttempt = { receives: 1, final: false },
): Promise<ScanOutcome> {
  const repository = `${request.registry}/${request.repository}`;
  const { digest } = request;
  if (request.action === 'DELETE') return deleteImage(deps, digest, repository, request.eventTime);

  const move =
    request.tag === undefined
      ? undefined
      : ((await deps.images.recordPush(digest, repository, request.tag, request.eventTime)) ??
        // A redelivered push: the move it recorded the first time, if it recorded one.
        (await deps.images.moveOf(repository, request.tag, digest, request.eventTime)));
  let messages = 0;
  if (request.tag === undefined)
    await deps.images.recordPush(digest, repository, undefined, request.eventTime);
  if (move?.previousDigest !== undefined) {
    const image = await deps.images.getImage(digest);
    const tagMove = {
      repository: splitRepository(repository).name,
      tag: move.tag,
      digest,
      previousDigest: move.previousDigest,
      movedAt: move.movedAt,
    };
    const sent = await sendOnce(
      deps,
      buildMessage({
        eventType: 'TAG_MOVED',
        dedupeKey: dedupeKey('TAG_MOVED', digest, [
          repository,
          move.tag,
          move.previousDigest,
          move.movedAt,
        ]),
        occurredAt: move.movedAt,
        trigger: 'push',
        image: await imageContext(deps, digest, image),
        findings: [],
        tagMove,
      }),
    );
    if (sent) messages++;
  }

  // Indexes and artifacts are recorded (tags, moves) but not scanned.
  const pushed = pushedKind(request);
  if (pushed.kind !== 'image')
    return { status: pushed.kind === 'index' ? 'index' : 'skipped', messages };

  return withImageLease(deps, digest, async () => {
    messages += (await announcePending(deps, digest)).sent;
    const outcome = await scanLeased(request, deps, attempt);
    return { ...outcome, messages: messages + outcome.messages };
  });
}

async function scanLeased(
  request: ScanRequest,
  deps: ScanDeps,
  attempt: ScanAttempt,
): Promise<ScanOutcome> {
  const { digest } = request;
  const analyzerVersion = deps.analyzerVersion ?? ANALYZER_VERSION;
  const scanId = scanIdOf(digest, analyzerVersion);
  let image = await deps.images.getImage(digest);
  // A late or redelivered push of a digest since deleted from every repository: nothing to pull.
  const repos = await deps.images.repositoriesOf(digest);
  if (repos.length > 0 && repos.every((r) => r.deletedAt !== undefined))
    return { status: 'deleted', messages: 0 };
  image = await retireInventory(deps, image);
  if (
    image !== undefined &&
    (image.status === 'COMPLETE' || image.status === 'UNSUPPORTED') &&
    image.analyzerVersion === analyzerVersion &&
    image.scanId === scanId &&
    image.lastCommit?.kind !== 'deleted' &&
    image.lastCommit?.kind !== 'out-of-window'
  )
    return { status: 'unchanged', messages: 0 };
  const now = nowOf(deps).toISOString();
  const committed = image?.findingsGeneration ?? 0;
  const generation = committed + 1;
  // Marks the run, and the generation it may leave half-written, before anything else is written.
  const inProgress = {
    ...(image ?? {}),
    digest,
    status: 'IN_PROGRESS' as const,
    pendingGeneration: generation,
  };
  // What an ending without findings puts back: an earlier stopped run's mark, or none.
  const pendingBefore =
    image?.pendingGeneration === undefined ? {} : { pendingGeneration: image.pendingGeneration };
  image = await saveImage(deps, inProgress, image);
  const { pendingGeneration: _p, ...unmarked } = image;
  // The record an ending without findings writes: this run's mark taken back.
  const ended = { ...unmarked, ...pendingBefore };

  let target: Image | undefined;
  let inventory: Inventory;
  try {
    const set = await deps.openImage(request);
    target = set.images.find((i) => i.manifestDigest === digest);
    if (target === undefined) {
      // An index (each platform manifest has its own push event and scan), or an artifact.
      const reason =
        set.images.length > 0
          ? `${digest} is an image index (${set.images.length} platform images); its platform manifests are scanned on their own`
          : `${digest} is not an image: ${set.skipped.map((k) => k.reason).join('; ') || 'no image manifest'}`;
      await saveImage(deps, { ...ended, status: 'UNSUPPORTED', reason, analyzerVersion }, image);
      return set.images.length > 0
        ? { status: 'index', messages: 0 }
        : { status: 'unsupported', reason, messages: 0 };
    }
    inventory = await buildInventory(target, {
      ...(deps.layerCache === undefined ? {} : { cache: deps.layerCache }),
      ...(deps.layerLimits === undefined ? {} : { limits: deps.layerLimits }),
    });
  } catch (error) {
    // What could be transient is retried (the message comes back) until the last delivery.
    if (!isImageProblem(error) && !attempt.final) throw error;
    const reason = isImageProblem(error) ? error.message : gaveUp(attempt, error);
    return failScan(deps, ended, image, reason, analyzerVersion, now);
  }
  if (!inventory.complete) {
    // A registry that failed mid-transfer is retried like that; a bad layer is the image's
    // problem, and final.
    const transient = inventory.layerErrors.find((e) => !isImageProblem(e));
    if (transient !== undefined && !attempt.final) throw transient;
    const first = inventory.issues.find((i) => i.location.startsWith('layer '));
    const reason =
      transient !== undefined
        ? gaveUp(attempt, transient)
        : `${first?.location ?? 'a layer'} could not be read: ${first?.message ?? 'unknown error'}`;
    return failScan(deps, ended, image, reason, analyzerVersion, now);
  }

  const packages = matchablePackages(inventory);
  const result = await matchPackages(packages, deps.advisories);
  const repositories = repos
    .filter((r) => r.deletedAt === undefined)
    .map((r) => splitRepository(r.repository).name);
  const drafts = draftsOf(
    digest,
    result.findings,
    await suppressionsFor(deps, digest, repositories),
    repositories,
    Date.parse(now),
  );
  await deps.inventories.putInventory(
    {
      digest,
      scanId,
      ...(inventory.os?.ecosystem === undefined ? {} : { os: inventory.os.ecosystem }),
      packageCount: packages.length,
      extractors: EXTRACTOR_SET_ID,
      committedAt: now,
    },
    packages,
  );
  const plan = planGeneration({
    digest,
    stored: await deps.findings.stored(digest),
    committed,
    generation,
    observed: drafts,
    closeReason: () => 'fixed',
    touchUnchanged: true,
    now,
  });
  await deps.findings.write(plan.writes);
  await deps.findings.remove(plan.removes);

  const unsupported = inventory.os === undefined && inventory.packages.length === 0;
  const platform = platformString(target.platform);
  const os = inventory.os?.prettyName ?? inventory.os?.ecosystem;
  const reportKey = `reports/${digest}/${generation}/report.json`;
  const sbomKey = `reports/${digest}/${generation}/sbom.cdx.json`;
  if (deps.reports !== undefined) {
    const tool = { name: 'bosun', version: analyzerVersion };
    await deps.reports.put(
      reportKey,
      JSON.stringify({
        version: 1,
        digest,
        platform,
        os,
        analyzerVersion,
        scannedAt: now,
        packages: inventory.packages.length,
        issues: [...inventory.issues, ...result.issues],
        findings: plan.writes.filter((f) => f.status !== 'CLOSED').map(({ prior: _p, ...f }) => f),
      }),
      'application/json',
    );
    await deps.reports.put(
      sbomKey,
      toCycloneDx(target, inventory, tool, new Date(now), result.findings),
      'application/vnd.cyclonedx+json',
    );
  }
  const current = image as ImageRecord;
  const retired =
    current.scanId !== undefined && current.scanId !== scanId ? current.scanId : undefined;
  const { reason: _reason, ...rest } = current;
  const committedImage = await saveImage(
    deps,
    {
      ...rest,
      status: unsupported ? 'UNSUPPORTED' : 'COMPLETE',
      ...(unsupported ? { reason: 'no supported operating system or package was found' } : {}),
      ...(target.configDigest === undefined ? {} : { configDigest: target.configDigest }),
      platform,
      ...(os === undefined ? {} : { os }),
      layers: target.layers.flatMap((l) => (l.digest === undefined ? [] : [l.digest])),
      analyzerVersion,
      scanId,
      findingsGeneration: generation,
      lastCommit: { generation, kind: 'scan', at: now },
      ...(deps.reports === undefined ? {} : { reportKey, sbomKey }),
      ...(retired === undefined ? {} : { retiredScanId: retired }),
      firstScannedAt: current.firstScannedAt ?? now,
      lastScannedAt: now,
    },
    current,
  );
  await retireInventory(deps, committedImage);
  const messages = (await announcePending(deps, digest)).sent;
  return unsupported
    ? { status: 'unsupported', reason: 'no supported operating system or package', messages }
    : {
        status: 'scanned',
        findings: drafts.filter((d) => d.status === 'ACTIVE').length,
        messages,
      };
}

/**
 * Deletes the inventory a newer scan replaced (left behind if a run stopped after its commit);
 * returns the image record as it then is.
 */
async function retireInventory(
  deps: PipelineDeps,
  image: ImageRecord | undefined,
): Promise<ImageRecord | undefined> {
  if (image?.retiredScanId === undefined) return image;
  await deps.inventories.deleteInventory(image.digest, image.retiredScanId);
  const { retiredScanId: _r, ...rest } = image;
  return saveImage(deps, rest, image);
}

/** The reason recorded when the last delivery of a request fails on what could be transient. */
function gaveUp(attempt: ScanAttempt, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `gave up after ${attempt.receives} attempts: ${message}`;
}

/**
 * Records a scan that cannot succeed, with the reason, and announces it once. The committed
 * inventory and findings of an earlier scan stay as they are.
 */
async function failScan(
  deps: ScanDeps,
  record: Omit<ImageRecord, 'revision'>,
  image: ImageRecord,
  reason: string,
  analyzerVersion: string,
  now: string,
): Promise<ScanOutcome> {
  await saveImage(
    deps,
    { ...record, status: 'FAILED', reason, analyzerVersion, lastScannedAt: now },
    image,
  );
  const sent = await sendOnce(
    deps,
    buildMessage({
      eventType: 'SCAN_FAILED',
      dedupeKey: dedupeKey('SCAN_FAILED', image.digest, [analyzerVersion, reason]),
      occurredAt: now,
      trigger: 'push',
      image: await imageContext(deps, image.digest, image),
      findings: [],
      failure: { reason },
    }),
  );
  return { status: 'failed', reason, messages: sent ? 1 : 0 };
}

/**
 * An image deleted from a repository: the digest loses its tags there; once it is gone from
 * every repository it was pushed to, its findings close (reason `image-deleted`).
 */
async function deleteImage(
  deps: PipelineDeps,
  digest: string,
  repository: string,
  deletedAt: string,
): Promise<ScanOutcome> {
  await deps.images.markDeleted(digest, repository, deletedAt);
  const repos = await deps.images.repositoriesOf(digest);
  // Unknown here (pushed before Bosun was deployed), or still in another repository.
  if (repos.length === 0 || repos.some((r) => r.deletedAt === undefined))
    return { status: 'deleted', messages: 0 };
  return withImageLease(deps, digest, async () => {
    const before = await announcePending(deps, digest);
    // A push may have brought the digest back while this run waited for the lease.
    if ((await deps.images.repositoriesOf(digest)).some((r) => r.deletedAt === undefined))
      return { status: 'deleted', messages: before.sent };
    const closed =
      before.image === undefined
        ? 0
        : await closeAllFindings(deps, before.image, 'deleted', 'image-deleted');
    return { status: 'deleted', messages: before.sent + closed };
  });
}
