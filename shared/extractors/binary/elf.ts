/**
 * What the binary extractors (Go build information, Rust's cargo-auditable data) need of ELF:
 * which files to look at, and the section table.
 * https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html
 */

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
  const is64 = b[4] === 2;
  // The ELF header and each section header must be whole before a field of them is read: a
  // truncated file or a tiny e_shentsize read past the buffer (a RangeError, fuzz/targets.ts).
  if (b.length < (is64 ? 0x40 : 0x34)) throw new ElfError('truncated ELF header');
  const le = b[5] === 1;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const addr = (o: number) =>
    is64 ? (le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : BigInt(u32(o));
  const num = (o: number) => Number(addr(o));
  const shoff = is64 ? num(0x28) : u32(0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  if (shoff === 0 || shnum === 0 || shoff + shnum * shentsize > b.length)
    throw new ElfError('no section table');
  if (shentsize < (is64 ? 0x28 : 0x18))
    throw new ElfError(`section header entries of ${shentsize} bytes are too short`);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      nameOffset: u32(at),
      addr: addr(at + (is64 ? 0x10 : 0x0c)),
      offset: is64 ? num(at + 0x18) : u32(at + 0x10),
      size: is64 ? num(at + 0x20) : u32(at + 0x14),
    };
  });
  const strtab = raw[shstrndx];
  if (strtab === undefined || strtab.offset + strtab.size > b.length)
    throw new ElfError('no section name table');
  const names = b.subarray(strtab.offset, strtab.offset + strtab.size);
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
