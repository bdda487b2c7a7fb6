/**
 * Step: the inventory and its reverse index, under the run's scan id (the same digest read by
 * the same analyzer always writes the same items, so a retry rewrites rather than adds). The
 * image record points at it only when the scan commits.
 */
import { EXTRACTOR_SET_ID } from '../../extractors/registry.js';
import { need, type ScanRun, type ScanStep } from './run.js';

export const writeInventory: ScanStep = async (run: ScanRun) => {
  const inventory = need(run.inventory, 'the inventory');
  const packages = need(run.packages, 'the matchable packages');
  await run.deps.inventories.putInventory(
    {
      digest: run.digest,
      scanId: run.scanId,
      ...(inventory.os?.ecosystem === undefined ? {} : { os: inventory.os.ecosystem }),
      packageCount: packages.length,
      extractors: EXTRACTOR_SET_ID,
      committedAt: run.now,
    },
    packages,
  );
  return undefined;
};
