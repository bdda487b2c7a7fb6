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

/**
 * One name in the tree. Kept small on purpose (an image may have a million entries): the entry
 * as the layer read it is referenced, not copied, a leaf has no `children` map, and the
 * TreeEntry callers see is built when asked for.
 */
interface Node {
  entry?: LayerEntry;
  /** Layer index of `entry`. */
  layer?: number;
  content?: Buffer;
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
  /** Digest of each layer index, for the TreeEntry of a node. */
  private readonly digests = new Map<number, string | undefined>();
  readonly issues: EntryError[] = [];

  static coalesce(layers: readonly CoalesceInput[]): FileTree {
    const tree = new FileTree();
    for (const [position, layer] of layers.entries()) tree.apply(layer.index ?? position, layer);
    return tree;
  }

  /** The child named `part` of `node`, made when `create`. */
  private static child(node: Node, part: string, create: boolean): Node | undefined {
    let child = node.children?.get(part);
    if (child === undefined && create) {
      child = {};
      node.children ??= new Map();
      node.children.set(part, child);
    }
    return child;
  }

  private node(parts: readonly string[], create: boolean): Node | undefined {
    let node: Node | undefined = this.root;
    for (const part of parts) {
      node = FileTree.child(node, part, create);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /**
   * The node at `path`, walked name by name without splitting the path into an array: the
   * lookups of a 500,000-entry image made arrays that V8 kept promoting to the old space.
   */
  private nodeAt(path: string, create: boolean): Node | undefined {
    let node: Node | undefined = this.root;
    for (let start = 0; start <= path.length; ) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      const part = path.slice(start, end);
      start = end + 1;
      if (part === '' || part === '.') continue;
      node = FileTree.child(node, part, create);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /**
   * Entries at and under `node`, counted with an explicit stack: a path of thousands of
   * components (a hostile tar) must not exhaust the call stack.
   */
  private countUnder(node: Node): number {
    let n = 0;
    const stack: Node[] = [node];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      if (next.entry !== undefined) n++;
      for (const child of next.children?.values() ?? []) stack.push(child);
    }
    return n;
  }

  private treeEntry(node: Node): TreeEntry | undefined {
    const { entry, layer } = node;
    if (entry === undefined || layer === undefined) return undefined;
    // Built field by field: a spread of `entry` made V8 keep these short-lived objects.
    const built: { -readonly [K in keyof TreeEntry]: TreeEntry[K] } = {
      path: entry.path,
      type: entry.type,
      size: entry.size,
      mode: entry.mode,
      layer,
      layerDigest: this.digests.get(layer),
    };
    if (entry.linkname !== undefined) built.linkname = entry.linkname;
    if (node.content !== undefined) built.content = node.content;
    return built;
  }

  private apply(index: number, { digest, result }: CoalesceInput): void {
    for (const dir of result.opaqueDirs) {
      const node = this.nodeAt(dir, false);
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
    this.digests.set(index, digest);
    for (const entry of result.entries) {
      let placed = entry;
      let content = result.contents.get(entry.path);
      if (entry.type === 'hardlink') {
        const target = this.nodeAt(entry.linkname ?? '', false);
        if (target?.entry === undefined || target.entry.type === 'dir') {
          this.issues.push(
            new DanglingHardlinkError(
              entry.path,
              `hard link ${entry.path} points at ${JSON.stringify(entry.linkname)}, which no layer up to ${index} has as a file`,
            ),
          );
          continue;
        }
        // A hard link is the same file under a second name: same type, size, mode and content.
        placed = { ...target.entry, path: entry.path, linkname: target.entry.path };
        content = target.content;
      }
      const node = this.nodeAt(entry.path, true) as Node;
      if (node.entry === undefined) this.count++;
      if (placed.type !== 'dir' && node.children !== undefined && node.children.size > 0) {
        // A file replacing a directory hides everything that was below it.
        this.count -= this.countUnder(node) - (node.entry === undefined ? 0 : 1);
        node.children = undefined;
      }
      node.entry = placed;
      node.layer = index;
      // Only files whose content was read carry the property: a million others do not pay for it.
      if (content !== undefined) node.content = content;
      else if (node.content !== undefined) node.content = undefined;
    }
  }

  get size(): number {
    return this.count;
  }

  /** Whether anything is at or under this path (a directory a tar never listed has its files). */
  exists(path: string): boolean {
    const node = this.nodeAt(path, false);
    return node !== undefined && (node.entry !== undefined || (node.children?.size ?? 0) > 0);
  }

  /** The entry at exactly this path, without following symbolic links. */
  get(path: string): TreeEntry | undefined {
    const node = this.nodeAt(path, false);
    return node === undefined ? undefined : this.treeEntry(node);
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
    const node = this.node(stack, false);
    return node === undefined ? undefined : this.treeEntry(node);
  }

  /** Content of the file at `path` (symbolic links followed), if it was read. */
  read(path: string): Buffer | undefined {
    return this.resolve(path)?.content;
  }

  /**
   * Every entry, parents before children, in name order. Walked with an explicit stack, not by
   * recursion: a tar entry of ~4,000 path components overflowed the call stack (issue 17, #1).
   */
  *entries(): IterableIterator<TreeEntry> {
    // Names only, sorted by code unit (the default sort): an array of [name, node] pairs per
    // directory was a fifth of the garbage a 500,000-entry walk left behind.
    const frameOf = (node: Node) => ({
      node,
      names: [...(node.children?.keys() ?? [])].sort(),
      next: 0,
    });
    // Each frame: a directory, its children's names in order and the position reached.
    const stack = [frameOf(this.root)];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as (typeof stack)[number];
      const name = frame.names[frame.next++];
      if (name === undefined) {
        stack.pop();
        continue;
      }
      const child = frame.node.children?.get(name);
      if (child === undefined) continue;
      const entry = this.treeEntry(child);
      if (entry !== undefined) yield entry;
      if (child.children !== undefined && child.children.size > 0) stack.push(frameOf(child));
    }
  }
}
