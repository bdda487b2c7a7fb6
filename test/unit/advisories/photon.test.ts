/**
 * Photon OS CVE metadata (advisories/importers/photon.ts) on the real files: vunnel's fixtures
 * (Photon 1.0 and 4.0, with `Not Affected`, `NA` and a BDSA id) checked against vunnel's own
 * snapshots of them, vuln-list-update's (1.0, 2.0, 3.0, files without `status`) checked against
 * its goldens, and vuln-list-update's deliberately broken files. Malformed values that no real
 * file has are made by one documented edit of a real file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isPhotonName,
  PhotonImporter,
  photonReleaseOf,
} from '../../../shared/advisories/importers/photon.js';
import type { OsvRecord } from '../../../shared/advisories/osv.js';
import { dataDir } from '../../support/fixtures.js';

const vunnel = () =>
  path.join(dataDir(), 'advisories/vunnel-fixtures/tests/unit/providers/photon/test-fixtures');
const vulnList = () => path.join(dataDir(), 'advisories/vuln-list-update-fixtures/photon/testdata');
const text = (file: string) => readFileSync(file, 'utf8');

interface Snapshot {
  item: {
    Vulnerability: {
      Name: string;
      NamespaceName: string;
      FixedIn: { Name: string; Version: string; NamespaceName: string }[];
    };
  };
}

/** Each package's fix as a record states it: the fixed version, or `none (<fix_status>)`. */
function fixes(record: OsvRecord | undefined): Record<string, string> {
  return Object.fromEntries(
    (record?.affected ?? []).map((a) => {
      const fixed = a.ranges?.[0]?.events.find((e) => 'fixed' in e);
      return [
        `${a.package?.ecosystem}#${a.package?.name}`,
        fixed !== undefined && 'fixed' in fixed
          ? fixed.fixed
          : `none (${String(a.database_specific?.fix_status)})`,
      ];
    }),
  );
}

const byId = (records: OsvRecord[]) => new Map(records.map((r) => [r.id, r]));

