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
  HEAD_BYTES,
  type LayerEntry,
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

/**
 * Facts of one layer other than packages (the hardening checks' secrets: shared/checks), made
 * while the layer streams, so that no second pull is needed. A file is shown to the collection
 * as it streams, or after the read when the extractors kept its content.
 */
export interface LayerCollection extends LayerScan {
  /** What is kept of the layer: plain data (the S3 layer cache stores it as JSON). */
  finish(): unknown;
}

export interface LayerCollector {
  /** `name@version`: part of the reader id (the cache key), so a new version reads layers again. */
  readonly id: string;
  /** Small files whose content is kept in the layer result (`etc/passwd`). */
  keeps(entry: LayerEntry): boolean;
  /** Made afresh for each layer read: its budget is per layer. */
  start(): LayerCollection;
}

/** The key of the collection's result among a layer result's facts: never a path (tar names hold no NUL). */
export const COLLECTED_FACTS = '\u0000collected';

/** The walker's scan and a collection, as the one scan the reader takes. */
function withCollection(scan: LayerScan | undefined, c: LayerCollection): LayerScan {
  const scans = (e: LayerEntry, first: Buffer) =>
    scan?.wants(e) === true && (scan.head?.(e, first) ?? true);
  const collects = (e: LayerEntry, first: Buffer) => c.wants(e) && (c.head?.(e, first) ?? true);
  return {
    wants: (e) => scan?.wants(e) === true || c.wants(e),
    head: (e, first) => scans(e, first) || collects(e, first),
    needs: (e, file) => {
      const first = file.bytes(0, Math.min(file.size, HEAD_BYTES)) ?? Buffer.alloc(0);
      if (collects(e, first)) return true;
      if (!scans(e, first)) return false;
      return scan?.needs === undefined ? true : scan.needs(e, file);
    },
    read: async (e, content) => {
      if (collects(e, content)) await c.read(e, content);
      return scans(e, content) ? scan?.read(e, content) : undefined;
    },
  };
}

/** Shows the collection the files the extractors kept, then adds what it made to the result. */
async function collected(result: LayerReadResult, c: LayerCollection): Promise<LayerReadResult> {
  for (const entry of result.entries) {
    const content = entry.type === 'file' ? result.contents.get(entry.path) : undefined;
    if (content !== undefined && c.wants(entry) && (c.head?.(entry, content) ?? true))
      await c.read(entry, content);
  }
  return { ...result, facts: new Map([...(result.facts ?? []), [COLLECTED_FACTS, c.finish()]]) };
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
  /** Facts of each layer besides packages; its id must be part of `reader` (the cache key). */
  readonly collect?: LayerCollector;
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
    const keeps = options.collect?.keeps;
    const wanted: WantsContent =
      more === undefined && keeps === undefined
        ? wants
        : (e) => wants(e) || more?.(e) === true || keeps?.(e) === true;
    const collection = options.collect?.start();
    const scan = collection === undefined ? options.scan : withCollection(options.scan, collection);
    try {
      const read = await readLayer(await layer.open(), wanted, {
        what,
        budget,
        ...(options.limits === undefined ? {} : { limits: options.limits }),
        ...(scan === undefined ? {} : { scan }),
      });
      const result = collection === undefined ? read : await collected(read, collection);
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
