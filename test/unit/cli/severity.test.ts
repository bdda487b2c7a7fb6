/**
 * Severity you can gate on, as a user runs it: an AlmaLinux 9 root (the real os-release, and an
 * rpm database rpm writes with libwebp one release below ALSA-2023:5214's fix) scanned against
 * the real ALSA alone gives an UNKNOWN finding that `--fail-on HIGH` lets through; once NVD's real
 * record of CVE-2023-4863 and CISA's real KEV catalog are in the database (`db sync --from`), the
 * same finding is HIGH by NVD, known exploited, and fails `--fail-on HIGH` and `--fail-on kev`,
 * with the rating and KEV in JSON, SARIF and the table.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bosun } from '../../support/cli.js';
import { dataDir } from '../../support/fixtures.js';
import { rpmRoot } from '../../support/rpmdb.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-severity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const root = path.join(work, 'alma9');
const adv = (p: string) => path.join(dataDir(), 'advisories', p);

/** A folder of links to real advisory and CVE feed files (nothing copied). */
function folder(name: string, files: readonly string[]): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  for (const f of files) symlinkSync(adv(f), path.join(dir, path.basename(f)));
  return dir;
}

const ALSA = 'almalinux-osv/advisories/almalinux9/ALSA-2023:5214.json';
const NVD = 'osv-dev-vulnfeeds/vulnfeeds/test_data/nvdcve-2.0/CVE-2023-4863.json';
const KEV = 'cisa-kev/known_exploited_vulnerabilities.json';

beforeAll(() => {
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  cpSync(
    path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/analyzer/os/release/testdata/alma'),
    path.join(root, 'etc/os-release'),
  );
  rpmRoot(root, path.join(work, 'rpm'), [
    { name: 'libwebp', version: '1.2.0', release: '6.el9_2' },
  ]);
}, 120_000);

interface Json {
  images: {
    summary: {
      bySeverity: Record<string, number>;
      kev: number;
      unrated: number;
      kevChecked: boolean;
    };
    findings: {
      id: string;
      severity: { severity: string; by: string; score?: number };
      severities: { by: string }[];
      kev?: { dateAdded: string };
    }[];
  }[];
}

describe('severity you can gate on', () => {
  it('says a finding no source rates is UNKNOWN, and fails the gate on it only when told to', () => {
    const only = folder('alsa-only', [ALSA]);
    const out = bosun('scan', `dir:${root}`, '--advisories', only, '--format', 'json');
    expect(out.status, out.stderr).toBe(0);
    const [image] = (JSON.parse(out.stdout) as Json).images;
    expect(image?.findings.map((f) => [f.id, f.severity.severity])).toEqual([
      ['CVE-2023-4863', 'UNKNOWN'],
    ]);
    // No KEV catalog read: "0 known exploited" is not a finding, and the report says so.
    expect(image?.summary).toMatchObject({ unrated: 1, kev: 0, kevChecked: false });
    expect(bosun('scan', `dir:${root}`, '--advisories', only).stdout).toContain(
      'exploitation not checked: no KEV catalog in the database (bosun db sync --from kev)',
    );
    expect(bosun('scan', `dir:${root}`, '--advisories', only, '--fail-on', 'HIGH').status).toBe(0);
    expect(
      bosun('scan', `dir:${root}`, '--advisories', only, '--fail-on', 'HIGH,unknown').status,
    ).toBe(1);
    // No KEV catalog in the database: a gate on kev cannot pass silently.
    const kev = bosun('scan', `dir:${root}`, '--advisories', only, '--fail-on', 'kev');
    expect(kev.status).toBe(4);
    expect(kev.stdout).toContain(
      "COVERAGE GAP: --fail-on kev could not be checked: the advisory database holds no CISA's KEV catalog (sync it: bosun db sync --from kev)",
    );
  }, 60_000);

  it("takes NVD's rating and CISA's KEV through db sync, and fails the gates that were passing", () => {
    const db = path.join(work, 'db');
    const sync = bosun('db', 'sync', '--from', folder('all', [ALSA, NVD, KEV]), '--db', db);
    expect(sync.status, sync.stderr).toBe(0);
    const out = bosun('scan', `dir:${root}`, '--db', db, '--format', 'json');
    const [image] = (JSON.parse(out.stdout) as Json).images;
    const [finding] = image?.findings ?? [];
    expect(finding?.severity).toMatchObject({ severity: 'HIGH', by: 'NVD', score: 8.8 });
    expect(finding?.severities.map((r) => r.by)).toEqual(['NVD']);
    expect(finding?.kev).toMatchObject({ dateAdded: '2023-09-13' });
    expect(image?.summary).toMatchObject({ unrated: 0, kev: 1, kevChecked: true });
    expect(bosun('scan', `dir:${root}`, '--db', db, '--fail-on', 'HIGH').status).toBe(1);
    expect(bosun('scan', `dir:${root}`, '--db', db, '--fail-on', 'kev').status).toBe(1);
    expect(bosun('scan', `dir:${root}`, '--db', db, '--fail-on', 'CRITICAL').status).toBe(0);
    const sarif = bosun('scan', `dir:${root}`, '--db', db, '--format', 'sarif');
    const rule = (
      JSON.parse(sarif.stdout) as {
        runs: { tool: { driver: { rules: { properties: Record<string, unknown> }[] } } }[];
      }
    ).runs[0]?.tool.driver.rules[0];
    expect(rule?.properties).toMatchObject({
      'security-severity': '8.8',
      tags: expect.arrayContaining(['HIGH', 'kev']),
    });
    const bom = JSON.parse(
      bosun('scan', `dir:${root}`, '--db', db, '--format', 'cyclonedx').stdout,
    ) as {
      vulnerabilities: {
        id: string;
        ratings: { source?: { name: string }; severity: string; score?: number }[];
        properties: { name: string; value: string }[];
      }[];
    };
    const [vulnerability] = bom.vulnerabilities;
    expect(vulnerability?.ratings).toContainEqual(
      expect.objectContaining({ source: { name: 'NVD' }, severity: 'high', score: 8.8 }),
    );
    expect(vulnerability?.properties).toContainEqual({ name: 'bosun:kev', value: 'true' });
    const table = bosun('scan', `dir:${root}`, '--db', db);
    expect(table.stdout).toMatch(
      /HIGH\s+CVE-2023-4863\s+libwebp\s+1\.2\.0-6\.el9_2\s+1\.2\.0-7\.el9_2\s+KEV/,
    );
    expect(table.stdout).toContain('HIGH 1; 1 known exploited (CISA KEV)');
  }, 120_000);

  it('refuses a gate it does not understand', () => {
    const out = bosun('scan', `dir:${root}`, '--advisories', adv(ALSA), '--fail-on-epss', '2');
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--fail-on-epss "2" is not a number from 0 to 1');
  }, 60_000);
});
