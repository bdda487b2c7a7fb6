/**
 * Step: the digest's provenance verdict for each repository it is pushed to (pipeline/
 * provenance.ts), before anything else is decided, so that a push already scanned (a new tag, a
 * new repository) still gets its verdict. Only signature manifests and blobs are read, never a
 * layer. Announced after the scan's own messages (scan.ts).
 */
import { decideProvenance } from '../provenance.js';
import type { ScanRun, ScanStep } from './run.js';

export const verifyProvenance: ScanStep = async (run: ScanRun) => {
  const { deps, request, digest } = run;
  if (deps.provenance === undefined) return undefined;
  const repositories = (await deps.images.repositoriesOf(digest))
    .filter((r) => r.deletedAt === undefined)
    .map((r) => r.repository);
  const pushedTo = `${request.registry}/${request.repository}`;
  const move =
    request.tag === undefined
      ? undefined
      : await deps.images.moveOf(pushedTo, request.tag, digest, request.eventTime);
  run.provenance = await decideProvenance(deps, deps.provenance, {
    digest,
    repositories,
    trigger: 'push',
    retry: !run.attempt.final,
    ...(move?.previousDigest === undefined
      ? {}
      : {
          tagMove: { repository: pushedTo, tag: move.tag, previousDigest: move.previousDigest },
        }),
  });
  return undefined;
};
