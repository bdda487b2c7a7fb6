/**
 * Reads a zip file's entries one at a time, from the file (never the whole archive in memory),
 * with yauzl: it reads the central directory, refuses entry names with `..` or absolute paths,
 * and checks each entry's CRC and size as it inflates.
 */
import yauzl from 'yauzl';
import { FeedFormatError } from './types.js';

export interface ZipEntry {
  readonly name: string;
  read(): Promise<Buffer>;
}

const MAX_ENTRY_BYTES = 16 * 1024 * 1024;

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: true }, (err, zip) => {
      if (err !== null || zip === undefined)
        reject(new FeedFormatError(`${file}: not a readable zip: ${err?.message}`, { cause: err }));
      else resolve(zip);
    });
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, file: string): Promise<Buffer> {
  const where = `${file}: ${entry.fileName}`;
  if (entry.uncompressedSize > MAX_ENTRY_BYTES)
    return Promise.reject(
      new FeedFormatError(`${where}: ${entry.uncompressedSize} bytes, over the 16 MiB entry limit`),
    );
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err !== null || stream === undefined) {
        reject(new FeedFormatError(`${where}: ${err?.message}`, { cause: err }));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) =>
        reject(new FeedFormatError(`${where}: ${e.message}`, { cause: e })),
      );
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/** An open zip. Entries may be read in any order until `close`. */
export class ZipReader {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    readonly file: string,
  ) {}

  static async open(file: string): Promise<ZipReader> {
    return new ZipReader(await openZip(file), file);
  }

  /** The file entries (directories left out), in central-directory order. */
  async *entries(): AsyncGenerator<ZipEntry> {
    const { zip, file } = this;
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
          reject(new FeedFormatError(`${file}: ${e.message}`, { cause: e }));
        };
        zip.on('entry', onEntry);
        zip.on('end', onEnd);
        zip.on('error', onError);
        zip.readEntry();
      });
      if (entry === undefined) return;
      if (entry.fileName.endsWith('/')) continue;
      yield { name: entry.fileName, read: () => readEntry(zip, entry, file) };
    }
  }

  close(): void {
    this.zip.close();
  }
}
