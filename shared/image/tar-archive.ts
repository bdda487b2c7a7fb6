/**
 * Random access to the files of a tar archive (`docker save` output, an OCI archive). A plain
 * tar is indexed once by reading its headers only; a compressed one cannot be seeked, so each
 * file is reached by streaming the archive again up to it.
 * Tar format: https://www.gnu.org/software/tar/manual/html_node/Standard.html, PAX: POSIX.1-2001.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { BosunError } from '../errors.js';
import { openDecompressed, sniffCompression } from '../layers/decompress.js';
import { normalizeEntryPath } from '../layers/reader.js';
import { ManifestError } from '../registry/errors.js';

export interface TarArchive {
  readonly name: string;
  has(path: string): boolean;
  size(path: string): number | undefined;
  open(path: string): Promise<Readable>;
  read(path: string, maxBytes: number): Promise<Buffer>;
}

interface Located {
  readonly offset: number;
  readonly size: number;
}

const BLOCK = 512;
const MAX_ARCHIVE_ENTRIES = 1_000_000;

function cString(block: Buffer, start: number, length: number): string {
  const slice = block.subarray(start, start + length);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8');
}

/** Sizes are octal text, or base-256 when the first byte has its high bit set (GNU, star). */
function parseSize(block: Buffer): number {
  const field = block.subarray(124, 136);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = cString(field, 0, 12).trim();
  const value = text === '' ? 0 : Number.parseInt(text, 8);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`bad size field ${JSON.stringify(text)}`);
  return value;
}

function paxPath(data: Buffer): string | undefined {
  let path: string | undefined;
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const length = Number.parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    pos += length;
  }
  return path;
}

class IndexedTarFile implements TarArchive {
  constructor(
    readonly name: string,
    private readonly file: string | FileHandle,
    private readonly index: Map<string, Located>,
  ) {}

