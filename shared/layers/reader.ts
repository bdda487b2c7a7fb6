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
import { openDecompressed } from './decompress.js';
import {
  CorruptLayerError,
  DecompressionBombError,
  type EntryError,
  FileTooLargeError,
  LayerTooLargeError,
  TooManyEntriesError,
  UnsafePathError,
} from './errors.js';
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

/** Counts bytes through it and enforces the total-size and ratio limits. */
class Meter extends Transform {
  bytes = 0;
  constructor(private readonly check: (bytes: number) => Error | undefined) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(this.check(this.bytes) ?? null, chunk);
  }
}

/**
 * Files read as they stream and then dropped, keeping only what `read` makes of them (an
 * executable's build information): unlike wanted contents, they do not count against the
 * layer's in-memory budget, one is held at a time.
 */
export interface LayerScan {
  wants(entry: LayerEntry): boolean;
  /** Decides from the first bytes (a chunk, at least a few hundred) whether to read on. */
  head?(entry: LayerEntry, first: Buffer): boolean;
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

export interface ReadLayerOptions {
  readonly limits?: Partial<LayerLimits>;
  readonly scan?: LayerScan;
  /** Names the layer in errors: `layer sha256:… of registry/repo@sha256:…`. */
  readonly what: string;
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
  const compressedMeter = new Meter(() => undefined);
  const decompressedMeter = new Meter((bytes) => {
    if (bytes > limits.maxLayerBytes) {
      return new LayerTooLargeError(
        `${what}: more than ${limits.maxLayerBytes} decompressed bytes`,
      );
    }
    if (
      bytes > limits.ratioFloorBytes &&
      bytes > compressedMeter.bytes * limits.maxCompressionRatio
    ) {
      return new DecompressionBombError(
        `${what}: ${bytes} bytes decompressed from ${compressedMeter.bytes}: over the ${limits.maxCompressionRatio}:1 ratio limit`,
      );
    }
    return undefined;
  });
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
  let scratch = Buffer.alloc(0);
  let count = 0;

  const consume = (async () => {
    for await (const entry of extract) {
      count++;
      if (count > limits.maxEntries)
        throw new TooManyEntriesError(`${what}: more than ${limits.maxEntries} entries`);
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
      const item: LayerEntry = {
        path,
        type,
        size: header.size ?? 0,
        mode: header.mode ?? 0,
        ...(linkname === undefined ? {} : { linkname }),
      };
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
          // The first chunk decides (a file format's magic); the rest is held only if wanted,
          // in one buffer reused from file to file: fresh buffers for hundreds of executables
          // cost more in page faults than the extractors' own work.
          let filled = 0;
          let keep: boolean | undefined;
          for await (const chunk of entry as AsyncIterable<Buffer>) {
            keep ??= options.scan.head?.(item, chunk) ?? true;
            if (!keep) continue;
            if (filled + chunk.length > scratch.length) {
              // Sized by the tar header; more only if the entry holds more than it said.
              const grown = Buffer.allocUnsafe(Math.max(filled + chunk.length, item.size));
              scratch.copy(grown, 0, 0, filled);
              scratch = grown;
            }
            chunk.copy(scratch, filled);
            filled += chunk.length;
          }
          if (keep === true) {
            const fact = await options.scan.read(item, scratch.subarray(0, filled));
            if (fact !== undefined) facts.set(path, fact);
          }
          // A very large executable's buffer is not kept for the rest of the layer.
          if (scratch.length > SCRATCH_KEPT_BYTES) scratch = Buffer.alloc(0);
          continue;
        }
      }
      entry.resume();
    }
  })();

  try {
    await Promise.all([pipeline(stream, decompressedMeter, extract), consume]);
  } catch (error) {
    extract.destroy();
    // Our own errors (limits, corrupt compression, a digest mismatch of the source) pass as they are.
    if (error instanceof BosunError || !(error instanceof Error)) throw error;
    // tar-stream's own messages: "Unexpected end of data", "Invalid tar header" and the like.
    throw new CorruptLayerError(`${what}: not a valid tar stream: ${error.message}`, {
      cause: error,
    });
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
  };
}
