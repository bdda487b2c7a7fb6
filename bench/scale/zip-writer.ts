/**
 * A zip written entry by entry straight to a file, for the simulated OSV export's `all.zip`
 * files (bench/scale/simulate-osv.ts). yazl (what the tests use) is no fit at that size: it
 * looks for the next entry to write from the first one each time (quadratic in the entry
 * count) and ignores the output stream's backpressure, so 130,000 entries would be held in
 * memory. Here each entry is deflated and written at once; only the central directory (about
 * 100 bytes an entry) stays in memory until `close`.
 *
 * Format: PKWARE's APPNOTE.TXT 6.3 (sections 4.3.7 local header, 4.3.12 central directory,
 * 4.3.14-16 ZIP64 end records, 4.5.3 ZIP64 extra field). ZIP64 is used where a count or an
 * offset does not fit the classic fields: OSV's larger ecosystems have more than 65,535
 * records, as ours do at 500,000.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';

const MAX16 = 0xffff;
const MAX32 = 0xffffffff;
/** General purpose flag bit 11: names are UTF-8. */
const UTF8_NAMES = 0x0800;
const DEFLATE = 8;
/** 4.5 and 2.0 in the "version needed" field: ZIP64 needs 4.5, deflate 2.0. */
const VERSION_ZIP64 = 45;
const VERSION_DEFLATE = 20;
/** Made by UNIX (3 in the high byte), so the external attributes below are a file mode. */
const MADE_BY = (3 << 8) | VERSION_ZIP64;
/** A regular file, rw-r--r--. */
const FILE_MODE = (0o100644 << 16) >>> 0;
const FLUSH_BYTES = 1 << 20;
const CHUNK_BYTES = 1 << 20;

function dosDateTime(d: Date): { date: number; time: number } {
  return {
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
  };
}

function u64(buf: Buffer, value: number, at: number): void {
  buf.writeBigUInt64LE(BigInt(value), at);
}

export interface ZipWriterOptions {
  /** Write the ZIP64 end records even when the classic ones would do (tests use it). */
  readonly forceZip64?: boolean;
  /** Modification time of every entry (now by default). */
  readonly date?: Date;
}

export class ZipWriter {
  private readonly fd: number;
  private readonly when: { date: number; time: number };
  /**
   * Bytes not yet written. Entries are copied in: deflateRawSync's result is a view of a 16 KiB
   * output slab, so holding the views themselves held 16 KiB per ~1 KiB record (gigabytes).
   */
  private readonly pending = Buffer.alloc(FLUSH_BYTES);
  private pendingBytes = 0;
  /** The central directory so far, in 1 MiB chunks (one Buffer per entry costs ~3x more). */
  private central: Buffer[] = [];
  private chunk = Buffer.alloc(CHUNK_BYTES);
  private chunkUsed = 0;
  private centralBytes = 0;
  private offset = 0;
  private count = 0;

  constructor(
    readonly file: string,
    private readonly opts: ZipWriterOptions = {},
  ) {
    this.fd = openSync(file, 'w');
    this.when = dosDateTime(opts.date ?? new Date());
  }

  /** Adds one file entry, deflated. */
  add(name: string, data: Buffer): void {
    const fileName = Buffer.from(name, 'utf8');
    const packed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION_DEFLATE, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(this.when.time, 10);
    local.writeUInt16LE(this.when.date, 12);
    local.writeUInt32LE(crc, 14);
    // One record is far below 4 GiB: sizes always fit, so the local header never needs ZIP64.
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    local.writeUInt16LE(0, 28);
    this.centralRecord(fileName, crc, packed.length, data.length, this.offset);
    this.write(local);
    this.write(fileName);
    this.write(packed);
    this.count++;
  }

