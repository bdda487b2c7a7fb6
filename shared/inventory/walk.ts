/**
 * Reads every layer of an image and coalesces them, reusing per-layer results already computed
 * for the same layer content and the same reader (extractor set): a base layer shared by
 * thousands of images is read once.
 */
import { mapLimit } from '../concurrency.js';
import { BosunError } from '../errors.js';
import type { Image, ImageLayer } from '../image/types.js';
import type { LayerLimits } from '../layers/limits.js';
import {
  type LayerReadResult,
  type LayerScan,
  readLayer,
  type WantsContent,
} from '../layers/reader.js';
import { FileTree } from '../layers/tree.js';

export interface LayerCache {
  get(key: string): Promise<LayerReadResult | undefined>;
  put(key: string, result: LayerReadResult): Promise<void>;
}

/** A process-local cache, for the CLI and a warm Lambda. */
export class MemoryLayerCache implements LayerCache {
  private readonly entries = new Map<string, LayerReadResult>();
  async get(key: string): Promise<LayerReadResult | undefined> {
    return this.entries.get(key);
  }
  async put(key: string, result: LayerReadResult): Promise<void> {
    this.entries.set(key, result);
  }
  get size(): number {
    return this.entries.size;
  }
}

/**
 * Cache key of a layer for a reader: the digest its bytes are verified against while they stream
 * (the blob digest; the diff id only for legacy archives, whose layers are verified by it). An
 * image's config merely claims its diff ids: keyed by them, an image could file a result under
 * another image's base layer and hide that layer's packages from every image that shares it.
 */
export function layerCacheKey(layer: ImageLayer, reader: string): string | undefined {
  const identity = layer.digest ?? layer.diffId;
  return identity === undefined ? undefined : `${identity}|${reader}`;
}

export interface LayerOutcome {
  readonly index: number;
  readonly digest?: string;
  readonly diffId?: string;
  readonly fromCache: boolean;
  readonly result?: LayerReadResult;
  /** Why the layer could not be read; the other layers are still coalesced. */
  readonly error?: BosunError;
}

export interface ImageWalk {
  readonly tree: FileTree;
  readonly layers: LayerOutcome[];
  /** True when every layer was read. */
  readonly complete: boolean;
}

export interface WalkOptions {
  readonly reader: string;
  readonly limits?: Partial<LayerLimits>;
  readonly cache?: LayerCache;
  /** Files read and dropped, keeping what is made of them (reader.ts, LayerScan). */
  readonly scan?: LayerScan;
  /** Layers read at once. @default 2 */
  readonly concurrency?: number;
  /**
   * Further files to keep, decided by a predicate made afresh for each layer read: what is
   * capped by count per layer (Red Hat's content manifests) counts that layer's files only.
   * Whatever it decides must be part of `reader` (the cache key).
   */
  readonly layerWants?: () => WantsContent;
}

export async function walkImage(
  image: Image,
  wants: WantsContent,
  options: WalkOptions,
): Promise<ImageWalk> {
  const readOne = async (index: number, layer: ImageLayer): Promise<LayerOutcome> => {
    const ids = {
      index,
      ...(layer.digest === undefined ? {} : { digest: layer.digest }),
      ...(layer.diffId === undefined ? {} : { diffId: layer.diffId }),
    };
    const key = layerCacheKey(layer, options.reader);
    // The cache is an optimization: when it cannot be read or written, the layer is read.
    const cached =
      key === undefined ? undefined : await options.cache?.get(key).catch(() => undefined);
    if (cached !== undefined) return { ...ids, fromCache: true, result: cached };
    const what = `layer ${index} (${layer.diffId ?? layer.digest ?? 'no digest'}) of ${image.source}`;
    const more = options.layerWants?.();
    const wanted: WantsContent = more === undefined ? wants : (e) => wants(e) || more(e);
    try {
      const result = await readLayer(await layer.open(), wanted, {
        what,
        ...(options.limits === undefined ? {} : { limits: options.limits }),
        ...(options.scan === undefined ? {} : { scan: options.scan }),
      });
      if (key !== undefined) await options.cache?.put(key, result).catch(() => undefined);
      return { ...ids, fromCache: false, result };
    } catch (error) {
      // Auth failures, store outages and the like end the walk; a bad layer does not.
      if (!(error instanceof BosunError) || error.fatal) throw error;
      return { ...ids, fromCache: false, error };
    }
  };
  // Layers are independent until they are coalesced: read a few at once (decompression runs on
  // libuv's thread pool, so two layers use two cores); memory stays bounded per layer.
  const layers = await mapLimit(image.layers, options.concurrency ?? 2, (layer, index) =>
    readOne(index, layer),
  );
  const tree = FileTree.coalesce(
    layers.flatMap((l) =>
      l.result === undefined
        ? []
        : [{ digest: l.diffId ?? l.digest, result: l.result, index: l.index }],
    ),
  );
  return { tree, layers, complete: layers.every((l) => l.error === undefined) };
}
