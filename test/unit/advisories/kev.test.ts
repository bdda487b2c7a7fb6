/**
 * CISA's KEV catalog (advisories/importers/kev.ts) on the real files: the whole catalog of
 * 2025-08-25 as JSON and as CSV, vunnel's KEV fixtures checked against vunnel's snapshots,
 * vuln-list-update's kevc fixture against its goldens, claircore's, and their broken files.
 * Malformed listings are the real catalog with one documented edit each.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import {
  type KevCatalog,
  kevFacts,
  kevFactsFromCsv,
} from '../../../shared/advisories/importers/kev.js';
import { dataDir } from '../../support/fixtures.js';

const file = (relative: string) => path.join(dataDir(), 'advisories', relative);
const text = (relative: string) => readFileSync(file(relative), 'utf8');
const CATALOG = 'cisa-kev/known_exploited_vulnerabilities.json';
const CATALOG_CSV = 'cisa-kev/known_exploited_vulnerabilities.csv';
const VUNNEL = 'vunnel-fixtures/tests/unit/providers/kev/test-fixtures';
const VULN_LIST = 'vuln-list-update-fixtures/kevc/testdata';
const CLAIRCORE = 'claircore-fixtures/enricher/kev/testdata/known_exploited_vulnerabilities.json';

function read(relative: string, body = text(relative)) {
  const issues: ImportIssue[] = [];
  const name = path.basename(relative);
  const catalog: KevCatalog = relative.endsWith('.csv')
    ? kevFactsFromCsv(body, name, issues)
    : kevFacts(body, name, issues);
  const byCve = new Map(catalog.facts.map((f) => [f.cve, f.facts]));
  return { ...catalog, issues: issues.map((i) => i.message), byCve };
}

/** The real catalog with one edit, checked to apply exactly once. */
function edited(relative: string, from: string, to: string): string {
  const body = text(relative);
  expect(body.split(from)).toHaveLength(2);
  return body.replace(from, to);
}

