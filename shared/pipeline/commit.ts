/**
 * The one way a findings generation becomes visible, for scans, rescans and closings alike
 * (docs/data-model.md, findings generations):
 *
 * 1. `writeGeneration`: the image record is marked with the pending generation (unless the run
 *    marked it already), then the generation's items are written and an earlier stopped
 *    attempt's leftovers removed. Readers still resolve every item against the committed
 *    generation, so none of this is visible yet, and the next run undoes or redoes it.
 * 2. `commitGeneration`: one conditional write of the image record moves `findingsGeneration`;
 *    then the inventory the commit replaced is deleted and the changes are announced.
 *
 * A run stopped between any two of these writes is finished by the next delivery: it finds the
 * mark (and replans from what is stored) or the commit (and only announces).
 */

import type { FindingRecord, StoredFinding } from '../stores/findings-store.js';
import type { ImageRecord } from '../stores/image-store.js';
import { announcePending } from './announce.js';
import { nowOf, type PipelineDeps, saveImage } from './context.js';
import { planGeneration } from './lifecycle.js';

export interface GenerationWrites {
  readonly writes: readonly StoredFinding[];
  readonly removes: readonly FindingRecord[];
}

export type CommitKind = NonNullable<ImageRecord['lastCommit']>['kind'];

export interface Commit {
  readonly generation: number;
  readonly kind: CommitKind;
  readonly at: string;
}

/** Marks the image with a generation about to be written; returns the record as stored. */
export function markPending(
  deps: PipelineDeps,
  image: ImageRecord,
  generation: number,
  changes: Partial<Omit<ImageRecord, 'revision'>> = {},
): Promise<ImageRecord> {
  return saveImage(deps, { ...image, ...changes, pendingGeneration: generation }, image);
}

/** Step 1: the pending generation's items, written under the image's mark. */
export async function writeGeneration(
  deps: PipelineDeps,
  image: ImageRecord,
  generation: number,
  plan: GenerationWrites,
): Promise<ImageRecord> {
  const marked =
    image.pendingGeneration === generation ? image : await markPending(deps, image, generation);
  await deps.findings.write(plan.writes);
  await deps.findings.remove(plan.removes);
  return marked;
}

/**
 * Step 2: commits the written generation with one conditional write of the image record (as
 * `update` makes it from the marked record), deletes a replaced inventory and announces.
 * Returns the number of messages sent.
 */
export async function commitGeneration(
  deps: PipelineDeps,
  marked: ImageRecord,
  commit: Commit,
  update: (marked: ImageRecord) => Omit<ImageRecord, 'revision'> = (m) => m,
): Promise<number> {
  const record = { ...update(marked), findingsGeneration: commit.generation, lastCommit: commit };
  await retireInventory(deps, await saveImage(deps, record, marked));
  return (await announcePending(deps, marked.digest)).sent;
}

/** Both steps, for runs that have nothing else to write in between (rescans, closings). */
export async function writeAndCommit(
  deps: PipelineDeps,
  image: ImageRecord,
  plan: GenerationWrites,
  commit: Commit,
  update?: (marked: ImageRecord) => Omit<ImageRecord, 'revision'>,
): Promise<number> {
  const marked = await writeGeneration(deps, image, commit.generation, plan);
  return commitGeneration(deps, marked, commit, update);
}

/**
 * Deletes the inventory a newer scan replaced (left behind if a run stopped after its commit);
 * returns the image record as it then is.
 */
export async function retireInventory(
  deps: PipelineDeps,
  image: ImageRecord | undefined,
): Promise<ImageRecord | undefined> {
  if (image?.retiredScanId === undefined) return image;
  await deps.inventories.deleteInventory(image.digest, image.retiredScanId);
  const { retiredScanId: _r, ...rest } = image;
  return saveImage(deps, rest, image);
}

/**
 * Closes every open finding of an image in one generation (deleted, or out of the rescan
 * window) and announces it. Nothing but the commit kind is written when nothing is open.
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
  return writeAndCommit(deps, image, plan, { generation, kind, at: now });
}
