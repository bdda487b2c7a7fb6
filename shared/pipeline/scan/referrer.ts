/**
 * A signature or attestation pushed after its image: not scanned as an image, but its subject's
 * provenance is decided again for the repository it was pushed to (trigger `signature`).
 *
 * The subject is named by cosign's tag (`sha256-<hex>.sig`, `.att`, `.sbom`: cosign/specs/
 * SIGNATURE_SPEC.md) or by the artifact manifest's `subject` (OCI image spec v1.1, pushed with
 * the referrers API; read through ScanDeps.subjectOf).
 */
import type { ScanRequest } from '../../events/scan-request.js';
import { cosignSubjectOf } from '../../image/select.js';
import { withImageLease } from '../context.js';
import { verifyAndAnnounce } from '../provenance.js';
import type { ScanAttempt, ScanDeps } from './run.js';

/** The digest a pushed signature or attestation is about, when it names one. */
export async function subjectOfPush(
  request: ScanRequest,
  deps: ScanDeps,
): Promise<string | undefined> {
  const tagged = cosignSubjectOf(request.tag);
  if (tagged !== undefined) return tagged;
  if (deps.provenance === undefined || deps.subjectOf === undefined) return undefined;
  return deps.subjectOf(request);
}

/**
 * Decides the subject's verdict again, if the subject is an image or index Bosun has seen in
 * that repository (one not seen yet gets its verdict when its own push is processed). Returns
 * the number of messages sent.
 */
export async function verifySubject(
  request: ScanRequest,
  subject: string,
  deps: ScanDeps,
  attempt: ScanAttempt,
): Promise<number> {
  const provenance = deps.provenance;
  if (provenance === undefined || subject === request.digest) return 0;
  const repository = `${request.registry}/${request.repository}`;
  const seen =
    (await provenance.store.get(subject, repository)) !== undefined ||
    ((await deps.images.getImage(subject))?.status ?? 'UNSUPPORTED') !== 'UNSUPPORTED';
  const pushedThere = (await deps.images.repositoriesOf(subject)).some(
    (r) => r.repository === repository && r.deletedAt === undefined,
  );
  if (!seen || !pushedThere) return 0;
  return withImageLease(deps, subject, async () => {
    const out = await verifyAndAnnounce(deps, provenance, {
      digest: subject,
      repositories: [repository],
      trigger: 'signature',
      force: true,
      retry: !attempt.final,
    });
    return out.messages;
  });
}
