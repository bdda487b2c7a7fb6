/**
 * Step: is there anything to do? A digest deleted from every repository since is not pulled; an
 * inventory a stopped run left retired is deleted; an image already scanned by this analyzer
 * (and not closed since) is unchanged, so a redelivered push does nothing.
 */
import { retireInventory } from '../commit.js';
import type { ScanRun, ScanStep } from './run.js';

export const checkScanned: ScanStep = async (run: ScanRun) => {
  const { deps, digest } = run;
  run.repositories = await deps.images.repositoriesOf(digest);
  if (run.repositories.length > 0 && run.repositories.every((r) => r.deletedAt !== undefined))
    return { status: 'deleted', messages: 0 };
  const image = await retireInventory(deps, await deps.images.getImage(digest));
  run.image = image;
  if (
    image !== undefined &&
    (image.status === 'COMPLETE' || image.status === 'UNSUPPORTED') &&
    image.analyzerVersion === run.analyzerVersion &&
    image.scanId === run.scanId &&
    image.lastCommit?.kind !== 'deleted' &&
    image.lastCommit?.kind !== 'out-of-window'
  )
    return { status: 'unchanged', messages: 0 };
  return undefined;
};