  /** Writes the central directory and the end records, and closes the file. */
  close(): { entries: number; bytes: number } {
    const cdOffset = this.offset;
    this.central.push(this.chunk.subarray(0, this.chunkUsed));
    for (const b of this.central) this.write(b);
    const cdSize = this.centralBytes;
    this.central = [];
    const zip64 =
      this.opts.forceZip64 === true || this.count >= MAX16 || cdSize >= MAX32 || cdOffset >= MAX32;
    if (zip64) {
      const recordAt = this.offset;
      const record = Buffer.alloc(56);
      record.writeUInt32LE(0x06064b50, 0);
      u64(record, 56 - 12, 4);
      record.writeUInt16LE(MADE_BY, 12);
      record.writeUInt16LE(VERSION_ZIP64, 14);
      u64(record, this.count, 24);
      u64(record, this.count, 32);
      u64(record, cdSize, 40);
      u64(record, cdOffset, 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      u64(locator, recordAt, 8);
      locator.writeUInt32LE(1, 16);
      this.write(record);
      this.write(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    // With ZIP64 the classic fields all say "see the ZIP64 record", as yazl writes them.
    end.writeUInt16LE(zip64 ? MAX16 : this.count, 8);
    end.writeUInt16LE(zip64 ? MAX16 : this.count, 10);
    end.writeUInt32LE(zip64 ? MAX32 : cdSize, 12);
    end.writeUInt32LE(zip64 ? MAX32 : cdOffset, 16);
    this.write(end);
    this.flush();
    closeSync(this.fd);
    return { entries: this.count, bytes: this.offset };
  }

  private centralRecord(
    fileName: Buffer,
    crc: number,
    packed: number,
    size: number,
    at: number,
  ): void {
    // Only the local header's offset can pass 4 GiB (a zip of several GB of records).
    const bigOffset = at >= MAX32;
    const extra = bigOffset ? Buffer.alloc(12) : Buffer.alloc(0);
    if (bigOffset) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(8, 2);
      u64(extra, at, 4);
    }
    const head = Buffer.alloc(46);
    head.writeUInt32LE(0x02014b50, 0);
    head.writeUInt16LE(MADE_BY, 4);
    head.writeUInt16LE(bigOffset ? VERSION_ZIP64 : VERSION_DEFLATE, 6);
    head.writeUInt16LE(UTF8_NAMES, 8);
    head.writeUInt16LE(DEFLATE, 10);
    head.writeUInt16LE(this.when.time, 12);
    head.writeUInt16LE(this.when.date, 14);
    head.writeUInt32LE(crc, 16);
    head.writeUInt32LE(packed, 20);
    head.writeUInt32LE(size, 24);
    head.writeUInt16LE(fileName.length, 28);
    head.writeUInt16LE(extra.length, 30);
    head.writeUInt32LE(FILE_MODE, 38);
    head.writeUInt32LE(bigOffset ? MAX32 : at, 42);
    const length = head.length + fileName.length + extra.length;
    if (this.chunkUsed + length > this.chunk.length) {
      this.central.push(this.chunk.subarray(0, this.chunkUsed));
      this.chunk = Buffer.alloc(Math.max(CHUNK_BYTES, length));
      this.chunkUsed = 0;
    }
    for (const part of [head, fileName, extra]) {
      part.copy(this.chunk, this.chunkUsed);
      this.chunkUsed += part.length;
    }
    this.centralBytes += length;
  }

  private write(buf: Buffer): void {
    this.offset += buf.length;
    if (this.pendingBytes + buf.length > this.pending.length) {
      this.flush();
      if (buf.length > this.pending.length) {
        this.writeAll(buf);
        return;
      }
    }
    buf.copy(this.pending, this.pendingBytes);
    this.pendingBytes += buf.length;
  }

  private flush(): void {
    this.writeAll(this.pending.subarray(0, this.pendingBytes));
    this.pendingBytes = 0;
  }

  private writeAll(buf: Buffer): void {
    for (let done = 0; done < buf.length; ) done += writeSync(this.fd, buf, done);
  }
}
