/**
 * Every OS family end to end, as a user runs it: `bosun db sync --from` the publisher's own
 * format (real files from the shared data), then `bosun scan dir:` a root of that family (its
 * real os-release, and a package database the family's tools write at test time). A vulnerable
 * version is reported with the advisory's id and CVE, the fixed version is not, an advisory that
 * states no fix shows as such, and a database without the family's ecosystem says so (exit 4).
 *
 * Package versions: the shared data holds no installed database of these families (pkgdbs/
 * README.md), so each root is written with the names the advisories name; a fixed package is at
 * the advisory's fixed version, a vulnerable one one release below it (the advisories list fixes,
 * not the builds before them).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bosun } from '../../support/cli.js';
import { dataDir } from '../../support/fixtures.js';
import { type RpmNevra, rpmRoot } from '../../support/rpmdb.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-families-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface ReportFinding {
  id: string;
  ids: string[];
  package: string;
  installedVersion: string;
  fixedVersion?: string;
  fixState?: string;
}
interface Report {
  images: {
    os: { ecosystem?: string };
    packages: number;
    findings: ReportFinding[];
    coverage: { complete: boolean; gaps: { kind: string; ecosystems: string[] }[] };
  }[];
}

const data = (p: string) => path.join(dataDir(), p);
let roots = 0;

/** A root with a real os-release (copied from `osRelease`) and an rpm database rpm writes. */
function rpmFamilyRoot(osRelease: string, packages: readonly RpmNevra[]): string {
  const root = path.join(work, `root-${roots++}`);
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  cpSync(data(osRelease), path.join(root, 'etc/os-release'));
  rpmRoot(root, path.join(work, `rpm-${roots}`), packages);
  return root;
}

/** The entries of a real apk installed database (lib/apk/db/installed) that name `names`. */
function apkEntries(database: string, names: readonly string[]): string[] {
  const entries = readFileSync(data(database), 'utf8').split(/\n\n+/);
  return names.map((name) => {
    const found = entries.find((e) => e.split('\n').includes(`P:${name}`));
    if (found === undefined) throw new Error(`${database} has no ${name}`);
    return found.trim();
  });
}

/** Syncs `from` into a new database; returns its folder. */
function syncedDb(...from: string[]): string {
  const db = path.join(work, `db-${roots++}`);
  const sync = bosun('db', 'sync', ...from.flatMap((f) => ['--from', data(f)]), '--db', db);
  expect(sync.status, `${sync.stdout}${sync.stderr}`).toBe(0);
  return db;
}

function scan(root: string, ...args: string[]) {
  const out = bosun('scan', `dir:${root}`, '--format', 'json', ...args);
  const report = JSON.parse(out.stdout) as Report;
  return { status: out.status, stderr: out.stderr, image: report.images[0] };
}

const summary = (f: ReportFinding) => [
  f.package,
  f.installedVersion,
  f.id,
  f.fixedVersion ?? f.fixState ?? 'no fix',
];

/** Without the family's advisories the scan says its packages were not checked, exit 4. */
function expectNotSynced(root: string, ecosystems: readonly string[]) {
  const npm = data('advisories/nodejs-security-wg/vuln/npm');
  const { status, image } = scan(root, '--advisories', npm);
  expect(status).toBe(4);
  expect(image?.findings).toEqual([]);
  expect(image?.coverage.gaps.map((g) => [g.kind, g.ecosystems])).toEqual([
    ['not-synced', ecosystems],
  ]);
}

