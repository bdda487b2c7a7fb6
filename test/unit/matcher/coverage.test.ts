/**
 * Never a silent zero (shared/matcher/coverage.ts): for the real os-release file of every family,
 * with a real package database of the family's kind beside it, an advisory database without the
 * family's ecosystem says so, naming why; a database with it says nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAdvisories } from '../../../shared/advisories/load.js';
import { OS_FAMILIES, osFamilyOf } from '../../../shared/ecosystems.js';
import { detectOs } from '../../../shared/extractors/os/release/detect.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { buildInventory, type Inventory } from '../../../shared/inventory/inventory.js';
import { coverageOf } from '../../../shared/matcher/coverage.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import { dataDir, osReleaseCorpus } from '../../support/fixtures.js';
import { LayoutWriter, tarOf } from '../../support/oci.js';
import { npmAdvisories } from '../../support/pipeline.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-coverage-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A real package database of each kind, where the image keeps it. */
const DATABASES = {
  rpm: ['var/lib/rpm/Packages', 'pkgdbs/syft/syft/pkg/cataloger/redhat/testdata/Packages'],
  deb: ['var/lib/dpkg/status', 'pkgdbs/claircore/dpkg/testdata/debian-only.status'],
  apk: ['lib/apk/db/installed', 'pkgdbs/trivy/derived/alpine-310/lib/apk/db/installed'],
} as const;

let images = 0;
/** Inventories an image of real files: an os-release and the package database of its kind. */
async function inventoryOf(osRelease: string, kind: keyof typeof DATABASES): Promise<Inventory> {
  const [where, from] = DATABASES[kind];
  const layer = await tarOf([
    { path: 'etc/os-release', content: readFileSync(osRelease) },
    { path: where, content: readFileSync(path.join(dataDir(), from)) },
  ]);
  const dir = path.join(work, `image-${images++}`);
  const w = new LayoutWriter(dir);
  w.finish(w.image({ architecture: 'amd64', layers: [layer] }), 'latest');
  const [image] = (await new OciLayoutSource(dir, 'latest').images()).images;
  return buildInventory(image as NonNullable<typeof image>);
}

