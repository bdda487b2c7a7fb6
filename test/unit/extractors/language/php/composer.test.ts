/**
 * PHP packages installed by Composer, from the real vendor directories that Debian's
 * zoneminder ships (fetched by `npm run setup`); dpkg's database then names zoneminder as
 * their owner.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composerInstalled } from '../../../../../shared/extractors/language/php/composer.js';
import { RootfsDirSource } from '../../../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../../../shared/image/types.js';
import { buildInventory } from '../../../../../shared/inventory/inventory.js';
import { debFile, dpkgUnpack } from '../../../../support/debs.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-composer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const deb = () => debFile('zoneminder');
const WEB_VENDOR = 'usr/share/zoneminder/www/vendor/composer/installed.json';

const VENDORS = ['usr/share/zoneminder/www/vendor', 'usr/share/zoneminder/www/api/app/vendor'];

/** zoneminder's vendor directories, unpacked once by dpkg (which records them as its files). */
function files(): string {
  const root = path.join(work, 'rootfs');
  if (!existsSync(root)) dpkgUnpack(root, deb(), VENDORS);
  return root;
}

describe('language/php/composer', () => {
  it("reads a real Composer 1 installed.json: every package's name, version and licenses", async () => {
    const content = readFileSync(path.join(files(), WEB_VENDOR));
    expect(composerInstalled.required(WEB_VENDOR, content.length)).toBe(true);
    const result = await composerInstalled.extract(WEB_VENDOR, content);
    expect(result).toEqual({
      packages: [
        {
          type: 'composer',
          name: 'firebase/php-jwt',
          version: 'v5.0.0',
          licenses: ['BSD-3-Clause'],
          location: WEB_VENDOR,
        },
        {
          type: 'composer',
          name: 'ircmaxell/password-compat',
          version: 'v1.0.4',
          licenses: ['MIT'],
          location: WEB_VENDOR,
        },
      ],
      issues: [],
    });
    // Each package reported is one the vendor directory holds, under its own composer.json.
    for (const p of result.packages) {
      const manifest = path.join(
        files(),
        'usr/share/zoneminder/www/vendor',
        p.name,
        'composer.json',
      );
      expect(JSON.parse(readFileSync(manifest, 'utf8')).name).toBe(p.name);
    }
  });

  it('reads the Composer 2 shape, where the same package objects sit under "packages"', async () => {
    const real = JSON.parse(readFileSync(path.join(files(), WEB_VENDOR), 'utf8')) as unknown[];
    const v2 = { packages: real, dev: true, 'dev-package-names': [] };
    const result = await composerInstalled.extract(WEB_VENDOR, Buffer.from(JSON.stringify(v2)));
    expect(result.issues).toEqual([]);
    expect(result.packages.map((p) => `${p.name}@${p.version}`)).toEqual([
      'firebase/php-jwt@v5.0.0',
      'ircmaxell/password-compat@v1.0.4',
    ]);
  });

  it('records a broken file or a broken entry and keeps the other entries', async () => {
    const at = 'app/vendor/composer/installed.json';
    expect(composerInstalled.required('app/vendor/firebase/php-jwt/composer.json', 900)).toBe(
      false,
    );
    const notJson = await composerInstalled.extract(at, Buffer.from('{"packages": ['));
    expect(notJson.packages).toEqual([]);
    expect(notJson.issues[0]?.message).toMatch(/^app\/vendor\/composer\/installed\.json: not JSON/);
    const wrongShape = await composerInstalled.extract(at, Buffer.from('{"packages": 3}'));
    expect(wrongShape.issues[0]?.message).toMatch(/neither a package list/);
    const real = JSON.parse(readFileSync(path.join(files(), WEB_VENDOR), 'utf8')) as object[];
    const mixed = [
      null,
      { name: 'no-vendor', version: '1.0.0' },
      { name: 'a/b' },
      { name: 'a/branch', version: 'dev-main' },
      ...real,
    ];
    const result = await composerInstalled.extract(at, Buffer.from(JSON.stringify(mixed)));
    expect(result.packages.map((p) => p.name)).toEqual([
      'firebase/php-jwt',
      'ircmaxell/password-compat',
    ]);
    expect(result.issues.map((i) => i.message)).toEqual([
      `${at}: package 0 has no vendor/project name; skipped`,
      `${at}: package 1 has no vendor/project name; skipped`,
      `${at}: a/b has no version; skipped`,
      `${at}: a/branch is installed from a branch (dev-main); not reported`,
    ]);
  });

  it('marks the packages as owned by the Debian package that installed them, with Packagist PURLs', async () => {
    const root = files();
    const inventory = await buildInventory(
      (await new RootfsDirSource(root).images()).images[0] as Image,
    );
    const composer = inventory.packages.filter((p) => p.type === 'composer');
    expect(composer.map((p) => [p.purl, p.ecosystem, p.osOwnedBy, p.location]).sort()).toEqual([
      [
        'pkg:composer/composer/installers@v1.0.21',
        'Packagist',
        'zoneminder',
        'usr/share/zoneminder/www/api/app/vendor/composer/installed.json',
      ],
      ['pkg:composer/firebase/php-jwt@v5.0.0', 'Packagist', 'zoneminder', WEB_VENDOR],
      [
        'pkg:composer/friendsofcake/crud@3.0.10',
        'Packagist',
        'zoneminder',
        'usr/share/zoneminder/www/api/app/vendor/composer/installed.json',
      ],
      ['pkg:composer/ircmaxell/password-compat@v1.0.4', 'Packagist', 'zoneminder', WEB_VENDOR],
    ]);
  });
});
