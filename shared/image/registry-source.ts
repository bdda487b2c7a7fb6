import type { Readable } from 'node:stream';
import type { RegistryClient, RequestOptions } from '../registry/client.js';
import type { Descriptor, Manifest } from '../registry/manifest.js';
import { formatReference, type ImageReference } from '../registry/reference.js';
import { type BlobStore, imagesFrom } from './blob-store.js';
import { isCosignArtifactTag } from './select.js';
import type { ImageSet, ImageSource, SelectOptions } from './types.js';

/**
 * Images of a registry reference, pulled by digest through the distribution API. `options.signal`
 * is the per-image budget hook: aborting it stops every request and transfer of these images,
 * layers being read included, with the signal's reason.
 */
export class RegistryImageSource implements ImageSource, BlobStore {
  readonly name: string;
  constructor(
    private readonly client: RegistryClient,
    private readonly ref: ImageReference,
    private readonly options: RequestOptions = {},
  ) {
    this.name = formatReference(ref);
  }

  async images(options: SelectOptions = {}): Promise<ImageSet> {
    if (isCosignArtifactTag(this.ref.tag)) {
      return { images: [], skipped: [{ reason: `cosign artifact tag ${this.ref.tag}` }] };
    }
    const top = await this.client.getManifest(this.ref, this.options);
    return imagesFrom(
      this,
      { manifest: top.manifest, digest: top.digest },
      options,
      this.ref.tag === undefined ? undefined : [this.ref.tag],
    );
  }

  async manifest(descriptor: Descriptor): Promise<Manifest> {
    return (await this.client.getManifest({ ...this.ref, digest: descriptor.digest }, this.options))
      .manifest;
  }

  readBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer> {
    return this.client.readBlob(this.ref, descriptor, maxBytes, this.options);
  }

  openBlob(descriptor: Descriptor): Promise<Readable> {
    return this.client.openBlob(this.ref, descriptor, this.options);
  }
}