describe('CISA KEV catalog', () => {
  it('reads the whole real catalog: 1,404 listed CVEs, each one fact', () => {
    const { facts, issues, byCve, catalogVersion, dateReleased } = read(CATALOG);
    expect(issues).toEqual([]);
    expect(catalogVersion).toBe('2025.08.25');
    expect(dateReleased).toBe('2025-08-25T17:04:19.9796Z');
    expect(facts).toHaveLength(1404);
    expect(byCve.size).toBe(1404);
    expect(facts.every((f) => f.kind === 'kev' && /^CVE-\d{4}-\d{4,}$/.test(f.cve))).toBe(true);
    // Log4Shell: used in ransomware campaigns.
    expect(byCve.get('CVE-2021-44228')).toEqual({
      dateAdded: '2021-12-10',
      dueDate: '2021-12-24',
      ransomware: 'Known',
      name: 'Apache Log4j2 Remote Code Execution Vulnerability',
    });
    expect(byCve.get('CVE-2014-0160')).toEqual({
      dateAdded: '2022-05-04',
      dueDate: '2022-05-25',
      ransomware: 'Unknown',
      name: 'OpenSSL Information Disclosure Vulnerability',
    });
    // The newest listing, first in the file.
    expect(facts[0]).toEqual({
      kind: 'kev',
      cve: 'CVE-2025-48384',
      facts: {
        dateAdded: '2025-08-25',
        dueDate: '2025-09-15',
        ransomware: 'Unknown',
        name: 'Git Link Following Vulnerability',
      },
    });
    // Every listing of the file says Known or Unknown, and the facts say the same.
    const raw = JSON.parse(text(CATALOG)).vulnerabilities as {
      cveID: string;
      knownRansomwareCampaignUse: string;
    }[];
    expect(facts.map((f) => [f.cve, f.facts.ransomware])).toEqual(
      raw.map((v) => [v.cveID, v.knownRansomwareCampaignUse]),
    );
    expect(facts.filter((f) => f.facts.ransomware === 'Known').length).toBeGreaterThan(0);
  });

  it('reads the CSV of the same catalog into the same facts', () => {
    const csv = read(CATALOG_CSV);
    expect(csv.issues).toEqual([]);
    expect(csv.facts).toEqual(read(CATALOG).facts);
    // Quoted fields with commas and doubled quotes, as CISA writes them.
    expect(csv.byCve.get('CVE-2025-43300')?.name).toBe(
      'Apple iOS, iPadOS, and macOS Out-of-Bounds Write Vulnerability',
    );
  });

  it("reads vunnel's catalog as vunnel's snapshots do, and says its count is not its length", () => {
    const { facts, issues, byCve, catalogVersion } = read(`${VUNNEL}/valid-catalog-1.json`);
    expect(catalogVersion).toBe('2025.02.19');
    // vunnel cut the catalog of 1,273 down to 3 listings and kept its count.
    expect(issues).toEqual([
      'valid-catalog-1.json: count is 1273 but the catalog lists 3 vulnerabilities',
    ]);
    const dir = `${VUNNEL}/snapshots/valid-catalog-1`;
    const snapshots = readdirSync(file(dir));
    expect(facts.map((f) => `kev:${f.cve.toLowerCase()}.json`).sort()).toEqual(snapshots.sort());
    for (const name of snapshots) {
      const { item } = JSON.parse(text(`${dir}/${name}`));
      expect(byCve.get(item.cveID), name).toEqual({
        dateAdded: item.dateAdded,
        dueDate: item.dueDate,
        ransomware: item.knownRansomwareCampaignUse,
        name: item.vulnerabilityName,
      });
    }
  });

  it("reads vuln-list-update's 2022 catalog (before ransomware use was published) as its goldens", () => {
    const { facts, issues, byCve } = read(
      `${VULN_LIST}/happy/known_exploited_vulnerabilities.json`,
    );
    expect(issues).toEqual([]);
    expect(facts.map((f) => f.cve)).toEqual(['CVE-2014-0160', 'CVE-2022-1388']);
    for (const golden of ['2014/CVE-2014-0160.json', '2022/CVE-2022-1388.json']) {
      const item = JSON.parse(text(`${VULN_LIST}/golden/kevc/${golden}`));
      expect(byCve.get(item.cveID)).toEqual({
        dateAdded: item.dateAdded,
        dueDate: item.dueDate,
        name: item.vulnerabilityName,
      });
    }
  });

  it("reads claircore's catalog", () => {
    const { issues, byCve } = read(CLAIRCORE);
    expect(issues).toEqual([]);
    expect([...byCve.keys()]).toEqual(['CVE-2017-3066', 'CVE-2021-44228']);
    expect(byCve.get('CVE-2017-3066')).toEqual({
      dateAdded: '2025-02-24',
      dueDate: '2025-03-17',
      ransomware: 'Unknown',
      name: 'Adobe ColdFusion Deserialization Vulnerability',
    });
  });

  it('refuses a file that is not a catalog with one issue naming it', () => {
    // vuln-list-update's broken catalog: `{` and nothing else.
    const sad = read(`${VULN_LIST}/sad/known_exploited_vulnerabilities.json`);
    expect(sad.facts).toEqual([]);
    expect(sad.catalogVersion).toBeUndefined();
    expect(sad.issues).toEqual([
      expect.stringMatching(/^known_exploited_vulnerabilities\.json: not JSON: /),
    ]);
    // One listing alone (vunnel's single-entry fixture, vuln-list-update's golden) is no catalog.
    for (const single of [
      `${VUNNEL}/single-entry/example1.json`,
      `${VULN_LIST}/golden/kevc/2014/CVE-2014-0160.json`,
    ]) {
      const one = read(single);
      expect(one.facts).toEqual([]);
      expect(one.issues).toHaveLength(1);
      expect(one.issues[0]).toMatch(
        /^[^:]+\.json: not a KEV catalog: catalogVersion: .*\(missing\); .*vulnerabilities: /,
      );
    }
    // The CSV of another feed (FIRST's EPSS scores) is no KEV CSV.
    const epss = read(
      'claircore-fixtures/enricher/epss/testdata/data.csv',
      text('claircore-fixtures/enricher/epss/testdata/data.csv'),
    );
    expect(epss.facts).toEqual([]);
    expect(epss.issues).toEqual([
      expect.stringMatching(/^data\.csv: not a KEV CSV: header .* lacks cveID, vendorProject/),
    ]);
  });

  it('skips a listing whose fact fields break the schema, naming the file, the CVE and the value', () => {
    // Log4Shell's dateAdded changed to a day that does not exist.
    const badDate = read(
      CATALOG,
      edited(
        CATALOG,
        '"dateAdded": "2021-12-10",\n            "shortDescription": "Apache Log4j2',
        '"dateAdded": "2021-12-32",\n            "shortDescription": "Apache Log4j2',
      ),
    );
    expect(badDate.facts).toHaveLength(1403);
    expect(badDate.byCve.has('CVE-2021-44228')).toBe(false);
    expect(badDate.issues).toEqual([
      expect.stringMatching(
        /^known_exploited_vulnerabilities\.json: vulnerabilities\[\d+\] CVE-2021-44228: dateAdded: .*\("2021-12-32"\); skipped$/,
      ),
    ]);
    // The newest listing's CVE id cut short: not the schema's pattern.
    const badId = read(
      CATALOG,
      edited(CATALOG, '"cveID": "CVE-2025-48384"', '"cveID": "CVE-25-48384"'),
    );
    expect(badId.facts).toHaveLength(1403);
    expect(badId.issues).toEqual([
      'known_exploited_vulnerabilities.json: vulnerabilities[0] CVE-25-48384: cveID: Invalid string: must match pattern /^CVE-[0-9]{4}-[0-9]{4,19}$/ ("CVE-25-48384"); skipped',
    ]);
  });

  it('keeps a listing whose other fields break the schema: a malformed CWE never hides an exploited CVE', () => {
    const body = edited(CATALOG, '"CWE-59",', '"NVD-CWE-noinfo",');
    const { facts, issues, byCve } = read(CATALOG, body);
    expect(facts).toHaveLength(1404);
    expect(byCve.get('CVE-2025-48384')?.name).toBe('Git Link Following Vulnerability');
    expect(issues).toEqual([
      expect.stringMatching(
        /^known_exploited_vulnerabilities\.json: vulnerabilities\[0\] CVE-2025-48384: cwes\.0: .*\("NVD-CWE-noinfo"\); kept \(not a field of the fact\)$/,
      ),
    ]);
  });

  it('keeps the first of two listings of one CVE', () => {
    // The catalog's last listing (Zyxel, CVE-2020-29583) listed again with another date.
    const doc = JSON.parse(text(CATALOG));
    const last = doc.vulnerabilities.at(-1);
    doc.vulnerabilities.push({ ...last, dateAdded: '2025-01-01' });
    doc.count++;
    const { facts, issues, byCve } = read(CATALOG, JSON.stringify(doc));
    expect(facts).toHaveLength(1404);
    expect(byCve.get('CVE-2020-29583')?.dateAdded).toBe('2021-11-03');
    expect(issues).toEqual([
      'known_exploited_vulnerabilities.json: vulnerabilities[1404] CVE-2020-29583: listed again; the first listing is kept',
    ]);
  });

  it('reports a CSV row of the wrong width or an unterminated quote by its line, and reads the rest', () => {
    const csv = text(CATALOG_CSV);
    // Line 3 (CVE-2024-8068) loses its cwes column.
    const narrow = csv.replace(
      '2025-09-15,Unknown,"https://support.citrix.com/external/article/691941/citrix-session-recording-security-bullet.html ; https://nvd.nist.gov/vuln/detail/CVE-2024-8068",CWE-269',
      '2025-09-15,Unknown,"https://support.citrix.com/external/article/691941/citrix-session-recording-security-bullet.html ; https://nvd.nist.gov/vuln/detail/CVE-2024-8068"',
    );
    expect(narrow).not.toBe(csv);
    const a = read(CATALOG_CSV, narrow);
    expect(a.facts).toHaveLength(1403);
    expect(a.issues).toEqual([
      'known_exploited_vulnerabilities.csv: line 3 CVE-2024-8068: 10 fields, the header has 11; skipped',
    ]);
    // The file cut inside a quoted field of line 5: the rows before it are read.
    const cut = csv.slice(0, csv.indexOf('"Apple iOS, iPadOS, and macOS Out') + 10);
    const b = read(CATALOG_CSV, cut);
    expect(b.facts.map((f) => f.cve)).toEqual(['CVE-2025-48384', 'CVE-2024-8068', 'CVE-2024-8069']);
    expect(b.issues).toEqual([
      'known_exploited_vulnerabilities.csv: line 5 CVE-2025-43300: unterminated quoted field; skipped',
    ]);
  });
});
