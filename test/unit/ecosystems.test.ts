/**
 * The ecosystem table (shared/ecosystems.ts) is the one place ecosystems are described: these
 * tests fail when its rows disagree with each other, with the version schemes, or with the real
 * os-release files of every family in the shared data.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ADVISORY_ECOSYSTEMS,
  advisoryEcosystemsOf,
  DEFAULT_OSV_ECOSYSTEMS,
  ECOSYSTEMS,
  isDistroEcosystem,
  LANGUAGE_ECOSYSTEMS,
  OS_FAMILIES,
  osFamilyOf,
  schemeFor,
} from '../../shared/ecosystems.js';
import { detectOs } from '../../shared/extractors/os/release/detect.js';
import { OciLayoutSource } from '../../shared/image/oci-layout.js';
import { buildInventory, matchablePackages } from '../../shared/inventory/inventory.js';
import { SCHEMES } from '../../shared/versions/index.js';
import { dataDir, osReleaseCorpus } from '../support/fixtures.js';
import { LayoutWriter, tarOf } from '../support/oci.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-ecosystems-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const osReleaseOf = (file: string) =>
  detectOs((f) => (f === 'etc/os-release' ? readFileSync(file) : undefined));

describe('the ecosystem table', () => {
  it('gives every advisory ecosystem a version scheme, and every default feed one', () => {
    for (const e of ECOSYSTEMS) expect(SCHEMES[ADVISORY_ECOSYSTEMS[e].scheme], e).toBeDefined();
    expect(DEFAULT_OSV_ECOSYSTEMS.length).toBeGreaterThan(0);
    for (const e of DEFAULT_OSV_ECOSYSTEMS) expect(schemeFor(e), e).toBeDefined();
  });

  it('gives every OS family with an advisory source ecosystems Bosun can order for a real release, and the others a reason', () => {
    const releases = osReleaseCorpus().flatMap((file) => osReleaseOf(file) ?? []);
    for (const family of OS_FAMILIES) {
      if ('none' in family.advisories) {
        expect(family.advisories.none, family.name).not.toBe('');
        continue;
      }
      const ecosystems = releases
        .filter((os) => family.osReleaseIds.includes(os.family))
        .flatMap((os) => [os.ecosystem ?? [], ...(os.extraEcosystems ?? [])].flat());
      expect(ecosystems.length, family.name).toBeGreaterThan(0);
      for (const e of ecosystems) {
        expect(schemeFor(e), `${family.name}: ${e}`).toBeDefined();
        expect(isDistroEcosystem(e), `${family.name}: ${e}`).toBe(true);
      }
    }
  });

  it('recognises the real os-release file of every family that has a row, and gives each a matchable ecosystem', () => {
    const seen = new Set<string>();
    for (const file of osReleaseCorpus()) {
      const os = osReleaseOf(file);
      const family = os === undefined ? undefined : osFamilyOf(os.family);
      if (os === undefined || family === undefined) continue;
      seen.add(family.name);
      for (const e of [os.ecosystem, ...(os.extraEcosystems ?? [])])
        if (e !== undefined) expect(schemeFor(e), `${file}: ${e}`).toBeDefined();
      // A family with a source gives a numbered release an ecosystem.
      if ('ecosystems' in family.advisories && /^\d/.test(os.versionId ?? ''))
        expect(os.ecosystem, file).toBeDefined();
    }
    // The corpus has a file for most families; each of these must be recognised.
    for (const name of [
      'Alpine',
      'Debian',
      'Ubuntu',
      'AlmaLinux',
      'Rocky Linux',
      'Red Hat Enterprise Linux',
      'Amazon Linux',
      'SUSE Linux Enterprise',
      'openSUSE Leap',
      'Azure Linux',
      'Oracle Linux',
      'Photon OS',
      'Wolfi and Chainguard',
      'openSUSE Tumbleweed',
      'CentOS',
      'Fedora',
    ])
      expect(seen, name).toContain(name);
  });

  it.each([
    [
      'syft/syft/linux/testdata/os/sles/etc/os-release',
      [
        'SUSE:Linux Enterprise Server 15 SP2',
        'SUSE:Linux Enterprise Module for Basesystem 15 SP2',
        'SUSE:Linux Enterprise Module for Server Applications 15 SP2',
        'SUSE:Linux Enterprise Server 15 SP2-LTSS',
      ],
    ],
    ['trivy/pkg/fanal/analyzer/os/release/testdata/slemicro', ['SUSE:Linux Enterprise Micro 5.3']],
    ['trivy/pkg/fanal/analyzer/os/release/testdata/opensusetumbleweed', ['openSUSE:Tumbleweed']],
    ['trivy/pkg/fanal/analyzer/os/release/testdata/azurelinux-3.0', ['Azure Linux:3']],
    ['trivy/pkg/fanal/analyzer/os/release/testdata/mariner-2.0', ['Azure Linux:2']],
    ['syft/syft/linux/testdata/os/oraclelinux/etc/os-release', ['Oracle Linux:8']],
    ['syft/syft/linux/testdata/os/photon/etc/os-release', ['Photon OS:2.0']],
    ['syft/syft/linux/testdata/os/wolfi/etc/os-release', ['Wolfi']],
  ])('names the advisory ecosystems of %s as their publishers do', (file, expected) => {
    const os = osReleaseOf(path.join(dataDir(), 'pkgdbs', file));
    expect([os?.ecosystem, ...(os?.extraEcosystems ?? [])]).toEqual(expected);
    for (const e of expected) expect(schemeFor(e), e).toBeDefined();
  });

  it("takes the end of a release's support from os-release SUPPORT_END (Amazon Linux 2023)", () => {
    const os = osReleaseOf(
      path.join(
        dataDir(),
        'pkgdbs/python-distro/tests/resources/distros/amazon2023/etc/os-release',
      ),
    );
    expect(os?.supportEnd).toBe('2028-03-01');
  });

  it('maps every language package type to a language (not a distribution) ecosystem', () => {
    for (const [type, row] of Object.entries(LANGUAGE_ECOSYSTEMS)) {
      expect(isDistroEcosystem(row.ecosystem), type).toBe(false);
      expect(schemeFor(row.ecosystem), type).toBeDefined();
    }
  });

  it('has one row per os-release ID', () => {
    const ids = OS_FAMILIES.flatMap((f) => f.osReleaseIds);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('Red Hat Enterprise Linux', () => {
  const rhel = path.join(dataDir(), 'pkgdbs/syft/internal/os/testdata/rhel_content_manifests');

  it("takes Red Hat's per-repository ecosystems, BaseOS first, from a real RHEL 9.4 os-release", () => {
    const os = osReleaseOf(path.join(rhel, 'etc/os-release'));
    expect(os).toMatchObject({
      family: 'rhel',
      versionId: '9.4',
      ecosystem: 'Red Hat:enterprise_linux:9::baseos',
      // Red Hat states "affected, no fix" for the release as a whole.
      extraEcosystems: ['Red Hat:enterprise_linux:9::appstream', 'Red Hat:enterprise_linux:9'],
    });
    expect(advisoryEcosystemsOf({ id: 'rhel', versionId: '8.10' })).toEqual([
      'Red Hat:enterprise_linux:8::baseos',
      'Red Hat:enterprise_linux:8::appstream',
      'Red Hat:enterprise_linux:8',
    ]);
    // RHEL 10's AppStream is the minor release's product (cpe:/o:redhat:enterprise_linux:10.0).
    expect(advisoryEcosystemsOf({ id: 'rhel', versionId: '10.0' })).toEqual([
      'Red Hat:enterprise_linux:10::baseos',
      'Red Hat:enterprise_linux:10::appstream',
      'Red Hat:enterprise_linux:10',
      'Red Hat:enterprise_linux:10.0',
    ]);
  });

  it('gives the rpm packages of a RHEL image those ecosystems, so the matcher looks them up', async () => {
    // Real files: RHEL 9.4's os-release and an rpm BerkeleyDB made by rpm itself (syft's fixture).
    const layer = await tarOf([
      { path: 'etc/os-release', content: readFileSync(path.join(rhel, 'etc/os-release')) },
      {
        path: 'var/lib/rpm/Packages',
        content: readFileSync(
          path.join(dataDir(), 'pkgdbs/syft/syft/pkg/cataloger/redhat/testdata/Packages'),
        ),
      },
    ]);
    const dir = path.join(work, 'rhel');
    const w = new LayoutWriter(dir);
    w.finish(w.image({ architecture: 'amd64', layers: [layer] }), 'rhel');
    const [image] = (await new OciLayoutSource(dir, 'rhel').images()).images;
    const inventory = await buildInventory(image as NonNullable<typeof image>);
    const rpms = inventory.packages.filter((p) => p.type === 'rpm');
    expect(rpms.length).toBeGreaterThan(0);
    const matchable = matchablePackages(inventory);
    expect(matchable).toHaveLength(rpms.length);
    for (const p of matchable)
      expect(p).toMatchObject({
        ecosystem: 'Red Hat:enterprise_linux:9::baseos',
        extraEcosystems: ['Red Hat:enterprise_linux:9::appstream', 'Red Hat:enterprise_linux:9'],
      });
  });
});
