/**
 * Go binaries: the build information the Go linker embeds in every binary since Go 1.13 (the
 * `.go.buildinfo` ELF section): the toolchain version, reported as the `stdlib` package, the
 * main module, and every dependency module with its version (replacements applied). Go 1.18+
 * writes the two strings inline after the 32-byte header; older linkers write pointers to Go
 * string headers, resolved here through the section table.
 * https://go.dev/src/debug/buildinfo/buildinfo.go, https://pkg.go.dev/runtime/debug#BuildInfo
 */

import type { FileParts } from '../../../layers/file-parts.js';
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from '../../types.js';
import { ELF_EXECUTABLES, ElfError, elfNamesSection, isElf, sections } from '../elf.js';
import { goFunctionTable } from './pclntab.js';
import { elfGoarch, packSymbols, symbolTable } from './symbols.js';

const ID = 'binary/go/buildinfo';
const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

/** An unsigned varint (encoding/binary's Uvarint) at `at`: the value and the next offset. */
function uvarint(b: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const byte = b[i] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, i + 1];
    shift += 7;
  }
  throw new ElfError('bad varint in build info');
}

// cmd/go frames the module info with these (modload.ModInfoProg's infoStart / infoEnd).
const MODINFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const MODINFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
/** Go's runtime.buildVersion, a string of its own among unprintable bytes: `go1.26.5`. */
const GO_VERSION = /^go1\.\d+(?:\.\d+)?(?:(?:rc|beta)\d+)?$/;
const GO_PREFIX = Buffer.from('go1.', 'latin1');
const printable = (byte: number | undefined) => byte !== undefined && byte >= 0x20 && byte <= 0x7e;

/** The first free-standing Go version string, found without turning the binary into a string. */
function goVersionIn(b: Buffer): string | undefined {
  for (let at = b.indexOf(GO_PREFIX); at >= 0; at = b.indexOf(GO_PREFIX, at + 1)) {
    if (printable(b[at - 1])) continue;
    let end = at;
    while (end < b.length && end - at < 32 && printable(b[end])) end++;
    const candidate = b.toString('latin1', at, end);
    if (!printable(b[end]) && GO_VERSION.test(candidate)) return candidate;
  }
  return undefined;
}

/**
 * For a binary whose build-info header is gone (some release builds strip the section): the
 * module info between its sentinels, and the one free-standing Go version string.
 */
function framedModinfo(b: Buffer): { version: string; modinfo: Buffer } | undefined {
  const start = b.indexOf(MODINFO_START);
  if (start < 0) return undefined;
  const end = b.indexOf(MODINFO_END, start + MODINFO_START.length);
  if (end < 0 || end - start > 1024 * 1024) return undefined;
  const version = goVersionIn(b);
  if (version === undefined) return undefined;
  return { version, modinfo: b.subarray(start, end + MODINFO_END.length) };
}

/** The toolchain version and module info strings of a Go binary, or undefined if it is not one. */
function goBuildInfo(b: Buffer): { version: string; modinfo: Buffer } | undefined {
  if (b.length < 64 || !isElf(b)) return undefined;
  const all = sections(b);
  const info = all.find((s) => s.name === '.go.buildinfo');
  // Without the header, only a Go binary (it has Go's pc-line table) is worth searching whole.
  if (info === undefined)
    return all.some((s) => s.name === '.gopclntab') ? framedModinfo(b) : undefined;
  const head = b.subarray(info.offset, info.offset + Math.min(info.size, 64 * 1024));
  if (head.length < 32 || !head.subarray(0, 14).equals(BUILDINFO_MAGIC))
    throw new ElfError('.go.buildinfo without its magic');
  const ptrSize = head[14] as number;
  const flags = head[15] as number;
  if ((flags & 2) !== 0) {
    // Go 1.18+: two varint-length-prefixed strings right after the header.
    const [vlen, vat] = uvarint(head, 32);
    const version = head.toString('utf8', vat, vat + vlen);
    const [mlen, mat] = uvarint(head, vat + vlen);
    return { version, modinfo: head.subarray(mat, mat + mlen) };
  }
  // Before 1.18: pointers to Go string headers {data pointer, length}, in the data segment.
  const big = (flags & 1) !== 0;
  const readPtr = (buf: Buffer, at: number): bigint =>
    ptrSize === 8
      ? big
        ? buf.readBigUInt64BE(at)
        : buf.readBigUInt64LE(at)
      : BigInt(big ? buf.readUInt32BE(at) : buf.readUInt32LE(at));
  const at = (address: bigint): number => {
    const s = all.find((x) => x.addr <= address && address < x.addr + BigInt(x.size) && x.size > 0);
    if (s === undefined) throw new ElfError(`address 0x${address.toString(16)} is in no section`);
    return s.offset + Number(address - s.addr);
  };
  const goString = (pointer: bigint): Buffer => {
    const header = at(pointer);
    const data = at(readPtr(b, header));
    const length = Number(readPtr(b, header + ptrSize));
    if (length > 16 * 1024 * 1024 || data + length > b.length) throw new ElfError('bad string');
    return b.subarray(data, data + length);
  };
  return {
    version: goString(readPtr(head, 16)).toString('utf8'),
    modinfo: goString(readPtr(head, 16 + ptrSize)),
  };
}

