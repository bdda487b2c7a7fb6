/**
 * Which manifests of an index are images to scan, and which are something else: attestations
 * (BuildKit: https://docs.docker.com/build/metadata/attestations/attestation-storage/),
 * signatures and SBOMs (OCI artifacts, cosign's `sha256-<hex>.sig|.att|.sbom` tags).
 */
import type { Descriptor, ImageManifest } from '../registry/manifest.js';
import { IMAGE_CONFIG_TYPES, layerCompression, MediaType } from '../registry/media-types.js';

// sha256 only: a sha512 digest's tag would pass a tag's 128 characters (discovery.ts cosignTag).
const COSIGN_TAG = /^sha256-([a-f0-9]{64})\.(sig|att|sbom)$/;

export function isCosignArtifactTag(tag: string | undefined): boolean {
  return cosignSubjectOf(tag) !== undefined;
}

/** The digest a cosign signature, attestation or SBOM tag is about, when `tag` is one. */
export function cosignSubjectOf(tag: string | undefined): string | undefined {
  const m = tag === undefined ? null : COSIGN_TAG.exec(tag);
  return m === null ? undefined : `sha256:${m[1]}`;
}

const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);
const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);

/** Why an index entry is not an image to scan, or undefined when it is one. */
export function skipReasonForDescriptor(d: Descriptor): string | undefined {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest')
    return 'attestation manifest';
  if (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
    return 'attestation manifest (platform unknown/unknown)';
  if (INDEX_TYPES.has(d.mediaType)) return undefined;
  if (!MANIFEST_TYPES.has(d.mediaType)) return `not an image manifest (${d.mediaType})`;
  if (d.artifactType !== undefined && !IMAGE_CONFIG_TYPES.has(d.artifactType))
    return `artifact of type ${d.artifactType}`;
  return undefined;
}

/** Why a manifest is not an image (a signature, an SBOM, another OCI artifact), or undefined. */
export function skipReasonForManifest(m: ImageManifest): string | undefined {
  if (m.artifactType !== undefined && !IMAGE_CONFIG_TYPES.has(m.artifactType))
    return `artifact of type ${m.artifactType}`;
  if (!IMAGE_CONFIG_TYPES.has(m.config.mediaType))
    return `artifact with config of type ${m.config.mediaType}`;
  // cosign signatures and attestations use an image config type, but no layer is a filesystem.
  const first = m.layers[0];
  if (first !== undefined && m.layers.every((l) => layerCompression(l.mediaType) === undefined)) {
    return `artifact with layers of type ${first.mediaType}`;
  }
  return undefined;
}

/**
 * What a push event announces, from what the event itself says (ECR's `manifest-media-type` and
 * `artifact-media-type`, a cosign tag): an image to scan, an index (its platform manifests
 * arrive as pushes of their own), or an artifact that is not an image. Unknown stays `image`:
 * the pull finds out.
 */
export function pushedKind(event: {
  readonly tag?: string;
  readonly manifestMediaType?: string;
  readonly artifactMediaType?: string;
}): { readonly kind: 'image' | 'index' | 'artifact'; readonly reason?: string } {
  if (isCosignArtifactTag(event.tag))
    return { kind: 'artifact', reason: `cosign signature, attestation or SBOM tag ${event.tag}` };
  if (event.manifestMediaType !== undefined && INDEX_TYPES.has(event.manifestMediaType))
    return { kind: 'index', reason: `image index (${event.manifestMediaType})` };
  if (event.artifactMediaType !== undefined && !IMAGE_CONFIG_TYPES.has(event.artifactMediaType))
    return { kind: 'artifact', reason: `artifact of type ${event.artifactMediaType}` };
  return { kind: 'image' };
}
