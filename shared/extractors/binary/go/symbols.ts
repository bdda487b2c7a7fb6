/**
 * Go function names as the Go vulnerability database names symbols, and the compact form a
 * binary's symbols are kept in (in the inventory, so that rescans use them without pulling).
 *
 * Naming follows govulncheck's binary mode (golang.org/x/vuln vulncheck/internal/binscan
 * parseName over debug/gosym's Sym.PackageName / ReceiverName / BaseName): the package is the
 * name up to the first `.` after the last `/`, path-unescaped (`gopkg.in/yaml%2ev3`); a method
 * `pkg.(*T).M` or `pkg.T.M` is the symbol `T.M`; a generic instantiation's `[...]` is dropped
 * (`pkg.Map[...].Get` is `Map.Get`). Beyond govulncheck: a closure (`F.func1`, `F.func1.2`),
 * a method value wrapper (`T.M-fm`) and the go statement / defer wrappers of Go 1.22
 * (`F.gowrap1`, `F.deferwrap1`) belong to their parent `F` / `T.M`: they are only linked when
 * their parent is compiled in. docs/reachability.md lists where this differs.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** Compiler-generated pieces of a function, named after it. */
const GENERATED = /^(?:func\d+|gowrap\d+|deferwrap\d+|\d+)$/;

/** `pkg.path/name.(*T).M` -> { pkg, symbol }, or undefined for runtime-internal names. */
export function splitFunctionName(raw: string): { pkg: string; symbol: string } | undefined {
  // Instantiations: `[...]` (since Go 1.18) after a generic type or function name.
  let name = raw;
  for (let open = name.indexOf('['); open >= 0; open = name.indexOf('[')) {
    const close = name.indexOf(']', open);
    if (close < 0) break;
    name = name.slice(0, open) + name.slice(close + 1);
  }
  // Linker-made names (`type:.eq.T`, `go:buildid`, `go.shape...`) belong to no package.
  if (name.startsWith('type:') || name.startsWith('go:') || name.startsWith('type.'))
    return undefined;
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot <= 0 || dot === name.length - 1) return undefined;
  let pkg = name.slice(0, dot);
  // Only an escaped path needs decoding (a binary has tens of thousands of names to split).
  if (pkg.includes('%'))
    try {
      pkg = decodeURIComponent(pkg);
    } catch {
      // A malformed escape stays as written: it will simply match no advisory.
    }
  const parts = name.slice(dot + 1).split('.');
  // Drop the generated tail: closures, wrappers, and `-fm` method values.
  while (parts.length > 1 && GENERATED.test(parts[parts.length - 1] as string)) parts.pop();
  const lastPart = parts[parts.length - 1] as string;
  if (lastPart.endsWith('-fm')) parts[parts.length - 1] = lastPart.slice(0, -3);
  // `(*T)` is a pointer receiver; vulndb names the method `T.M` either way.
  const symbol = (
    parts[0]?.startsWith('(*') === true
      ? parts.map((p) => (p.startsWith('(*') && p.endsWith(')') ? p.slice(2, -1) : p))
      : parts
  ).join('.');
  if (symbol === '') return undefined;
  return { pkg, symbol };
}

/** A binary's linked symbols by package: what reachability looks symbols up in. */
export type SymbolTable = ReadonlyMap<string, ReadonlySet<string>>;

export function symbolTable(functionNames: Iterable<string>): Map<string, Set<string>> {
  const table = new Map<string, Set<string>>();
  for (const raw of functionNames) {
    const split = splitFunctionName(raw);
    if (split === undefined) continue;
    let syms = table.get(split.pkg);
    if (syms === undefined) {
      syms = new Set();
      table.set(split.pkg, syms);
    }
    syms.add(split.symbol);
  }
  return table;
}

/**
 * The packed form, `go1:<GOARCH>:` + base64 of raw DEFLATE over the sorted `pkg\tsymbol` lines,
 * front-coded (each line: one byte saying how many leading bytes it shares with the previous
 * line, capped at 255, then the rest). Sorted lines share long prefixes (the package path), so
 * front coding removes most of the text and DEFLATE most of what is left; docs/reachability.md
 * gives the sizes on real binaries.
 */
const PREFIX = 'go1:';

