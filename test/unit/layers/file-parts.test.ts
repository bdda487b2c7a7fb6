import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PiecedFile } from '../../../shared/layers/file-parts.js';

/** `whole` cut at the given points (sorted, deduplicated, inside the buffer). */
function piecesOf(whole: Buffer, cuts: number[]): PiecedFile {
  const file = new PiecedFile();
  let from = 0;
  for (const at of [...new Set(cuts)].sort((a, b) => a - b)) {
    file.push(whole.subarray(from, at));
    from = at;
  }
  file.push(whole.subarray(from));
  return file;
}

describe('PiecedFile', () => {
  it('reads any range of a file in pieces as the same bytes as the whole file', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 600 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.nat(),
        fc.nat(),
        (bytes, rawCuts, rawOffset, rawLength) => {
          const whole = Buffer.from(bytes);
          const file = piecesOf(
            whole,
            rawCuts.map((c) => c % whole.length),
          );
          expect(file.size).toBe(whole.length);
          const offset = rawOffset % (whole.length + 1);
          const length = rawLength % (whole.length - offset + 1);
          expect(file.bytes(offset, length)).toEqual(whole.subarray(offset, offset + length));
        },
      ),
      { seed: 18, numRuns: 500 },
    );
  });

  it('answers undefined for a range past the end or not a whole number, instead of short bytes', () => {
    const file = piecesOf(Buffer.from('0123456789'), [3, 7]);
    expect(file.bytes(8, 3)).toBeUndefined();
    expect(file.bytes(-1, 2)).toBeUndefined();
    expect(file.bytes(0, Number.NaN)).toBeUndefined();
    expect(file.bytes(2 ** 60, 1)).toBeUndefined();
    expect(file.bytes(10, 0)?.length).toBe(0);
  });

  it('gives a range inside one piece as a view of it, not a copy', () => {
    const piece = Buffer.from('abcdefgh');
    const file = new PiecedFile();
    file.push(piece);
    file.push(Buffer.from('ijkl'));
    const view = file.bytes(2, 3) as Buffer;
    expect(view.buffer).toBe(piece.buffer);
    expect(view.toString()).toBe('cde');
  });

  it('assembles the whole file into the reused buffer when it fits, and into a new one when not', () => {
    const whole = Buffer.from('the whole file, in three pieces');
    const reused = Buffer.alloc(64, 0x2a);
    const fits = piecesOf(whole, [5, 11]).assemble(reused);
    expect(fits.buffer).toBe(reused.buffer);
    expect(fits).toEqual(whole);
    const small = Buffer.alloc(4);
    const grown = piecesOf(whole, [5, 11]).assemble(small);
    expect(grown.buffer).not.toBe(small.buffer);
    expect(grown).toEqual(whole);
    // One piece is handed over as it is.
    const single = new PiecedFile();
    single.push(whole);
    expect(single.assemble(reused)).toBe(whole);
  });
});
