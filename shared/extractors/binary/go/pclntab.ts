/**
 * The function table of a Go binary (the pc-line table, "pclntab"): the names of every function
 * the linker kept, which a Go binary carries even when stripped (the runtime needs it for stack
 * traces). Layouts by header magic, from Go's src/debug/gosym/pclntab.go (parsePclnTab,
 * go12Funcs) and src/internal/abi/symtab.go / src/runtime/symtab.go (pcHeader, _func):
 *
 * - every layout: magic uint32, two zero bytes, the pc quantum (1, 2 or 4), the pointer size;
 * - Go 1.2 (0xfffffffb): nfunc uintptr at 8, then nfunc (pc, funcoff) uintptr pairs; funcoff
 *   and a function's nameoff are offsets into the table itself;
 * - Go 1.16 (0xfffffffa): words after the header: nfunc, nfiles, funcnametab, cutab, filetab,
 *   pctab, pclntab offsets; functab (uintptr pairs) and the _func records at the pclntab offset,
 *   names at funcnametab + nameoff;
 * - Go 1.18 (0xfffffff0) and 1.20+ (0xfffffff1): as 1.16 with textStart after nfiles, and the
 *   functab pairs are uint32 (entryoff, funcoff).
 *
 * In each, a _func record starts with its entry (a uintptr before 1.18, a uint32 offset after)
 * and then nameoff (int32). Found through the `.gopclntab` section, or, where the linker put it
 * in `.data.rel.ro` without a section of its own (PIE) or the section table is gone, by its
 * magic with the header's sanity checks, as Go's debug/buildinfo and govulncheck do.
 */
import { BosunError } from '../../../errors.js';
import { sections } from '../elf.js';

/** A function table that cannot be read: a recoverable issue on the binary, never a crash. */
export class PclntabError extends BosunError {
  readonly fatal = false;
}

export type PclntabVersion = '1.2' | '1.16' | '1.18' | '1.20';

const MAGICS: ReadonlyMap<number, PclntabVersion> = new Map([
  [0xfffffffb, '1.2'],
  [0xfffffffa, '1.16'],
  [0xfffffff0, '1.18'],
  [0xfffffff1, '1.20'],
]);

/**
 * More functions than any real binary links (kubelet has about 80 000): a header claiming more
 * is hostile or corrupt, and is refused before anything is allocated for it.
 */
export const MAX_FUNCTIONS = 2_000_000;
/** Longest function name read; longer ones (generic instantiations can be long) are cut here. */
const MAX_NAME = 4096;

export interface FunctionTable {
  readonly version: PclntabVersion;
  readonly littleEndian: boolean;
  readonly ptrSize: 4 | 8;
  /** Every function name, in table order (by entry pc), duplicates included. */
  readonly names: readonly string[];
  /**
   * Every name in the function name table (Go 1.16+): the functions and the functions inlined
   * into them, whose inline trees point there too (runtime's inlinedCall nameOff / func_). A
   * function inlined into every caller has no entry of its own but is linked all the same:
   * govulncheck reads it from the inline trees, this from the names those trees point to.
   * Before Go 1.16 names are spread through the table: `names` then.
   */
  readonly linkedNames: readonly string[];
}

interface Reader {
  readonly b: Buffer;
  readonly le: boolean;
  readonly ptr: 4 | 8;
}

const u32 = (r: Reader, at: number): number => {
  if (at < 0 || at + 4 > r.b.length) throw new PclntabError(`read at ${at} past the table`);
  return r.le ? r.b.readUInt32LE(at) : r.b.readUInt32BE(at);
};
const uptr = (r: Reader, at: number): number => {
  if (r.ptr === 4) return u32(r, at);
  if (at < 0 || at + 8 > r.b.length) throw new PclntabError(`read at ${at} past the table`);
  const v = r.le ? r.b.readBigUInt64LE(at) : r.b.readBigUInt64BE(at);
  // Offsets and counts beyond the buffer are refused by the callers' bounds checks.
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
};

/** The header checks of debug/gosym's parsePclnTab: zero pad, quantum 1/2/4, pointer 4/8. */
function headerAt(b: Buffer, at: number): { version: PclntabVersion; le: boolean } | undefined {
  if (at + 16 > b.length) return undefined;
  if (b[at + 4] !== 0 || b[at + 5] !== 0) return undefined;
  const quantum = b[at + 6];
  const ptr = b[at + 7];
  if (quantum !== 1 && quantum !== 2 && quantum !== 4) return undefined;
  if (ptr !== 4 && ptr !== 8) return undefined;
  const le = MAGICS.get(b.readUInt32LE(at));
  if (le !== undefined) return { version: le, le: true };
  const be = MAGICS.get(b.readUInt32BE(at));
  if (be !== undefined) return { version: be, le: false };
  return undefined;
}

/** A NUL-terminated UTF-8 name at `at` (`type..eq.net.dialResult·1`), bounded. */
function cString(b: Buffer, at: number): string {
  if (at < 0 || at >= b.length)
    throw new PclntabError(`function name offset ${at} is outside the table`);
  const end = b.indexOf(0, at);
  const stop = end < 0 ? Math.min(b.length, at + MAX_NAME) : Math.min(end, at + MAX_NAME);
  return b.toString('utf8', at, stop);
}

/**
 * Reads the function names of a table starting at `table[0]` (which may run on past the table's
 * end: everything is bounds-checked against the buffer, and the function count against the
 * bytes its entries need).
 */
