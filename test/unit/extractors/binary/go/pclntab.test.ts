/**
 * The function table of Go binaries: binaries built here with Debian's Go 1.19 (plain, stripped,
 * PIE, both), read by Bosun and compared with what Go itself lists (`go tool nm` of the plain
 * build's symbol table; the stripped and PIE builds link the same functions), and real binaries
 * (esbuild from npm, Debian's docker-registry) compared with Go 1.19's own debug/gosym reading
 * of the same file. Then what a hostile table gets: a typed error, fast.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goBinary } from '../../../../../shared/extractors/binary/go/buildinfo.js';
import {
  goFunctionTable,
  PclntabError,
  readPclntab,
} from '../../../../../shared/extractors/binary/go/pclntab.js';
import {
  packedGoarch,
  packSymbols,
  splitFunctionName,
  symbolTable,
  unpackSymbols,
} from '../../../../../shared/extractors/binary/go/symbols.js';
import { setupFile } from '../../../../support/fixtures.js';
import { BUILDS, buildGo, goEnv } from '../../../../support/go-toolchain.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-pclntab-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PROGRAM = `package main

import (
	"fmt"
	"net/url"
	"sort"
)

type box[T any] struct{ v T }

func (b *box[T]) get() T { return b.v }

// Inlined into main, and linked nowhere else: no function of its own in the table.
func add(a, b int) int { return a + b }

func main() {
	u, err := url.Parse("http://example.com/a?b=c")
	fmt.Println(u, err, (&box[int]{v: 1}).get(), add(1, len(u.Path)))
	sort.Slice([]int{2, 1}, func(i, j int) bool { return i < j })
}
`;

/** Go's own reading of a binary's pclntab (debug/gosym over .gopclntab), as a tiny Go program. */
const GOSYM = `package main

import (
	"debug/elf"
	"debug/gosym"
	"fmt"
	"os"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil { panic(err) }
	s := f.Section(".gopclntab")
	data, err := s.Data()
	if err != nil { panic(err) }
	var text uint64
	if t := f.Section(".text"); t != nil { text = t.Addr }
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil { panic(err) }
	for _, fn := range tab.Funcs { fmt.Println(fn.Name) }
}
`;

let builds: Record<string, string>;
let gosym: string;
beforeAll(() => {
  builds = buildGo(work, 'hello', PROGRAM);
  const dir = path.join(work, 'gosym');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'go.mod'), 'module example.com/gosym\n\ngo 1.19\n');
  writeFileSync(path.join(dir, 'main.go'), GOSYM);
  gosym = path.join(dir, 'gosym');
  execFileSync('go', ['build', '-o', gosym, '.'], { cwd: dir, env: goEnv(work) });
}, 240_000);

const sortedUnique = (names: Iterable<string>) => [...new Set(names)].sort();

