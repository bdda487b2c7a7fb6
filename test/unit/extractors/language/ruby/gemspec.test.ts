/**
 * Installed gems, from the real gemspec that Debian's ruby-rack installs (fetched by
 * `npm run setup`); dpkg's database then names ruby-rack as the gem's owner.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rubyGemspec } from '../../../../../shared/extractors/language/ruby/gemspec.js';
import { RootfsDirSource } from '../../../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../../../shared/image/types.js';
import { buildInventory } from '../../../../../shared/inventory/inventory.js';
import { debField, debFile, dpkgUnpack, upstreamVersion } from '../../../../support/debs.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-ruby-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const deb = () => debFile('ruby-rack');

describe('language/ruby/gemspec', () => {
  it("reads a real installed gemspec's name, version and licenses", async () => {
    const root = path.join(work, 'files');
    execFileSync('dpkg-deb', ['-x', deb(), root]);
    const spec = execFileSync('find', [root, '-path', '*/specifications/*.gemspec'], {
      encoding: 'utf8',
    }).trim();
    const relative = path.relative(root, spec);
    expect(rubyGemspec.required(relative, 2000)).toBe(true);
    const result = await rubyGemspec.extract(relative, readFileSync(spec));
    expect(result).toEqual({
      packages: [
        {
          type: 'gem',
          name: 'rack',
          version: upstreamVersion(debField(deb(), 'Version')),
          licenses: ['MIT'],
          location: relative,
        },
      ],
      issues: [],
    });
    // Default gems, and a gemspec of blank lines (read in linear time: nothing found).
    expect(
      rubyGemspec.required(
        'usr/lib/ruby/gems/3.1.0/specifications/default/uri-0.12.1.gemspec',
        900,
      ),
    ).toBe(true);
    const blank = await rubyGemspec.extract(
      'specifications/blank.gemspec',
      Buffer.from('\n'.repeat(1000 * 1000)),
    );
    expect(blank.packages).toEqual([]);
    const broken = await rubyGemspec.extract(
      'specifications/x.gemspec',
      Buffer.from('Gem::Specification.new do |s|\nend\n'),
    );
    expect(broken.packages).toEqual([]);
    expect(broken.issues[0]?.message).toMatch(/no s\.name or s\.version/);
  });

  it('marks the gem as owned by the Debian package that installed it', async () => {
    const root = path.join(work, 'rootfs');
    dpkgUnpack(root, deb());
    const inventory = await buildInventory(
      (await new RootfsDirSource(root).images()).images[0] as Image,
    );
    expect(inventory.packages.find((p) => p.type === 'gem')).toMatchObject({
      name: 'rack',
      ecosystem: 'RubyGems',
      osOwnedBy: 'ruby-rack',
      purl: `pkg:gem/rack@${upstreamVersion(debField(deb(), 'Version'))}`,
    });
  });
});
