/**
 * The rescan use case (Clair's notifier model): a feed sync names the packages whose advisories
 * changed; the reverse index gives the images whose committed inventories have them; only those
 * packages are re-matched from the stored inventory (no registry pull), the result is diffed
 * against the image's findings, and only the differences are written and announced.
 *
 * Images deleted from every repository are left alone (their findings closed on deletion);
 * images outside the rescan window are not re-matched and their open findings close. The window
 * counts from the last push, or (`windowFrom: 'use'`, Inspector's "last in use") from the later
 * of the last push and the last time a workload ran the image; an image running now is always
 * in it (issue 20).
 */

import { mapLimit } from '../concurrency.js';
import { DEFAULT_RESCAN_WINDOW_DAYS, type RescanWindowFrom } from '../config/env.js';
import { BosunError } from '../errors.js';
import type { RescanMessage } from '../events/rescan.js';
import { latestInstant } from '../instants.js';
import { matchPackages } from '../matcher/match.js';
import { packageKey } from '../stores/advisory-store.js';
import type { FindingRecord, Suppression } from '../stores/findings-store.js';
import type { ImageRecord, RepositoryRecord } from '../stores/image-store.js';
import { inventoryPackageKey } from '../stores/inventory-store.js';
import type { InUse } from '../stores/workload-store.js';
import type { VexStatement } from '../vex/types.js';
import { announcePending } from './announce.js';
import { judgeRunning } from './audit.js';
import { closeAllFindings, writeAndCommit } from './commit.js';
import {
  nowOf,
  type PipelineDeps,
  splitRepository,
  suppressionsFor,
  vexFor,
  withImageLease,
} from './context.js';
import { draftsOf, type GenerationPlan, planGeneration } from './lifecycle.js';

export interface RescanDeps extends PipelineDeps {
  /** Days since an image was last pushed during which it is rescanned; `LIFETIME`: always. */
  readonly windowDays?: number | 'LIFETIME';
  /** What the window counts from: the last push, or the last push or use. @default 'push' */
  readonly windowFrom?: RescanWindowFrom;
  /** Images rescanned at once. @default 16 */
  readonly concurrency?: number;
}

export type ImageRescan = 'changed' | 'unchanged' | 'stale-inventory' | 'deleted' | 'out-of-window';

export interface RescanSummary {
  readonly images: number;
  readonly outcomes: Readonly<Partial<Record<ImageRescan, number>>>;
  readonly messages: number;
}

/** Some images could not be rescanned; the others were. Retrying the message is safe. */
export class RescanIncompleteError extends BosunError {
  readonly fatal = false;
}

/**
 * Whether an image is within the window: pushed within it (its latest push to any repository),
 * or with `from: 'use'` last in use within it; an image in use now always is.
 */
export function inWindow(
  repos: readonly RepositoryRecord[],
  windowDays: number | 'LIFETIME',
  now: Date,
  use?: { readonly from: RescanWindowFrom; readonly inUse: InUse | undefined },
): boolean {
  if (windowDays === 'LIFETIME' || (use?.inUse?.inUseCount ?? 0) > 0) return true;
  const lastUse = use?.from === 'use' ? use.inUse?.lastInUseAt : undefined;
  const latest = latestInstant(...repos.map((r) => r.lastPushedAt ?? r.pushedAt), lastUse);
  if (latest === undefined) return false;
  return now.getTime() - Date.parse(latest) <= windowDays * 86_400_000;
}

/** Identity of a package copy, as findings and inventory packages both know it. */
const copyOf = (key: string, name: string, version: string, location: string | undefined) =>
  `${key}\u0000${name}\u0000${version}\u0000${location ?? ''}`;

export async function rescanPackages(
  message: RescanMessage,
  deps: RescanDeps,
): Promise<RescanSummary> {
  const keys = [...new Set(message.changes.map((c) => packageKey(c.ecosystem, c.name)))];
  const withdrawn = new Set(
    message.changes.filter((c) => c.change === 'withdrawn').flatMap((c) => c.advisoryIds),
  );
  // digest -> (scan ids the index names it under, keys it was found by)
  const affected = new Map<string, { scanIds: Set<string>; keys: Set<string> }>();
  const refs = await mapLimit(keys, 8, (key) => deps.inventories.imagesWithPackage(key));
  keys.forEach((key, i) => {
    for (const ref of refs[i] ?? []) {
      const entry = affected.get(ref.digest) ?? { scanIds: new Set(), keys: new Set() };
      entry.scanIds.add(ref.scanId);
      entry.keys.add(key);
      affected.set(ref.digest, entry);
    }
  });
  // Suppressions and VEX statements of every image, read once per message.
  const global = await deps.findings.suppressions('*');
  const globalVex = await vexFor(deps, [], true);
  const outcomes: Partial<Record<ImageRescan, number>> = {};
  const failures: string[] = [];
  let messages = 0;
  await mapLimit([...affected], deps.concurrency ?? 16, async ([digest, entry]) => {
    try {
      const result = await withImageLease(deps, digest, async () => {
        const before = await announcePending(deps, digest);
        const r = await rescanImage(deps, before.image, entry.scanIds, {
          keys: [...entry.keys],
          withdrawn,
          globalSuppressions: global,
          globalVex,
        });
        // Workloads running it are judged on the new findings (pipeline/audit.ts).
        const judged = r.outcome === 'changed' ? await judgeRunning(deps, digest, 'rescan') : 0;
        return { outcome: r.outcome, messages: before.sent + r.messages + judged };
      });
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
      messages += result.messages;
    } catch (error) {
      failures.push(`${digest}: ${(error as Error).message}`);
    }
  });
  if (failures.length > 0)
    throw new RescanIncompleteError(
      `rescan of ${failures.length} of ${affected.size} images failed: ${failures.slice(0, 5).join('; ')}`,
    );
  return { images: affected.size, outcomes, messages };
}

