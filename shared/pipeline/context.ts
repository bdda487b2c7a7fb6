/**
 * What the scan and rescan use cases share: their ports, the per-image lease that serializes
 * work on one digest, the conditional write of the image record, the image context
 * notifications carry, and the suppressions that apply to an image.
 */
import { randomUUID } from 'node:crypto';
import type { Severity } from '../advisories/severity.js';
import { backoffMs, sleep } from '../concurrency.js';
import { BosunError } from '../errors.js';
import type { ScanRequest } from '../events/scan-request.js';
import type { SecurityHubSink } from '../integrations/security-hub.js';
import type { AdvisoryQuery } from '../matcher/types.js';
import type { NotificationImage, Notifier } from '../notifications/message.js';
import type { FindingsStore, Suppression } from '../stores/findings-store.js';
import type { ImageRecord, ImageStore } from '../stores/image-store.js';
import type { InventoryStore } from '../stores/inventory-store.js';
import type { ProvenanceStore } from '../stores/provenance-store.js';
import type { ReportStore } from '../stores/s3.js';
import type { VexStore } from '../stores/vex-store.js';
import type { WorkloadStore } from '../stores/workload-store.js';
import type { VexStatement } from '../vex/types.js';
import type { ProvenanceDeps } from './provenance.js';

export interface PipelineDeps {
  readonly images: ImageStore;
  readonly inventories: InventoryStore;
  readonly findings: FindingsStore;
  readonly advisories: AdvisoryQuery;
  readonly notifier: Notifier;
  readonly reports?: ReportStore;
  /** Security Hub, when the deployment sends findings there (issue 22, announce.ts). */
  readonly securityHub?: SecurityHubSink;
  /** Provenance verdicts by policy (issue 19); absent when no policy is configured. */
  readonly provenance?: ProvenanceDeps;
  /** The workload inventory and its judgements (issue 20, audit.ts); absent: not audited. */
  readonly audit?: AuditSettings;
  /** VEX documents applied to findings (global and per repository); absent: none. */
  readonly vex?: VexStore;
  readonly analyzerVersion?: string;
  readonly now?: () => Date;
  /** How long a digest's lease lasts; longer than one scan can take. @default 15 minutes */
  readonly leaseMs?: number;
  /** How long to wait for another run's lease on the same digest. @default 60 s */
  readonly leaseWaitMs?: number;
}

export interface AuditSettings {
  readonly workloads: WorkloadStore;
  /** Sends scan requests to the scan queue; absent, RUNNING_UNSCANNED queues nothing. */
  readonly queueScans?: (requests: readonly ScanRequest[]) => Promise<void>;
  /** Findings at or above this make a running image RUNNING_VULNERABLE. @default HIGH */
  readonly minSeverity?: Severity;
  /** Why Bosun cannot pull from a registry host; undefined when it can (audit.ts readableRegistries). */
  readonly unreadable?: (registry: string) => string | undefined;
  /**
   * Provenance verdicts (stores/provenance-store.ts): a running digest whose verdict for its
   * repository fails under `enforce` is RUNNING_UNVERIFIED. Absent: not judged.
   */
  readonly verdicts?: ProvenanceStore;
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
 * VEX statements that can apply to an image of these repositories (none without a VEX store):
 * the global documents' too, unless the caller read those once for many images.
 */
export async function vexFor(
  deps: PipelineDeps,
  repositories: readonly string[],
  global = true,
): Promise<VexStatement[]> {
  if (deps.vex === undefined) return [];
  return deps.vex.statementsFor([...(global ? ['*'] : []), ...repositories]);
}
