import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectOs } from '../../../../../shared/extractors/os/release/detect.js';
import { dataDir } from '../../../../support/fixtures.js';

const reader = (root: string) => (file: string) => {
  const full = path.join(root, file);
  return existsSync(full) ? readFileSync(full) : undefined;
};

describe('detectOs', () => {
  it("names the OSV ecosystem of every Debian release in claircore's testdata", () => {
    const root = path.join(dataDir(), 'pkgdbs/claircore/debian/testdata/dist');
    const releases = readdirSync(root).sort();
    expect(releases.length).toBeGreaterThanOrEqual(6);
    for (const release of releases) {
      expect(detectOs(reader(path.join(root, release)))?.ecosystem, release).toBe(
        `Debian:${release}`,
      );
    }
  });

  it('names Alpine releases as vMAJOR.MINOR, and none for edge', () => {
    const root = path.join(dataDir(), 'pkgdbs/claircore/alpine/testdata');
    for (const release of readdirSync(root).filter((r) => /^\d+\.\d+$/.test(r))) {
      expect(detectOs(reader(path.join(root, release)))?.ecosystem, release).toBe(
        `Alpine:v${release}`,
      );
    }
    const edge = detectOs(reader(path.join(root, 'edge')));
    expect(edge?.family).toBe('alpine');
    expect(edge?.ecosystem).toBeUndefined();
  });

  it('falls back to the distro release files when there is no os-release', () => {
    expect(
      detectOs((f) => (f === 'etc/alpine-release' ? Buffer.from('3.19.1\n') : undefined))
        ?.ecosystem,
    ).toBe('Alpine:v3.19');
    expect(
      detectOs((f) => (f === 'etc/debian_version' ? Buffer.from('12.5\n') : undefined))?.ecosystem,
    ).toBe('Debian:12');
    expect(
      detectOs((f) => (f === 'etc/debian_version' ? Buffer.from('trixie/sid\n') : undefined)),
    ).toEqual({ family: 'debian', versionId: 'trixie/sid' });
    expect(detectOs(() => undefined)).toBeUndefined();
  });
});
