/**
 * Segments: the immutable sorted files of the embedded sorted store (sorted-store.ts). A reader
 * opens one by reading its footer alone; the block index is read (not parsed) on the first
 * lookup, the Bloom filter on the first lookup that asks it, and then only the blocks a lookup
 * lands in. Opening a 500,000-advisory database's six segments this way reads a few hundred
 * bytes; parsing their indexes as JSON was most of `bosun db status` (85,000 entries).
 *
 * File layout:
 *   blocks  lines sorted by key, written as the log writes them (`P\t<key>\t<value>\n` for a
 *           value, `D\t<key>\n` for a deletion that hides older segments), cut into blocks of
 *           about BLOCK_BYTES at line ends;
 *   bloom   a Bloom filter over each key's group (the key up to and including its first NUL, or
 *           the whole key), so that a point lookup or a group scan skips segments without it;
 *   index   one JSON line, `{"v":2,"entries":n,"blocks":b,"bloom":{offset,bytes,bits}}`, then b
 *           table rows of TABLE_ROW bytes (block offset as a float64, its length and where its
 *           first key starts in the key area as uint32s, little-endian), then the key area: each
 *           block's first key as JSON text, UTF-8, one after another. Binary search decodes only
 *           the keys it compares. Version 1 (written before) held the table as JSON arrays
 *           (`"blocks":[[firstKey,offset,bytes],…]`) and is still read;
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

type BloomPlace = { readonly offset: number; readonly bytes: number; readonly bits: number };

/** The index line of a segment written before the binary table (read, never written). */
interface SegmentIndexV1 {
  readonly v: 1;
  readonly entries: number;
  readonly blocks: [firstKey: string, offset: number, bytes: number][];
  readonly bloom: BloomPlace;
}

interface SegmentIndexV2 {
  readonly v: 2;
  readonly entries: number;
  readonly blocks: number;
  readonly bloom: BloomPlace;
}

const TABLE_ROW = 16;

/** Where each block lies and the key it starts with. */
interface BlockTable {
  readonly length: number;
  firstKey(i: number): string;
  offset(i: number): number;
  bytes(i: number): number;
}

class ArrayBlockTable implements BlockTable {
  constructor(private readonly rows: SegmentIndexV1['blocks']) {}
  get length(): number {
    return this.rows.length;
  }
  firstKey(i: number): string {
    return (this.rows[i] as SegmentIndexV1['blocks'][number])[0];
  }
  offset(i: number): number {
    return (this.rows[i] as SegmentIndexV1['blocks'][number])[1];
  }
  bytes(i: number): number {
    return (this.rows[i] as SegmentIndexV1['blocks'][number])[2];
  }
}

class BinaryBlockTable implements BlockTable {
  private readonly keys: (string | undefined)[];
  private readonly keysAt: number;

  constructor(
    readonly length: number,
    private readonly data: Buffer,
    private readonly file: string,
  ) {
    this.keysAt = length * TABLE_ROW;
    if (data.length < this.keysAt) throw new StoreFormatError(`${file}: damaged segment index`);
    this.keys = new Array(length);
  }

  firstKey(i: number): string {
    let key = this.keys[i];
    if (key === undefined) {
      const start = this.keysAt + this.data.readUInt32LE(i * TABLE_ROW + 12);
      const end =
        i + 1 < this.length
          ? this.keysAt + this.data.readUInt32LE((i + 1) * TABLE_ROW + 12)
          : this.data.length;
      try {
        key = JSON.parse(this.data.toString('utf8', start, end)) as string;
      } catch (error) {
        throw new StoreFormatError(`${this.file}: damaged key in the segment index`, {
          cause: error,
        });
      }
      this.keys[i] = key;
    }
    return key;
  }

  offset(i: number): number {
    return this.data.readDoubleLE(i * TABLE_ROW);
  }

  bytes(i: number): number {
    return this.data.readUInt32LE(i * TABLE_ROW + 8);
  }
}