  /** Indexes a tar file, by path (opened for each read) or held open (an unlinked file). */
  static async build(file: string | FileHandle, name: string): Promise<IndexedTarFile> {
    const handle = typeof file === 'string' ? await open(file, 'r') : file;
    const index = new Map<string, Located>();
    try {
      const { size: fileSize } = await handle.stat();
      const block = Buffer.alloc(BLOCK);
      let offset = 0;
      let longName: string | undefined;
      let count = 0;
      while (offset + BLOCK <= fileSize) {
        await handle.read(block, 0, BLOCK, offset);
        if (block.every((b) => b === 0)) break;
        if (++count > MAX_ARCHIVE_ENTRIES)
          throw new ManifestError(`${name}: more than ${MAX_ARCHIVE_ENTRIES} entries`);
        const size = parseSize(block);
        const type = String.fromCharCode(block[156] ?? 0);
        const dataOffset = offset + BLOCK;
        if (dataOffset + size > fileSize)
          throw new ManifestError(
            `${name}: truncated archive (entry at ${offset} runs past the end)`,
          );
        if (type === 'x' || type === 'L') {
          const data = Buffer.alloc(Math.min(size, 1 << 20));
          await handle.read(data, 0, data.length, dataOffset);
          longName = type === 'L' ? cString(data, 0, data.length) : (paxPath(data) ?? longName);
        } else if (type === '0' || type === '\0' || type === '7') {
          const prefix = cString(block, 345, 155);
          const raw =
            longName ??
            (prefix === '' ? cString(block, 0, 100) : `${prefix}/${cString(block, 0, 100)}`);
          index.set(normalizeEntryPath(raw), { offset: dataOffset, size });
          longName = undefined;
        } else if (type !== 'g') {
          longName = undefined;
        }
        offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
      }
    } catch (error) {
      if (error instanceof ManifestError) throw error;
      throw new ManifestError(`${name}: not a readable tar archive: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      if (typeof file === 'string') await handle.close();
    }
    return new IndexedTarFile(name, file, index);
  }

  has(path: string): boolean {
    return this.index.has(normalizeEntryPath(path));
  }
  size(path: string): number | undefined {
    return this.index.get(normalizeEntryPath(path))?.size;
  }
  private locate(path: string): Located {
    const at = this.index.get(normalizeEntryPath(path));
    if (at === undefined)
      throw new ManifestError(`${this.name}: no file ${JSON.stringify(path)} in the archive`);
    return at;
  }
  async open(path: string): Promise<Readable> {
    const at = this.locate(path);
    if (at.size === 0) return Readable.from([]);
    // 1 MiB reads: a layer is read whole, and 64 KiB reads cost a system call each.
    const range = { start: at.offset, end: at.offset + at.size - 1, highWaterMark: 1024 * 1024 };
    return typeof this.file === 'string'
      ? createReadStream(this.file, range)
      : // Positioned reads of the held file, which stays open for the next file read.
        createReadStream('', { ...range, fd: this.file, autoClose: false, emitClose: false });
  }
  async read(path: string, maxBytes: number): Promise<Buffer> {
    const at = this.locate(path);
    if (at.size > maxBytes)
      throw new ManifestError(
        `${this.name}: ${path} is ${at.size} bytes, over the ${maxBytes}-byte limit`,
      );
    const handle = typeof this.file === 'string' ? await open(this.file, 'r') : this.file;
    try {
      const data = Buffer.alloc(at.size);
      await handle.read(data, 0, at.size, at.offset);
      return data;
    } finally {
      if (typeof this.file === 'string') await handle.close();
    }
  }
}

/** Files kept from the listing pass of a compressed archive: at most this big each, ... */
const KEEP_FILE_BYTES = 256 * 1024;
/** ... and this much in all. */
const KEEP_TOTAL_BYTES = 16 * 1024 * 1024;

/**
 * A compressed archive: listed once, keeping its small files (manifest.json, index.json, image
 * configs: what is read to find the images), then streamed again for each other file opened.
 * Without the kept files, every small file read would inflate the archive once more.
 */
class StreamedTarFile implements TarArchive {
  constructor(
    readonly name: string,
    private readonly file: string,
    private readonly sizes: Map<string, number>,
    private readonly kept: Map<string, Buffer>,
  ) {}

  static async build(file: string, name: string): Promise<StreamedTarFile> {
    const sizes = new Map<string, number>();
    const kept = new Map<string, Buffer>();
    let keptBytes = 0;
    await StreamedTarFile.scan(file, name, (path, size, entry) => {
      sizes.set(path, size);
      if (size <= KEEP_FILE_BYTES && keptBytes + size <= KEEP_TOTAL_BYTES) {
        keptBytes += size;
        // The archive's next entry comes once this one is drained, so the chunks are all here
        // before the listing moves on.
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => kept.set(path, Buffer.concat(chunks)));
      } else {
        kept.delete(path);
        entry.resume();
      }
      return false;
    });
    return new StreamedTarFile(name, file, sizes, kept);
  }

  /**
   * Streams the archive, calling `visit` per file. A visit that takes the entry returns a
   * promise that settles once the entry is consumed; the scan then stops.
   */
  private static async scan(
    file: string,
    name: string,
    visit: (path: string, size: number, entry: Readable) => false | Promise<void>,
  ): Promise<void> {
    const { stream } = await openDecompressed(createReadStream(file), name);
    const extract = tar.extract();
    stream.on('error', (error) => extract.destroy(error));
    stream.pipe(extract);
    let count = 0;
    try {
      for await (const entry of extract) {
        if (++count > MAX_ARCHIVE_ENTRIES)
          throw new ManifestError(`${name}: more than ${MAX_ARCHIVE_ENTRIES} entries`);
        if (entry.header.type !== 'file' && entry.header.type !== 'contiguous-file') {
          entry.resume();
          continue;
        }
        const taken = visit(
          normalizeEntryPath(entry.header.name),
          entry.header.size ?? 0,
          entry as unknown as Readable,
        );
        if (taken !== false) {
          await taken;
          return;
        }
      }
    } catch (error) {
      if (error instanceof ManifestError) throw error;
      throw new ManifestError(`${name}: not a readable tar archive: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  has(path: string): boolean {
    return this.sizes.has(normalizeEntryPath(path));
  }
  size(path: string): number | undefined {
    return this.sizes.get(normalizeEntryPath(path));
  }
  async open(path: string): Promise<Readable> {
    const wanted = normalizeEntryPath(path);
    const held = this.kept.get(wanted);
    if (held !== undefined) return Readable.from([held], { objectMode: false });
    if (!this.sizes.has(wanted))
      throw new ManifestError(`${this.name}: no file ${JSON.stringify(path)} in the archive`);
    const out = new PassThrough();
    let found = false;
    StreamedTarFile.scan(this.file, this.name, (p, _size, entry) => {
      if (p !== wanted) {
        entry.resume();
        return false;
      }
      found = true;
      return pipeline(entry, out);
    })
      .then(() => {
        if (!found)
          out.destroy(new ManifestError(`${this.name}: ${path} vanished from the archive`));
      })
      .catch((error: unknown) => out.destroy(error as Error));
    return out;
  }
  async read(path: string, maxBytes: number): Promise<Buffer> {
    const size = this.size(path);
    if (size !== undefined && size > maxBytes)
      throw new ManifestError(
        `${this.name}: ${path} is ${size} bytes, over the ${maxBytes}-byte limit`,
      );
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(path)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}

/**
 * A compressed archive is inflated once into a temporary file up to this size, and then read as
 * a plain one; a bigger one is streamed again for each file (StreamedTarFile), as disk space is
 * not ours to fill.
 */
const INFLATE_TO_DISK_MAX_BYTES = 2 * 1024 ** 3;

class InflatedTooLargeError extends Error {}

/**
 * Inflated archives, held open for the life of the process: their files are unlinked as soon
 * as they are written, so nothing is left behind even by a killed process, and an open handle
 * is never closed by the garbage collector under a reader.
 */
const inflated = new Set<FileHandle>();

/** Inflates `file` into an unlinked temporary tar: its open handle, or undefined if over the limit. */
async function inflateToTemporary(file: string, name: string): Promise<FileHandle | undefined> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bosun-archive-'));
  const target = path.join(dir, 'archive.tar');
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > INFLATE_TO_DISK_MAX_BYTES) done(new InflatedTooLargeError());
      else done(null, chunk);
    },
  });
  try {
    const { stream } = await openDecompressed(createReadStream(file), name);
    await pipeline(stream, counted, createWriteStream(target));
    const handle = await open(target, 'r');
    inflated.add(handle);
    return handle;
  } catch (error) {
    if (error instanceof InflatedTooLargeError) return undefined;
    if (error instanceof BosunError) throw error;
    throw new ManifestError(
      `${name}: not a readable compressed archive: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Random access to an archive's files. A compressed one (`docker save | gzip`) is inflated once
 * to a temporary file: reading each layer by streaming the archive again would inflate it once
 * per layer.
 */
export async function openTarArchive(file: string, name: string): Promise<TarArchive> {
  const handle = await open(file, 'r');
  const head = Buffer.alloc(4);
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (sniffCompression(head) === 'none') return IndexedTarFile.build(file, name);
  const plain = await inflateToTemporary(file, name);
  return plain === undefined
    ? StreamedTarFile.build(file, name)
    : IndexedTarFile.build(plain, name);
}
