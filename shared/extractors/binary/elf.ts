/**
 * What the binary extractors (Go build information, Rust's cargo-auditable data) need of ELF:
 * which files to look at, and the section table.
 * https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html
 */

import type { FileParts } from '../../layers/file-parts.js';

/** Longer section names are not ones the extractors look for. */
const MAX_NAME = 256;

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
export interface Section {
  readonly name: string;
  readonly addr: bigint;
  readonly offset: number;
  readonly size: number;
}

export class ElfError extends Error {}

// Both binary extractors read the same file's table: it is parsed once per file.
const parsed = new WeakMap<Buffer, Section[] | Error>();

/** The section table of an ELF file (https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.sheader.html). */
export function sections(b: Buffer): Section[] {
  let table = parsed.get(b);
  if (table === undefined) {
    try {
      table = parseSections(b);
    } catch (error) {
      table = error as Error;
    }
    parsed.set(b, table);
  }
  if (table instanceof Error) throw table;
  return table;
}

function parseSections(b: Buffer): Section[] {
  return parseSectionTable(b.length, (offset, length) =>
    offset + length <= b.length ? b.subarray(offset, offset + length) : undefined,
  );
}

/**
 * The section table, from ranges of the file: `read(offset, length)` gives those bytes, or
 * undefined past the end of the file. A whole file in memory and a file still in pieces
 * (file-parts.ts) read alike.
 */
function parseSectionTable(
  size: number,
  read: (offset: number, length: number) => Buffer | undefined,
): Section[] {
  const ident = read(0, 6);
  if (ident === undefined) throw new ElfError('truncated ELF header');
  const is64 = ident[4] === 2;
  // The ELF header and each section header must be whole before a field of them is read: a
  // truncated file or a tiny e_shentsize read past the buffer (a RangeError, fuzz/targets.ts).
  const header = read(0, is64 ? 0x40 : 0x34);
  if (header === undefined) throw new ElfError('truncated ELF header');
  const le = ident[5] === 1;
  const fields = (b: Buffer) => ({
    u16: (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o)),
    u32: (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o)),
    addr: (o: number) =>
      is64
        ? le
          ? b.readBigUInt64LE(o)
          : b.readBigUInt64BE(o)
        : BigInt(le ? b.readUInt32LE(o) : b.readUInt32BE(o)),
  });
  const h = fields(header);
  const shoff = is64 ? Number(h.addr(0x28)) : h.u32(0x20);
  const shentsize = h.u16(is64 ? 0x3a : 0x2e);
  const shnum = h.u16(is64 ? 0x3c : 0x30);
  const shstrndx = h.u16(is64 ? 0x3e : 0x32);
  if (shoff === 0 || shnum === 0 || shoff + shnum * shentsize > size)
    throw new ElfError('no section table');
  if (shentsize < (is64 ? 0x28 : 0x18))
    throw new ElfError(`section header entries of ${shentsize} bytes are too short`);
  const table = read(shoff, shnum * shentsize);
  if (table === undefined) throw new ElfError('no section table');
  const t = fields(table);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = i * shentsize;
    return {
      nameOffset: t.u32(at),
      addr: t.addr(at + (is64 ? 0x10 : 0x0c)),
      offset: is64 ? Number(t.addr(at + 0x18)) : t.u32(at + 0x10),
      size: is64 ? Number(t.addr(at + 0x20)) : t.u32(at + 0x14),
    };
  });
  const strtab = raw[shstrndx];
  const names =
    strtab === undefined || strtab.offset + strtab.size > size
      ? undefined
      : read(strtab.offset, strtab.size);
  if (names === undefined) throw new ElfError('no section name table');
  return raw.map((s) => {
    // Names are short: looking for the terminator only in the name table, and only so far,
    // keeps a crafted file (thousands of sections, no terminator) from costing a scan each.
    const window = names.subarray(s.nameOffset, s.nameOffset + MAX_NAME);
    const end = window.indexOf(0);
    return {
      name: end < 0 ? '' : window.toString('latin1', 0, end),
      addr: s.addr,
      offset: s.offset,
      size: s.size,
    };
  });
}

/** Thrown by a range read of a file still arriving: its answer is "not yet", not "no". */
class NotArrived extends Error {}

/**
 * A binary extractor's `needs`: whether a file in pieces may hold what the extractor reads,
 * judged from its section table alone; undefined while the table or its names have not arrived
 * (the GNU linker writes them at the end of the file). A file whose table cannot be read is
 * always needed: the extractors then search the whole file, and say what they could not read.
 */
export function elfNamesSection(...wanted: string[]): (file: FileParts) => boolean | undefined {
  return (file) => {
    let all: Section[];
    try {
      all = parseSectionTable(file.total, (offset, length) => {
        if (offset + length > file.total) return undefined;
        const bytes = file.bytes(offset, length);
        if (bytes === undefined) throw new NotArrived();
        return bytes;
      });
    } catch (error) {
      return error instanceof NotArrived ? undefined : true;
    }
    return all.some((s) => wanted.includes(s.name));
  };
}

/** Executables only (by mode, from the tar header); a binary extractor's `required`. */
function executableRequired(_path: string, size: number, mode?: number): boolean {
  return mode !== undefined && (mode & 0o111) !== 0 && size > 1024;
}

/** The first bytes say whether an executable is ELF at all; a binary extractor's `head`. */
export function isElf(first: Buffer): boolean {
  return first.subarray(0, 4).equals(ELF_MAGIC);
}

/** The named section's bytes, or undefined when the file has none. */
export function sectionBytes(b: Buffer, name: string): Buffer | undefined {
  const s = sections(b).find((x) => x.name === name);
  if (s === undefined) return undefined;
  if (s.offset + s.size > b.length)
    throw new ElfError(`section ${name} runs past the end of the file`);
  return b.subarray(s.offset, s.offset + s.size);
}

/** What a binary extractor declares: streamed, over executables, whose first bytes are ELF's. */
export const ELF_EXECUTABLES = {
  streamed: true,
  required: executableRequired,
  head: isElf,
} as const;
