/**
 * Installed Python distributions, from the real metadata of a Debian package (python3-urllib3,
 * fetched by `npm run setup`), and a language package that Debian owns: dpkg's own database
 * names the package that installed it, and the matcher then leaves it to Debian's advisories.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  normalizePythonName,
  pythonInstalled,
} from '../../../../../shared/extractors/language/python/installed.js';
import { RootfsDirSource } from '../../../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../../../shared/image/types.js';
import { buildInventory, matchablePackages } from '../../../../../shared/inventory/inventory.js';
import { matchPackages } from '../../../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../../../shared/matcher/memory-index.js';
import { loadOsvDir } from '../../../../support/advisories.js';
import { debField, debFile, dpkgUnpack, upstreamVersion } from '../../../../support/debs.js';
import { dataDir } from '../../../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-python-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const deb = () => debFile('python3-urllib3');

describe('language/python/installed', () => {
  it("reads a real egg-info's name, version and license", async () => {
    const root = path.join(work, 'files');
    execFileSync('dpkg-deb', ['-x', deb(), root]);
    const info = execFileSync('find', [root, '-path', '*.egg-info/PKG-INFO'], { encoding: 'utf8' })
      .trim()
      .split('\n')[0] as string;
    const relative = path.relative(root, info);
    expect(pythonInstalled.required(relative, 1000)).toBe(true);
    const result = await pythonInstalled.extract(relative, readFileSync(info));
    expect(result.issues).toEqual([]);
    expect(result.packages).toEqual([
      {
        type: 'pypi',
        name: 'urllib3',
        version: upstreamVersion(debField(deb(), 'Version')),
        licenses: ['MIT'],
        location: relative,
      },
    ]);
  });

  it('names projects as PEP 503 normalizes them, and reports metadata without a version', async () => {
    // The examples of https://packaging.python.org/en/latest/specifications/name-normalization/
    for (const name of [
      'friendly-bard',
      'Friendly-Bard',
      'FRIENDLY-BARD',
      'friendly.bard',
      'friendly_bard',
      'friendly--bard',
      'FrIeNdLy-._.-bArD',
    ])
      expect(normalizePythonName(name)).toBe('friendly-bard');
    const bad = await pythonInstalled.extract(
      'x/a.dist-info/METADATA',
      Buffer.from('Metadata-Version: 2.1\nName: a\n\nVersion: 1.0\n'),
    );
    expect(bad.packages).toEqual([]);
    expect(bad.issues[0]?.message).toMatch(/no Name or Version/);
    const garbage = await pythonInstalled.extract(
      'x/b.dist-info/METADATA',
      Buffer.from([0xff, 0xfe, 0, 1, 2]),
    );
    expect(garbage.packages).toEqual([]);
    expect(garbage.issues).toHaveLength(1);
    expect(
      pythonInstalled.required('usr/lib/python3/dist-packages/a-1.0.dist-info/RECORD', 10),
    ).toBe(false);
  });

  it('marks a Debian-installed distribution as owned by its package; upstream advisories then stay out', async () => {
    const root = path.join(work, 'rootfs');
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    copyFileSync(
      path.join(dataDir(), 'pkgdbs/local-debian12/etc/os-release'),
      path.join(root, 'etc/os-release'),
    );
    dpkgUnpack(root, deb());
    const image = (await new RootfsDirSource(root).images()).images[0] as Image;
    const inventory = await buildInventory(image);
    const urllib3 = inventory.packages.find((p) => p.type === 'pypi');
    expect(urllib3).toMatchObject({
      name: 'urllib3',
      osOwnedBy: 'python3-urllib3',
      ecosystem: 'PyPI',
    });

    const index = new MemoryAdvisoryIndex();
    for (const r of loadOsvDir('pypa-advisory-database/vulns/urllib3').records) index.add(r);
    const packages = matchablePackages(inventory);
    const distroOnly = await matchPackages(packages, index);
    expect(distroOnly.findings).toEqual([]);
    expect(distroOnly.skippedOsOwned).toBe(1);
    // The same copy judged by upstream's ranges alone: what other scanners would report.
    const upstreamOnly = await matchPackages(packages, index, { osOwned: 'all' });
    expect(upstreamOnly.findings.length).toBeGreaterThan(0);
    expect(upstreamOnly.findings.every((f) => f.package.name === 'urllib3')).toBe(true);
  });
});
