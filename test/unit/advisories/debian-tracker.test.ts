/**
 * Debian's security tracker export as CVE facts (advisories/importers/debian-tracker.ts) on real
 * files: osv.dev's subset of the export (apparmor, 3 CVEs), vunnel's subset (6 packages: `high**`
 * and `low**` urgencies NVD assigned, `end-of-life`, a CVE without releases), and the release
 * table against the tracker's static/distributions.json as vuln-list-update keeps it. Broken
 * inputs are these files with one documented edit each.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DebianFacts } from '../../../shared/advisories/cve-facts.js';
import { DEBIAN_CODENAMES, debianUrgency } from '../../../shared/advisories/debian-urgency.js';
import {
  DebianTrackerFileError,
  debianTrackerFacts,
} from '../../../shared/advisories/importers/debian-tracker.js';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import { dataDir } from '../../support/fixtures.js';

const real = (relative: string) =>
  readFileSync(path.join(dataDir(), 'advisories', relative), 'utf8');
const MOCK = 'osv-dev-vulnfeeds/vulnfeeds/test_data/debian/debian_security_tracker_mock.json';
const VUNNEL =
  'osv-samples-misc/anchore__vunnel/tests/unit/providers/debian/test-fixtures/input/debian.json';
const DISTRIBUTIONS =
  'vuln-list-update-fixtures/debian/tracker/testdata/happy/static/distributions.json';

type Export = Record<string, Record<string, { releases: Record<string, Record<string, unknown>> }>>;

/** The real mock export, edited by `edit`, written back as the file is (2-space JSON). */
function editedMock(edit: (doc: Export) => void): string {
  const text = real(MOCK);
  const doc = JSON.parse(text) as Export;
  // Written back byte for byte as it was: the edit is the only difference.
  expect(JSON.stringify(doc, null, 2)).toBe(text);
  edit(doc);
  return JSON.stringify(doc, null, 2);
}

const read = (text: string, source = MOCK) => {
  const issues: ImportIssue[] = [];
  const facts = debianTrackerFacts(text, source, issues);
  return { facts, issues: issues.map((i) => i.message) };
};

const releasesOf = (urgency: string, status: string, fixedVersion?: string) => {
  const one = { urgency, status, ...(fixedVersion === undefined ? {} : { fixedVersion }) };
  return { bookworm: one, bullseye: one, buster: one, sid: one, trixie: one };
};

