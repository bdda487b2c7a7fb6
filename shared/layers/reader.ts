/**
 * Reads one layer as a stream: decompression, tar entries, whiteout markers, and the content
 * of only the files the visitor asks for. Nothing is written to disk, and memory is bounded
 * by the limits. Layer format: https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md
 */

import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { BosunError } from '../errors.js';
import type { Compression } from '../registry/media-types.js';
import type { ImageBudget } from './budget.js';
import { openDecompressed } from './decompress.js';
import {
  type BudgetExceededError,
  CorruptLayerError,
  DecompressionBombError,
  type EntryError,
  FileTooLargeError,
  LayerTooLargeError,
  TooManyEntriesError,
  UnsafePathError,
} from './errors.js';
import { type FileParts, PiecedFile } from './file-parts.js';
import { DEFAULT_LIMITS, type LayerLimits } from './limits.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface LayerEntry {
  /** Normalized path relative to the image root, without a leading slash: `etc/os-release`. */
  readonly path: string;
  readonly type: EntryType;
  readonly size: number;
  readonly mode: number;
  /** Symlink target as written, or the normalized path a hard link points at. */
  readonly linkname?: string;
}

/** Decides, from the entry alone, whether its content is read. Must be cheap: it sees every entry. */
export type WantsContent = (entry: LayerEntry) => boolean;

export interface LayerStats {
  readonly compression: Compression;
  readonly compressedBytes: number;
  readonly decompressedBytes: number;
  readonly entries: number;
}

export interface LayerReadResult {
  readonly entries: LayerEntry[];
  /** Paths deleted from lower layers (`.wh.<name>`). */
  readonly whiteouts: string[];
  /** Directories whose lower-layer content is hidden (`.wh..wh..opq`). */
  readonly opaqueDirs: string[];
  readonly contents: Map<string, Buffer>;
  /** What `ReadLayerOptions.scan` made of the files it read (their content is not kept). */
  readonly facts?: Map<string, unknown>;
  readonly issues: EntryError[];
  readonly stats: LayerStats;
  /**
   * Set when the image's budget ran out while this layer was read: the result holds what was
   * read before, and is never cached.
   */
  readonly incomplete?: BudgetExceededError;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Normalizes a tar entry name to a path inside the image root. Absolute names and names that
 * climb out with `..` are refused: a well-formed layer has neither, and honouring them is how
 * extraction tools get tricked into writing outside their root.
 */
export function normalizeEntryPath(name: string): string {
  if (name.startsWith('/'))
    throw new UnsafePathError(name, `absolute path in tar entry: ${JSON.stringify(name)}`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0)
        throw new UnsafePathError(
          name,
          `path climbs out of the image root: ${JSON.stringify(name)}`,
        );
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join('/');
}

function entryType(type: tar.Header['type']): EntryType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    default:
      return 'other';
  }
}

/** All-zero blocks of this size are not counted against the compression ratio. */
const ZERO_BLOCK = Buffer.alloc(4096);

/**
 * Whether the 4 KiB at `at` in `chunk` are all zero. Its first, middle and last bytes tell most
 * data blocks apart without the compare, and the compare takes no view (a view is an object to
 * collect, for every block of every layer).
 */
function isZeroBlock(chunk: Buffer, at: number): boolean {
  const size = ZERO_BLOCK.length;
  return (
    chunk[at] === 0 &&
    chunk[at + size - 1] === 0 &&
    chunk[at + (size >> 1)] === 0 &&
    chunk.compare(ZERO_BLOCK, 0, size, at, at + size) === 0
  );
}

/** How many bytes of `chunk` lie in all-zero 4 KiB blocks (aligned to the chunk). */
function zeroBytes(chunk: Buffer): number {
  let zeros = 0;
  for (let at = 0; at + ZERO_BLOCK.length <= chunk.length; at += ZERO_BLOCK.length)
    if (isZeroBlock(chunk, at)) zeros += ZERO_BLOCK.length;
  return zeros;
}

/** Counts bytes through it, and those outside all-zero blocks, and enforces limits on them. */
class Meter extends Transform {
  bytes = 0;
  /** Bytes outside all-zero blocks: what a compression ratio is measured on. */
  dataBytes = 0;
  constructor(
    private readonly check: (bytes: number, chunk: number) => Error | undefined,
    private readonly countZeros = false,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.dataBytes += this.countZeros ? chunk.length - zeroBytes(chunk) : chunk.length;
    callback(this.check(this.bytes, chunk.length) ?? null, chunk);
  }
}

