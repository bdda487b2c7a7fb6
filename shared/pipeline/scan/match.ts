/**
 * Step: the inventory's matchable packages against the advisories, and the findings as drafts
 * (ACTIVE, or SUPPRESSED by a suppression of the image's live repositories, its digest or all, or
 * by a VEX statement of those repositories or all);
 * and what the advisories cannot say about the image (its coverage gaps).
 */
import { matchablePackages } from '../../inventory/inventory.js';
import { coverageOf } from '../../matcher/coverage.js';
import { matchPackages } from '../../matcher/match.js';
import { splitRepository, suppressionsFor, vexFor } from '../context.js';
import { draftsOf } from '../lifecycle.js';
import { need, type ScanRun, type ScanStep } from './run.js';

export const matchInventory: ScanStep = async (run: ScanRun) => {
  const { deps, digest } = run;
  const inventory = need(run.inventory, 'the inventory');
  run.packages = matchablePackages(inventory);
  run.match = await matchPackages(run.packages, deps.advisories);
  run.coverage = await coverageOf(inventory, deps.advisories, Date.parse(run.now));
  const live = need(run.repositories, 'the repositories')
    .filter((r) => r.deletedAt === undefined)
    .map((r) => splitRepository(r.repository).name);
  run.drafts = draftsOf(
    digest,
    run.match.findings,
    await suppressionsFor(deps, digest, live),
    live,
    Date.parse(run.now),
    await vexFor(deps, live),
  );
  return undefined;
};
