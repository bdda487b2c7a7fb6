/**
 * A DELETE request: the digest loses its tags in that repository; once it is gone from every
 * repository it was pushed to, its findings close (reason `image-deleted`), and so do its
 * hardening checks, each change announced once.
 */
import type { ScanRequest } from '../../events/scan-request.js';
import { announcePending } from '../announce.js';
import { judgeRunning } from '../audit.js';
import { reconcileChecks } from '../checks-lifecycle.js';
import { closeAllFindings } from '../commit.js';
import { imageContext, withImageLease } from '../context.js';
import type { ScanDeps, ScanOutcome } from './run.js';

export async function deleteImage(request: ScanRequest, deps: ScanDeps): Promise<ScanOutcome> {
  const { digest } = request;
  await deps.images.markDeleted(
    digest,
    `${request.registry}/${request.repository}`,
    request.eventTime,
  );
  // Workloads still running it are judged RUNNING_DELETED (pipeline/audit.ts).
  const judged = await judgeRunning(deps, digest, 'deleted');
  const repos = await deps.images.repositoriesOf(digest);
  // Unknown here (pushed before Bosun was deployed), or still in another repository.
  if (repos.length === 0 || repos.some((r) => r.deletedAt === undefined))
    return { status: 'deleted', messages: judged };
  return withImageLease(deps, digest, async () => {
    const before = await announcePending(deps, digest);
    // A push may have brought the digest back while this run waited for the lease.
    if ((await deps.images.repositoriesOf(digest)).some((r) => r.deletedAt === undefined))
      return { status: 'deleted', messages: judged + before.sent };
    const closed =
      before.image === undefined
        ? 0
        : await closeAllFindings(deps, before.image, 'deleted', 'image-deleted');
    const checks = await closeImageChecks(deps, digest);
    return { status: 'deleted', messages: judged + before.sent + closed + checks };
  });
}

/** The image's open checks resolved (`image-deleted`) and announced, when it has stored checks. */
async function closeImageChecks(deps: ScanDeps, digest: string): Promise<number> {
  const store = deps.checkStore;
  if (store === undefined || (await store.header(digest)) === undefined) return 0;
  const result = await reconcileChecks(
    {
      checks: store,
      findings: deps.findings,
      notifier: deps.notifier,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    },
    digest,
    [],
    {
      complete: true,
      deleted: true,
      repositories: [],
      image: await imageContext(deps, digest, undefined),
      trigger: 'deleted',
    },
  );
  return result.messages;
}
