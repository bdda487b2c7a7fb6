/**
 * Whether a finding's vulnerable code is in the binary at all (docs/reachability.md).
 *
 * Go: the Go vulnerability database names, per affected module, the packages and the functions
 * that hold the vulnerability (`affected[].ecosystem_specific.imports[].path` / `.symbols`,
 * https://go.dev/security/vuln/database#schema), and a Go binary keeps the names of every
 * function it links (its pclntab, extractors/binary/go/pclntab.ts). A vulnerable function the
 * linker dropped is dead code: that is govulncheck's binary mode, the oracle of the tests.
 *
 * The verdict is `reachable: true` when a vulnerable symbol (or, for an import that lists no
 * symbols, any function of the vulnerable package) is linked, `false` when none is and the table
 * was read, and `unknown` when the advisory names nothing to look for or the binary's table was
 * not read. `precision` keeps apart what was looked up: `symbol` (named functions) and `package`
 * (the advisory names the package only, so any of its functions counts).
 *
 * Other ecosystems plug in the same way, one evaluator per ecosystem in EVALUATORS: Rust from
 * cargo-auditable's package list plus the binary's symbols (RustSec's `affected.functions`),
 * Java from the classes present in a jar (an advisory's vulnerable classes). A package type
 * without an evaluator gets no `reachability` at all: "not evaluated", never "unreachable".
 */
import type { OsvAffected } from '../advisories/osv.js';
import {
  PackedSymbolsError,
  packedGoarch,
  unpackSymbols,
} from '../extractors/binary/go/symbols.js';
import type { InventoryPackage } from './types.js';

/** Where a verdict was read from; `rust-symbols` and `java-classes` are the next ones. */
export type ReachabilitySource = 'go-pclntab';

export interface Reachability {
  /** The vulnerable code is linked (true), is not (false), or this could not be told. */
  readonly reachable: boolean | 'unknown';
  /** What was looked up: named functions (`symbol`) or only the package (`package`). */
  readonly precision?: 'symbol' | 'package';
  readonly source: ReachabilitySource;
  /** The vulnerable symbols found linked (`net/url.Parse`), sorted, at most MAX_SHOWN. */
  readonly symbols?: readonly string[];
  /** Why it is `unknown`, or why `false` without a lookup (the advisory's other platforms). */
  readonly reason?: string;
}

const MAX_SHOWN = 8;

