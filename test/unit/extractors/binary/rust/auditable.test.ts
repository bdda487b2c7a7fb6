/**
 * Rust binaries built with cargo-auditable: a small application that `npm run setup` builds
 * with the real tool (Debian 13's cargo-auditable) against real crates (Debian 12's
 * librust-*-dev), offline. Cargo's own Cargo.lock for that build is the ground truth.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sectionBytes } from '../../../../../shared/extractors/binary/elf.js';
import { rustAuditable } from '../../../../../shared/extractors/binary/rust/auditable.js';
import { RootfsDirSource } from '../../../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../../../shared/image/types.js';
import { buildInventory, matchablePackages } from '../../../../../shared/inventory/inventory.js';
import { matchPackages } from '../../../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../../../shared/matcher/memory-index.js';
import { loadOsvDir } from '../../../../support/advisories.js';
import { setupFile } from '../../../../support/fixtures.js';

const BINARY = () => setupFile('rust-auditable/bosun-auditable-app');
const work = mkdtempSync(path.join(tmpdir(), 'bosun-rust-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const binary = () => readFileSync(BINARY());

/** name -> version of every package in cargo's lock file for the build. */
function lockVersions(): Map<string, string> {
  const lock = readFileSync(setupFile('rust-auditable/Cargo.lock'), 'utf8');
  return new Map(
    [...lock.matchAll(/\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"/g)].map(
      (m) => [m[1] as string, m[2] as string] as const,
    ),
  );
}

describe('binary/rust/auditable', () => {
  it('reads the crates compiled into a real cargo-auditable binary, without build dependencies', async () => {
    const content = binary();
    expect(rustAuditable.required('usr/local/bin/app', content.length, 0o755)).toBe(true);
    expect(rustAuditable.required('usr/share/doc/app/README', content.length, 0o644)).toBe(false);
    expect(rustAuditable.head?.(content.subarray(0, 64))).toBe(true);
    const result = await rustAuditable.extract('usr/local/bin/app', content);
    expect(result.issues).toEqual([]);
    const reported = result.packages.map((p) => `${p.name}@${p.version}`).sort();
    expect(reported).toEqual([
      'atty@0.2.14',
      'bosun-auditable-app@0.1.0',
      'cfg-if@1.0.0',
      'libc@0.2.139',
      'ryu@1.0.2',
    ]);
    // Every version is the one cargo locked for the build...
    const locked = lockVersions();
    for (const p of result.packages) expect(locked.get(p.name)).toBe(p.version);
    // ...while the lock also holds what was never compiled in: the build dependency, and
    // atty's Windows-only winapi crates.
    for (const absent of ['itoa', 'winapi', 'winapi-x86_64-pc-windows-gnu']) {
      expect(locked.has(absent)).toBe(true);
      expect(reported.some((r) => r.startsWith(`${absent}@`))).toBe(false);
    }
    expect(result.packages.every((p) => p.type === 'cargo')).toBe(true);
  });

  it('passes over other executables and reports damaged dependency data', async () => {
    expect(
      (await rustAuditable.extract('usr/bin/true', readFileSync('/bin/true'))).packages,
    ).toEqual([]);
    const content = binary();
    // Break the zlib header of the compressed JSON in the section.
    const section = sectionBytes(content, '.dep-v0') as Buffer;
    const damaged = Buffer.from(content);
    damaged[section.byteOffset - content.byteOffset] = 0;
    const broken = await rustAuditable.extract('app', damaged);
    expect(broken.packages).toEqual([]);
    expect(broken.issues[0]?.message).toMatch(/^app: unreadable \.dep-v0 dependency data/);
    // A file cut short before its section table: named as unreadable, not thrown.
    const truncated = content.subarray(0, content.length - 100);
    const cut = await rustAuditable.extract('app', truncated);
    expect(cut.packages).toEqual([]);
    expect(cut.issues[0]?.message).toMatch(/^app: unreadable ELF section table/);
  });

  it('puts the crates in an image inventory, matched against RustSec advisories', async () => {
    const root = path.join(work, 'rootfs');
    mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
    copyFileSync(BINARY(), path.join(root, 'usr/local/bin/app'));
    const inventory = await buildInventory(
      (await new RootfsDirSource(root).images()).images[0] as Image,
    );
    expect(inventory.packages.find((p) => p.name === 'atty')).toMatchObject({
      purl: 'pkg:cargo/atty@0.2.14',
      ecosystem: 'crates.io',
      location: 'usr/local/bin/app',
    });
    const index = new MemoryAdvisoryIndex();
    for (const r of loadOsvDir('rustsec-osv/crates').records) index.add(r);
    const { findings } = await matchPackages(matchablePackages(inventory), index);
    const atty = findings.filter((f) => f.package.name === 'atty');
    expect(atty.flatMap((f) => f.advisoryIds)).toContain('RUSTSEC-2021-0145');
  });
});
