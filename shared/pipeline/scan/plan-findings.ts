/**
 * Step: the next findings generation planned from the drafts and every stored item (a scan sees
 * the whole image: what it no longer observes closes as fixed), and written under the mark.
 */
import { writeGeneration } from '../commit.js';
import { planGeneration } from '../lifecycle.js';
import { generationOf, need, type ScanRun, type ScanStep } from './run.js';

export const planFindings: ScanStep = async (run: ScanRun) => {
  const { deps, digest } = run;
  const image = need(run.image, 'the marked image');
  const generation = generationOf(run);
  run.plan = planGeneration({
    digest,
    stored: await deps.findings.stored(digest),
    committed: generation - 1,
    generation,
    observed: need(run.drafts, 'the drafts'),
    closeReason: () => 'fixed',
    touchUnchanged: true,
    now: run.now,
  });
  run.image = await writeGeneration(deps, image, generation, run.plan);
  return undefined;
};