describe('Wolfi', () => {
  // The real Wolfi os-release, and real apk database entries: Alpine 3.10's busybox 1.30.1-r3
  // (below Wolfi's fix 1.35.0-r3) and an Alpine 3.16 zlib 1.2.12-r3 (Wolfi's fix for
  // CVE-2022-37434). No Wolfi installed database is obtainable, and apk does not install here.
  const root = path.join(work, 'wolfi');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'lib/apk/db'), { recursive: true });
  cpSync(
    data('pkgdbs/syft/syft/linux/testdata/os/wolfi/etc/os-release'),
    path.join(root, 'etc/os-release'),
  );
  writeFileSync(
    path.join(root, 'lib/apk/db/installed'),
    `${[
      ...apkEntries('pkgdbs/trivy/derived/alpine-310/lib/apk/db/installed', ['busybox']),
      ...apkEntries(
        'pkgdbs/syft/syft/pkg/cataloger/alpine/testdata/multiple-2/lib/apk/db/installed',
        ['zlib'],
      ),
    ].join('\n\n')}\n\n`,
  );

  it("reports what Wolfi's secdb says of busybox, and nothing of the fixed zlib", () => {
    const db = syncedDb(
      'advisories/vunnel-fixtures/tests/unit/providers/wolfi/test-fixtures/input/secdb/security.json',
    );
    const { status, stderr, image } = scan(root, '--db', db);
    expect(status, stderr).toBe(0);
    expect(image?.os.ecosystem).toBe('Wolfi');
    expect(image?.coverage).toEqual({ complete: true, gaps: [] });
    expect(image?.findings.map(summary).sort()).toEqual([
      ['busybox', '1.30.1-r3', 'CVE-2022-28391', '1.35.0-r3'],
      ['busybox', '1.30.1-r3', 'CVE-2022-30065', '1.35.0-r3'],
    ]);
    expect(image?.findings[0]?.ids).toEqual(['CVE-2022-28391', 'WOLFI-CVE-2022-28391']);
  }, 60_000);

  it('says the packages were not checked when the database has no Wolfi advisory', () => {
    expectNotSynced(root, ['Wolfi']);
  }, 60_000);
});

describe('Photon OS', () => {
  // Photon 4.0's real os-release; curl at the fix CVE-2023-38545 names, nghttp2 one release
  // below its fix, and python3, for which Photon lists CVE-2023-50447 with no fixed version.
  const root = rpmFamilyRoot('pkgdbs/trivy/pkg/fanal/analyzer/os/release/testdata/photon', [
    { name: 'curl', version: '7.88.1', release: '4.ph4' },
    { name: 'nghttp2', version: '1.57.0', release: '0.ph4' },
    { name: 'python3', version: '3.10.13', release: '1.ph4' },
  ]);

  it("reports what Photon's CVE metadata says: a fix, no fix, and nothing for the fixed curl", () => {
    const db = syncedDb(
      'advisories/vunnel-fixtures/tests/unit/providers/photon/test-fixtures/input',
    );
    const { status, stderr, image } = scan(root, '--db', db);
    expect(status, stderr).toBe(0);
    expect(image?.os.ecosystem).toBe('Photon OS:4.0');
    expect(image?.coverage).toEqual({ complete: true, gaps: [] });
    expect(image?.findings.map(summary).sort()).toEqual([
      ['nghttp2', '1.57.0-0.ph4', 'CVE-2023-44487', '1.57.0-1.ph4'],
      ['python3', '3.10.13-1.ph4', 'CVE-2023-50447', 'no fix'],
    ]);
    const unfixed = bosun(
      'scan',
      `dir:${root}`,
      '--db',
      db,
      '--format',
      'json',
      '--ignore-unfixed',
    );
    expect(
      (JSON.parse(unfixed.stdout) as Report).images[0]?.findings.map((f) => f.package),
    ).toEqual(['nghttp2']);
  }, 60_000);

  it('says the packages were not checked when the database has no Photon advisory', () => {
    expectNotSynced(root, ['Photon OS:4.0']);
  }, 60_000);
});

describe('Azure Linux', () => {
  // Azure Linux 3.0's real os-release. Microsoft's OVAL fixes curl below 8.8.0-1.azl3 and
  // openssl below 3.3.0-1.azl3 (three CVEs) and 3.3.0-2.azl3 (CVE-2024-5535).
  const root = rpmFamilyRoot('pkgdbs/trivy/pkg/fanal/analyzer/os/release/testdata/azurelinux-3.0', [
    { name: 'curl', version: '8.8.0', release: '1.azl3' },
    { name: 'openssl', version: '3.3.0', release: '1.azl3' },
  ]);

  it("reports what Microsoft's OVAL says of openssl, and nothing of the fixed curl", () => {
    const db = syncedDb('advisories/azurelinux-oval/azurelinux-3.0-oval.xml');
    const { status, stderr, image } = scan(root, '--db', db);
    expect(status, stderr).toBe(0);
    expect(image?.os.ecosystem).toBe('Azure Linux:3');
    expect(image?.coverage).toEqual({ complete: true, gaps: [] });
    expect(image?.findings.map(summary)).toEqual([
      ['openssl', '3.3.0-1.azl3', 'CVE-2024-5535', '3.3.0-2.azl3'],
    ]);
    expect(image?.findings[0]?.ids).toEqual(['AZL-3-CVE-2024-5535', 'CVE-2024-5535']);
  }, 60_000);

  it('reports a CBL-Mariner 2.0 package Microsoft has not patched as not fixed', () => {
    const mariner = rpmFamilyRoot(
      'pkgdbs/trivy/pkg/fanal/analyzer/os/release/testdata/mariner-2.0',
      [{ name: 'bind', version: '9.16.33', release: '1.cm2' }],
    );
    const db = syncedDb(
      'advisories/vunnel-fixtures/tests/unit/providers/mariner/test-fixtures/mariner-truncated-2.0-oval.xml',
    );
    const { status, stderr, image } = scan(mariner, '--db', db);
    expect(status, stderr).toBe(0);
    expect(image?.os.ecosystem).toBe('Azure Linux:2');
    expect(image?.findings.map(summary)).toEqual([
      ['bind', '9.16.33-1.cm2', 'CVE-2022-3736', 'no fix'],
    ]);
  }, 60_000);

  it('says the packages were not checked when the database has no Azure Linux advisory', () => {
    expectNotSynced(root, ['Azure Linux:3']);
  }, 60_000);
});

