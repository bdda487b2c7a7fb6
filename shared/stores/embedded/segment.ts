/**
 * Segments: the immutable sorted files of the embedded sorted store (sorted-store.ts). A reader
 * opens one by reading its footer, block index and Bloom filter (a few MB for millions of
 * keys), then reads only the blocks a lookup lands in.
 *
 * File layout:
 *   blocks  lines sorted by key, written as the log writes them (`P\t<key>\t<value>\n` for a
 *           value, `D\t<key>\n` for a deletion that hides older segments), cut into blocks of
 *           about BLOCK_BYTES at line ends;
 *   bloom   a Bloom filter over each key's group (the key up to and including its first NUL, or
 *           the whole key), so that a point lookup or a group scan skips segments without it;
 *   index   one JSON line: `{"v":1,"entries":n,"blocks":[[firstKey,offset,bytes],…],"bloom":…}`;
 *   footer  FOOTER_BYTES: `BOSUNSG1`, then the index's offset (16 hex digits) and length (8).
 * Keys and values are JSON (keys JSON strings), so neither holds a raw tab or newline.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { recordLine, StoreFormatError } from './log-file.js';

const MAGIC = 'BOSUNSG1';
const FOOTER_BYTES = MAGIC.length + 16 + 8;
/**
 * A lookup of one record reads one block: at 64 KB that was most of a scan's cost against a
 * 500,000-advisory database. At 16 KB a 1.4 GB segment's index is about 5 MB.
 */
const BLOCK_BYTES = 16 * 1024;
/** About 1% false positives (https://en.wikipedia.org/wiki/Bloom_filter#Optimal_number_of_hash_functions). */
const BLOOM_BITS_PER_KEY = 10;
const BLOOM_HASHES = 7;
const PUT = 0x50; // P
const DELETE = 0x44; // D
const TAB = 0x09;
/** Blocks kept per segment: a scan's lookups of one package land in a few blocks. */
const CACHED_BLOCKS = 256;

/** A key's state in a segment: its value's JSON, or null for a deletion. */
export type SegmentEntry = readonly [key: string, value: string | null];

/** The part of a key a Bloom filter is asked about: up to and including its first NUL. */
export function groupOf(key: string): string {
  const nul = key.indexOf('\u0000');
  return nul < 0 ? key : key.slice(0, nul + 1);
}

/** Two independent 32-bit FNV-1a hashes over the UTF-16 code units, for double hashing. */
function hashPair(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, (b | 1) >>> 0];
}

class Bloom {
  constructor(
    readonly bits: number,
    readonly data: Uint8Array,
  ) {}

  static sized(keys: number): Bloom {
    const bits = Math.max(64, Math.ceil(keys * BLOOM_BITS_PER_KEY));
    return new Bloom(bits, new Uint8Array(Math.ceil(bits / 8)));
  }

  add(text: string): void {
    const [h1, h2] = hashPair(text);
    for (let i = 0; i < BLOOM_HASHES; i++) {
      const bit = (h1 + i * h2) % this.bits;
      this.data[bit >>> 3] = (this.data[bit >>> 3] as number) | (1 << (bit & 7));
    }
  }

