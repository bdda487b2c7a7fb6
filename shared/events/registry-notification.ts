/**
 * Push notifications of a CNCF distribution registry
 * (https://distribution.github.io/distribution/about/notifications/): an envelope of events,
 * each naming an action (`push`, `pull`, `delete`, `mount`) on a target (a manifest or a blob).
 * Manifest pushes and deletes become ScanRequests; blobs, pulls, mounts, cosign signature /
 * attestation / SBOM tags and OCI artifact manifests do not.
 */
import * as z from 'zod';
import { isCosignArtifactTag } from '../image/select.js';
import { MediaType } from '../registry/media-types.js';
import { parseJsonEvent } from './parse.js';
import type { ScanRequest } from './scan-request.js';

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a sha256 digest');
// Distribution's reference grammar (https://github.com/distribution/reference/blob/main/reference.go):
// path components of lowercase alphanumerics joined by `.`, `_`, `__` or dashes; tags of word
// characters, `.` and `-`.
const repository = z
  .string()
  .max(255)
  .regex(
    /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/,
    'a repository name',
  );
const tag = z.string().regex(/^[\w][\w.-]{0,127}$/, 'a tag');

const event = z.object({
  id: z.string().min(1),
  timestamp: z.string().min(1),
  action: z.string().min(1),
  target: z.object({
    mediaType: z.string().optional(),
    digest: digest.optional(),
    repository,
    tag: tag.optional(),
  }),
  request: z.object({ host: z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'host[:port]') }),
});

export const registryNotification = z.object({ events: z.array(event).max(1000) });
export type RegistryNotification = z.infer<typeof registryNotification>;

/** Manifests a push of an image (or of a multi-platform image) produces. */
const IMAGE_MANIFESTS: ReadonlySet<string> = new Set([
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
]);

export interface IngestResult {
  readonly requests: ScanRequest[];
  /** Events that asked for no scan, with the reason (for the log). */
  readonly skipped: { readonly id: string; readonly reason: string }[];
}

/**
 * The scan requests of one envelope, each (action, digest, tag) once: a registry may notify
 * the same manifest push more than once within an envelope (a push by tag and by digest).
 *
 * `registries`: the registry hosts this webhook serves. An event names its registry by the Host
 * header of whoever pushed, which the pusher controls: without this list a push could point
 * the scanner at any host (an internal address, another registry).
 */
export function scanRequestsFromNotification(
  envelope: RegistryNotification,
  registries?: ReadonlySet<string>,
): IngestResult {
  const requests: ScanRequest[] = [];
  const skipped: IngestResult['skipped'] = [];
  const seen = new Set<string>();
  for (const e of envelope.events) {
    const skip = (reason: string) => skipped.push({ id: e.id, reason });
    const { target } = e;
    if (e.action !== 'push' && e.action !== 'delete') {
      skip(`action ${e.action}`);
      continue;
    }
    if (target.digest === undefined) {
      skip('no digest');
      continue;
    }
    if (e.action === 'push' && !IMAGE_MANIFESTS.has(target.mediaType ?? '')) {
      skip(`not an image manifest (${target.mediaType ?? 'no media type'})`);
      continue;
    }
    if (isCosignArtifactTag(target.tag)) {
      skip(`signature, attestation or SBOM tag ${target.tag}`);
      continue;
    }
    if (registries !== undefined && !registries.has(e.request.host)) {
      skip(`registry ${e.request.host} is not one this webhook serves`);
      continue;
    }
    const action = e.action === 'push' ? 'PUSH' : 'DELETE';
    const key = `${action}\u0000${target.repository}\u0000${target.digest}\u0000${target.tag ?? ''}`;
    if (seen.has(key)) {
      skip('duplicate in this envelope');
      continue;
    }
    seen.add(key);
    requests.push({
      action,
      registry: e.request.host,
      repository: target.repository,
      digest: target.digest,
      ...(target.tag === undefined ? {} : { tag: target.tag }),
      ...(target.mediaType === undefined ? {} : { manifestMediaType: target.mediaType }),
      eventTime: e.timestamp,
      eventId: e.id,
    });
  }
  return { requests, skipped };
}

/** Parses an envelope body; throws InvalidEventError naming the bad field. */
export function parseRegistryNotification(body: string): RegistryNotification {
  return parseJsonEvent(registryNotification, 'registry notification', body);
}
