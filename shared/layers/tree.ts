/**
 * The image's root filesystem, coalesced from its layers in order: each layer's whiteouts and
 * opaque markers hide what lower layers put there, then its own entries are laid on top.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md#applying-changesets
 */
import { DanglingHardlinkError, type EntryError, SymlinkLoopError } from './errors.js';
import type { LayerEntry, LayerReadResult } from './reader.js';

export interface TreeEntry extends LayerEntry {
  /** Index of the layer the entry comes from (0 is the base). */
  readonly layer: number;
  /** Digest that identifies that layer (its diff id), when it has one. */
  readonly layerDigest: string | undefined;
  /** The content, for the files whose content was asked for. */
  readonly content?: Buffer;
}

export interface CoalesceInput {
  readonly digest: string | undefined;
  readonly result: LayerReadResult;
  /** Position of the layer in the image; defaults to its position in the input. */
  readonly index?: number;
}

interface Node {
  entry?: TreeEntry;
  children?: Map<string, Node>;
}

/** Linux follows at most 40 symbolic links in one lookup (MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40;

function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

export class FileTree {
  private readonly root: Node = { children: new Map() };
  private count = 0;
  readonly issues: EntryError[] = [];

  static coalesce(layers: readonly CoalesceInput[]): FileTree {
    const tree = new FileTree();
    for (const [position, layer] of layers.entries()) tree.apply(layer.index ?? position, layer);
    return tree;
  }

  private node(parts: readonly string[], create: boolean): Node | undefined {
    let node = this.root;
    for (const part of parts) {
      let child = node.children?.get(part);
      if (child === undefined) {
        if (!create) return undefined;
        child = { children: new Map() };
        node.children ??= new Map();
        node.children.set(part, child);
      }
      node = child;
    }
    return node;
  }

  private countUnder(node: Node): number {
    let n = node.entry === undefined ? 0 : 1;
    for (const child of node.children?.values() ?? []) n += this.countUnder(child);
    return n;
  }

  private apply(index: number, { digest, result }: CoalesceInput): void {
    for (const dir of result.opaqueDirs) {
      const node = this.node(split(dir), false);
      if (node?.children !== undefined) {
        this.count -= this.countUnder(node) - (node.entry === undefined ? 0 : 1);
        node.children = new Map();
      }
    }
    for (const path of result.whiteouts) {
      const parts = split(path);
      const name = parts.pop();
      const parent = this.node(parts, false);
      const victim = name === undefined ? undefined : parent?.children?.get(name);
      if (victim !== undefined && name !== undefined) {
        this.count -= this.countUnder(victim);
        parent?.children?.delete(name);
      }
    }
    for (const entry of result.entries) {
      let placed: TreeEntry = { ...entry, layer: index, layerDigest: digest };
      const content = result.contents.get(entry.path);
      if (content !== undefined) placed = { ...placed, content };
      if (entry.type === 'hardlink') {
        const target = this.get(entry.linkname ?? '');
        if (target === undefined || target.type === 'dir') {
          this.issues.push(
            new DanglingHardlinkError(
              entry.path,
              `hard link ${entry.path} points at ${JSON.stringify(entry.linkname)}, which no layer up to ${index} has as a file`,
            ),
          );
          continue;
        }
        // A hard link is the same file under a second name: same type, size, mode and content.
        placed = {
          ...target,
          path: entry.path,
          linkname: target.path,
          layer: index,
          layerDigest: digest,
        };
      }
      const node = this.node(split(entry.path), true) as Node;
      if (node.entry === undefined) this.count++;
      if (placed.type !== 'dir' && node.children !== undefined && node.children.size > 0) {
        // A file replacing a directory hides everything that was below it.
        this.count -= this.countUnder(node) - (node.entry === undefined ? 0 : 1);
        node.children = new Map();
      }
      node.entry = placed;
    }
  }

  get size(): number {
    return this.count;
  }

  /** Whether anything is at or under this path (a directory a tar never listed has its files). */
  exists(path: string): boolean {
    const node = this.node(split(path), false);
    return node !== undefined && (node.entry !== undefined || (node.children?.size ?? 0) > 0);
  }

  /** The entry at exactly this path, without following symbolic links. */
  get(path: string): TreeEntry | undefined {
    return this.node(split(path), false)?.entry;
  }

  /**
   * Resolves a path as the kernel would inside a chroot at the image root: symbolic links in
   * every component are followed, absolute targets restart at the image root, and `..` never
   * climbs above it. Throws SymlinkLoopError past 40 links.
   */
  resolve(path: string): TreeEntry | undefined {
    const queue = split(path);
    const stack: string[] = [];
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift() as string;
      if (part === '..') {
        stack.pop();
        continue;
      }
      stack.push(part);
      const entry = this.node(stack, false)?.entry;
      if (entry?.type !== 'symlink') continue;
      hops++;
      if (hops > MAX_SYMLINK_HOPS) {
        throw new SymlinkLoopError(
          path,
          `too many levels of symbolic links resolving ${JSON.stringify(path)}`,
        );
      }
      stack.pop();
      const target = entry.linkname ?? '';
      if (target.startsWith('/')) stack.length = 0;
      queue.unshift(...split(target));
    }
    return this.node(stack, false)?.entry;
  }

  /** Content of the file at `path` (symbolic links followed), if it was read. */
  read(path: string): Buffer | undefined {
    return this.resolve(path)?.content;
  }

  /** Every entry, parents before children, in name order. */
  *entries(): IterableIterator<TreeEntry> {
    const walk = function* (node: Node): IterableIterator<TreeEntry> {
      const names = [...(node.children?.keys() ?? [])].sort();
      for (const name of names) {
        const child = node.children?.get(name) as Node;
        if (child.entry !== undefined) yield child.entry;
        yield* walk(child);
      }
    };
    yield* walk(this.root);
  }
}