describe('Debian security tracker export', () => {
  it("reads osv.dev's apparmor subset into one fact per CVE, every release's urgency, status and fix", () => {
    const { facts, issues } = read(real(MOCK));
    expect(issues).toEqual([]);
    expect(facts).toEqual([
      {
        kind: 'debian',
        cve: 'CVE-2014-1424',
        facts: { packages: { apparmor: releasesOf('unimportant', 'resolved', '0') } },
      },
      {
        kind: 'debian',
        cve: 'CVE-2016-1585',
        facts: {
          packages: {
            apparmor: {
              bookworm: { urgency: 'unimportant', status: 'open' },
              bullseye: { urgency: 'unimportant', status: 'open' },
              buster: { urgency: 'unimportant', status: 'open' },
              sid: { urgency: 'unimportant', status: 'resolved', fixedVersion: '3.0.12-1' },
              trixie: { urgency: 'unimportant', status: 'resolved', fixedVersion: '3.0.12-1' },
            },
          },
        },
      },
      {
        kind: 'debian',
        cve: 'CVE-2017-6507',
        facts: { packages: { apparmor: releasesOf('not yet assigned', 'resolved', '2.11.0-3') } },
      },
    ]);
    // The tracker serves the export without whitespace (separators ',' and ':'): same facts.
    expect(read(JSON.stringify(JSON.parse(real(MOCK)))).facts).toEqual(facts);
  });

  it("reads vunnel's subset: NVD-assigned urgencies, end-of-life, a CVE without releases, sorted", () => {
    const { facts, issues } = read(real(VUNNEL), VUNNEL);
    expect(issues).toEqual([]);
    const packages = (f: (typeof facts)[number]) => Object.keys((f.facts as DebianFacts).packages);
    expect(facts.map((f) => `${f.cve} ${packages(f).join(',')}`)).toEqual([
      'CVE-2005-3111 backupninja',
      'CVE-2007-2383 prototypejs',
      'CVE-2008-7220 prototypejs',
      'CVE-2013-1444 txt2man',
      'CVE-2022-0358 chromium-browser',
      'CVE-2022-0456 chromium',
      'CVE-2025-53603 sope',
    ]);
    const byCve = new Map(facts.map((f) => [f.cve, f.facts as DebianFacts]));
    // `"releases": []`: the package is named, no release is.
    expect(byCve.get('CVE-2022-0358')).toEqual({ packages: { 'chromium-browser': {} } });
    expect(byCve.get('CVE-2022-0456')).toEqual({
      packages: {
        chromium: {
          bookworm: {
            urgency: 'not yet assigned',
            status: 'resolved',
            fixedVersion: '98.0.4758.80-1',
          },
          bullseye: {
            urgency: 'not yet assigned',
            status: 'resolved',
            fixedVersion: '98.0.4758.80-1~deb11u1',
          },
          buster: { urgency: 'end-of-life', status: 'open' },
          sid: { urgency: 'not yet assigned', status: 'resolved', fixedVersion: '98.0.4758.80-1' },
          stretch: { urgency: 'end-of-life', status: 'open' },
        },
      },
    });
    // Releases in name order whatever the file's order (stretch, jessie, buster, sid here).
    expect(Object.keys(byCve.get('CVE-2008-7220')?.packages.prototypejs ?? {})).toEqual([
      'buster',
      'jessie',
      'sid',
      'stretch',
    ]);
    expect(byCve.get('CVE-2008-7220')?.packages.prototypejs?.jessie).toEqual({
      urgency: 'high**',
      status: 'resolved',
      fixedVersion: '1.6.0.2-1',
    });
  });

  it('gives the urgency of a package in a release by number or codename, without marks', () => {
    const byCve = new Map(
      [...read(real(MOCK)).facts, ...read(real(VUNNEL), VUNNEL).facts].map((f) => [
        f.cve,
        f.facts as DebianFacts,
      ]),
    );
    const of = (cve: string) => byCve.get(cve) as DebianFacts;
    expect(debianUrgency(of('CVE-2014-1424'), 'apparmor', '12')).toBe('unimportant');
    expect(debianUrgency(of('CVE-2014-1424'), 'apparmor', '12.5')).toBe('unimportant');
    expect(debianUrgency(of('CVE-2014-1424'), 'apparmor', 'sid')).toBe('unimportant');
    expect(debianUrgency(of('CVE-2008-7220'), 'prototypejs', '8')).toBe('high');
    expect(debianUrgency(of('CVE-2013-1444'), 'txt2man', 'buster')).toBe('low');
    expect(debianUrgency(of('CVE-2005-3111'), 'backupninja', '9')).toBe('medium');
    expect(debianUrgency(of('CVE-2022-0456'), 'chromium', '10')).toBe('end-of-life');
    // `not yet assigned` is no urgency.
    expect(debianUrgency(of('CVE-2017-6507'), 'apparmor', '12')).toBeUndefined();
    expect(debianUrgency(of('CVE-2022-0456'), 'chromium', '12')).toBeUndefined();
    // A release, a package or a release table the tracker does not have.
    expect(debianUrgency(of('CVE-2014-1424'), 'apparmor', '9')).toBeUndefined();
    expect(debianUrgency(of('CVE-2014-1424'), 'apparmor', '99')).toBeUndefined();
    expect(debianUrgency(of('CVE-2014-1424'), 'apparmor2', '12')).toBeUndefined();
    expect(debianUrgency(of('CVE-2022-0358'), 'chromium-browser', '12')).toBeUndefined();
    expect(debianUrgency(of('CVE-2014-1424'), 'apparmor', 'constructor')).toBeUndefined();
  });

  it('skips TEMP ids, and reports what has the wrong shape by file, package, CVE and value', () => {
    const text = editedMock((doc) => {
      const apparmor = doc.apparmor as Export[string];
      // The tracker's placeholder for an issue without a CVE: skipped without a word.
      apparmor['TEMP-0866786-5DCFA1'] = apparmor['CVE-2014-1424'] as Export[string][string];
      // A placeholder of the list's form, not an id the export uses.
      apparmor['CVE-2014-XXXX'] = apparmor['CVE-2014-1424'] as Export[string][string];
      delete apparmor['CVE-2014-1424'];
      (apparmor['CVE-2016-1585']?.releases.sid as Record<string, unknown>).urgency = 'critical';
      (apparmor['CVE-2016-1585']?.releases.buster as Record<string, unknown>).status = 3;
      (apparmor['CVE-2017-6507'] as unknown as Record<string, unknown>).releases = 'all';
    });
    const { facts, issues } = read(text);
    expect(issues).toEqual([
      `${MOCK}: apparmor CVE-2016-1585 buster: status: Invalid option: expected one of "resolved"|"open"|"undetermined" (value 3); skipped`,
      `${MOCK}: apparmor CVE-2016-1585 sid: urgency: not a tracker urgency (value "critical"); skipped`,
      `${MOCK}: apparmor CVE-2017-6507: releases: Invalid input (value "all"); skipped`,
      `${MOCK}: apparmor: "CVE-2014-XXXX" is neither a CVE id nor a TEMP id; skipped`,
    ]);
    // The rest is read: CVE-2016-1585 without its two bad releases.
    expect(facts).toEqual([
      {
        kind: 'debian',
        cve: 'CVE-2016-1585',
        facts: {
          packages: {
            apparmor: {
              bookworm: { urgency: 'unimportant', status: 'open' },
              bullseye: { urgency: 'unimportant', status: 'open' },
              trixie: { urgency: 'unimportant', status: 'resolved', fixedVersion: '3.0.12-1' },
            },
          },
        },
      },
    ]);
  });

  it('reports a package that is not one, and reads the packages beside it', () => {
    const mock = JSON.parse(real(MOCK)) as Export;
    const vunnel = real(VUNNEL);
    // vunnel's file with two packages added in front: one named against Debian Policy §5.6.1,
    // one whose value is a list; the apparmor CVEs under a proper name still count.
    const text = vunnel.replace(
      /^\{/,
      `{"AppArmor": ${JSON.stringify(mock.apparmor)}, "apparmor": ${JSON.stringify(Object.values(mock.apparmor ?? {}))},`,
    );
    const { facts, issues } = read(text, VUNNEL);
    expect(issues).toEqual([
      `${VUNNEL}: "AppArmor" is not a Debian source package name; skipped`,
      expect.stringMatching(/: apparmor: not an object of CVEs: \[\{"description":.*…; skipped$/),
    ]);
    expect(facts).toHaveLength(7);
  });

  it('refuses a file that cannot be read: truncated, not one object, broken JSON, too large', () => {
    const text = real(MOCK);
    const refused = (input: string, opts = {}) => {
      const issues: ImportIssue[] = [];
      try {
        debianTrackerFacts(input, MOCK, issues, opts);
      } catch (error) {
        expect(error).toBeInstanceOf(DebianTrackerFileError);
        expect(issues).toEqual([]);
        return (error as Error).message;
      }
      throw new Error('read');
    };
    // A download cut short.
    expect(refused(text.slice(0, text.length / 2))).toMatch(
      /debian_security_tracker_mock\.json: unterminated (value|string) at \d+/,
    );
    // osv.dev's file as a list of packages, and with something after the object.
    expect(refused(`[${text}]`)).toMatch(/not the tracker's JSON export: expected an object at/);
    expect(refused(`${text}\n{}`)).toMatch(/data after the object at character \d+ \("\{\}"\)/);
    // One comma dropped between two releases of CVE-2014-1424.
    const comma = '        },\n        "bullseye": {';
    expect(text.split(comma).length).toBeGreaterThan(1);
    expect(refused(text.replace(comma, '        }\n        "bullseye": {'))).toMatch(
      /package apparmor \(at character 16\): not JSON: /,
    );
    expect(refused('')).toMatch(/expected an object at character 0/);
    expect(refused(text, { maxChars: 1000 })).toMatch(/over 1000 characters/);
    // A byte-order mark and whitespace around the object are allowed.
    expect(read(`\ufeff \n${text}\n`).facts).toHaveLength(3);
    expect(read('{}').facts).toEqual([]);
  });

  it("names each release by the codename the tracker's distributions.json gives its number", () => {
    const distributions = JSON.parse(real(DISTRIBUTIONS)) as Record<
      string,
      { 'major-version': string }
    >;
    expect(Object.keys(distributions)).toEqual(['stretch', 'buster']);
    for (const [codename, { 'major-version': major }] of Object.entries(distributions))
      expect(DEBIAN_CODENAMES[major]).toBe(codename);
    expect(DEBIAN_CODENAMES).toEqual({
      '7': 'wheezy',
      '8': 'jessie',
      '9': 'stretch',
      '10': 'buster',
      '11': 'bullseye',
      '12': 'bookworm',
      '13': 'trixie',
      '14': 'forky',
    });
    // Every release the real exports name is in the table, but unstable, which has no number.
    const named = new Set(
      [...read(real(MOCK)).facts, ...read(real(VUNNEL), VUNNEL).facts].flatMap((f) =>
        Object.values((f.facts as DebianFacts).packages).flatMap((r) => Object.keys(r)),
      ),
    );
    expect([...named].filter((c) => !Object.values(DEBIAN_CODENAMES).includes(c))).toEqual(['sid']);
  });
});
