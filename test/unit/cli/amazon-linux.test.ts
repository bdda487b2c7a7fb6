/**
 * Amazon Linux end to end, as a user runs it: `bosun db sync --from` a folder of ALAS
 * updateinfo files (vuln-list-update's real AL2, AL2022 and AL2023 fixtures, with its broken
 * one), then `bosun scan dir:` an Amazon Linux 2023 root: the real AL2023 os-release and an rpm
 * database that rpm itself writes at test time with the rsyslog release ALAS2023-2023-001 names
 * as its fix, and rsyslog-logrotate one release below it.
 *
 * Not tested on real files: a vulnerable Amazon Linux package. The shared data has no real
 * NEVRA below an ALAS fix (the fixtures name fixed versions only, and the real AL2/AL2022 image
 * package lists name none of the fixtures' packages), so the vulnerable build is the fix's
 * version with a lower release.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bosun } from '../../support/cli.js';
import { dataDir } from '../../support/fixtures.js';
import { rpmRoot } from '../../support/rpmdb.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-amazon-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const root = path.join(work, 'al2023');
const db = path.join(work, 'db');
const alas = () =>
  path.join(dataDir(), 'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures');

beforeAll(() => {
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  cpSync(
    path.join(dataDir(), 'pkgdbs/python-distro/tests/resources/distros/amazon2023/etc/os-release'),
    path.join(root, 'etc/os-release'),
  );
  rpmRoot(root, work, [
    { name: 'rsyslog', version: '8.2204.0', release: '3.amzn2023.0.2' },
    { name: 'rsyslog-logrotate', version: '8.2204.0', release: '2.amzn2023.0.1' },
  ]);
}, 120_000);

interface Report {
  images: {
    os: { ecosystem: string };
    packages: number;
    findings: { id: string; ids: string[]; package: string; fixedVersion?: string }[];
    coverage: { complete: boolean; gaps: { kind: string; ecosystems: string[] }[] };
  }[];
}

describe('Amazon Linux', () => {
  it('syncs ALAS updateinfo files with db sync --from, reporting the broken one and loading the rest', () => {
    const sync = bosun('db', 'sync', '--from', alas(), '--db', db);
    expect(sync.status, sync.stderr).toBe(0);
    expect(`${sync.stdout}${sync.stderr}`).toContain(
      'updateinfo_invalid.xml.gz: not well-formed XML',
    );
    const status = bosun('db', 'status', '--db', db, '--json');
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/"advisories": 5/);
  }, 60_000);

  it('scans an AL2023 root: the vulnerable rsyslog-logrotate is reported per CVE with its ALAS, the fixed rsyslog is not', () => {
    const out = bosun('scan', `dir:${root}`, '--db', db, '--format', 'json');
    expect(out.status, out.stderr).toBe(0);
    const [image] = (JSON.parse(out.stdout) as Report).images;
    expect(image?.os.ecosystem).toBe('Amazon Linux:2023');
    expect(image?.packages).toBe(2);
    expect(image?.findings.map((f) => [f.package, f.id, f.ids, f.fixedVersion])).toEqual([
      [
        'rsyslog-logrotate',
        'CVE-2014-3634',
        ['ALAS2023-2023-001', 'CVE-2014-3634'],
        '8.2204.0-3.amzn2023.0.2',
      ],
      [
        'rsyslog-logrotate',
        'CVE-2022-24903',
        ['ALAS2023-2023-001', 'CVE-2022-24903'],
        '8.2204.0-3.amzn2023.0.2',
      ],
    ]);
    expect(image?.coverage).toEqual({ complete: true, gaps: [] });
  }, 60_000);

  it('says the scan could not check Amazon Linux packages when the database has no ALAS', () => {
    const npm = path.join(dataDir(), 'advisories/nodejs-security-wg/vuln/npm');
    const out = bosun('scan', `dir:${root}`, '--advisories', npm, '--format', 'json');
    expect(out.status).toBe(4);
    const [image] = (JSON.parse(out.stdout) as Report).images;
    expect(image?.coverage.gaps.map((g) => [g.kind, g.ecosystems])).toEqual([
      ['not-synced', ['Amazon Linux:2023']],
    ]);
  }, 60_000);
});