/** The index region as written: the JSON line, the table and the key area. */
function encodeIndex(
  entries: number,
  blocks: readonly (readonly [firstKey: string, offset: number, bytes: number])[],
  bloom: BloomPlace,
): Buffer {
  const header: SegmentIndexV2 = { v: 2, entries, blocks: blocks.length, bloom };
  const keys = blocks.map(([key]) => Buffer.from(JSON.stringify(key)));
  const table = Buffer.alloc(blocks.length * TABLE_ROW);
  let keyAt = 0;
  blocks.forEach(([, offset, bytes], i) => {
    table.writeDoubleLE(offset, i * TABLE_ROW);
    table.writeUInt32LE(bytes, i * TABLE_ROW + 8);
    table.writeUInt32LE(keyAt, i * TABLE_ROW + 12);
    keyAt += (keys[i] as Buffer).length;
  });
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), table, ...keys]);
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
    const blocks: [firstKey: string, offset: number, bytes: number][] = [];
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
    const indexData = encodeIndex(count, blocks, {
      offset: bloomAt,
      bytes: bloom.data.byteLength,
      bits: bloom.bits,
    });
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
  private readonly indexAt: number;
  private readonly indexBytes: number;
  private loaded: { entries: number; table: BlockTable; bloomAt: BloomPlace } | undefined;
  private bloomFilter: Bloom | undefined;
  private readonly cache = new Map<number, Block>();

  private constructor(
    readonly file: string,
    fd: number,
  ) {
    this.fd = fd;
    this.bytes = fstatSync(fd).size;
    if (this.bytes < FOOTER_BYTES) throw new StoreFormatError(`${file}: not a store segment`);
    const footer = this.read(this.bytes - FOOTER_BYTES, FOOTER_BYTES).toString('latin1');
    this.indexAt = Number.parseInt(footer.slice(MAGIC.length, MAGIC.length + 16), 16);
    this.indexBytes = Number.parseInt(footer.slice(MAGIC.length + 16), 16);
    if (
      !footer.startsWith(MAGIC) ||
      !Number.isSafeInteger(this.indexAt) ||
      !Number.isSafeInteger(this.indexBytes) ||
      this.indexAt + this.indexBytes + FOOTER_BYTES !== this.bytes
    )
      throw new StoreFormatError(`${file}: not a store segment (bad footer)`);
  }

  /** The index, read on first use. */
  private index(): { entries: number; table: BlockTable; bloomAt: BloomPlace } {
    if (this.loaded !== undefined) return this.loaded;
    const data = this.read(this.indexAt, this.indexBytes);
    const lineEnd = data.indexOf(0x0a);
    let header: SegmentIndexV1 | SegmentIndexV2;
    try {
      header = JSON.parse(data.toString('utf8', 0, lineEnd < 0 ? data.length : lineEnd)) as
        | SegmentIndexV1
        | SegmentIndexV2;
    } catch (error) {
      throw new StoreFormatError(`${this.file}: damaged segment index`, { cause: error });
    }
    let table: BlockTable;
    if (header.v === 2 && Number.isSafeInteger(header.blocks) && lineEnd >= 0)
      table = new BinaryBlockTable(header.blocks, data.subarray(lineEnd + 1), this.file);
    else if (header.v === 1 && Array.isArray(header.blocks))
      table = new ArrayBlockTable(header.blocks);
    else
      throw new StoreFormatError(
        `${this.file}: segment format ${String((header as { v?: unknown }).v)} is not known`,
      );
    this.loaded = { entries: header.entries, table, bloomAt: header.bloom };
    return this.loaded;
  }

  /** The Bloom filter, read on the first lookup that asks it. */
  private bloom(): Bloom {
    if (this.bloomFilter === undefined) {
      const { bloomAt } = this.index();
      this.bloomFilter = new Bloom(bloomAt.bits, this.read(bloomAt.offset, bloomAt.bytes));
    }
    return this.bloomFilter;
  }

  /** How many entries (deletions too) the segment holds. */
  get entries(): number {
    return this.index().entries;
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
    const { table } = this.index();
    const text = this.read(table.offset(i), table.bytes(i)).toString('utf8');
    const starts: number[] = [];
    const keyEnds: number[] = [];
    const ends: number[] = [];
    for (let start = 0; start < text.length; ) {
      const end = text.indexOf('\n', start);
      const lineEnd = end < 0 ? text.length : end;
      const kind = text.charCodeAt(start);
      if ((kind !== PUT && kind !== DELETE) || text.charCodeAt(start + 1) !== TAB)
        throw new StoreFormatError(`${this.file}: damaged block at ${table.offset(i)}`);
      let keyEnd = lineEnd;
      if (kind === PUT) {
        keyEnd = text.indexOf('\t', start + 2);
        if (keyEnd < 0 || keyEnd > lineEnd)
          throw new StoreFormatError(`${this.file}: damaged block at ${table.offset(i)}`);
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
    const { table } = this.index();
    let lo = 0;
    let hi = table.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (table.firstKey(mid) <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Whether some key of this group (groupOf) may be here: false is certain. */
  mayHave(group: string): boolean {
    return this.bloom().has(group);
  }

  /** The key's value JSON, null if this segment deletes it, undefined if it says nothing. */
  get(key: string): string | null | undefined {
    if (this.index().table.length === 0 || !this.bloom().has(groupOf(key))) return undefined;
    const block = this.block(this.blockFor(key));
    const at = block.lowerBound(key);
    return at < block.length && block.key(at) === key ? block.value(at) : undefined;
  }

  /** Entries (deletions too) whose keys start with `prefix`, in key order. */
  *scan(prefix: string): IterableIterator<SegmentEntry> {
    const { table } = this.index();
    if (table.length === 0) return;
    const first = this.blockFor(prefix);
    for (let i = first; i < table.length; i++) {
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