describe('Oracle Linux', () => {
  // Oracle Linux 7.5's real os-release; ELSA-2019-4821 fixes sudo at 1.8.23-4.0.1.el7 and
  // ELSA-2015-2561 git at 1.8.3.1-6.el7.
  const root = rpmFamilyRoot(
    'pkgdbs/python-distro/tests/resources/distros/oracle7/etc/os-release',
    [
      { name: 'sudo', version: '1.8.23', release: '4.0.1.el7' },
      { name: 'git', version: '1.8.3.1', release: '5.el7' },
    ],
  );

  it("reports what Oracle's ELSA OVAL says of git, and nothing of the fixed sudo", () => {
    const db = syncedDb(
      'advisories/vuln-list-update-fixtures/oracle/oval/testdata/all-positive-data.xml.bz2',
    );
    const { status, stderr, image } = scan(root, '--db', db);
    expect(status, stderr).toBe(0);
    expect(image?.os.ecosystem).toBe('Oracle Linux:7');
    expect(image?.coverage).toEqual({ complete: true, gaps: [] });
    expect(image?.findings.map(summary)).toEqual([
      ['git', '1.8.3.1-5.el7', 'CVE-2015-7545', '1.8.3.1-6.el7'],
    ]);
    expect(image?.findings[0]?.ids).toEqual(['CVE-2015-7545', 'ELSA-2015-2561']);
  }, 60_000);

  it('says the packages were not checked when the database has no Oracle advisory', () => {
    expectNotSynced(root, ['Oracle Linux:7']);
  }, 60_000);
});

describe('SUSE Linux Enterprise', () => {
  // The real SLES 15 SP2 os-release edited to say SP1 (VERSION_ID 15.1): the only real SUSE
  // advisories here (vunnel's SUSE OVAL) name SLES 15 SP1's kernel, fixed under LTSS.
  const release = path.join(work, 'sles-15-sp1-os-release');
  writeFileSync(
    release,
    readFileSync(data('pkgdbs/syft/syft/linux/testdata/os/sles/etc/os-release'), 'utf8')
      .replace('VERSION="15-SP2"', 'VERSION="15-SP1"')
      .replace('VERSION_ID="15.2"', 'VERSION_ID="15.1"')
      .replace('Server 15 SP2"', 'Server 15 SP1"'),
  );
  const root = rpmFamilyRoot(path.relative(dataDir(), release), [
    { name: 'kernel-default', version: '4.12.14', release: '197.89.1' },
  ]);

  it("reports the kernel fix SUSE's OVAL publishes under LTSS, as an LTSS fix", () => {
    const db = syncedDb(
      'advisories/vunnel-fixtures/tests/unit/providers/sles/test-fixtures/suse_truncated.xml',
    );
    const out = bosun('scan', `dir:${root}`, '--db', db, '--format', 'json');
    expect(out.status, out.stderr).toBe(0);
    const image = (JSON.parse(out.stdout) as Report).images[0];
    expect(image?.os.ecosystem).toBe('SUSE:Linux Enterprise Server 15 SP1');
    expect(image?.findings.map(summary)).toEqual([
      ['kernel-default', '4.12.14-197.89.1', 'CVE-2021-29154', '4.12.14-197.89.2'],
    ]);
    expect(out.stdout).toContain('"fixVia": "SUSE LTSS"');
  }, 60_000);

  it('says the packages were not checked when the database has no SUSE advisory', () => {
    expectNotSynced(root, [
      'SUSE:Linux Enterprise Server 15 SP1',
      'SUSE:Linux Enterprise Module for Basesystem 15 SP1',
      'SUSE:Linux Enterprise Module for Server Applications 15 SP1',
      'SUSE:Linux Enterprise Server 15 SP1-LTSS',
    ]);
  }, 60_000);
});