/** What one rescan message asks of each image. */
interface RescanScope {
  readonly keys: readonly string[];
  readonly withdrawn: ReadonlySet<string>;
  readonly globalSuppressions: readonly Suppression[];
  readonly globalVex: readonly VexStatement[];
}

async function rescanImage(
  deps: RescanDeps,
  image: ImageRecord | undefined,
  indexedScanIds: ReadonlySet<string>,
  scope: RescanScope,
): Promise<{ outcome: ImageRescan; messages: number }> {
  // The index entry belongs to an inventory the image no longer points at.
  if (image?.scanId === undefined || !indexedScanIds.has(image.scanId))
    return { outcome: 'stale-inventory', messages: 0 };
  const live = (await deps.images.repositoriesOf(image.digest)).filter(
    (r) => r.deletedAt === undefined,
  );
  if (live.length === 0) return { outcome: 'deleted', messages: 0 };
  const now = nowOf(deps);
  const use = {
    from: deps.windowFrom ?? 'push',
    inUse: await deps.audit?.workloads.inUse(image.digest),
  };
  if (!inWindow(live, deps.windowDays ?? DEFAULT_RESCAN_WINDOW_DAYS, now, use)) {
    const messages =
      image.lastCommit?.kind === 'out-of-window'
        ? 0
        : await closeAllFindings(deps, image, 'out-of-window', 'out-of-window');
    return { outcome: 'out-of-window', messages };
  }
  const repositories = live.map((r) => splitRepository(r.repository).name);
  const plan = await rematch(deps, image, image.scanId, repositories, scope, now);
  if (plan.writes.length === 0 && plan.removes.length === 0)
    return { outcome: 'unchanged', messages: 0 };
  const at = now.toISOString();
  const generation = (image.findingsGeneration ?? 0) + 1;
  const messages = await writeAndCommit(
    deps,
    image,
    plan,
    { generation, kind: 'rescan', at },
    (marked) => ({ ...marked, lastRescannedAt: at }),
  );
  return { outcome: 'changed', messages };
}

/**
 * The next generation of the findings of the message's packages: those packages re-matched from
 * the stored inventory, against the stored findings of the same package copies.
 */
async function rematch(
  deps: RescanDeps,
  image: ImageRecord,
  scanId: string,
  repositories: readonly string[],
  scope: RescanScope,
  now: Date,
): Promise<GenerationPlan> {
  const { digest } = image;
  const packages = await deps.inventories.packagesWithKeys(digest, scanId, scope.keys);
  const result = await matchPackages(packages, deps.advisories);
  const drafts = draftsOf(
    digest,
    result.findings,
    [...scope.globalSuppressions, ...(await suppressionsFor(deps, digest, repositories, false))],
    repositories,
    now.getTime(),
    [...scope.globalVex, ...(await vexFor(deps, repositories, false))],
  );
  const copies = new Set(
    packages.map((p) => copyOf(inventoryPackageKey(p), p.name, p.version, p.location)),
  );
  const committed = image.findingsGeneration ?? 0;
  // An earlier run may have left part of an uncommitted generation anywhere in the image's
  // findings: then all of them are read, so the plan can undo it.
  const dirty = (image.pendingGeneration ?? 0) > committed;
  const stored = await deps.findings.stored(
    digest,
    dirty ? undefined : [...new Set(packages.map(inventoryPackageKey))],
  );
  return planGeneration({
    digest,
    stored,
    committed,
    generation: committed + 1,
    observed: drafts,
    inScope: (f: FindingRecord) =>
      copies.has(copyOf(f.packageKey, f.packageName, f.installedVersion, f.location)),
    closeReason: (f) =>
      f.advisoryIds.length > 0 && f.advisoryIds.every((id) => scope.withdrawn.has(id))
        ? 'withdrawn'
        : 'advisory-changed',
    touchUnchanged: false,
    now: now.toISOString(),
  });
}