describe('coverage', () => {
  it('names the gap of every family whose ecosystem the database lacks, and why', async () => {
    // Only npm advisories: no OS family is covered.
    const npmOnly = new MemoryAdvisoryIndex();
    for (const r of npmAdvisories()) npmOnly.add(r);
    const seen = new Set<string>();
    for (const file of osReleaseCorpus()) {
      const os = detectOs((f) => (f === 'etc/os-release' ? readFileSync(file) : undefined));
      const family = os === undefined ? undefined : osFamilyOf(os.family);
      if (os === undefined || family === undefined) continue;
      seen.add(family.name);
      const inventory = await inventoryOf(file, family.packageType);
      const packages = inventory.packages.filter((p) => p.type === family.packageType).length;
      expect(packages, file).toBeGreaterThan(0);
      const coverage = await coverageOf(inventory, npmOnly);
      expect(coverage.complete, file).toBe(false);
      const [gap] = coverage.gaps;
      expect(gap?.packages, file).toBe(packages);
      if ('none' in family.advisories || os.ecosystem === undefined) {
        expect(gap?.kind, file).toBe('no-advisory-source');
        if ('none' in family.advisories) expect(gap?.message).toContain(family.advisories.none);
      } else {
        expect(gap?.kind, file).toBe('not-synced');
        expect(gap?.ecosystems, file).toEqual([os.ecosystem, ...(os.extraEcosystems ?? [])]);
        expect(gap?.message).toContain('bosun db sync');
      }
    }
    // The corpus has a real os-release file of every family.
    for (const family of OS_FAMILIES) expect(seen, family.name).toContain(family.name);
  }, 60_000);

  it('says nothing when the database has the release, and counts unsynced language ecosystems', async () => {
    const alpine = path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-310/etc/os-release');
    const secdb = new MemoryAdvisoryIndex();
    for (const r of loadAdvisories(path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.10'))
      .records)
      secdb.add(r);
    const inventory = await inventoryOf(alpine, 'apk');
    expect(await coverageOf(inventory, secdb)).toEqual({ complete: true, gaps: [] });
    // The same image with an npm lockfile: npm has no advisory in this database.
    const withApp: Inventory = {
      ...inventory,
      packages: [...inventory.packages, ...(await lockfilePackages())],
    };
    const coverage = await coverageOf(withApp, secdb);
    expect(coverage.gaps.map((g) => [g.kind, g.ecosystems, g.packages])).toEqual([
      ['not-synced', ['npm'], 106],
    ]);
  }, 60_000);

  it('never calls an image with no package complete: nothing was checked', async () => {
    const alpine = path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-310/etc/os-release');
    const layer = await tarOf([{ path: 'etc/os-release', content: readFileSync(alpine) }]);
    const dir = path.join(work, 'no-packages');
    const w = new LayoutWriter(dir);
    w.finish(w.image({ architecture: 'amd64', layers: [layer] }), 'latest');
    const [image] = (await new OciLayoutSource(dir, 'latest').images()).images;
    const inventory = await buildInventory(image as NonNullable<typeof image>);
    const coverage = await coverageOf(inventory, new MemoryAdvisoryIndex());
    expect(coverage.complete).toBe(false);
    expect(coverage.gaps.map((g) => [g.kind, g.message])).toEqual([
      [
        'nothing-found',
        'no package was found in Alpine Linux v3.10: nothing was checked for vulnerabilities',
      ],
    ]);
  });

  it('blames the unread layers, not the image, when nothing was found in what could be read', async () => {
    const alpine = path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-310/etc/os-release');
    const layer = await tarOf([{ path: 'etc/os-release', content: readFileSync(alpine) }]);
    const dir = path.join(work, 'unread-layer');
    const w = new LayoutWriter(dir);
    const top = w.image({ architecture: 'amd64', layers: [Buffer.from('not a tar'), layer] });
    w.finish(top, 'latest');
    const [image] = (await new OciLayoutSource(dir, 'latest').images()).images;
    const inventory = await buildInventory(image as NonNullable<typeof image>);
    expect(inventory.complete).toBe(false);
    const coverage = await coverageOf(inventory, new MemoryAdvisoryIndex());
    expect(coverage.gaps.map((g) => [g.kind, g.message])).toEqual([
      [
        'nothing-found',
        'no package was found in the layers that could be read, and some could not (see the issues): nothing was checked for vulnerabilities',
      ],
    ]);
  });

  it('says a release is past its support end (os-release SUPPORT_END), from the day after', async () => {
    const al2023 = path.join(
      dataDir(),
      'pkgdbs/python-distro/tests/resources/distros/amazon2023/etc/os-release',
    );
    const inventory = await inventoryOf(al2023, 'rpm');
    const al = new MemoryAdvisoryIndex();
    for (const r of loadAdvisories(
      path.join(dataDir(), 'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures'),
    ).records)
      al.add(r);
    // Its SUPPORT_END is 2028-03-01: supported through that day.
    expect(await coverageOf(inventory, al, Date.parse('2028-03-01T23:00:00Z'))).toEqual({
      complete: true,
      gaps: [],
    });
    const after = await coverageOf(inventory, al, Date.parse('2028-03-02T00:00:00Z'));
    expect(after.complete).toBe(false);
    expect(after.gaps.map((g) => [g.kind, g.ecosystems, g.packages])).toEqual([
      ['end-of-life', ['Amazon Linux:2023'], inventory.packages.length],
    ]);
    expect(after.gaps[0]?.message).toMatch(
      /^Amazon Linux 2023 reached the end of its support on 2028-03-01: its 1 OS package gets no more fixes, and vulnerabilities found since may not be listed at all$/,
    );
  });

  it('calls an OS no family row knows a source-less gap', async () => {
    const arch = path.join(dataDir(), 'pkgdbs/syft/syft/linux/testdata/os/arch/etc/os-release');
    const inventory = await inventoryOf(arch, 'rpm');
    const coverage = await coverageOf(inventory, new MemoryAdvisoryIndex());
    expect(coverage.gaps.map((g) => g.kind)).toEqual(['no-advisory-source']);
    expect(coverage.gaps[0]?.message).toMatch(/Arch Linux.*Bosun has no advisory source for it/);
  });
});

/** The npm packages of the demo's real lockfile, as an inventory reads them. */
async function lockfilePackages() {
  const { DEMO_LOCKFILE } = await import('../../../scripts/demo-data.js');
  const layer = await tarOf([
    { path: 'srv/app/package-lock.json', content: readFileSync(DEMO_LOCKFILE) },
  ]);
  const dir = path.join(work, 'lockfile');
  const w = new LayoutWriter(dir);
  w.finish(w.image({ architecture: 'amd64', layers: [layer] }), 'latest');
  const [image] = (await new OciLayoutSource(dir, 'latest').images()).images;
  return (await buildInventory(image as NonNullable<typeof image>)).packages;
}