describe('binary/go/pclntab', () => {
  it('lists the functions Go lists, in every way a binary is linked', () => {
    // The symbol table of the plain build: text symbols, without the ABI0 wrappers' suffix
    // (the pclntab names the assembly function once). The symbol table spells instantiations
    // out (`box[go.shape.int_0]`) where the pclntab writes `[...]`, so both are compared as
    // package + symbol; runtime.text and runtime.etext mark the text segment's ends and are
    // no functions.
    const nm = execFileSync('go', ['tool', 'nm', builds.plain as string], {
      env: goEnv(work),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
      .split('\n')
      .map((l) => /^\s*[0-9a-f]+\s+([Tt])\s+(.*)$/.exec(l)?.[2]?.replace(/\.abi0$/, ''))
      .filter((n): n is string => n !== undefined && n !== 'runtime.text' && n !== 'runtime.etext');
    const asSymbols = (names: readonly string[]) =>
      sortedUnique(
        names.flatMap((n) => {
          const s = splitFunctionName(n);
          return s === undefined ? [] : [`${s.pkg} ${s.symbol}`];
        }),
      );
    const expected = asSymbols(nm);
    expect(expected).toContain('net/url Parse');
    expect(expected).toContain('main box.get');
    for (const b of BUILDS) {
      const table = goFunctionTable(readFileSync(builds[b.label] as string));
      expect(table.version, b.label).toBe('1.18');
      expect(asSymbols(table.names), b.label).toEqual(expected);
    }
  });

  it('names the functions inlined into others too, as the inline trees do', () => {
    for (const b of BUILDS) {
      const table = goFunctionTable(readFileSync(builds[b.label] as string));
      expect(table.names, b.label).not.toContain('main.add');
      expect(table.linkedNames, b.label).toContain('main.add');
      expect(new Set(table.linkedNames), b.label).toEqual(
        new Set([...table.names, ...table.linkedNames]),
      );
    }
  });

  const real: Record<string, () => string | undefined> = {
    'esbuild 0.15.18 (Go 1.19)': () => setupFile('go-binaries/esbuild-linux-64_0.15.18'),
    "Debian's docker-registry": () =>
      existsSync('/usr/bin/docker-registry') ? '/usr/bin/docker-registry' : undefined,
  };
  for (const [label, file] of Object.entries(real))
    it(`reads ${label} as Go's debug/gosym does`, () => {
      const f = file();
      if (f === undefined) throw new Error(`${label} is not installed: run npm run setup`);
      const go = execFileSync(gosym, [f], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
        .split('\n')
        .filter((l) => l !== '');
      const table = goFunctionTable(readFileSync(f));
      expect(table.names).toEqual(go);
    });

  it('reads the Go 1.20+ layout of esbuild 0.28.2 (no build-info header, stripped)', () => {
    const b = readFileSync(setupFile('go-binaries/_esbuild_linux-x64_0.28.2'));
    const table = goFunctionTable(b);
    expect(table.version).toBe('1.20');
    // Go 1.19's gosym predates this layout: its header's function count is the oracle.
    const start = b.indexOf(Buffer.from([0xf1, 0xff, 0xff, 0xff, 0, 0]));
    expect(table.names.length).toBe(Number(b.readBigUInt64LE(start + 8)));
    expect(table.names).toContain('main.main');
    expect(table.names).toContain('github.com/evanw/esbuild/pkg/api.Build');
    expect(table.names.every((n) => n.length > 0 && !n.includes('\u0000'))).toBe(true);
  });

  it('keeps the table on the stdlib package, packed, and unpacks to the same symbols', async () => {
    const content = readFileSync(builds['pie-stripped'] as string);
    const result = await goBinary.extract('app', content);
    expect(result.issues).toEqual([]);
    const stdlib = result.packages.find((p) => p.name === 'stdlib');
    expect(stdlib?.symbols).toMatch(/^go1:amd64:/);
    const table = unpackSymbols(stdlib?.symbols as string);
    expect(table).toEqual(symbolTable(goFunctionTable(content).linkedNames));
    expect(table.get('net/url')?.has('Parse')).toBe(true);
    expect(table.get('main')?.has('box.get')).toBe(true);
    // The closure passed to sort.Slice is main.main.func1: it belongs to main.
    expect(table.get('main')?.has('main')).toBe(true);
    expect([...(table.get('main') ?? [])].some((s) => s.includes('func'))).toBe(false);
  });
});

describe('Go function names as the vulnerability database names symbols', () => {
  const cases: [string, string, string][] = [
    ['net/url.Parse', 'net/url', 'Parse'],
    ['net/http.(*Transport).RoundTrip', 'net/http', 'Transport.RoundTrip'],
    ['net/http.Header.Get', 'net/http', 'Header.Get'],
    ['gopkg.in/yaml%2ev3.(*parser).parse', 'gopkg.in/yaml.v3', 'parser.parse'],
    ['example.com/m/pkg.Map[...].Get', 'example.com/m/pkg', 'Map.Get'],
    ['example.com/m/pkg.(*Map[...]).Get.func2.1', 'example.com/m/pkg', 'Map.Get'],
    ['main.main.func1', 'main', 'main'],
    ['net/http.(*conn).serve.deferwrap1', 'net/http', 'conn.serve'],
    ['net.(*Resolver).lookupIP-fm', 'net', 'Resolver.lookupIP'],
  ];
  for (const [raw, pkg, symbol] of cases)
    it(`${raw} -> ${pkg} ${symbol}`, () => {
      expect(splitFunctionName(raw)).toEqual({ pkg, symbol });
    });
  it('leaves out linker-made names', () => {
    expect(splitFunctionName('type:.eq.net/url.URL')).toBeUndefined();
    expect(splitFunctionName('go:buildid')).toBeUndefined();
  });
});

describe('a hostile function table', () => {
  const header = (magic: number, nfunc: bigint) => {
    const b = Buffer.alloc(128);
    b.writeUInt32LE(magic, 0);
    b[6] = 1;
    b[7] = 8;
    b.writeBigUInt64LE(nfunc, 8);
    return b;
  };
  it('refuses a count no binary has, before allocating for it', () => {
    const started = performance.now();
    expect(() => readPclntab(header(0xfffffff1, 1n << 40n))).toThrow(PclntabError);
    expect(() => readPclntab(header(0xfffffff1, 1_000_000n))).toThrow(/run past the end/);
    expect(performance.now() - started).toBeLessThan(100);
  });
  it('refuses entries out of pc order and names outside the table', () => {
    const b = header(0xfffffff0, 2n);
    // pclnOffset (word 7) -> 96: the functab's uint32 (entry, funcoff) pairs are there.
    b.writeBigUInt64LE(96n, 8 + 7 * 8);
    b.writeUInt32LE(100, 96);
    b.writeUInt32LE(50, 104);
    expect(() => readPclntab(b)).toThrow(/entry 1 is out of order/);
    b.writeUInt32LE(200, 104);
    b.writeUInt32LE(0xffff, 100);
    expect(() => readPclntab(b)).toThrow(PclntabError);
  });
  it('gives up on a file full of magics after a bounded number of tries', () => {
    const b = Buffer.alloc(8 * 1024 * 1024);
    for (let at = 0; at + 16 <= b.length; at += 16) {
      b.writeUInt32LE(0xfffffff1, at);
      b[at + 6] = 1;
      b[at + 7] = 8;
      b[at + 8] = 0xff;
    }
    const started = performance.now();
    expect(() => goFunctionTable(b)).toThrow(PclntabError);
    expect(performance.now() - started).toBeLessThan(2000);
  });
  it('stops looking in a file of magics that are no headers', () => {
    const b = Buffer.alloc(32 * 1024 * 1024, Buffer.from([0xf1, 0xff, 0xff, 0xff, 0xf1, 0xff]));
    const started = performance.now();
    expect(() => goFunctionTable(b)).toThrow(/no Go pclntab found/);
    expect(performance.now() - started).toBeLessThan(2000);
  });
  it('refuses a packed table that is not one', () => {
    expect(() => unpackSymbols('go1:AAAA')).toThrow();
    expect(() => unpackSymbols('rust1:x')).toThrow(/not a packed/);
    expect(unpackSymbols(packSymbols(new Map(), 'arm64'))).toEqual(new Map());
    expect(packedGoarch(packSymbols(new Map(), 'arm64'))).toBe('arm64');
  });
});