describe('Red Hat Enterprise Linux and UBI', () => {
  // A UBI 8 root: claircore's real RHEL 8 os-release, the real content manifest of
  // ubi8-minimal 8.5-218 (BaseOS and AppStream content sets), and two packages a real UBI 8
  // image has: openssl-libs 1:1.1.1c-2.el8 (source openssl) and perl-FCGI at the build Red Hat
  // names as CVE-2025-40907's fix in RHEL 8.10's AppStream.
  const root = rpmFamilyRoot('pkgdbs/claircore/rhel/testdata/releasefiles/8/etc/os-release', [
    { name: 'openssl-libs', source: 'openssl', epoch: 1, version: '1.1.1c', release: '2.el8' },
    { name: 'perl-FCGI', epoch: 1, version: '0.78', release: '12.module+el8.10.0+23147+df114ff4' },
  ]);
  mkdirSync(path.join(root, 'root/buildinfo/content_manifests'), { recursive: true });
  cpSync(
    data(
      'pkgdbs/trivy/pkg/fanal/analyzer/buildinfo/testdata/content_manifests/ubi8-minimal-container-8.5-218.json',
    ),
    path.join(root, 'root/buildinfo/content_manifests/ubi8-minimal-container-8.5-218.json'),
  );

  it("reports what Red Hat's VEX says through the image's repositories: a deferred fix, and nothing for the fixed perl-FCGI", () => {
    const db = syncedDb(
      'advisories/claircore-fixtures/test/acceptance/testdata',
      'advisories/redhat-repository-to-cpe',
    );
    const { status, stderr, image } = scan(root, '--db', db);
    expect(status, stderr).toBe(0);
    expect(image?.os.ecosystem).toBe('Red Hat:enterprise_linux:8::baseos');
    expect(image?.coverage).toEqual({ complete: true, gaps: [] });
    // Red Hat states both openssl CVEs affect RHEL 8 with the fix deferred.
    expect(image?.findings.map(summary)).toEqual([
      ['openssl-libs', '1:1.1.1c-2.el8', 'CVE-2024-0727', 'fix-deferred'],
      ['openssl-libs', '1:1.1.1c-2.el8', 'CVE-2026-2673', 'fix-deferred'],
    ]);
    expect(image?.findings[0]?.ids).toEqual(['CVE-2024-0727', 'REDHAT-CVE-2024-0727']);
    // UBI 7 (no content manifest: the release's ecosystems): Red Hat will not fix it there.
    const ubi7 = rpmFamilyRoot('pkgdbs/claircore/rhel/testdata/releasefiles/7/etc/os-release', [
      { name: 'openssl-libs', source: 'openssl', epoch: 1, version: '1.0.2k', release: '19.el7' },
    ]);
    const seven = scan(ubi7, '--db', db);
    expect(seven.image?.findings.map(summary)).toContainEqual([
      'openssl-libs',
      '1:1.0.2k-19.el7',
      'CVE-2024-0727',
      'will-not-fix',
    ]);
    const unfixed = bosun(
      'scan',
      `dir:${root}`,
      '--db',
      db,
      '--format',
      'json',
      '--ignore-unfixed',
    );
    expect((JSON.parse(unfixed.stdout) as Report).images[0]?.findings).toEqual([]);
  }, 120_000);

  it('says the packages were not checked when the database has no Red Hat advisory', () => {
    const npm = data('advisories/nodejs-security-wg/vuln/npm');
    const { status, image } = scan(root, '--advisories', npm);
    expect(status).toBe(4);
    expect(image?.coverage.gaps.map((g) => g.kind)).toEqual(['not-synced']);
    expect(image?.coverage.gaps[0]?.ecosystems).toContain('Red Hat:enterprise_linux:8::baseos');
  }, 60_000);
});