  has(text: string): boolean {
    const [h1, h2] = hashPair(text);
    for (let i = 0; i < BLOOM_HASHES; i++) {
      const bit = (h1 + i * h2) % this.bits;
      if (((this.data[bit >>> 3] as number) & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }
}

interface SegmentIndex {
  readonly v: 1;
  readonly entries: number;
  readonly blocks: [firstKey: string, offset: number, bytes: number][];
  readonly bloom: { readonly offset: number; readonly bytes: number; readonly bits: number };
}

function writeAll(fd: number, data: Buffer): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done);
}

/**
 * Writes `entries` (sorted by key, each key once) as a segment at `file`: to a temporary file
 * first, fsync'd, then renamed, so `file` is whole or absent. `expectedKeys` sizes the Bloom
 * filter (an upper bound is fine). Returns the file's size and its number of entries.
 */
export function writeSegment(
  file: string,
  entries: Iterable<SegmentEntry>,
  expectedKeys: number,
): { bytes: number; entries: number } {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const bloom = Bloom.sized(expectedKeys);
    const blocks: SegmentIndex['blocks'] = [];
    let offset = 0;
    let count = 0;
    let pending: string[] = [];
    let pendingBytes = 0;
    let first: string | undefined;
    let previous: string | undefined;
    const cut = () => {
      if (first === undefined) return;
      const data = Buffer.from(pending.join(''));
      writeAll(fd, data);
      blocks.push([first, offset, data.length]);
      offset += data.length;
      pending = [];
      pendingBytes = 0;
      first = undefined;
    };
    for (const entry of entries) {
      const key = entry[0];
      if (previous !== undefined && !(previous < key))
        throw new Error(
          `segment keys out of order: ${JSON.stringify(previous)} then ${JSON.stringify(key)}`,
        );
      previous = key;
      first ??= key;
      const text = recordLine(entry[0], entry[1]);
      pending.push(text);
      pendingBytes += text.length;
      bloom.add(groupOf(key));
      count++;
      if (pendingBytes >= BLOCK_BYTES) cut();
    }
    cut();
    const bloomAt = offset;
    writeAll(fd, Buffer.from(bloom.data.buffer, bloom.data.byteOffset, bloom.data.byteLength));
    offset += bloom.data.byteLength;
    const index: SegmentIndex = {
      v: 1,
      entries: count,
      blocks,
      bloom: { offset: bloomAt, bytes: bloom.data.byteLength, bits: bloom.bits },
    };
    const indexData = Buffer.from(`${JSON.stringify(index)}\n`);
    writeAll(fd, indexData);
    const footer = `${MAGIC}${offset.toString(16).padStart(16, '0')}${indexData.length.toString(16).padStart(8, '0')}`;
    writeAll(fd, Buffer.from(footer));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
    return { bytes: offset + indexData.length + FOOTER_BYTES, entries: count };
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * A block as read: its text and where each line's key and value lie. Keys are decoded from
 * their JSON only when a lookup compares them (a binary search decodes about log2(lines)), not
 * all at once: decoding every key of every block a scan touched was most of a lookup's cost.
 */
class Block {
  private readonly keys: (string | undefined)[];

  constructor(
    private readonly text: string,
    /** Per line: where it starts, where its key's JSON ends (a tab or the line's end), where it ends. */
    private readonly starts: number[],
    private readonly keyEnds: number[],
    private readonly ends: number[],
    private readonly file: string,
  ) {
    this.keys = new Array(starts.length);
  }

  get length(): number {
    return this.starts.length;
  }

  key(i: number): string {
    let key = this.keys[i];
    if (key === undefined) {
      try {
        key = JSON.parse(
          this.text.slice((this.starts[i] as number) + 2, this.keyEnds[i] as number),
        ) as string;
      } catch (error) {
        throw new StoreFormatError(`${this.file}: damaged key in a block`, { cause: error });
      }
      this.keys[i] = key;
    }
    return key;
  }

  /** The value's JSON, or null for a deletion. */
  value(i: number): string | null {
    const start = this.starts[i] as number;
    if (this.text.charCodeAt(start) === DELETE) return null;
    return this.text.slice((this.keyEnds[i] as number) + 1, this.ends[i] as number);
  }

  /** The first line whose key is >= `key`. */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.key(mid) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** One open segment. Reads are synchronous, positional and bounded by the block size. */
export class Segment {
  private readonly fd: number;
  readonly bytes: number;
  readonly entries: number;
  private readonly firstKeys: string[];
  private readonly offsets: number[];
  private readonly lengths: number[];
  private readonly bloom: Bloom;
  private readonly cache = new Map<number, Block>();

  private constructor(
    readonly file: string,
    fd: number,
  ) {
    this.fd = fd;
    this.bytes = fstatSync(fd).size;
    if (this.bytes < FOOTER_BYTES) throw new StoreFormatError(`${file}: not a store segment`);
    const footer = this.read(this.bytes - FOOTER_BYTES, FOOTER_BYTES).toString('latin1');
    const indexAt = Number.parseInt(footer.slice(MAGIC.length, MAGIC.length + 16), 16);
    const indexBytes = Number.parseInt(footer.slice(MAGIC.length + 16), 16);
    if (
      !footer.startsWith(MAGIC) ||
      !Number.isSafeInteger(indexAt) ||
      !Number.isSafeInteger(indexBytes) ||
      indexAt + indexBytes + FOOTER_BYTES !== this.bytes
    )
      throw new StoreFormatError(`${file}: not a store segment (bad footer)`);
    let index: SegmentIndex;
    try {
      index = JSON.parse(this.read(indexAt, indexBytes).toString('utf8')) as SegmentIndex;
    } catch (error) {
      throw new StoreFormatError(`${file}: damaged segment index`, { cause: error });
    }
    if (index.v !== 1 || !Array.isArray(index.blocks))
      throw new StoreFormatError(`${file}: segment format ${String(index.v)} is not known`);
    this.entries = index.entries;
    this.firstKeys = index.blocks.map((b) => b[0]);
    this.offsets = index.blocks.map((b) => b[1]);
    this.lengths = index.blocks.map((b) => b[2]);
    this.bloom = new Bloom(index.bloom.bits, this.read(index.bloom.offset, index.bloom.bytes));
  }

  static open(file: string): Segment {
    const fd = openSync(file, 'r');
    try {
      return new Segment(file, fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  private read(offset: number, length: number): Buffer {
    // Every byte is read over (or the read fails): no need to zero it first.
    const buffer = Buffer.allocUnsafe(length);
    for (let done = 0; done < length; ) {
      const n = readSync(this.fd, buffer, done, length - done, offset + done);
      if (n === 0) throw new StoreFormatError(`${this.file}: ends early`);
      done += n;
    }
    return buffer;
  }

  private block(i: number): Block {
    const cached = this.cache.get(i);
    if (cached !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.cache.delete(i);
      this.cache.set(i, cached);
      return cached;
    }
    const text = this.read(this.offsets[i] as number, this.lengths[i] as number).toString('utf8');
    const starts: number[] = [];
    const keyEnds: number[] = [];
    const ends: number[] = [];
    for (let start = 0; start < text.length; ) {
      const end = text.indexOf('\n', start);
      const lineEnd = end < 0 ? text.length : end;
      const kind = text.charCodeAt(start);
      if ((kind !== PUT && kind !== DELETE) || text.charCodeAt(start + 1) !== TAB)
        throw new StoreFormatError(`${this.file}: damaged block at ${this.offsets[i]}`);
      let keyEnd = lineEnd;
      if (kind === PUT) {
        keyEnd = text.indexOf('\t', start + 2);
        if (keyEnd < 0 || keyEnd > lineEnd)
          throw new StoreFormatError(`${this.file}: damaged block at ${this.offsets[i]}`);
      }
      starts.push(start);
      keyEnds.push(keyEnd);
      ends.push(lineEnd);
      start = lineEnd + 1;
    }
    const block = new Block(text, starts, keyEnds, ends, this.file);
    this.cache.set(i, block);
    if (this.cache.size > CACHED_BLOCKS)
      this.cache.delete(this.cache.keys().next().value as number);
    return block;
  }

  /** The last block whose first key is <= key (0 when the key sorts before every block). */
  private blockFor(key: string): number {
    let lo = 0;
    let hi = this.firstKeys.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.firstKeys[mid] as string) <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Whether some key of this group (groupOf) may be here: false is certain. */
  mayHave(group: string): boolean {
    return this.bloom.has(group);
  }

  /** The key's value JSON, null if this segment deletes it, undefined if it says nothing. */
  get(key: string): string | null | undefined {
    if (this.firstKeys.length === 0 || !this.bloom.has(groupOf(key))) return undefined;
    const block = this.block(this.blockFor(key));
    const at = block.lowerBound(key);
    return at < block.length && block.key(at) === key ? block.value(at) : undefined;
  }

  /** Entries (deletions too) whose keys start with `prefix`, in key order. */
  *scan(prefix: string): IterableIterator<SegmentEntry> {
    if (this.firstKeys.length === 0) return;
    const first = this.blockFor(prefix);
    for (let i = first; i < this.firstKeys.length; i++) {
      const block = this.block(i);
      for (let j = i === first ? block.lowerBound(prefix) : 0; j < block.length; j++) {
        const key = block.key(j);
        if (!key.startsWith(prefix)) return;
        yield [key, block.value(j)];
      }
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Merges sorted sources into one sorted stream; for a key several sources hold, the first
 * source's entry wins (callers order them newest first).
 */
export function* mergeSorted(
  sources: readonly Iterator<SegmentEntry>[],
): IterableIterator<SegmentEntry> {
  const heads: (SegmentEntry | undefined)[] = sources.map((s) => {
    const next = s.next();
    return next.done === true ? undefined : next.value;
  });
  for (;;) {
    let min: string | undefined;
    let winner = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head !== undefined && (min === undefined || head[0] < min)) {
        min = head[0];
        winner = i;
      }
    }
    if (winner < 0) return;
    yield heads[winner] as SegmentEntry;
    // Every source at this key moves on; older entries of the same key are dropped.
    for (let i = 0; i < heads.length; i++) {
      if (heads[i]?.[0] === min) {
        const next = (sources[i] as Iterator<SegmentEntry>).next();
        heads[i] = next.done === true ? undefined : next.value;
      }
    }
  }
}