/**
 * Files read as they stream and then dropped, keeping only what `read` makes of them (an
 * executable's build information): unlike wanted contents, they do not count against the
 * layer's in-memory budget, one is held at a time.
 */
export interface LayerScan {
  wants(entry: LayerEntry): boolean;
  /** Decides from the first bytes (HEAD_BYTES of them, or the whole file if shorter) whether to read on. */
  head?(entry: LayerEntry, first: Buffer): boolean;
  /**
   * Decides from ranges of a file (an executable's section table) whether `read` has anything
   * to find in it, before the file is copied into one buffer: asked once `head` has kept it,
   * with what has arrived (undefined: cannot tell yet), then, if it could not tell, once the
   * whole file has arrived (undefined then counts as yes). A file it says no to is dropped
   * uncopied; one it says yes to early is copied as it streams, not held twice. Without it,
   * every file `head` keeps is read.
   */
  needs?(entry: LayerEntry, file: FileParts): boolean | undefined;
  /**
   * Never throws for bad content; undefined when there is nothing to keep. `content` is only
   * valid until the returned promise settles (its memory is reused for the next file): what is
   * kept must be copied out of it (strings are).
   */
  read(entry: LayerEntry, content: Buffer): Promise<unknown>;
}

/** The reused buffer for scanned files is kept between files up to this size. */
const SCRATCH_KEPT_BYTES = 64 * 1024 * 1024;

/** Scanned files are held one at a time; Go binaries of several hundred MB exist. */
const MAX_SCANNED_FILE_BYTES = 512 * 1024 * 1024;

/**
 * Copies `chunk` into `into` at `at`, leaving out the all-zero 4 KiB blocks: `into` is freshly
 * zeroed, and the pages never written are never backed by memory. A 500 MB sparse executable
 * was held whole (655 MB, issue 17 #7); so it costs only its data.
 */
function copySparse(chunk: Buffer, into: Buffer, at: number): void {
  let start = 0;
  // Zero blocks aligned to the destination, so that whole pages are skipped.
  let block = ZERO_BLOCK.length - (at % ZERO_BLOCK.length);
  if (block === ZERO_BLOCK.length) block = 0;
  if (block > 0) chunk.copy(into, at, 0, Math.min(block, chunk.length));
  start = Math.min(block, chunk.length);
  while (start < chunk.length) {
    const end = Math.min(start + ZERO_BLOCK.length, chunk.length);
    if (!(end - start === ZERO_BLOCK.length && isZeroBlock(chunk, start)))
      chunk.copy(into, at + start, start, end);
    start = end;
  }
}

/**
 * How many first bytes of a scanned file `LayerScan.head` sees: a decompressor's chunk may end
 * a few bytes into a file, and an ELF magic cut in two must not read as "not an executable".
 */
export const HEAD_BYTES = 8192;

/**
 * Reads the files a LayerScan wants, one at a time: the first bytes decide, then the rest is
 * held as it came (when the scan can judge it by ranges, `needs`) or copied into one buffer
 * reused from file to file: fresh buffers for hundreds of executables cost more in page faults
 * than the extractors' own work.
 */
export class FileScanner {
  private scratch = Buffer.alloc(0);

  constructor(private readonly layerScan: LayerScan) {}

  async scan(chunks: AsyncIterable<Buffer>, entry: LayerEntry): Promise<unknown> {
    const scan = this.layerScan;
    const file = new PiecedFile(entry.size);
    // undecided: the first bytes are still coming; hold: kept as the pieces came, for `needs`
    // to judge once the whole file is in; copy: into the reused buffer as it streams.
    // (Typed by `as`: the closure below changes it, which narrowing does not see.)
    let mode = 'undecided' as 'undecided' | 'skip' | 'hold' | 'copy';
    let filled = 0;
    const decide = () => {
      const first = file.bytes(0, Math.min(file.size, HEAD_BYTES)) as Buffer;
      const early =
        file.size === 0 || !(scan.head?.(entry, first) ?? true)
          ? false
          : // Held by reference up to the size of the kept buffer; larger files are copied as
            // they come (copySparse keeps their zero blocks out of memory).
            scan.needs === undefined || entry.size > SCRATCH_KEPT_BYTES
            ? true
            : scan.needs(entry, file);
      if (early === undefined) {
        mode = 'hold';
        return;
      }
      const pieces = file.take();
      mode = early ? 'copy' : 'skip';
      if (early) for (const piece of pieces) filled = this.copy(piece, filled, entry.size);
    };
    for await (const chunk of chunks) {
      if (mode === 'copy') filled = this.copy(chunk, filled, entry.size);
      else if (mode === 'hold') file.push(chunk);
      else if (mode === 'undecided') {
        file.push(chunk);
        if (file.size >= Math.min(HEAD_BYTES, entry.size)) decide();
      }
    }
    // A file shorter than its header said: decided on what came.
    if (mode === 'undecided') decide();
    let content: Buffer;
    if (mode === 'skip') return undefined;
    if (mode === 'hold') {
      if (scan.needs?.(entry, file) === false) return undefined;
      if (this.scratch.length < file.size) this.scratch = Buffer.allocUnsafe(file.size);
      content = file.assemble(this.scratch);
    } else content = this.scratch.subarray(0, filled);
    try {
      return await scan.read(entry, content);
    } finally {
      // A very large executable's buffer is not kept for the rest of the layer.
      if (this.scratch.length > SCRATCH_KEPT_BYTES) this.scratch = Buffer.alloc(0);
    }
  }

