/**
 * The part image sources share: given a place that serves manifests and blobs by digest (a
 * registry, an OCI layout directory, an OCI archive), walk an index down to its images.
 */
import type { Readable } from 'node:stream';
import { DEFAULT_LIMITS } from '../layers/limits.js';
import { ManifestError, UnsupportedMediaTypeError } from '../registry/errors.js';
import {
  CONFIG_MAX_BYTES,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Manifest,
  parseImageConfig,
} from '../registry/manifest.js';
import { layerCompression } from '../registry/media-types.js';
import { skipReasonForDescriptor, skipReasonForManifest } from './select.js';
import {
  type Image,
  type ImageSet,
  platformMatches,
  platformString,
  type SelectOptions,
} from './types.js';

export interface BlobStore {
  /** Names the store in messages. */
  readonly name: string;
  /** A manifest or index by its descriptor, verified against its digest. */
  manifest(descriptor: Descriptor): Promise<Manifest>;
  /** A small blob read whole, verified. */
  readBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer>;
  /** A blob streamed, verified as it streams. */
  openBlob(descriptor: Descriptor): Promise<Readable>;
}

/** Nested indexes deeper than this are refused: a loop of indexes must not spin forever. */
const MAX_INDEX_DEPTH = 4;
/**
 * Manifests (indexes and images) read below one reference. A real multi-platform index names a
 * few dozen at most (platforms and their attestations); nested indexes of ten entries each,
 * four deep, would otherwise cost 11,110 requests and as many image scans.
 */
export const MAX_MANIFESTS = 256;

/**
 * Compressed layers larger than this are not opened, whatever the source: no layer could be
 * read within the decompressed-size limit of one layer (a compressed tar is never much larger
 * than the tar), nor pulled within the scan function's time. See client.ts BLOB_MAX_BYTES.
 */
export const LAYER_MAX_BYTES = Math.min(8 * 1024 ** 3, DEFAULT_LIMITS.maxLayerBytes);

/** What one walk of an index has seen, so that a manifest named twice is read once. */
interface Walk {
  readonly set: ImageSet;
  readonly seen: Set<string>;
  fetched: number;
}

export async function imagesFrom(
  store: BlobStore,
  top: { manifest: Manifest; digest?: string },
  options: SelectOptions = {},
  tags?: readonly string[],
): Promise<ImageSet> {
  const walk: Walk = {
    set: { images: [], skipped: [] },
    seen: new Set(top.digest === undefined ? [] : [top.digest]),
    fetched: 0,
  };
  await collect(store, top.manifest, top.digest, undefined, options, walk, 0, tags);
  return walk.set;
}

async function collect(
  store: BlobStore,
  manifest: Manifest,
  digest: string | undefined,
  indexDigest: string | undefined,
  options: SelectOptions,
  walk: Walk,
  depth: number,
  tags: readonly string[] | undefined,
): Promise<void> {
  const set = walk.set;
  if (manifest.kind === 'index') {
    if (depth >= MAX_INDEX_DEPTH)
      throw new ManifestError(`${store.name}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
    await collectIndex(store, manifest, digest, options, walk, depth, tags);
    return;
  }
  const reason = skipReasonForManifest(manifest);
  if (reason !== undefined) {
    set.skipped.push({ ...(digest === undefined ? {} : { digest }), reason });
    return;
  }
  const image = await buildImage(store, manifest, digest, indexDigest, tags);
  if (!platformMatches(image.platform, options.platforms)) {
    set.skipped.push({
      ...(digest === undefined ? {} : { digest }),
      reason: `platform ${platformString(image.platform)} not selected`,
      platform: platformString(image.platform),
    });
    return;
  }
  set.images.push(image);
}

async function collectIndex(
  store: BlobStore,
  index: ImageIndex,
  digest: string | undefined,
  options: SelectOptions,
  walk: Walk,
  depth: number,
  tags: readonly string[] | undefined,
): Promise<void> {
  const set = walk.set;
  for (const descriptor of index.manifests) {
    // The same image (or nested index) named again, or an index naming itself: read once.
    if (walk.seen.has(descriptor.digest)) continue;
    walk.seen.add(descriptor.digest);
    const reason = skipReasonForDescriptor(descriptor);
    if (reason !== undefined) {
      set.skipped.push({ digest: descriptor.digest, reason });
      continue;
    }
    if (
      descriptor.platform !== undefined &&
      !platformMatches(descriptor.platform, options.platforms)
    ) {
      set.skipped.push({
        digest: descriptor.digest,
        reason: `platform ${platformString(descriptor.platform)} not selected`,
        platform: platformString(descriptor.platform),
      });
      continue;
    }
    if (walk.fetched >= MAX_MANIFESTS) {
      set.skipped.push({
        digest: descriptor.digest,
        reason: `not read: more than ${MAX_MANIFESTS} manifests below one reference`,
      });
      continue;
    }
    walk.fetched++;
    const child = await store.manifest(descriptor);
    await collect(store, child, descriptor.digest, digest, options, walk, depth + 1, tags);
  }
}

async function buildImage(
  store: BlobStore,
  manifest: ImageManifest,
  digest: string | undefined,
  indexDigest: string | undefined,
  tags: readonly string[] | undefined,
): Promise<Image> {
  const what = `${store.name}${digest === undefined ? '' : `@${digest}`}`;
  const config = parseImageConfig(
    await store.readBlob(manifest.config, CONFIG_MAX_BYTES),
    `config of ${what}`,
  );
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new ManifestError(
      `${what}: ${manifest.layers.length} layers in the manifest but ${diffIds.length} diff ids in the config`,
    );
  }
  const layers = manifest.layers.map((layer, i) => {
    if (layerCompression(layer.mediaType) === undefined)
      throw new UnsupportedMediaTypeError(layer.mediaType, `layer ${i} of ${what}`);
    return {
      digest: layer.digest,
      diffId: diffIds[i] as string,
      mediaType: layer.mediaType,
      size: layer.size,
      // Refused when opened, not here: the layer is recorded as unread with this reason and
      // the image's other layers are still read.
      open: async () => {
        if (layer.size > LAYER_MAX_BYTES)
          throw new ManifestError(
            `layer ${i} of ${what}: the manifest declares ${layer.size} bytes, over the ${LAYER_MAX_BYTES}-byte limit for a layer`,
          );
        return store.openBlob(layer);
      },
    };
  });
  return {
    source: store.name,
    ...(digest === undefined ? {} : { manifestDigest: digest }),
    ...(indexDigest === undefined ? {} : { indexDigest }),
    platform: {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant === undefined ? {} : { variant: config.variant }),
    },
    config,
    configDigest: manifest.config.digest,
    layers,
    ...(tags === undefined ? {} : { tags }),
  };
}