/** `go1.21.5` -> `1.21.5`, `go1.22` -> `1.22.0`, `go1.21rc2` -> `1.21.0-rc.2` (OSV's stdlib versions). */
export function stdlibVersion(goVersion: string): string | undefined {
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?/.exec(goVersion);
  if (m === null) return undefined;
  const base = `${m[1]}.${m[2]}.${m[3] ?? '0'}`;
  return m[4] === undefined ? base : `${base}-${m[4]}.${m[5]}`;
}

/**
 * The binary's function table, packed, for reachability (matcher/reachability.ts): kept on the
 * stdlib package, which every Go binary has, once per binary. A table that cannot be read is an
 * issue on the binary, and its findings' reachability is `unknown`.
 */
function linkedSymbols(
  path: string,
  content: Buffer,
  issues: ExtractIssue[],
): { symbols?: string } {
  try {
    return {
      symbols: packSymbols(symbolTable(goFunctionTable(content).linkedNames), elfGoarch(content)),
    };
  } catch (error) {
    issues.push({
      extractor: ID,
      location: path,
      message: `${path}: unreadable Go function table (reachability unknown): ${(error as Error).message}`,
    });
    return {};
  }
}

// goBuildInfo finds nothing in a readable section table without these two.
const goSections = elfNamesSection('.go.buildinfo', '.gopclntab');

/**
 * Go's linker writes its build ID as an ELF note in the first page (cmd/link addgonote: name
 * "Go\0\0", type 4, ELF_NOTE_GOBUILDID_TAG), while the section names often come last: a file
 * with the note is taken for a Go binary as soon as its first bytes are in, and copied as it
 * streams instead of held whole and then copied (twice its size in memory for a moment).
 */
const GO_NOTE = Buffer.from([4, 0, 0, 0, 0x47, 0x6f, 0, 0]);
function goBuildIdNote(file: FileParts): boolean {
  const first = file.bytes(0, Math.min(file.size, 8192));
  if (first === undefined) return false;
  // namesz 4, descsz, then type 4 and the name: the type and name are matched, namesz checked.
  for (let at = first.indexOf(GO_NOTE); at >= 0; at = first.indexOf(GO_NOTE, at + 1))
    if (at >= 8 && first.readUInt32LE(at - 8) === 4) return true;
  return false;
}

export const goBinary: Extractor = {
  id: ID,
  // 2: the stdlib package carries the binary's packed symbol table (pclntab.ts, symbols.ts),
  // its functions and those inlined into them.
  version: 2,
  packageTypes: ['golang'],
  ...ELF_EXECUTABLES,
  needs: (file) => (goBuildIdNote(file) ? true : goSections(file)),
  extract(path: string, content: Buffer): ExtractResult {
    const issues: ExtractIssue[] = [];
    let info: ReturnType<typeof goBuildInfo>;
    try {
      info = goBuildInfo(content);
    } catch (error) {
      // A truncated or odd ELF file (bounds errors included): not a readable Go binary.
      if (content.includes(BUILDINFO_MAGIC))
        issues.push({
          extractor: ID,
          location: path,
          message: `${path}: unreadable Go build information: ${(error as Error).message}`,
        });
      return { packages: [], issues };
    }
    if (info === undefined) return { packages: [], issues };
    // The module info is framed by 16-byte sentinels (cmd/go/internal/modload.ModInfoProg).
    const framed = info.modinfo;
    const text = (
      framed.length >= 33 &&
      framed.subarray(0, 16).equals(MODINFO_START) &&
      framed.subarray(-16).equals(MODINFO_END)
        ? framed.subarray(16, -16)
        : framed
    ).toString('utf8');
    const packages: ExtractedPackage[] = [];
    const pkg = (name: string, version: string): ExtractedPackage => ({
      type: 'golang',
      name,
      version,
      location: path,
    });
    for (const line of text.split('\n')) {
      const [kind, module, version] = line.split('\t');
      if (module === undefined || version === undefined) continue;
      // The main module built from a checkout has no version: nothing to match it by.
      if (kind === 'mod' && version !== '(devel)') packages.push(pkg(module, version));
      else if (kind === 'dep') packages.push(pkg(module, version));
      else if (kind === '=>' && packages.length > 0)
        packages[packages.length - 1] = pkg(module, version);
    }
    const stdlib = stdlibVersion(info.version);
    if (stdlib !== undefined)
      packages.push({ ...pkg('stdlib', stdlib), ...linkedSymbols(path, content, issues) });
    return { packages, issues };
  },
};
