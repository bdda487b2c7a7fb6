/**
 * Reads a zip's entries one at a time with yauzl, from a file (never the whole archive in
 * memory) or from a buffer (a jar inside an image layer): it reads the central directory,
 * refuses entry names with `..` or absolute paths, and checks each entry's CRC and size as it
 * inflates. Errors are the caller's type (a feed's, an extractor's), naming the archive.
 */
import yauzl from 'yauzl';
import { BosunError } from './errors.js';

/** A zip that cannot be read, or an entry of it. */
export class ZipFormatError extends BosunError {
  readonly fatal = false;
}

export type ZipErrorFactory = (message: string, cause?: unknown) => Error;

const zipError: ZipErrorFactory = (message, cause) => new ZipFormatError(message, { cause });

export interface ZipEntry {
  readonly name: string;
  readonly size: number;
  read(): Promise<Buffer>;
}

const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
const OPTIONS = { lazyEntries: true, autoClose: false, strictFileNames: true } as const;

function opened(
  file: string,
  toError: ZipErrorFactory,
  resolve: (zip: yauzl.ZipFile) => void,
  reject: (error: Error) => void,
) {
  return (err: Error | null, zip?: yauzl.ZipFile) => {
    if (err !== null || zip === undefined)
      reject(toError(`${file}: not a readable zip: ${err?.message}`, err));
    else resolve(zip);
  };
}

function readEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  file: string,
  toError: ZipErrorFactory,
  maxBytes: number,
): Promise<Buffer> {
  const where = `${file}: ${entry.fileName}`;
  if (entry.uncompressedSize > maxBytes)
    return Promise.reject(
      toError(`${where}: ${entry.uncompressedSize} bytes, over the ${maxBytes}-byte entry limit`),
    );
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err !== null || stream === undefined) {
        reject(toError(`${where}: ${err?.message}`, err));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => reject(toError(`${where}: ${e.message}`, e)));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/** An open zip. Entries may be read in any order until `close`. */
export class ZipReader {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    readonly file: string,
    private readonly toError: ZipErrorFactory,
    private readonly maxEntryBytes: number,
  ) {}

  static async open(
    file: string,
    toError: ZipErrorFactory = zipError,
    maxEntryBytes = MAX_ENTRY_BYTES,
  ): Promise<ZipReader> {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(file, OPTIONS, opened(file, toError, resolve, reject)),
    );
    return new ZipReader(zip, file, toError, maxEntryBytes);
  }

  /** A zip held in memory; `name` names it in errors. */
  static async fromBuffer(
    buffer: Buffer,
    name: string,
    toError: ZipErrorFactory = zipError,
    maxEntryBytes = MAX_ENTRY_BYTES,
  ): Promise<ZipReader> {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.fromBuffer(buffer, OPTIONS, opened(name, toError, resolve, reject)),
    );
    return new ZipReader(zip, name, toError, maxEntryBytes);
  }

  /** The file entries (directories left out), in central-directory order. */
  async *entries(): AsyncGenerator<ZipEntry> {
    const { zip, file, toError, maxEntryBytes } = this;
    while (true) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        const done = () => {
          zip.off('entry', onEntry);
          zip.off('end', onEnd);
          zip.off('error', onError);
        };
        const onEntry = (e: yauzl.Entry) => {
          done();
          resolve(e);
        };
        const onEnd = () => {
          done();
          resolve(undefined);
        };
        const onError = (e: Error) => {
          done();
          reject(toError(`${file}: ${e.message}`, e));
        };
        zip.on('entry', onEntry);
        zip.on('end', onEnd);
        zip.on('error', onError);
        zip.readEntry();
      });
      if (entry === undefined) return;
      if (entry.fileName.endsWith('/')) continue;
      yield {
        name: entry.fileName,
        size: entry.uncompressedSize,
        read: () => readEntry(zip, entry, file, toError, maxEntryBytes),
      };
    }
  }

  close(): void {
    this.zip.close();
  }
}
