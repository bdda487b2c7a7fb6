/**
 * Reachability's verdicts on real Go advisories (GO-2025-4010: named symbols of net/url;
 * GO-2023-1840: the runtime package, no symbol; GO-2025-3447: ppc64le only; GO-2022-0220:
 * Windows only) against a real binary's table (esbuild 0.15.18), and the table's way through
 * the inventory store: stored once per binary, given back to every package of the binary a
 * rescan reads, so that a rescan says what the scan said.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OsvRecord } from '../../../shared/advisories/osv.js';
import { goBinary } from '../../../shared/extractors/binary/go/buildinfo.js';
import { packSymbols, unpackSymbols } from '../../../shared/extractors/binary/go/symbols.js';
import { matchPackages } from '../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import { findingReachability, goReachability } from '../../../shared/matcher/reachability.js';
import type { InventoryPackage } from '../../../shared/matcher/types.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { InventoryStore, inventoryPackageKey } from '../../../shared/stores/inventory-store.js';
import { loadOsvDir } from '../../support/advisories.js';
import { setupFile } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-reachability-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let records: Map<string, OsvRecord>;
let packages: InventoryPackage[];
let packed: string;
beforeAll(async () => {
  records = new Map(loadOsvDir('golang-vulndb/data/osv').records.map((r) => [r.id, r]));
  const file = setupFile('go-binaries/esbuild-linux-64_0.15.18');
  const result = await goBinary.extract('usr/local/bin/esbuild', readFileSync(file));
  packages = result.packages.map((p) => ({ ...p, ecosystem: 'Go' }));
  packed = packages.find((p) => p.name === 'stdlib')?.symbols as string;
}, 120_000);

const entry = (id: string) => {
  const affected = records.get(id)?.affected?.[0];
  if (affected === undefined) throw new Error(`${id} is not in the Go vulnerability database`);
  return affected;
};

describe('Go reachability of one advisory', () => {
  it('symbol precision: the vulnerable functions named, found linked or not', () => {
    const table = unpackSymbols(packed);
    // esbuild parses URLs (net/url.Parse is linked).
    expect(table.get('net/url')?.has('Parse')).toBe(true);
    expect(goReachability(entry('GO-2025-4010'), table, 'amd64')).toEqual({
      reachable: true,
      precision: 'symbol',
      source: 'go-pclntab',
      symbols: [
        'net/url.Parse',
        'net/url.ParseRequestURI',
        'net/url.URL.UnmarshalBinary',
        'net/url.parseHost',
      ],
    });
    const without = new Map(table);
    without.set('net/url', new Set(['QueryEscape']));
    expect(goReachability(entry('GO-2025-4010'), without, 'amd64')).toEqual({
      reachable: false,
      precision: 'symbol',
      source: 'go-pclntab',
    });
  });

  it('package precision: an import that names no symbol is reachable when its package is linked', () => {
    expect(goReachability(entry('GO-2023-1840'), unpackSymbols(packed), 'amd64')).toMatchObject({
      reachable: true,
      precision: 'package',
      symbols: ['runtime'],
    });
    expect(goReachability(entry('GO-2023-1840'), new Map(), 'amd64')).toEqual({
      reachable: false,
      precision: 'package',
      source: 'go-pclntab',
    });
  });

  it("other platforms' code is not in a Linux binary of another architecture", () => {
    const table = unpackSymbols(packed);
    expect(goReachability(entry('GO-2025-3447'), table, 'amd64')).toMatchObject({
      reachable: false,
      reason: 'the vulnerable code is built only for ppc64le',
    });
    expect(goReachability(entry('GO-2022-0220'), table, 'amd64')).toMatchObject({
      reachable: false,
      reason: 'the vulnerable code is built only for windows',
    });
  });

  it('unknown: no table, an unreadable table, an advisory that names no package', () => {
    const noImports = [...records.values()].find(
      (r) => r.affected?.[0]?.ecosystem_specific?.imports === undefined,
    );
    expect(noImports).toBeDefined();
    const stdlib = packages.find((p) => p.name === 'stdlib') as InventoryPackage;
    expect(findingReachability(stdlib, [noImports?.affected?.[0] as never], packed)).toMatchObject({
      reachable: 'unknown',
      reason: 'the advisory names no packages or symbols',
    });
    expect(findingReachability(stdlib, [entry('GO-2025-4010')], undefined)).toMatchObject({
      reachable: 'unknown',
      reason: "the binary's function table was not read",
    });
    expect(findingReachability(stdlib, [entry('GO-2025-4010')], 'go1:amd64:@@@')).toMatchObject({
      reachable: 'unknown',
    });
    // An ecosystem with no evaluator is not evaluated at all.
    expect(
      findingReachability({ ...stdlib, ecosystem: 'npm' }, [entry('GO-2025-4010')], packed),
    ).toBeUndefined();
  });
});

describe('the symbol table in the inventory store', () => {
  const header = (scanId: string, count: number) => ({
    digest: 'sha256:aaaa',
    scanId,
    packageCount: count,
    extractors: 'binary/go/buildinfo@2',
    committedAt: '2026-12-07T00:00:00Z',
  });

  it('is stored once, and a rescan of one module judges reachability as the scan did', async () => {
    const table = EmbeddedItemTable.open(path.join(work, 'one'), 'inventories');
    const store = new InventoryStore(table);
    await store.putInventory(header('s1', packages.length), packages);
    const items = await table.query('DIGEST#sha256:aaaa', { prefix: 'PKG#s1#' });
    expect(items.every((i) => (i.package as InventoryPackage).symbols === undefined)).toBe(true);
    // The inventory reads back as it was written: the table on the stdlib package alone.
    expect((await store.getInventory('sha256:aaaa', 's1'))?.packages).toEqual(
      expect.arrayContaining(packages),
    );
    const index = new MemoryAdvisoryIndex();
    for (const r of records.values()) index.add(r);
    const scan = await matchPackages(packages, index);
    const sys = packages.find((p) => p.name === 'golang.org/x/sys') as InventoryPackage;
    const rescanned = await store.packagesWithKeys('sha256:aaaa', 's1', [inventoryPackageKey(sys)]);
    expect(rescanned.map((p) => p.name)).toEqual(['golang.org/x/sys']);
    expect(rescanned[0]?.symbols).toBe(packed);
    const rescan = await matchPackages(rescanned, index);
    const verdicts = (fs: typeof scan.findings) =>
      fs.map((f) => [f.advisoryIds.join(), f.reachability?.reachable]);
    expect(rescan.findings.length).toBeGreaterThan(0);
    expect(verdicts(rescan.findings)).toEqual(
      verdicts(scan.findings.filter((f) => f.package.name === 'golang.org/x/sys')),
    );
    // Findings do not carry the table into the outputs.
    expect(scan.findings.some((f) => 'symbols' in f.package)).toBe(false);
    await store.deleteInventory('sha256:aaaa', 's1');
    expect(await table.query('DIGEST#sha256:aaaa')).toEqual([]);
    table.close();
  });

  it('splits a table larger than an item holds into parts, and joins them back', async () => {
    // Random names do not compress: a table of 80 000 of them packs to about 700 KB.
    const big = new Map([
      [
        'example.com/big',
        new Set(Array.from({ length: 80_000 }, () => Math.random().toString(36))),
      ],
    ]);
    const huge = packSymbols(big, 'amd64');
    expect(huge.length).toBeGreaterThan(600_000);
    const pkg: InventoryPackage = {
      name: 'stdlib',
      version: '1.19.0',
      ecosystem: 'Go',
      location: 'app',
      symbols: huge,
    };
    const table = EmbeddedItemTable.open(path.join(work, 'big'), 'inventories');
    const store = new InventoryStore(table);
    await store.putInventory(header('s2', 1), [pkg]);
    const parts = await table.query('DIGEST#sha256:aaaa', { prefix: 'SYM#s2#' });
    expect(parts.length).toBe(Math.ceil(huge.length / 300_000));
    expect((await store.getInventory('sha256:aaaa', 's2'))?.packages).toEqual([pkg]);
    table.close();
  });
});
