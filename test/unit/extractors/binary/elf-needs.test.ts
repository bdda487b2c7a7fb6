/**
 * The binary extractors' `needs`: a scanned executable is judged from its section table while
 * still in pieces, and dropped uncopied when it names none of the sections they read. It must
 * never turn away a file in which `extract` finds a package or an issue. Real binaries: the
 * Go and Rust ones `npm run setup` fetches or builds, and this machine's own executables.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sections } from '../../../../shared/extractors/binary/elf.js';
import { goBinary } from '../../../../shared/extractors/binary/go/buildinfo.js';
import { rustAuditable } from '../../../../shared/extractors/binary/rust/auditable.js';
import type { Extractor } from '../../../../shared/extractors/types.js';
import { PiecedFile } from '../../../../shared/layers/file-parts.js';
import { setupFile } from '../../../support/fixtures.js';

const BINARIES: Record<string, () => string> = {
  'Go, with .go.buildinfo (esbuild 0.15.18)': () =>
    setupFile('go-binaries/esbuild-linux-64_0.15.18'),
  'Go, without it (esbuild 0.28.2)': () => setupFile('go-binaries/_esbuild_linux-x64_0.28.2'),
  'Rust, cargo-auditable': () => setupFile('rust-auditable/bosun-auditable-app'),
  'C, /bin/ls': () => '/bin/ls',
  'C, /usr/bin/perl': () => '/usr/bin/perl',
};
const EXTRACTORS: Record<string, Extractor> = { go: goBinary, rust: rustAuditable };

/**
 * `whole` in pieces of the given sizes (repeated), as a decompressor hands a file over; only
 * its first `arrived` bytes when given, as when the first bytes are judged.
 */
function inPieces(whole: Buffer, sizes: readonly number[], arrived = whole.length): PiecedFile {
  const file = new PiecedFile(whole.length);
  for (let at = 0, i = 0; at < arrived; i++) {
    const size = sizes[i % sizes.length] as number;
    file.push(whole.subarray(at, Math.min(at + size, arrived)));
    at += size;
  }
  return file;
}

const finds = async (x: Extractor, content: Buffer) => {
  const result = await x.extract('usr/bin/program', content);
  return result.packages.length > 0 || result.issues.length > 0;
};

describe('ELF `needs` of the binary extractors', () => {
  it.each(Object.keys(BINARIES))(
    '%s: the answer from pieces is the section table of the whole file, and never no where extract finds something',
    async (name) => {
      const whole = readFileSync((BINARIES[name] as () => string)());
      const names = new Set(sections(whole).map((s) => s.name));
      const truth = {
        go: names.has('.go.buildinfo') || names.has('.gopclntab'),
        rust: names.has('.dep-v0'),
      };
      for (const [id, x] of Object.entries(EXTRACTORS)) {
        const needs = x.needs as NonNullable<Extractor['needs']>;
        // Pieces of odd sizes, as zlib's output chunks fall, in several cuts of the same file.
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 6 }),
            fc.nat(),
            async (sizes, rawArrived) => {
              const expected = truth[id as 'go' | 'rust'];
              expect(needs(inPieces(whole, sizes))).toBe(expected);
              // With part of the file in, it may not know yet, but it never says otherwise.
              const early = needs(inPieces(whole, sizes, rawArrived % whole.length));
              expect(early === undefined || early === expected).toBe(true);
            },
          ),
          { seed: 23, numRuns: 15 },
        );
        if (!truth[id as 'go' | 'rust']) expect(await finds(x, whole)).toBe(false);
      }
      expect(truth.go || truth.rust || name.startsWith('C,')).toBe(true);
    },
    30_000,
  );

  it("takes a file with Go's build-ID note for a Go binary from its first page, before its section names arrive", () => {
    const whole = readFileSync(setupFile('go-binaries/esbuild-linux-64_0.15.18'));
    const firstPage = inPieces(whole, [4096], 8192);
    expect(goBinary.needs?.(firstPage)).toBe(true);
    // Without the note (esbuild 0.28.2 has none), the first page cannot tell.
    const noNote = readFileSync(setupFile('go-binaries/_esbuild_linux-x64_0.28.2'));
    expect(goBinary.needs?.(inPieces(noNote, [4096], 8192))).toBeUndefined();
    expect(goBinary.needs?.(inPieces(noNote, [4096]))).toBe(true);
    // A C program's first page does not say yes.
    const ls = readFileSync('/bin/ls');
    expect(goBinary.needs?.(inPieces(ls, [4096], 8192))).not.toBe(true);
  });

  it('says yes to a file whose section table cannot be read, so that extract searches it whole', async () => {
    const whole = readFileSync(setupFile('go-binaries/esbuild-linux-64_0.15.18'));
    // Go's linker writes the section table near the start: cut inside it; a table said to be
    // past the end; a section-name table index that names no section.
    const cut = whole.subarray(0, Number(whole.readBigUInt64LE(0x28)) + 100);
    const pointsAway = Buffer.from(whole);
    pointsAway.writeBigUInt64LE(BigInt(whole.length), 0x28);
    const noNames = Buffer.from(whole);
    noNames.writeUInt16LE(0xfff0, 0x3e);
    for (const file of [cut, pointsAway, noNames, whole.subarray(0, 40)]) {
      expect(() => sections(file)).toThrow();
      expect(goBinary.needs?.(inPieces(file, [4096]))).toBe(true);
      expect(rustAuditable.needs?.(inPieces(file, [4096]))).toBe(true);
    }
    // What the extractor then makes of the whole file: its build information is there, unread.
    expect((await goBinary.extract('usr/bin/esbuild', noNames)).issues[0]?.message).toMatch(
      /unreadable Go build information/,
    );
  });
});
