/**
 * Reads every layer of an image and coalesces them, reusing per-layer results already computed
 * for the same layer content and the same reader (extractor set): a base layer shared by
 * thousands of images is read once.
 */
import { mapLimit } from '../concurrency.js';
import { BosunError } from '../errors.js';
import type { Image, ImageLayer } from '../image/types.js';
import { ImageBudget } from '../layers/budget.js';
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
  /**
   * Why the layer could not be read; the other layers are still coalesced. With a `result`: the
   * image's budget ran out while it was read, and the result may be short.
   */
  readonly error?: BosunError;
}

export interface ImageWalk {
  readonly tree: FileTree;
  readonly layers: LayerOutcome[];
  /** True when every layer was read, within the image's budget. */
  readonly complete: boolean;
  /** The image's work budget, spent or not (the inventory's extractors share it). */
  readonly budget: ImageBudget;
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
  /** The image's work budget; one is made from `limits` when not given. */
  readonly budget?: ImageBudget;
}

export async function walkImage(
  image: Image,
  wants: WantsContent,
  options: WalkOptions,
): Promise<ImageWalk> {
  const budget = options.budget ?? new ImageBudget(options.limits);
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
    // Once the image's budget is spent, layers not yet read are left unread, and said so.
    const spent = budget.check();
    if (spent !== undefined) return { ...ids, fromCache: false, error: spent };
    const what = `layer ${index} (${layer.diffId ?? layer.digest ?? 'no digest'}) of ${image.source}`;
    const more = options.layerWants?.();
    const wanted: WantsContent = more === undefined ? wants : (e) => wants(e) || more(e);
    try {
      const result = await readLayer(await layer.open(), wanted, {
        what,
        budget,
        ...(options.limits === undefined ? {} : { limits: options.limits }),
        ...(options.scan === undefined ? {} : { scan: options.scan }),
      });
      // A layer read while the budget ran out (by it or by an archive in it, or by a layer read
      // beside it) may be short of what it holds: kept for this image, never cached.
      const cut = result.incomplete ?? budget.exceeded;
      if (cut !== undefined) return { ...ids, fromCache: false, result, error: cut };
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
  return {
    tree,
    layers,
    complete: budget.exceeded === undefined && layers.every((l) => l.error === undefined),
    budget,
  };
}
