/**
 * Go binaries as npm packages ship them (esbuild's, fetched by `npm run setup`): one built by
 * Go 1.19 with its build-information section, one built by a newer toolchain without it. What
 * Bosun reads is checked against what binutils' `strings` finds in the same file: the module
 * lines cmd/go embeds and the toolchain version. The Go version then matches Go's stdlib
 * advisories from the real Go vulnerability database.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { goBinary, stdlibVersion } from '../../../../../shared/extractors/binary/go/buildinfo.js';
import { RootfsDirSource } from '../../../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../../../shared/image/types.js';
import { buildInventory, matchablePackages } from '../../../../../shared/inventory/inventory.js';
import { matchPackages } from '../../../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../../../shared/matcher/memory-index.js';
import { loadOsvDir } from '../../../../support/advisories.js';
import { setupFile } from '../../../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-go-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BINARIES = {
  'with .go.buildinfo (esbuild 0.15.18)': 'esbuild-linux-64_0.15.18',
  'without it (esbuild 0.28.2)': '_esbuild_linux-x64_0.28.2',
};
const binary = (name: string) => setupFile(`go-binaries/${name}`);

/** What binutils finds: the dep lines of the module info, and the toolchain version string. */
function fromStrings(file: string) {
  const lines = execFileSync('strings', ['-a', '-n', '4', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }).split('\n');
  const deps = [...new Set(lines.filter((l) => l.startsWith('dep\t')))].map((l) => {
    const [, module, version] = l.split('\t');
    return { name: module, version };
  });
  const go = lines.find((l) => /^go1\.\d+(\.\d+)?$/.test(l)) as string;
  return { deps, go };
}

describe('binary/go/buildinfo', () => {
  for (const [label, name] of Object.entries(BINARIES))
    it(`reads the modules and toolchain of a real Go binary ${label}`, async () => {
      const file = binary(name);
      const content = readFileSync(file);
      expect(goBinary.required('usr/local/bin/esbuild', content.length, 0o755)).toBe(true);
      expect(goBinary.head?.(content.subarray(0, 64))).toBe(true);
      const result = await goBinary.extract('usr/local/bin/esbuild', content);
      expect(result.issues).toEqual([]);
      const truth = fromStrings(file);
      expect(truth.deps.length).toBeGreaterThan(0);
      expect(result.packages.map((p) => ({ name: p.name, version: p.version }))).toEqual([
        ...truth.deps,
        { name: 'stdlib', version: stdlibVersion(truth.go) },
      ]);
    });

  it('passes over what is not a Go executable, and reports a damaged one', async () => {
    expect(goBinary.required('usr/share/doc/README', 5000, 0o644)).toBe(false);
    expect(goBinary.head?.(Buffer.from('#!/bin/sh\necho hi\n'))).toBe(false);
    expect((await goBinary.extract('usr/bin/true', readFileSync('/bin/true'))).packages).toEqual(
      [],
    );
    const content = readFileSync(binary('esbuild-linux-64_0.15.18'));
    // Cut inside the build-information header: a damaged Go binary, reported, not a crash.
    const at = content.indexOf(Buffer.from('\xff Go buildinf:', 'latin1'));
    const cut = await goBinary.extract('usr/local/bin/x', content.subarray(0, at + 20));
    expect(cut.packages).toEqual([]);
    expect(cut.issues[0]?.message).toMatch(/^usr\/local\/bin\/x: unreadable Go build information/);
    expect(stdlibVersion('go1.22')).toBe('1.22.0');
    expect(stdlibVersion('go1.21rc2')).toBe('1.21.0-rc.2');
  });

  it("reports the toolchain as Go's stdlib in an inventory, and matches it against Go's advisories", async () => {
    const root = path.join(work, 'rootfs');
    mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
    const target = path.join(root, 'usr/local/bin/esbuild');
    copyFileSync(binary('esbuild-linux-64_0.15.18'), target);
    chmodSync(target, 0o755);
    const inventory = await buildInventory(
      (await new RootfsDirSource(root).images()).images[0] as Image,
    );
    expect(inventory.packages.map((p) => [p.name, p.version, p.ecosystem, p.purl])).toEqual([
      [
        'golang.org/x/sys',
        'v0.0.0-20220715151400-c0bba94af5f8',
        'Go',
        'pkg:golang/golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8',
      ],
      ['stdlib', '1.19.3', 'Go', 'pkg:golang/stdlib@1.19.3'],
    ]);
    const index = new MemoryAdvisoryIndex();
    for (const r of loadOsvDir('golang-vulndb/data/osv').records) index.add(r);
    const result = await matchPackages(matchablePackages(inventory), index);
    const stdlib = result.findings.filter((f) => f.package.name === 'stdlib');
    // Go 1.19.3 (November 2022) predates many standard-library fixes.
    expect(stdlib.length).toBeGreaterThan(0);
    for (const f of stdlib) expect(f.fixedVersion).toMatch(/^1\.(19|2\d)\./);
  });
});
