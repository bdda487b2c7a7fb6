/**
 * The facts of an image's layers the checks read, taken from the inventory's walk: each layer's
 * entries (with their tar modes), whiteouts and collected secrets, and the final file tree.
 */
import { COLLECTED_FACTS, type ImageWalk } from '../inventory/walk.js';
import type { LayerEntry } from '../layers/reader.js';
import type { FileTree } from '../layers/tree.js';
import type { CollectedLayer } from './collect.js';

export interface LayerFact {
  readonly index: number;
  /** The diff id (or blob digest) that names the layer. */
  readonly digest?: string;
  readonly entries: readonly LayerEntry[];
  readonly whiteouts: readonly string[];
  readonly opaqueDirs: readonly string[];
  /** What the checks collector made of the layer; absent when it did not run. */
  readonly collected?: CollectedLayer;
  /** Why the layer was not read, or read only in part. */
  readonly error?: string;
}

export interface LayerFacts {
  readonly layers: readonly LayerFact[];
  /** The final filesystem (whiteouts applied). */
  readonly tree: FileTree;
}

const isCollected = (v: unknown): v is CollectedLayer =>
  typeof v === 'object' && v !== null && (v as { v?: unknown }).v === 1;

export function layerFactsOf(walk: ImageWalk): LayerFacts {
  return {
    tree: walk.tree,
    layers: walk.layers.map((l) => {
      const collected = l.result?.facts?.get(COLLECTED_FACTS);
      const digest = l.diffId ?? l.digest;
      return {
        index: l.index,
        ...(digest === undefined ? {} : { digest }),
        entries: l.result?.entries ?? [],
        whiteouts: l.result?.whiteouts ?? [],
        opaqueDirs: l.result?.opaqueDirs ?? [],
        ...(isCollected(collected) ? { collected } : {}),
        ...(l.error === undefined ? {} : { error: l.error.message }),
      };
    }),
  };
}

const under = (path: string, dir: string) =>
  dir === '' || path === dir || path.startsWith(`${dir}/`);

/**
 * The first layer above `index` that hides `path`: deleted (a whiteout of it or of a folder
 * above it, an opaque folder above it) or replaced (the same path written again).
 */
export function hiddenBy(
  facts: LayerFacts,
  index: number,
  path: string,
): { readonly layer: number; readonly how: 'deleted' | 'replaced' } | undefined {
  for (const l of facts.layers) {
    if (l.index <= index) continue;
    if (
      l.whiteouts.some((w) => under(path, w)) ||
      l.opaqueDirs.some((d) => d !== path && under(path, d))
    )
      return { layer: l.index, how: 'deleted' };
    if (l.entries.some((e) => e.path === path)) return { layer: l.index, how: 'replaced' };
  }
  return undefined;
}

/** The index of the layer a digest names, for evidence from the inventory (a package's layer). */
export const layerIndexOf = (facts: LayerFacts, digest: string): number | undefined =>
  facts.layers.find((l) => l.digest === digest)?.index;
