import { describe, expect, it } from 'vitest';
import {
  cosignSubjectOf,
  isCosignArtifactTag,
  skipReasonForDescriptor,
  skipReasonForManifest,
} from '../../../shared/image/select.js';
import type { ImageManifest } from '../../../shared/registry/manifest.js';
import { MediaType } from '../../../shared/registry/media-types.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (config: string, layers: string[], artifactType?: string): ImageManifest => ({
  kind: 'image',
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: config, digest: d('a'), size: 2 },
  layers: layers.map((mediaType, i) => ({ mediaType, digest: d(String(i)), size: 1 })),
  ...(artifactType === undefined ? {} : { artifactType }),
});

describe('what is scanned as an image', () => {
  it('recognises cosign signature, attestation and SBOM tags', () => {
    expect(isCosignArtifactTag(`sha256-${'a'.repeat(64)}.sig`)).toBe(true);
    expect(isCosignArtifactTag(`sha256-${'a'.repeat(64)}.att`)).toBe(true);
    expect(isCosignArtifactTag(`sha256-${'a'.repeat(64)}.sbom`)).toBe(true);
    expect(isCosignArtifactTag('v1.2.3')).toBe(false);
    // The digest such a tag is about: what a signature pushed after its image verifies again.
    expect(cosignSubjectOf(`sha256-${'a'.repeat(64)}.att`)).toBe(`sha256:${'a'.repeat(64)}`);
    expect(cosignSubjectOf(`sha256-${'a'.repeat(64)}`)).toBeUndefined();
    expect(isCosignArtifactTag(undefined)).toBe(false);
  });

  it('skips BuildKit attestation manifests and non-image index entries', () => {
    const base = { mediaType: MediaType.ociManifest, digest: d('b'), size: 1 };
    expect(
      skipReasonForDescriptor({
        ...base,
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      }),
    ).toBe('attestation manifest');
    expect(
      skipReasonForDescriptor({ ...base, platform: { os: 'unknown', architecture: 'unknown' } }),
    ).toMatch(/attestation/);
    expect(skipReasonForDescriptor({ ...base, artifactType: 'application/spdx+json' })).toBe(
      'artifact of type application/spdx+json',
    );
    expect(
      skipReasonForDescriptor({ ...base, mediaType: 'application/vnd.example.thing' }),
    ).toMatch(/not an image manifest/);
    expect(
      skipReasonForDescriptor({ ...base, platform: { os: 'linux', architecture: 'amd64' } }),
    ).toBeUndefined();
  });

  it('skips signatures and SBOM artifacts by config type, artifact type or layer types', () => {
    expect(
      skipReasonForManifest(manifest('application/vnd.dev.cosign.artifact.sig.v1+json', [])),
    ).toMatch(/config of type/);
    expect(
      skipReasonForManifest(
        manifest(MediaType.ociEmpty, ['application/spdx+json'], 'application/spdx+json'),
      ),
    ).toMatch(/artifact of type/);
    expect(
      skipReasonForManifest(
        manifest(MediaType.ociConfig, ['application/vnd.dev.cosign.simplesigning.v1+json']),
      ),
    ).toBe('artifact with layers of type application/vnd.dev.cosign.simplesigning.v1+json');
    expect(
      skipReasonForManifest(manifest(MediaType.dockerConfig, [MediaType.dockerLayerGzip])),
    ).toBeUndefined();
  });
});