export function readPclntab(table: Buffer): FunctionTable {
  const head = headerAt(table, 0);
  if (head === undefined) throw new PclntabError('no Go pclntab header');
  const r: Reader = { b: table, le: head.le, ptr: table[7] as 4 | 8 };
  const word = (i: number) => uptr(r, 8 + i * r.ptr);
  const nfunc = word(0);
  // Functab entries: uintptr pairs before 1.18, uint32 pairs since.
  const fieldSize = head.version === '1.18' || head.version === '1.20' ? 4 : r.ptr;
  let functab: number;
  let funcdata: number;
  let nametab: number;
  // Where the name table ends: the next table the header points to (cutab).
  let nametabEnd: number | undefined;
  switch (head.version) {
    case '1.2':
      functab = 8 + r.ptr;
      funcdata = 0;
      nametab = 0;
      break;
    case '1.16':
      nametab = word(2);
      nametabEnd = word(3);
      funcdata = word(6);
      functab = funcdata;
      break;
    default:
      nametab = word(3);
      nametabEnd = word(4);
      funcdata = word(7);
      functab = funcdata;
  }
  if (nfunc === 0 || nfunc > MAX_FUNCTIONS)
    throw new PclntabError(`pclntab claims ${nfunc} functions`);
  if (functab + (nfunc * 2 + 1) * fieldSize > table.length || nametab >= table.length)
    throw new PclntabError(`pclntab's ${nfunc} functions run past the end of the binary`);
  const field = (at: number) => (fieldSize === 4 ? u32(r, at) : uptr(r, at));
  const names: string[] = new Array(nfunc);
  // The entry of a _func record is a uintptr before 1.18, a uint32 offset after; nameoff follows.
  const entrySize = fieldSize;
  let lastPc = -1;
  for (let i = 0; i < nfunc; i++) {
    const pc = field(functab + 2 * i * fieldSize);
    // Entries are sorted by pc (the runtime's findfunc relies on it): a table that is not is
    // not a function table, whatever its header says.
    if (pc < lastPc) throw new PclntabError(`pclntab entry ${i} is out of order`);
    lastPc = pc;
    const funcoff = field(functab + (2 * i + 1) * fieldSize);
    const nameoff = u32(r, funcdata + funcoff + entrySize);
    names[i] = cString(table, nametab + nameoff);
  }
  return {
    version: head.version,
    littleEndian: head.le,
    ptrSize: r.ptr,
    names,
    linkedNames: nametabEnd === undefined ? names : nameTable(table, nametab, nametabEnd),
  };
}

/** The NUL-terminated names of the name table [from, to), each once. */
function nameTable(b: Buffer, from: number, to: number): string[] {
  if (to <= from || to > b.length)
    throw new PclntabError(`function name table [${from}, ${to}) is outside the table`);
  const names = new Set<string>();
  for (let at = from; at < to; ) {
    let end = b.indexOf(0, at);
    if (end < 0 || end > to) end = to;
    if (end > at) names.add(b.toString('utf8', at, Math.min(end, at + MAX_NAME)));
    at = end + 1;
  }
  return [...names];
}

/** Offsets where a pclntab header is, in `.gopclntab`, else by its magic (PIE, stripped headers). */
function candidates(b: Buffer): number[] {
  let all: ReturnType<typeof sections> | undefined;
  try {
    all = sections(b);
  } catch {
    all = undefined;
  }
  const named = all?.find((s) => s.name === '.gopclntab' || s.name === '.data.rel.ro.gopclntab');
  if (named !== undefined && named.offset + 16 <= b.length) return [named.offset];
  // The table is pointer-aligned wherever the linker put it; the magic is searched for in the
  // read-only data when the section table names it, else in the whole file.
  const ro = all?.filter(
    (s) => s.name === '.data.rel.ro' || s.name === '.rodata' || s.name === '.noptrdata',
  );
  const ranges =
    ro !== undefined && ro.length > 0
      ? ro.map((s) => [s.offset, Math.min(b.length, s.offset + s.size)] as const)
      : [[0, b.length] as const];
  const found: number[] = [];
  // A hostile file full of magics is bounded: the first few plausible headers are tried, and
  // the search stops after this many magic bytes that were not one.
  let misses = 0;
  for (const [from, to] of ranges)
    for (const magic of MAGICS.keys())
      for (const le of [true, false]) {
        const pattern = Buffer.alloc(4);
        if (le) pattern.writeUInt32LE(magic);
        else pattern.writeUInt32BE(magic);
        for (
          let at = b.indexOf(pattern, from);
          at >= 0 && at < to;
          at = b.indexOf(pattern, at + 1)
        ) {
          if (at % 4 === 0 && headerAt(b, at) !== undefined) found.push(at);
          else if (++misses > 100_000) return found.sort((x, y) => x - y);
          if (found.length >= 64) return found;
        }
      }
  return found.sort((x, y) => x - y);
}

/**
 * The function table of a Go binary: the first candidate that reads as one. Throws
 * PclntabError when none does (the caller records that the table could not be read).
 */
export function goFunctionTable(binary: Buffer): FunctionTable {
  let last: unknown;
  for (const at of candidates(binary)) {
    try {
      return readPclntab(binary.subarray(at));
    } catch (error) {
      last = error;
    }
  }
  throw new PclntabError(
    last === undefined
      ? 'no Go pclntab found'
      : `no readable Go pclntab: ${(last as Error).message}`,
    { cause: last },
  );
}
