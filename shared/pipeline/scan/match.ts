/**
 * Step: the inventory's matchable packages against the advisories, and the findings as drafts
 * (ACTIVE, or SUPPRESSED by a suppression of the image's live repositories, its digest or all).
 */
import { matchablePackages } from '../../inventory/inventory.js';
import { matchPackages } from '../../matcher/match.js';
import { splitRepository, suppressionsFor } from '../context.js';
import { draftsOf } from '../lifecycle.js';
import { need, type ScanRun, type ScanStep } from './run.js';

export const matchInventory: ScanStep = async (run: ScanRun) => {
  const { deps, digest } = run;
  run.packages = matchablePackages(need(run.inventory, 'the inventory'));
  run.match = await matchPackages(run.packages, deps.advisories);
  const live = need(run.repositories, 'the repositories')
    .filter((r) => r.deletedAt === undefined)
    .map((r) => splitRepository(r.repository).name);
  run.drafts = draftsOf(
    digest,
    run.match.findings,
    await suppressionsFor(deps, digest, live),
    live,
    Date.parse(run.now),
  );
  return undefined;
};
