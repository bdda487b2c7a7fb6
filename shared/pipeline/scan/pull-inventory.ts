/**
 * Step: the image pulled by digest and inventoried (layer results cached), an RHEL image's
 * content sets resolved to Red Hat's per-repository ecosystems. What could be
 * transient (the registry, a broken-off transfer) is thrown so the message comes back, until
 * the queue's last delivery; what is the image's own problem fails the scan at once.
 */
import { checksCollector } from '../../checks/collect.js';
import { layerFactsOf } from '../../checks/facts.js';
import { checkImage } from '../../checks/image.js';
import { effectiveUser } from '../../checks/user.js';
import { inventoryAndWalk } from '../../inventory/inventory.js';
import { resolveRedHatRepositories } from '../../inventory/redhat-repositories.js';
import { saveImage } from '../context.js';
import { failScan, gaveUp, isImageProblem } from './fail.js';
import { need, type ScanOutcome, type ScanRun, type ScanStep } from './run.js';

export const pullAndInventory: ScanStep = async (run: ScanRun) => {
  const { deps, digest, attempt } = run;
  try {
    const set = await deps.openImage(run.request);
    run.target = set.images.find((i) => i.manifestDigest === digest);
    if (run.target === undefined) {
      // An index (each platform manifest has its own push event and scan), or an artifact.
      const reason =
        set.images.length > 0
          ? `${digest} is an image index (${set.images.length} platform images); its platform manifests are scanned on their own`
          : `${digest} is not an image: ${set.skipped.map((k) => k.reason).join('; ') || 'no image manifest'}`;
      return unsupported(run, reason, set.images.length > 0);
    }
    // One walk for the inventory and the hardening checks: the checks collector reads each
    // layer's candidate files as they stream (its facts cached with the layer), no second pull.
    const read = await inventoryAndWalk(run.target, {
      ...(deps.layerCache === undefined ? {} : { cache: deps.layerCache }),
      ...(deps.layerLimits === undefined ? {} : { limits: deps.layerLimits }),
      collect: checksCollector(),
    });
    // The content sets' ecosystems before matching and before the inventory is stored, so
    // rescans (which read stored packages) match the same ecosystems.
    run.inventory = await resolveRedHatRepositories(read.inventory, deps.repositoryCpes);
    const facts = layerFactsOf(read.walk);
    run.checks = checkImage(run.target, run.inventory, facts);
    // Stored with the checks, for "task-definition user ?? image user" (stores/checks-store.ts).
    run.imageUser = effectiveUser(
      run.target.config.config?.User,
      facts.tree.read('etc/passwd')?.toString('utf8'),
    );
  } catch (error) {
    if (!isImageProblem(error) && !attempt.final) throw error;
    return failScan(run, isImageProblem(error) ? error.message : gaveUp(attempt, error));
  }
  if (run.inventory.complete) return undefined;
  // A registry that failed mid-transfer is retried like that; a bad layer is the image's
  // problem, and final.
  const transient = run.inventory.layerErrors.find((e) => !isImageProblem(e));
  if (transient !== undefined && !attempt.final) throw transient;
  const first = run.inventory.issues.find((i) => i.location.startsWith('layer '));
  return failScan(
    run,
    transient !== undefined
      ? gaveUp(attempt, transient)
      : `${first?.location ?? 'a layer'} could not be read: ${first?.message ?? 'unknown error'}`,
  );
};

/** A digest that is no image to scan: recorded UNSUPPORTED with the reason. */
async function unsupported(run: ScanRun, reason: string, index: boolean): Promise<ScanOutcome> {
  const ended = need(run.ended, 'the unmarked record');
  const image = need(run.image, 'the marked image');
  await saveImage(
    run.deps,
    { ...ended, status: 'UNSUPPORTED', reason, analyzerVersion: run.analyzerVersion },
    image,
  );
  return index ? { status: 'index', messages: 0 } : { status: 'unsupported', reason, messages: 0 };
}