  /** Appends `chunk` at `at` in the scratch buffer, grown to the file's size as needed. */
  private copy(chunk: Buffer, at: number, size: number): number {
    if (at + chunk.length > this.scratch.length) {
      // Sized by the tar header; more only if the entry holds more than it said. A large one
      // gets zeroed memory that its zero blocks never touch (copySparse).
      const grownSize = Math.max(at + chunk.length, size);
      const grown =
        grownSize > SCRATCH_KEPT_BYTES ? Buffer.alloc(grownSize) : Buffer.allocUnsafe(grownSize);
      this.scratch.copy(grown, 0, 0, at);
      this.scratch = grown;
    }
    if (this.scratch.length > SCRATCH_KEPT_BYTES) copySparse(chunk, this.scratch, at);
    else chunk.copy(this.scratch, at);
    return at + chunk.length;
  }
}

export interface ReadLayerOptions {
  readonly limits?: Partial<LayerLimits>;
  readonly scan?: LayerScan;
  /** Names the layer in errors: `layer sha256:… of registry/repo@sha256:…`. */
  readonly what: string;
  /**
   * The image's work budget (budget.ts), shared by its layers: when it runs out, reading stops
   * and the result so far is returned with `incomplete` set, instead of an error.
   */
  readonly budget?: ImageBudget;
}

/**
 * Reads a layer stream (gzip, zstd or plain tar). Entry-level problems become issues and the
 * entry is skipped; layer-level problems (corrupt data, limits) throw a LayerError.
 */
