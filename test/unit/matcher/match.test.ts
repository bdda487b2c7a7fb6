import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type OsvRecord, parseOsv } from '../../../shared/advisories/osv.js';
import { advisoryEcosystemsOf } from '../../../shared/ecosystems.js';
import { matchPackages } from '../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import { rpm } from '../../../shared/versions/rpm.js';
import { loadOsvDir } from '../../support/advisories.js';
import { dataDir } from '../../support/fixtures.js';

const advisory = (relative: string): OsvRecord => {
  const file = path.join(dataDir(), 'advisories', relative);
  const text = readFileSync(file, 'utf8');
  return parseOsv(file.endsWith('.json') ? JSON.parse(text) : parseYaml(text), relative);
};

function indexOf(...records: OsvRecord[]): MemoryAdvisoryIndex {
  const index = new MemoryAdvisoryIndex();
  for (const r of records) index.add(r);
  return index;
}

describe('matchPackages', () => {
  it('reports one finding per CVE: two AlmaLinux advisories of one CVE are one finding keeping both ids', async () => {
    // Both name CVE-2025-2487 only in `related`; the installed version is below both fixes.
    const first = advisory('almalinux-osv/advisories/almalinux9/ALSA-2025:4491.json');
    const second = advisory('almalinux-osv/advisories/almalinux9/ALSA-2025:7395.json');
    const pkg = { name: '389-ds-base', version: '2.5.2-1.el9', ecosystem: 'AlmaLinux:9' };
    const { findings } = await matchPackages([pkg], indexOf(first, second));
    expect(findings.map((f) => [f.id, f.ids, f.advisoryIds, f.fixedVersion])).toEqual([
      [
        'CVE-2025-2487',
        ['ALSA-2025:4491', 'ALSA-2025:7395', 'CVE-2025-2487'],
        ['ALSA-2025:4491', 'ALSA-2025:7395'],
        '2.6.1-8.el9_6',
      ],
    ]);
  });

  it("does not take a language record's `related` CVEs for its own: they are other projects' bugs", async () => {
    // containerd's advisory relates podman's, buildah's, cri-o's and moby's CVEs.
    const containerd = advisory('golang-vulndb/data/osv/GO-2023-1574.json');
    const pkg = { name: 'github.com/containerd/containerd', version: '1.6.17', ecosystem: 'Go' };
    const { findings } = await matchPackages([pkg], indexOf(containerd));
    expect(findings.map((f) => [f.id, f.ids, f.fixedVersion])).toEqual([
      ['CVE-2023-25173', ['CVE-2023-25173', 'GHSA-hmfx-3pcx-653p', 'GO-2023-1574'], '1.6.18'],
    ]);
  });

  it('reports a record aliasing two CVEs as two findings, each with its own CVE only', async () => {
    const etcd = advisory('golang-vulndb/data/osv/GO-2020-0005.json');
    const pkg = { name: 'go.etcd.io/etcd', version: '0.5.0-alpha.5', ecosystem: 'Go' };
    const { findings } = await matchPackages([pkg], indexOf(etcd));
    expect(findings.map((f) => [f.id, f.ids.filter((id) => id.startsWith('CVE-'))]).sort()).toEqual(
      [
        ['CVE-2020-15106', ['CVE-2020-15106']],
        ['CVE-2020-15112', ['CVE-2020-15112']],
      ],
    );
    for (const f of findings) expect(f.advisoryIds).toEqual(['GO-2020-0005']);
  });

  it('splits advisories that fix several CVEs into one finding per CVE, each keeping every advisory', async () => {
    const first = advisory('almalinux-osv/advisories/almalinux9/ALSA-2026:11360.json');
    const second = advisory('almalinux-osv/advisories/almalinux9/ALSA-2026:19345.json');
    const pkg = { name: 'LibRaw', version: '0.21.1-1.el9', ecosystem: 'AlmaLinux:9' };
    const { findings } = await matchPackages([pkg], indexOf(first, second));
    expect(findings.map((f) => [f.id, f.ids, f.fixedVersion]).sort()).toEqual([
      [
        'CVE-2026-21413',
        ['ALSA-2026:11360', 'ALSA-2026:19345', 'CVE-2026-21413'],
        '0.21.1-2.el9_8',
      ],
      [
        'CVE-2026-24450',
        ['ALSA-2026:11360', 'ALSA-2026:19345', 'CVE-2026-24450'],
        '0.21.1-2.el9_8',
      ],
    ]);
  });

  it('matches an Ubuntu LTS release against Ubuntu Pro too, and says when only Pro has the fix', async () => {
    const ubuntu = advisory(
      'osv-samples-misc/anchore__vunnel/tests/unit/providers/ubuntu/test-fixtures/osv/cve/2021/UBUNTU-CVE-2021-3782.json',
    );
    const [xenial, ...pro] = advisoryEcosystemsOf({
      id: 'ubuntu',
      versionId: '16.04',
      version: '16.04.7 LTS (Xenial Xerus)',
    });
    expect([xenial, ...pro]).toEqual(['Ubuntu:16.04:LTS', 'Ubuntu:Pro:16.04:LTS']);
    // The record has no public 16.04 entry for wayland, only Ubuntu Pro's (ESM) fix.
    // xenial-updates' last public wayland, below the ESM fix.
    const pkg = { name: 'wayland', version: '1.12.0-1~ubuntu16.04.3', ecosystem: xenial as string };
    expect((await matchPackages([pkg], indexOf(ubuntu))).findings).toEqual([]);
    const { findings } = await matchPackages([{ ...pkg, extraEcosystems: pro }], indexOf(ubuntu));
    expect(findings.map((f) => [f.id, f.fixedVersion, f.fixVia])).toEqual([
      ['CVE-2021-3782', '1.12.0-1~ubuntu16.04.3+esm1', 'Ubuntu Pro'],
    ]);
    // 18.04 has a public fix: no subscription named.
    const bionic = { name: 'wayland', version: '1.16.0-1ubuntu1', ecosystem: 'Ubuntu:18.04:LTS' };
    const public18 = await matchPackages(
      [{ ...bionic, extraEcosystems: ['Ubuntu:Pro:18.04:LTS'] }],
      indexOf(ubuntu),
    );
    expect(public18.findings.map((f) => [f.fixedVersion, f.fixVia])).toEqual([
      ['1.16.0-1ubuntu1.1~18.04.4', undefined],
    ]);
  });

  it('takes the CVE a distribution record names in `upstream` as the finding id', async () => {
    const ubuntu = advisory(
      'osv-samples-misc/anchore__vunnel/tests/unit/providers/ubuntu/test-fixtures/osv/cve/2021/UBUNTU-CVE-2021-3782.json',
    );
    const pkg = { name: 'wayland', version: '1.16.0-1ubuntu1', ecosystem: 'Ubuntu:18.04:LTS' };
    const { findings } = await matchPackages([pkg], indexOf(ubuntu));
    expect(findings.map((f) => [f.id, f.ids, f.fixedVersion])).toEqual([
      ['CVE-2021-3782', ['CVE-2021-3782', 'UBUNTU-CVE-2021-3782'], '1.16.0-1ubuntu1.1~18.04.4'],
    ]);
  });

  it("looks a package up in each of its ecosystems: a real Red Hat record under a package's further ecosystem", async () => {
    const rhsa = advisory(
      'osv-samples-misc/ossf__osv-schema/tools/redhat/testdata/OSV/RHSA-2024_6220.json',
    );
    const pkg = {
      name: 'PyYAML',
      version: '0:5.4.1-1.module+el8.4.0+9822+20bf1249',
      ecosystem: 'Red Hat:rhel_tus:8.6::baseos',
      location: 'var/lib/rpm/Packages',
    };
    const index = indexOf(rhsa);
    expect((await matchPackages([pkg], index)).findings).toEqual([]);
    const { findings } = await matchPackages(
      [{ ...pkg, extraEcosystems: ['Red Hat:rhel_aus:8.6::appstream'] }],
      index,
    );
    expect(findings.map((f) => [f.advisoryIds, f.fixedVersion])).toEqual([
      [['RHSA-2024:6220'], '0:5.4.1-1.module+el8.5.0+10613+59a13ec4'],
    ]);
  });

  it('reports one vulnerability known as PYSEC, GHSA and CVE in one package as one finding', async () => {
    // The same open redirect, from PyPA and from GitHub's advisory (osv-schema's GHSA converter testdata).
    const pysec = advisory(
      'pypa-advisory-database/vulns/products-pluggableauthservice/PYSEC-2021-45.yaml',
    );
    const ghsa = advisory(
      'osv-samples-misc/ossf__osv-schema/tools/ghsa/testdata/pypi_normalize.osv.json',
    );
    const pkg = {
      name: 'products-pluggableauthservice',
      version: '2.6.0',
      ecosystem: 'PyPI',
      location: 'usr/lib/python3/site-packages',
    };
    const { findings, issues } = await matchPackages(
      [pkg, { ...pkg, version: '2.6.1' }],
      indexOf(pysec, ghsa),
    );
    expect(issues).toEqual([]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      id: 'CVE-2021-21337',
      ids: ['CVE-2021-21337', 'GHSA-p44j-xrqg-4xrr', 'PYSEC-2021-45'],
      advisoryIds: ['GHSA-p44j-xrqg-4xrr', 'PYSEC-2021-45'],
      installedVersion: '2.6.0',
      fixedVersion: '2.6.1',
      package: pkg,
    });
  });

  it('matches a language package owned by an OS package only through distro advisories, unless told otherwise', async () => {
    const index = indexOf(advisory('pypa-advisory-database/vulns/urllib3/PYSEC-2021-59.yaml'));
    // 1.26.3 is in PYSEC-2021-59's range (fixed in 1.26.4).
    const owned = {
      name: 'urllib3',
      version: '1.26.3',
      ecosystem: 'PyPI',
      osOwnedBy: 'python3-urllib3',
    };
    const byDefault = await matchPackages([owned], index);
    expect([byDefault.findings.length, byDefault.skippedOsOwned]).toEqual([0, 1]);
    const all = await matchPackages([owned], index, { osOwned: 'all' });
    expect(all.findings.map((f) => f.advisoryIds)).toEqual([['PYSEC-2021-59']]);
  });

  it('records withdrawn advisories, unknown ecosystems and unorderable versions instead of dropping them', async () => {
    const withdrawn = advisory(
      'osv-samples-misc/ossf__osv-schema/tools/ghsa/testdata/withdrawn.osv.json',
    );
    const goRecord = loadOsvDir('golang-vulndb/data/osv').records.find(
      (r) => r.id === 'GO-2022-0236',
    ) as OsvRecord;
    const { findings, issues } = await matchPackages(
      [
        { name: 'activesupport', version: '6.0.0', ecosystem: 'RubyGems' },
        { name: 'base', version: '4.14.0.0', ecosystem: 'Hackage' },
        { name: 'stdlib', version: '(devel)', ecosystem: 'Go' },
      ],
      indexOf(withdrawn, goRecord),
    );
    expect(findings).toEqual([]);
    expect(issues.map((i) => i.kind)).toEqual([
      'withdrawn',
      'unknown-ecosystem',
      'invalid-version',
    ]);
    expect(issues[0]?.message).toMatch(/^GHSA-35c4-f3rq-f9g3 was withdrawn on .+; not matched$/);
    expect(issues[1]?.message).toBe(
      'Hackage/base@4.14.0.0: no version scheme for ecosystem "Hackage"; not matched',
    );
    expect(issues[2]?.message).toBe('Go/stdlib@(devel): invalid Go version "(devel)"; not matched');
  });

  it('matches rpm packages of AlmaLinux 9 against every ALSA that fixes them later', async () => {
    const alma = loadOsvDir('almalinux-osv/advisories/almalinux9').records;
    const kernel = alma.filter((r) =>
      r.affected?.some(
        (a) => a.package?.ecosystem === 'AlmaLinux:9' && a.package.name === 'kernel',
      ),
    );
    expect(kernel.length).toBeGreaterThan(20);
    const fixes = kernel.flatMap((r) =>
      (r.affected ?? [])
        .filter((a) => a.package?.name === 'kernel')
        .flatMap(
          (a) =>
            a.ranges?.flatMap((x) =>
              x.events.flatMap((e) => ('fixed' in e ? [{ id: r.id, fixed: e.fixed }] : [])),
            ) ?? [],
        ),
    );
    // The kernel an early ALSA shipped as its fix, as an installed version.
    const installed = [...fixes].sort((a, b) => rpm.compare(a.fixed, b.fixed))[0]?.fixed as string;
    const { findings, issues } = await matchPackages(
      [{ name: 'kernel', version: installed, ecosystem: 'AlmaLinux:9', sourceName: 'kernel' }],
      indexOf(...kernel),
    );
    expect(issues).toEqual([]);
    const expected = [
      ...new Set(fixes.filter((f) => rpm.compare(f.fixed, installed) > 0).map((f) => f.id)),
    ].sort();
    expect([...new Set(findings.flatMap((f) => f.advisoryIds))].sort()).toEqual(expected);
    for (const f of findings) expect(rpm.compare(f.fixedVersion ?? '0', installed)).toBe(1);
    // One finding per CVE those advisories name (in `related`), and one per advisory naming none.
    const matched = kernel.filter((r) => expected.includes(r.id));
    const cves = new Set(
      matched.flatMap((r) => (r.related ?? []).filter((id) => id.startsWith('CVE-'))),
    );
    const withoutCve = matched.filter(
      (r) => !(r.related ?? []).some((id) => id.startsWith('CVE-')),
    );
    expect(findings.map((f) => f.id).sort()).toEqual(
      [...cves, ...withoutCve.map((r) => r.id)].sort(),
    );
  });

  it('rates severity from CVSS vectors, the most precise version first', async () => {
    const rust = loadOsvDir('rustsec-osv/crates').records;
    const withV4 = rust.find((r) => r.severity?.some((s) => s.type === 'CVSS_V4'));
    const withV3 = rust.find(
      (r) =>
        r.severity?.some((s) => s.type === 'CVSS_V3') &&
        !r.severity.some((s) => s.type === 'CVSS_V4'),
    );
    for (const record of [withV4, withV3]) {
      const affected = record?.affected?.[0];
      const first = affected?.ranges?.[0]?.events.find((e) => 'introduced' in e);
      const version =
        first !== undefined && 'introduced' in first && first.introduced !== '0'
          ? first.introduced
          : '0.0.1';
      const pkg = { name: affected?.package?.name ?? '', version, ecosystem: 'crates.io' };
      const { findings } = await matchPackages([pkg], indexOf(record as OsvRecord));
      if (findings.length === 0) continue;
      const rating = findings[0]?.severity;
      expect(rating?.source).toBe(record === withV4 ? 'CVSS_V4' : 'CVSS_V3');
      expect(rating?.score).toBeGreaterThan(0);
      expect(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']).toContain(rating?.severity);
    }
  });
});