interface GoImport {
  readonly path: string;
  readonly symbols: readonly string[];
  readonly goos: readonly string[];
  readonly goarch: readonly string[];
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** `ecosystem_specific.imports` of a Go advisory entry, as far as it has the documented shape. */
function goImports(affected: OsvAffected): GoImport[] {
  const imports = affected.ecosystem_specific?.imports;
  if (!Array.isArray(imports)) return [];
  return imports.flatMap((i: unknown) => {
    if (typeof i !== 'object' || i === null) return [];
    const o = i as Record<string, unknown>;
    if (typeof o.path !== 'string') return [];
    return [
      {
        path: o.path,
        symbols: strings(o.symbols),
        goos: strings(o.goos),
        goarch: strings(o.goarch),
      },
    ];
  });
}

/**
 * Bosun reads ELF binaries only, so the binary's GOOS is linux; its GOARCH is the ELF machine
 * recorded with the table. An import the advisory limits to other systems or architectures
 * (`goos: [windows]`, `goarch: [ppc64le]`) does not apply, as govulncheck drops it for the
 * binary's GOOS and GOARCH (vulncheck's moduleVulnerabilities.filter).
 */
const BINARY_GOOS = 'linux';

/** The verdict one Go advisory entry gives for a binary's symbol table (undefined: not read). */
export function goReachability(
  affected: OsvAffected,
  table: ReadonlyMap<string, ReadonlySet<string>> | undefined,
  goarch = '',
): Reachability {
  const source = 'go-pclntab';
  const all = goImports(affected);
  if (all.length === 0)
    return { reachable: 'unknown', source, reason: 'the advisory names no packages or symbols' };
  if (table === undefined)
    return { reachable: 'unknown', source, reason: "the binary's function table was not read" };
  const imports = all.filter(
    (i) =>
      (i.goos.length === 0 || i.goos.includes(BINARY_GOOS)) &&
      (i.goarch.length === 0 || goarch === '' || i.goarch.includes(goarch)),
  );
  if (imports.length === 0)
    return {
      reachable: false,
      precision: 'package',
      source,
      reason: `the vulnerable code is built only for ${[...new Set(all.flatMap((i) => [...i.goos, ...i.goarch]))].join(', ')}`,
    };
  const found: string[] = [];
  let packageOnly = false;
  let symbolFound = false;
  for (const i of imports) {
    const linked = table.get(i.path);
    if (i.symbols.length === 0) {
      packageOnly = true;
      if (linked !== undefined && linked.size > 0) found.push(i.path);
      continue;
    }
    for (const s of i.symbols)
      if (linked?.has(s)) {
        found.push(`${i.path}.${s}`);
        symbolFound = true;
      }
  }
  // Symbol precision when every import looked up named its functions.
  const precision = packageOnly ? 'package' : 'symbol';
  if (found.length === 0) return { reachable: false, precision, source };
  return {
    reachable: true,
    precision: symbolFound ? 'symbol' : 'package',
    source,
    symbols: [...new Set(found)].sort().slice(0, MAX_SHOWN),
  };
}

/** What the symbol table of a package's binary is: on the package, or on one at its location. */
export function symbolTablesByLocation(packages: readonly InventoryPackage[]): Map<string, string> {
  const byLocation = new Map<string, string>();
  for (const p of packages)
    if (p.symbols !== undefined && p.location !== undefined) byLocation.set(p.location, p.symbols);
  return byLocation;
}

/** Per ecosystem, how an advisory entry is judged against a package's binary. */
const EVALUATORS: Readonly<
  Record<
    string,
    (
      affected: OsvAffected,
      table: ReturnType<typeof unpackSymbols> | undefined,
      arch: string,
    ) => Reachability
  >
> = { Go: goReachability };

/**
 * A finding's reachability from all its advisory entries: true when one finds its code linked;
 * else false when one looked and found none; else unknown. Undefined for a package whose
 * ecosystem has no evaluator (not evaluated).
 */
export function findingReachability(
  pkg: InventoryPackage,
  entries: readonly OsvAffected[],
  packedTable: string | undefined,
): Reachability | undefined {
  const evaluate = EVALUATORS[pkg.ecosystem];
  if (evaluate === undefined) return undefined;
  let table: ReturnType<typeof unpackSymbols> | undefined;
  let unreadable: string | undefined;
  if (packedTable !== undefined)
    try {
      table = unpackSymbols(packedTable);
    } catch (error) {
      if (!(error instanceof PackedSymbolsError)) throw error;
      unreadable = error.message;
    }
  const arch = packedTable === undefined ? '' : packedGoarch(packedTable);
  const verdicts = entries.map((a) => evaluate(a, table, arch));
  const reachable = verdicts.filter((v) => v.reachable === true);
  if (reachable.length > 0) {
    const symbols = [...new Set(reachable.flatMap((v) => v.symbols ?? []))].sort();
    return {
      reachable: true,
      precision: reachable.some((v) => v.precision === 'symbol') ? 'symbol' : 'package',
      source: reachable[0]?.source ?? 'go-pclntab',
      ...(symbols.length === 0 ? {} : { symbols: symbols.slice(0, MAX_SHOWN) }),
    };
  }
  const unreachable = verdicts.filter((v) => v.reachable === false);
  if (unreachable.length > 0)
    return unreachable.find((v) => v.precision === 'symbol') ?? (unreachable[0] as Reachability);
  const first = verdicts[0];
  return {
    reachable: 'unknown',
    source: first?.source ?? 'go-pclntab',
    reason: unreadable ?? first?.reason ?? 'the advisory names no packages or symbols',
  };
}

/** How many findings are reachable, unreachable and unknown (those evaluated at all). */
export function reachabilityCounts(findings: readonly { readonly reachability?: Reachability }[]): {
  reachable: number;
  unreachable: number;
  unknown: number;
} {
  const counts = { reachable: 0, unreachable: 0, unknown: 0 };
  for (const f of findings) {
    const r = f.reachability?.reachable;
    if (r === true) counts.reachable++;
    else if (r === false) counts.unreachable++;
    else if (r === 'unknown') counts.unknown++;
  }
  return counts;
}

/** A verdict in a word or two (the CLI's column): `yes`, `no`, `yes (package)`, `unknown`. */
export function reachabilityLabel(r: Reachability | undefined): string {
  if (r === undefined) return '';
  if (r.reachable === 'unknown') return 'unknown';
  return `${r.reachable ? 'yes' : 'no'}${r.precision === 'package' ? ' (package)' : ''}`;
}