export async function readLayer(
  source: Readable,
  wants: WantsContent,
  options: ReadLayerOptions,
): Promise<LayerReadResult> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const what = options.what;
  const budget = options.budget;
  const compressedMeter = new Meter(() => undefined);
  const decompressedMeter: Meter = new Meter((bytes, chunk): Error | undefined => {
    if (bytes > limits.maxLayerBytes) {
      return new LayerTooLargeError(
        `${what}: more than ${limits.maxLayerBytes} decompressed bytes`,
      );
    }
    // Measured on data outside all-zero blocks: a real layer may hold a 200 MiB zero-filled
    // file (a sparse lastlog) and was rejected whole (issue 17 #8). Zeros are still bounded by
    // the layer's and the image's byte budgets.
    if (
      decompressedMeter.dataBytes > limits.ratioFloorBytes &&
      decompressedMeter.dataBytes > compressedMeter.bytes * limits.maxCompressionRatio
    ) {
      return new DecompressionBombError(
        `${what}: ${decompressedMeter.dataBytes} bytes of data (${bytes} in all) decompressed from ${compressedMeter.bytes}: over the ${limits.maxCompressionRatio}:1 ratio limit`,
      );
    }
    return budget?.decompress(chunk);
  }, true);
  source.on('error', (error) => compressedMeter.destroy(error));
  const { stream, compression } = await openDecompressed(source.pipe(compressedMeter), what);
  const extract = tar.extract();

  const entries: LayerEntry[] = [];
  const whiteouts: string[] = [];
  const opaqueDirs: string[] = [];
  const contents = new Map<string, Buffer>();
  const facts = new Map<string, unknown>();
  const issues: EntryError[] = [];
  let readBytes = 0;
  const scanned = options.scan === undefined ? undefined : new FileScanner(options.scan);
  let count = 0;

  const consume = (async () => {
    for await (const entry of extract) {
      count++;
      if (count > limits.maxEntries)
        throw new TooManyEntriesError(`${what}: more than ${limits.maxEntries} entries`);
      const spent = budget?.entry();
      if (spent !== undefined) throw spent;
      const header = entry.header;
      let path: string;
      try {
        path = normalizeEntryPath(header.name);
      } catch (error) {
        issues.push(error as EntryError);
        entry.resume();
        continue;
      }
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      const dir = slash < 0 ? '' : path.slice(0, slash);
      if (base === OPAQUE) {
        opaqueDirs.push(dir);
        entry.resume();
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        whiteouts.push(
          dir === ''
            ? base.slice(WHITEOUT_PREFIX.length)
            : `${dir}/${base.slice(WHITEOUT_PREFIX.length)}`,
        );
        entry.resume();
        continue;
      }
      if (path === '') {
        entry.resume();
        continue;
      }
      const type = entryType(header.type);
      let linkname: string | undefined;
      if (type === 'symlink') linkname = header.linkname ?? '';
      if (type === 'hardlink') {
        try {
          linkname = normalizeEntryPath(header.linkname ?? '');
        } catch (error) {
          issues.push(error as EntryError);
          entry.resume();
          continue;
        }
      }
      // Built without a spread: kept per entry, and V8 gives spread literals a costlier shape.
      const item: { -readonly [K in keyof LayerEntry]: LayerEntry[K] } = {
        path,
        type,
        size: header.size ?? 0,
        mode: header.mode ?? 0,
      };
      if (linkname !== undefined) item.linkname = linkname;
      entries.push(item);
      if (type === 'file' && wants(item)) {
        if (item.size > limits.maxFileBytes) {
          issues.push(
            new FileTooLargeError(
              path,
              `${what}: ${path} is ${item.size} bytes, over the ${limits.maxFileBytes}-byte read limit`,
            ),
          );
        } else if (readBytes + item.size > limits.maxReadBytesPerLayer) {
          issues.push(
            new FileTooLargeError(
              path,
              `${what}: reading ${path} would exceed ${limits.maxReadBytesPerLayer} bytes of content for one layer`,
            ),
          );
        } else {
          const chunks: Buffer[] = [];
          for await (const chunk of entry) chunks.push(chunk as Buffer);
          const content = Buffer.concat(chunks);
          readBytes += content.length;
          contents.set(path, content);
          continue;
        }
      } else if (type === 'file' && options.scan?.wants(item)) {
        if (item.size > MAX_SCANNED_FILE_BYTES) {
          issues.push(
            new FileTooLargeError(
              path,
              `${what}: ${path} is ${item.size} bytes, over the ${MAX_SCANNED_FILE_BYTES}-byte limit for scanned files`,
            ),
          );
        } else {
          const fact = await scanned?.scan(entry as AsyncIterable<Buffer>, item);
          if (fact !== undefined) facts.set(path, fact);
          continue;
        }
      }
      entry.resume();
    }
  })();

  // The image's deadline also stops a layer whose bytes stopped coming.
  const timer =
    budget === undefined
      ? undefined
      : setTimeout(() => {
          const late = budget.check();
          if (late !== undefined) compressedMeter.destroy(late);
        }, budget.remainingMs() + 1);
  const piped = pipeline(stream, decompressedMeter, extract);
  let incomplete: BudgetExceededError | undefined;
  try {
    await Promise.all([piped, consume]);
  } catch (error) {
    extract.destroy();
    // Whatever error surfaced first, a spent budget means: keep what was read.
    if (budget?.exceeded !== undefined) {
      await Promise.allSettled([piped, consume]);
      incomplete = budget.exceeded;
    } else {
      // Our own errors (limits, corrupt compression, a digest mismatch of the source) pass as they are.
      if (error instanceof BosunError || !(error instanceof Error)) throw error;
      // tar-stream's own messages: "Unexpected end of data", "Invalid tar header" and the like.
      throw new CorruptLayerError(`${what}: not a valid tar stream: ${error.message}`, {
        cause: error,
      });
    }
  } finally {
    clearTimeout(timer);
  }
  return {
    entries,
    whiteouts,
    opaqueDirs,
    contents,
    ...(facts.size === 0 ? {} : { facts }),
    issues,
    stats: {
      compression,
      compressedBytes: compressedMeter.bytes,
      decompressedBytes: decompressedMeter.bytes,
      entries: count,
    },
    ...(incomplete === undefined ? {} : { incomplete }),
  };
}
