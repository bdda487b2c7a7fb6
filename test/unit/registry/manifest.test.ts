import { describe, expect, it } from 'vitest';
import { ManifestError, UnsupportedMediaTypeError } from '../../../shared/registry/errors.js';
import {
  MANIFEST_MAX_BYTES,
  parseImageConfig,
  parseManifest,
} from '../../../shared/registry/manifest.js';
import { MediaType } from '../../../shared/registry/media-types.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string) => ({ mediaType, digest: d(c), size: 10 });
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('parseManifest', () => {
  it('reads an OCI image manifest by its mediaType field', () => {
    const m = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: desc(MediaType.ociConfig, 'a'),
        layers: [desc(MediaType.ociLayerGzip, 'b')],
      }),
      undefined,
    );
    expect(m.kind).toBe('image');
    expect(m.mediaType).toBe(MediaType.ociManifest);
  });

  it('uses the Content-Type when the document has no mediaType', () => {
    const doc = {
      schemaVersion: 2,
      manifests: [
        { ...desc(MediaType.ociManifest, 'c'), platform: { os: 'linux', architecture: 'arm64' } },
      ],
    };
    const m = parseManifest(bytes(doc), `${MediaType.ociIndex}; charset=utf-8`);
    expect(m).toMatchObject({ kind: 'index', mediaType: MediaType.ociIndex });
    const docker = parseManifest(
      bytes({ schemaVersion: 2, config: desc(MediaType.dockerConfig, 'a'), layers: [] }),
      MediaType.dockerManifest,
    );
    expect(docker).toMatchObject({ kind: 'image', mediaType: MediaType.dockerManifest });
  });

  it('refuses Docker schema 1 with a message saying what to do', () => {
    expect(() =>
      parseManifest(
        bytes({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }),
        MediaType.dockerSchema1Signed,
      ),
    ).toThrow(/schema 1 manifests are deprecated and not supported/);
  });

  it('refuses malformed, oversized and unknown documents with typed errors', () => {
    expect(() => parseManifest(Buffer.from('{"schemaVersion": 2,'), MediaType.ociManifest)).toThrow(
      ManifestError,
    );
    expect(() =>
      parseManifest(Buffer.alloc(MANIFEST_MAX_BYTES + 1, 32), MediaType.ociManifest),
    ).toThrow(/over the 4194304-byte limit/);
    expect(() =>
      parseManifest(
        bytes({ schemaVersion: 2, mediaType: 'application/vnd.example+json' }),
        undefined,
      ),
    ).toThrow(UnsupportedMediaTypeError);
    expect(() =>
      parseManifest(
        bytes({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { digest: 'md5:x' },
          layers: [],
        }),
        undefined,
      ),
    ).toThrow(/invalid manifest: config\.mediaType/);
  });
});

describe('parseImageConfig', () => {
  it('requires rootfs diff ids', () => {
    expect(
      parseImageConfig(
        bytes({
          os: 'linux',
          architecture: 'amd64',
          rootfs: { type: 'layers', diff_ids: [d('e')] },
        }),
      ).rootfs.diff_ids,
    ).toEqual([d('e')]);
    expect(() => parseImageConfig(bytes({ os: 'linux', architecture: 'amd64' }))).toThrow(
      /invalid image config: rootfs/,
    );
  });
});