/**
 * GOARCH from the ELF header's e_machine (and byte order): advisories limit some imports to
 * architectures (`goarch: [ppc64le]`). https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html
 */
export function elfGoarch(b: Buffer): string {
  if (b.length < 20) return '';
  const le = b[5] === 1;
  const machine = le ? b.readUInt16LE(18) : b.readUInt16BE(18);
  const is64 = b[4] === 2;
  switch (machine) {
    case 3:
      return '386';
    case 62:
      return 'amd64';
    case 40:
      return 'arm';
    case 183:
      return 'arm64';
    case 21:
      return le ? 'ppc64le' : 'ppc64';
    case 22:
      return 's390x';
    case 243:
      return is64 ? 'riscv64' : '';
    case 8:
      return is64 ? (le ? 'mips64le' : 'mips64') : le ? 'mipsle' : 'mips';
    case 258:
      return 'loong64';
    default:
      return '';
  }
}

export function packSymbols(table: SymbolTable, goarch = ''): string {
  const lines: string[] = [];
  for (const [pkg, syms] of table) for (const s of syms) lines.push(`${pkg}\t${s}`);
  lines.sort();
  // One buffer in, one out (no allocation per line): the lines as UTF-8, each front-coded
  // against the one before it in place.
  const text = Buffer.from(lines.join('\n'), 'utf8');
  const out = Buffer.allocUnsafe(text.length + lines.length + 1);
  let written = 0;
  let previousStart = 0;
  let previousEnd = 0;
  for (let start = 0; lines.length > 0; ) {
    let end = text.indexOf(0x0a, start);
    if (end < 0) end = text.length;
    const max = Math.min(255, end - start, previousEnd - previousStart);
    let shared = 0;
    while (shared < max && text[start + shared] === text[previousStart + shared]) shared++;
    out[written++] = shared;
    written += text.copy(out, written, start + shared, end);
    out[written++] = 0x0a;
    previousStart = start;
    previousEnd = end;
    start = end + 1;
    if (end === text.length) break;
  }
  return `${PREFIX}${goarch}:${deflateRawSync(out.subarray(0, written), { level: 6 }).toString('base64')}`;
}

/** The GOARCH a packed table was recorded with ('' when the machine is not one Go targets). */
export function packedGoarch(packed: string): string {
  const end = packed.indexOf(':', PREFIX.length);
  return packed.startsWith(PREFIX) && end > 0 ? packed.slice(PREFIX.length, end) : '';
}

export class PackedSymbolsError extends Error {}

/** Unpacked tables by packed string: one scan looks the same binary's table up per finding. */
const unpacked = new Map<string, SymbolTable>();
const CACHE_SIZE = 16;
/** Far more than any binary's table inflates to: a crafted packed string is refused. */
const MAX_UNPACKED = 64 * 1024 * 1024;

export function unpackSymbols(packed: string): SymbolTable {
  const cached = unpacked.get(packed);
  if (cached !== undefined) return cached;
  const body = packed.indexOf(':', PREFIX.length);
  if (!packed.startsWith(PREFIX) || body < 0)
    throw new PackedSymbolsError('not a packed Go symbol table');
  let text: Buffer;
  try {
    text = inflateRawSync(Buffer.from(packed.slice(body + 1), 'base64'), {
      maxOutputLength: MAX_UNPACKED,
    });
  } catch (error) {
    throw new PackedSymbolsError(`packed Go symbol table: ${(error as Error).message}`);
  }
  const table = new Map<string, Set<string>>();
  let previous = Buffer.alloc(0);
  for (let at = 0; at < text.length; ) {
    const shared = text[at] as number;
    const end = text.indexOf(0x0a, at + 1);
    if (end < 0 || shared > previous.length) throw new PackedSymbolsError('corrupt packed table');
    const line = Buffer.concat([previous.subarray(0, shared), text.subarray(at + 1, end)]);
    previous = line;
    at = end + 1;
    const s = line.toString('utf8');
    const tab = s.indexOf('\t');
    const pkg = s.slice(0, tab);
    let syms = table.get(pkg);
    if (syms === undefined) {
      syms = new Set();
      table.set(pkg, syms);
    }
    syms.add(s.slice(tab + 1));
  }
  if (unpacked.size >= CACHE_SIZE) unpacked.delete(unpacked.keys().next().value as string);
  unpacked.set(packed, table);
  return table;
}
