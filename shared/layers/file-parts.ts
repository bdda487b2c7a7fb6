/**
 * A file that streamed past in pieces (the decompressor's chunks, as they came), read by range
 * without first copying it into one buffer: a scan can tell from a few ranges (an executable's
 * section table) that the file holds nothing for it, and the copy is never made.
 */

export interface FileParts {
  /** The bytes that have arrived so far. */
  readonly size: number;
  /** The file's size (its tar header's): `size` once the whole file has arrived. */
  readonly total: number;
  /**
   * `length` bytes from `offset`, or undefined when they have not all arrived (or lie past the
   * end). A range inside one piece is a view of it; one across pieces is copied.
   */
  bytes(offset: number, length: number): Buffer | undefined;
}

export class PiecedFile implements FileParts {
  private readonly pieces: Buffer[] = [];
  /** Offset in the file of each piece's first byte. */
  private readonly starts: number[] = [];
  size = 0;

  /** `total`: the size the file will have; as many bytes as are pushed when not given. */
  constructor(private readonly expected?: number) {}

  get total(): number {
    return this.expected ?? this.size;
  }

  push(piece: Buffer): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.starts.push(this.size);
    this.size += piece.length;
  }

  /** The index of the piece holding byte `offset` (0 <= offset < size). */
  private pieceAt(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if ((this.starts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  bytes(offset: number, length: number): Buffer | undefined {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return undefined;
    if (offset < 0 || length < 0 || offset + length > this.size) return undefined;
    if (length === 0) return Buffer.alloc(0);
    let index = this.pieceAt(offset);
    const piece = this.pieces[index] as Buffer;
    const from = offset - (this.starts[index] as number);
    if (from + length <= piece.length) return piece.subarray(from, from + length);
    const out = Buffer.allocUnsafe(length);
    let filled = piece.copy(out, 0, from);
    while (filled < length) {
      index++;
      filled += (this.pieces[index] as Buffer).copy(out, filled, 0, length - filled);
    }
    return out;
  }

  /** The pieces so far, let go of. */
  take(): Buffer[] {
    this.starts.length = 0;
    this.size = 0;
    return this.pieces.splice(0);
  }

  /**
   * The whole file as one buffer: the only piece itself, else the pieces copied into `into`
   * when it is large enough (a buffer reused from file to file), else into a new one. The
   * pieces are let go either way.
   */
  assemble(into: Buffer): Buffer {
    const size = this.size;
    const pieces = this.take();
    if (pieces.length === 1) return pieces[0] as Buffer;
    const out = into.length >= size ? into : Buffer.allocUnsafe(size);
    let at = 0;
    for (const piece of pieces) at += piece.copy(out, at);
    return out.subarray(0, at);
  }
}
