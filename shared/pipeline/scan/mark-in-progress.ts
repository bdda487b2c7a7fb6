/**
 * Step: the image is marked IN_PROGRESS with the generation this run may leave half-written,
 * before anything else is written (commit.ts). An ending without findings (failed, index,
 * artifact) writes `run.ended`: the record with this run's mark taken back.
 */
import { markPending } from '../commit.js';
import { saveImage } from '../context.js';
import { generationOf, type ScanRun, type ScanStep } from './run.js';

export const markInProgress: ScanStep = async (run: ScanRun) => {
  const before = run.image;
  const generation = generationOf(run);
  const marked =
    before === undefined
      ? await saveImage(
          run.deps,
          { digest: run.digest, status: 'IN_PROGRESS', pendingGeneration: generation },
          undefined,
        )
      : await markPending(run.deps, before, generation, { status: 'IN_PROGRESS' });
  run.image = marked;
  const { pendingGeneration: _p, ...unmarked } = marked;
  // An earlier stopped run's mark stays: its leftovers are still to be undone.
  run.ended =
    before?.pendingGeneration === undefined
      ? unmarked
      : { ...unmarked, pendingGeneration: before.pendingGeneration };
  return undefined;
};