describe('Photon CVE metadata', () => {
  it("reads vunnel's 1.0 and 4.0 files as vunnel's snapshots do: every fixed package, none where not affected", () => {
    const importer = new PhotonImporter();
    for (const release of ['1.0', '4.0'])
      expect(
        importer.add(
          text(path.join(vunnel(), `input/cve_data_photon${release}.json`)),
          `cve_data_photon${release}.json`,
          undefined,
          '2024-01-02T03:04:05Z',
        ),
      ).toBe(true);
    const records = byId(importer.osv());
    expect(importer.issues).toEqual([]);
    let checked = 0;
    for (const ns of readdirSync(path.join(vunnel(), 'snapshots'))) {
      for (const file of readdirSync(path.join(vunnel(), 'snapshots', ns))) {
        const v = (JSON.parse(text(path.join(vunnel(), 'snapshots', ns, file))) as Snapshot).item
          .Vulnerability;
        const record = records.get(`PHOTON-${v.Name}`);
        expect(record?.aliases).toEqual([v.Name]);
        expect(record?.modified).toBe('2024-01-02T03:04:05Z');
        // vunnel's `None` is a vulnerable package with no fixed version.
        const expected = Object.fromEntries(
          v.FixedIn.map((f) => [
            `Photon OS:${f.NamespaceName.split(':')[1]}#${f.Name}`,
            f.Version === 'None' ? 'none (not-fixed)' : f.Version,
          ]),
        );
        expect(fixes(record), v.Name).toEqual(expected);
        checked++;
      }
    }
    expect(checked).toBe(6);
    // httpd is `Not Affected` by CVE-2023-44487: only nghttp2 is.
    expect(fixes(records.get('PHOTON-CVE-2023-44487'))).toEqual({
      'Photon OS:4.0#nghttp2': '1.57.0-1.ph4',
    });
    // Black Duck's id keeps its own id, with the same kind of entry.
    const bdsa = records.get('PHOTON-BDSA-2025-0719');
    expect(bdsa?.aliases).toEqual(['BDSA-2025-0719']);
    expect(bdsa?.affected?.[0]?.package).toEqual({
      ecosystem: 'Photon OS:4.0',
      name: 'krb5-devel',
      purl: 'pkg:rpm/photon/krb5-devel',
    });
    expect(fixes(bdsa)).toEqual({ 'Photon OS:4.0#krb5-devel': '1.17-15.ph4' });
    expect(records.size).toBe(7);
  });

  it('keeps the score as a number and makes up no severity word', () => {
    const importer = new PhotonImporter();
    importer.add(
      text(path.join(vunnel(), 'input/cve_data_photon4.0.json')),
      'cve_data_photon4.0.json',
    );
    const records = byId(importer.osv());
    expect(records.get('PHOTON-CVE-2023-38545')?.database_specific).toEqual({ cvss_score: 9.8 });
    expect(records.get('PHOTON-CVE-2023-38545')?.severity).toBeUndefined();
    // A null score (CVE-2023-50447) is no score at all.
    expect(records.get('PHOTON-CVE-2023-50447')?.database_specific).toBeUndefined();
    // No date known: the record says so.
    expect(records.get('PHOTON-CVE-2023-38545')?.modified).toBe('1970-01-01T00:00:00Z');
  });

  it("reads vuln-list-update's 1.0, 2.0 and 3.0 files (no status field) as its goldens do", () => {
    const importer = new PhotonImporter();
    for (const release of ['1.0', '2.0', '3.0'])
      importer.add(
        text(path.join(vulnList(), `cve_data_photon${release}.json`)),
        `cve_data_photon${release}.json`,
      );
    const records = byId(importer.osv());
    expect(importer.issues).toEqual([]);
    const goldens = readdirSync(path.join(vulnList(), 'golden'));
    expect(goldens).toHaveLength(15);
    for (const file of goldens) {
      const g = JSON.parse(text(path.join(vulnList(), 'golden', file))) as {
        os_version: string;
        cve_id: string;
        pkg: string;
        cve_score: number;
        res_ver: string;
      };
      const record = records.get(`PHOTON-${g.cve_id}`);
      expect(record?.database_specific?.cvss_score, g.cve_id).toBe(g.cve_score);
      // CVE-2025-0725 is `Not Affected` (its golden leaves status out): a record, no entry.
      expect(fixes(record), g.cve_id).toEqual(
        g.res_ver === 'NA' ? {} : { [`Photon OS:${g.os_version}#${g.pkg}`]: g.res_ver },
      );
    }
    // UNK-1, not affected either, has no golden (vuln-list-update keeps CVE ids only).
    expect(records.get('PHOTON-UNK-1')?.affected).toBeUndefined();
    expect(records.size).toBe(16);
  });

  it('names its files and their release', () => {
    expect(
      [
        'cve_data_photon4.0.json',
        'x/cve_data_photon5.0.json',
        'photon_versions.json',
        'cve_data_photon4.0.json.gz',
      ].map(isPhotonName),
    ).toEqual([true, true, false, false]);
    expect(photonReleaseOf('cve_data_photon4.0.json')).toBe('4.0');
    expect(photonReleaseOf('cve_data_photon_empty_cveid.json')).toBeUndefined();
  });

  it("turns vuln-list-update's broken files into issues: a bad id, an empty id, a file that is not JSON, no release", () => {
    const importer = new PhotonImporter();
    expect(
      importer.add(
        text(path.join(vulnList(), 'cve_data_photon3.0_invalid_cveid.json')),
        'cve_data_photon3.0_invalid_cveid.json',
        '3.0',
      ),
    ).toBe(true);
    importer.add(
      text(path.join(vulnList(), 'cve_data_photon_empty_cveid.json')),
      'cve_data_photon_empty_cveid.json',
      '3.0',
    );
    expect(
      importer.add(
        text(path.join(vulnList(), 'cve_data_photon_invalid_format.json')),
        'cve_data_photon1.0.json',
      ),
    ).toBe(false);
    // The same real file without a release from the caller or its name.
    expect(
      importer.add(
        text(path.join(vulnList(), 'cve_data_photon3.0.json')),
        'cve_data_photon_empty_cveid.json',
      ),
    ).toBe(false);
    // An empty download (vuln-list-update's EOF.txt).
    expect(importer.add(text(path.join(vulnList(), 'EOF.txt')), 'cve_data_photon3.0.json')).toBe(
      false,
    );
    expect(importer.osv()).toEqual([]);
    expect(importer.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(
        /"CVE-2019-3828-0001" "ansible": cve_id is not a CVE or advisory id; skipped$/,
      ),
      expect.stringMatching(/^cve_data_photon_empty_cveid\.json: "" "ansible": cve_id is not/),
      expect.stringMatching(/^cve_data_photon1\.0\.json: not JSON: /),
      expect.stringMatching(/^cve_data_photon_empty_cveid\.json: names no Photon release/),
      expect.stringMatching(/^cve_data_photon3\.0\.json: not JSON: /),
    ]);
  });

  it('reports values it cannot read and goes on with the rest (one edit each of the real 4.0 file)', () => {
    const real = text(path.join(vunnel(), 'input/cve_data_photon4.0.json'));
    const edits: [string, string, string, RegExp][] = [
      // curl's res_ver no longer what its aff_ver says.
      [
        '"res_ver": "7.88.1-4.ph4"',
        '"res_ver": "7.88.1-5.ph4"',
        'PHOTON-CVE-2023-38545',
        /aff_ver "all versions before 7\.88\.1-4\.ph4 are vulnerable" does not agree with res_ver "7\.88\.1-5\.ph4"; skipped$/,
      ],
      // A status word the files do not use.
      [
        '"status": "Fixed"',
        '"status": "Pending"',
        'PHOTON-CVE-2023-38545',
        /"CVE-2023-38545" "curl": unknown status "Pending"; skipped$/,
      ],
      // A fixed version with a space.
      [
        '"res_ver": "1.57.0-1.ph4"',
        '"res_ver": "1.57.0 1.ph4"',
        'PHOTON-CVE-2023-44487',
        /res_ver "1\.57\.0 1\.ph4" is not an rpm version; skipped$/,
      ],
    ];
    for (const [from, to, id, message] of edits) {
      const importer = new PhotonImporter();
      const edited = real.replace(from, to);
      expect(edited).not.toBe(real);
      importer.add(edited, 'cve_data_photon4.0.json');
      const records = byId(importer.osv());
      expect(importer.issues.map((i) => i.message)).toEqual([expect.stringMatching(message)]);
      // The record is still there, without the entry; the other records are whole.
      expect(records.get(id)?.affected).toBeUndefined();
      expect(records.size).toBe(5);
      expect(fixes(records.get('PHOTON-CVE-2023-38546'))).toEqual({
        'Photon OS:4.0#curl': '7.88.1-4.ph4',
        'Photon OS:4.0#curl-libs': '7.88.1-4.ph4',
      });
    }
    // A score given as text is left out; the entry stays.
    const importer = new PhotonImporter();
    importer.add(real.replace('"cve_score": 9.8', '"cve_score": "9.8"'), 'cve_data_photon4.0.json');
    const record = byId(importer.osv()).get('PHOTON-CVE-2023-38545');
    expect(record?.database_specific).toBeUndefined();
    expect(fixes(record)).toEqual({ 'Photon OS:4.0#curl': '7.88.1-4.ph4' });
    expect(importer.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/cve_score "9\.8" is not a CVSS score; left out$/),
    ]);
    // An entry without its package name (the field renamed) is skipped; its id then has no record.
    const unnamed = new PhotonImporter();
    unnamed.add(
      real.replace('"pkg": "python3"', '"package": "python3"'),
      'cve_data_photon4.0.json',
    );
    expect(unnamed.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(
        /^cve_data_photon4\.0\.json: entry 5 \(.*\) is not one: pkg: .*; skipped$/,
      ),
    ]);
    expect(byId(unnamed.osv()).has('PHOTON-CVE-2023-50447')).toBe(false);
  });

  it('accumulates files: the same file read again changes nothing but the newest date', () => {
    const importer = new PhotonImporter();
    const file = text(path.join(vunnel(), 'input/cve_data_photon1.0.json'));
    importer.add(file, 'cve_data_photon1.0.json', undefined, '2017-02-02T00:00:00Z');
    const once = importer.osv();
    importer.add(file, 'cve_data_photon1.0.json', undefined, '2017-03-01T00:00:00Z');
    const twice = importer.osv();
    expect(importer.issues).toEqual([]);
    expect(twice).toEqual(once.map((r) => ({ ...r, modified: '2017-03-01T00:00:00Z' })));
    expect(fixes(byId(twice).get('PHOTON-CVE-2016-9178'))).toEqual({
      'Photon OS:1.0#linux': '4.4.31-2.ph1',
      'Photon OS:1.0#linux-esx': '4.4.31-2.ph1',
    });
  });
});
