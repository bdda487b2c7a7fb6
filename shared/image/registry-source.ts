import type { Readable } from 'node:stream';
import type { RegistryClient, RequestOptions } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import type { Descriptor, Manifest } from '../registry/manifest.js';
import { formatReference, type ImageReference } from '../registry/reference.js';
import { type BlobStore, imagesFrom } from './blob-store.js';
import { isCosignArtifactTag } from './select.js';
import type { ImageSet, ImageSource, SelectOptions } from './types.js';

/**
 * Time to read the manifests and configs of one reference (not its layers, which the walk's
 * image budget bounds). Each transfer has its own deadline, but an index of 256 manifests each
 * trickling up to its deadline would add up to hours; real ones take well under a second, and
 * 45 s leaves room for a few retries and for one manifest trickling to its own deadline (34 s).
 * Within the scan function's 5 minutes, beside the walk's 3 (layers/limits.ts maxImageMillis).
 */
export const RESOLVE_BUDGET_MS = 45_000;

export interface RegistrySourceOptions extends RequestOptions {
  /** @default RESOLVE_BUDGET_MS */
  readonly resolveBudgetMs?: number;
}

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
    private readonly options: RegistrySourceOptions = {},
  ) {
    this.name = formatReference(ref);
  }

  async images(options: SelectOptions = {}): Promise<ImageSet> {
    if (isCosignArtifactTag(this.ref.tag)) {
      return { images: [], skipped: [{ reason: `cosign artifact tag ${this.ref.tag}` }] };
    }
    const budgetMs = this.options.resolveBudgetMs ?? RESOLVE_BUDGET_MS;
    const resolving = new AbortController();
    const timer = setTimeout(
      () =>
        resolving.abort(
          new RegistryError(
            `${this.name}: manifests and image configs not read within ${budgetMs} ms`,
            undefined,
          ),
        ),
      budgetMs,
    );
    const caller = this.options.signal;
    const signal =
      caller === undefined ? resolving.signal : AbortSignal.any([caller, resolving.signal]);
    // Manifests and configs under the resolution budget; layers opened later only under the
    // caller's signal (their reading is bounded by the walk).
    const store: BlobStore = {
      name: this.name,
      manifest: async (descriptor) =>
        (await this.client.getManifest({ ...this.ref, digest: descriptor.digest }, { signal }))
          .manifest,
      readBlob: (descriptor, maxBytes) =>
        this.client.readBlob(this.ref, descriptor, maxBytes, { signal }),
      openBlob: (descriptor) => this.openBlob(descriptor),
    };
    try {
      const top = await this.client.getManifest(this.ref, { signal });
      return await imagesFrom(
        store,
        { manifest: top.manifest, digest: top.digest },
        options,
        this.ref.tag === undefined ? undefined : [this.ref.tag],
      );
    } finally {
      clearTimeout(timer);
    }
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
