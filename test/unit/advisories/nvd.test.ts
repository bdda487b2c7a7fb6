/**
 * NVD CVE API 2.0 pages read as CVE facts (advisories/importers/nvd.ts), on the real responses:
 * vunnel's 38-CVE page checked against vunnel's 38 snapshots of it and its single-entry page,
 * osv.dev's 23 single-CVE responses and its assembled 13-CVE page, vuln-list-update's paged
 * responses against its golden CVEs, and claircore's NVD 2.0 feed file. Broken inputs are one
 * documented edit of a real page.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CveFact, CvssRating } from '../../../shared/advisories/cve-facts.js';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import {
  NvdPageError,
  nvdFactsOfPage,
  nvdInstant,
} from '../../../shared/advisories/importers/nvd.js';
import { dataDir } from '../../support/fixtures.js';

const advisories = (relative: string) => path.join(dataDir(), 'advisories', relative);
const text = (relative: string) => readFileSync(advisories(relative), 'utf8');
const VUNNEL = 'vunnel-fixtures/tests/unit/providers/nvd/test-fixtures';
const OSV = 'osv-dev-vulnfeeds/vulnfeeds/test_data/nvdcve-2.0';
const OSV_PAGE = 'osv-dev-vulnfeeds/vulnfeeds/conversion/nvd/testdata/test.json';
const VLU = 'vuln-list-update-fixtures/nvd/testdata';
const CLAIRCORE = 'claircore-fixtures/enricher/cvss/testdata/feed.json';

function read(relative: string) {
  const issues: ImportIssue[] = [];
  const page = nvdFactsOfPage(text(relative), relative, issues);
  return { ...page, issues };
}

const byCve = (facts: readonly CveFact[]) => new Map(facts.map((f) => [f.cve, f]));
const ratingsOf = (fact: CveFact | undefined): readonly CvssRating[] =>
  fact?.kind === 'nvd' ? fact.facts.ratings : [];
const nvd = (fact: CveFact | undefined) => (fact?.kind === 'nvd' ? fact.facts : undefined);

interface RawMetric {
  source: string;
  type: string;
  cvssData: { version: string; vectorString: string };
}

/**
 * The ratings a raw CVE object states, read the plain way (every metric of the four CVSS
 * fields), as a set to compare with what the importer kept in its own order.
 */
function statedRatings(raw: { metrics?: Record<string, RawMetric[]> }): string[] {
  const types: Record<string, string> = {
    cvssMetricV40: 'CVSS_V4',
    cvssMetricV31: 'CVSS_V3',
    cvssMetricV30: 'CVSS_V3',
    cvssMetricV2: 'CVSS_V2',
  };
  return Object.entries(raw.metrics ?? {})
    .filter(([field]) => field in types)
    .flatMap(([field, ms]) =>
      ms.map(
        (m) => `${types[field]} ${m.cvssData.vectorString} ${m.source} ${m.type === 'Primary'}`,
      ),
    )
    .sort();
}
const keptRatings = (fact: CveFact | undefined) =>
  ratingsOf(fact)
    .map((r) => `${r.type} ${r.vector} ${r.source} ${r.primary}`)
    .sort();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('NVD times', () => {
  it('reads zone-less NVD times as UTC and writes RFC 3339', () => {
    expect(nvdInstant('2024-03-07T21:15:07.813')).toBe('2024-03-07T21:15:07.813Z');
    expect(nvdInstant('2023-11-20T00:02:51.467Z')).toBe('2023-11-20T00:02:51.467Z');
    // claircore's feed file: microseconds, dropped past the millisecond.
    expect(nvdInstant('2025-08-07T03:01:40.660439')).toBe('2025-08-07T03:01:40.660Z');
    expect(nvdInstant('2024-04-01T13:00:00.000+01:00')).toBe('2024-04-01T12:00:00.000Z');
    expect(nvdInstant('2023-10-18T18:04:18')).toBe('2023-10-18T18:04:18.000Z');
    for (const bad of [
      '2023-02-30T00:00:00.000',
      'yesterday',
      '2023-10-18',
      '',
      '2023-10-18 18:04:18',
    ])
      expect(nvdInstant(bad), bad).toBeUndefined();
  });
});

describe('NVD CVE API 2.0 pages', () => {
  it("reads vunnel's 38-CVE page as its 38 snapshots say", () => {
    const page = read(`${VUNNEL}/full-page.json`);
    expect(page.issues).toEqual([]);
    expect(page).toMatchObject({
      totalResults: 38,
      startIndex: 0,
      resultsPerPage: 38,
      timestamp: '2023-10-18T18:04:18.493Z',
    });
    expect(page.facts).toHaveLength(38);
    const facts = byCve(page.facts);
    const snapshots = filesUnder(path.join(advisories(VUNNEL), 'snapshots/full-page'));
    expect(snapshots).toHaveLength(38);
    for (const file of snapshots) {
      const raw = JSON.parse(readFileSync(file, 'utf8')).item.cve;
      const fact = facts.get(raw.id);
      expect(fact, raw.id).toBeDefined();
      expect(nvd(fact)?.lastModified).toBe(`${raw.lastModified}Z`);
      expect(nvd(fact)?.status).toBe(raw.vulnStatus);
      expect(keptRatings(fact), raw.id).toEqual(statedRatings(raw));
    }
    // Read by hand from the page: NetApp's CVE, rated by NVD and by NetApp alike.
    expect(ratingsOf(facts.get('CVE-2023-27314'))).toEqual([
      {
        type: 'CVSS_V3',
        vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
        source: 'nvd@nist.gov',
        primary: true,
      },
      {
        type: 'CVSS_V3',
        vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
        source: 'security-alert@netapp.com',
        primary: false,
      },
    ]);
  });

  it("reads vunnel's single-entry page: a v2 vector as NVD writes it", () => {
    const page = read(`${VUNNEL}/single-entry.json`);
    expect(page.issues).toEqual([]);
    expect(page.facts).toEqual([
      {
        kind: 'nvd',
        cve: 'CVE-2022-1576',
        facts: {
          ratings: [
            {
              type: 'CVSS_V3',
              vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N',
              source: 'nvd@nist.gov',
              primary: true,
            },
            {
              type: 'CVSS_V2',
              vector: 'AV:N/AC:M/Au:N/C:N/I:P/A:N',
              source: 'nvd@nist.gov',
              primary: true,
            },
          ],
          status: 'Modified',
          lastModified: '2024-11-21T06:41:00.133Z',
        },
      },
    ]);
    const snapshot = JSON.parse(text(`${VUNNEL}/snapshots/single-entry/2022/cve-2022-1576.json`))
      .item.cve;
    expect(keptRatings(page.facts[0])).toEqual(statedRatings(snapshot));
  });

  it("reads each of osv.dev's 23 single-CVE responses", () => {
    const names = readdirSync(advisories(OSV)).filter((n) => n.endsWith('.json'));
    expect(names).toHaveLength(23);
    for (const name of names) {
      const raw = JSON.parse(text(`${OSV}/${name}`));
      const page = read(`${OSV}/${name}`);
      expect(page.issues, name).toEqual([]);
      expect(page.facts.map((f) => f.cve)).toEqual([name.replace(/\.json$/, '')]);
      expect(keptRatings(page.facts[0]), name).toEqual(statedRatings(raw.vulnerabilities[0].cve));
      expect(page.timestamp).toBe(nvdInstant(raw.timestamp));
    }
    // A response whose times end in Z, and one with an SSVC metric (not CVSS: not a rating).
    expect(nvd(read(`${OSV}/CVE-2023-5341.json`).facts[0])).toMatchObject({
      status: 'Undergoing Analysis',
      lastModified: '2023-11-20T00:02:51.467Z',
    });
    expect(ratingsOf(read(`${OSV}/CVE-2024-3094.json`).facts[0])).toEqual([
      {
        type: 'CVSS_V3',
        vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H',
        source: 'nvd@nist.gov',
        primary: true,
      },
      {
        type: 'CVSS_V3',
        vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H',
        source: 'secalert@redhat.com',
        primary: false,
      },
    ]);
  });

  it("reads osv.dev's assembled page: CVSS v4.0, v3.0 and v2 ratings, NVD's own first", () => {
    const page = read(OSV_PAGE);
    expect(page.issues).toEqual([]);
    // Its header says one result; its authors put 13 CVEs in it. The CVEs are what counts.
    expect(page).toMatchObject({ totalResults: 1, resultsPerPage: 1 });
    expect(page.facts).toHaveLength(13);
    const facts = byCve(page.facts);
    expect(ratingsOf(facts.get('CVE-2025-4565'))).toEqual([
      {
        type: 'CVSS_V4',
        vector:
          'CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N/E:X/CR:X/IR:X/AR:X/MAV:X/MAC:X/MAT:X/MPR:X/MUI:X/MVC:X/MVI:X/MVA:X/MSC:X/MSI:X/MSA:X/S:X/AU:X/R:X/V:X/RE:X/U:X',
        source: 'cve-coordination@google.com',
        primary: false,
      },
      {
        type: 'CVSS_V3',
        vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L',
        source: 'nvd@nist.gov',
        primary: true,
      },
    ]);
    expect(ratingsOf(facts.get('CVE-2018-14618'))).toEqual([
      {
        type: 'CVSS_V3',
        vector: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
        source: 'nvd@nist.gov',
        primary: true,
      },
      {
        type: 'CVSS_V3',
        vector: 'CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:H',
        source: 'secalert@redhat.com',
        primary: false,
      },
      {
        type: 'CVSS_V2',
        vector: 'AV:N/AC:L/Au:N/C:C/I:C/A:C',
        source: 'nvd@nist.gov',
        primary: true,
      },
    ]);
    expect(nvd(facts.get('CVE-2026-23522'))?.status).toBe('Awaiting Analysis');
    const raw = JSON.parse(text(OSV_PAGE)).vulnerabilities as {
      cve: { id: string; metrics?: Record<string, RawMetric[]> };
    }[];
    for (const { cve } of raw) expect(keptRatings(facts.get(cve.id))).toEqual(statedRatings(cve));
  });

  it("reads vuln-list-update's paged responses as its golden CVEs", () => {
    const root = read(`${VLU}/fixtures/rootResp.json`);
    expect(root).toMatchObject({ totalResults: 3, startIndex: 0, resultsPerPage: 1 });
    expect(root.timestamp).toBe('2023-11-27T04:36:56.737Z');
    expect(read(`${VLU}/fixtures/respPage1.json`).facts.map((f) => f.cve)).toEqual([
      'CVE-2020-8167',
      'CVE-2021-22903',
    ]);
    const last = read(`${VLU}/fixtures/respPage2.json`);
    expect(last.startIndex).toBe(3);
    const full = read(`${VLU}/fixtures/respPageFull.json`);
    const all = [...full.facts, ...last.facts];
    expect(all.map((f) => f.cve)).toEqual([
      'CVE-2020-8167',
      'CVE-2021-22903',
      'CVE-2021-3881',
      'CVE-2024-5732',
    ]);
    for (const fact of all) {
      const golden = JSON.parse(text(`${VLU}/golden/api/${fact.cve.slice(4, 8)}/${fact.cve}.json`));
      expect(nvd(fact)?.lastModified).toBe(nvdInstant(golden.lastModified));
      expect(keptRatings(fact), fact.cve).toEqual(statedRatings(golden));
    }
    const empty = read(`${VLU}/fixtures/emptyResp.json`);
    expect(empty).toMatchObject({ facts: [], issues: [], totalResults: 0 });
  });

  it("reads claircore's NVD 2.0 feed file: a rejected CVE has its status and no rating", () => {
    const page = read(CLAIRCORE);
    expect(page.issues).toEqual([]);
    expect(page.timestamp).toBe('2025-08-07T03:01:40.660Z');
    const facts = byCve(page.facts);
    expect([...facts.keys()]).toEqual(['CVE-2016-2781', 'CVE-2016-3197', 'CVE-2016-3674']);
    expect(nvd(facts.get('CVE-2016-3197'))).toEqual({
      ratings: [],
      status: 'Rejected',
      lastModified: '2023-11-07T02:32:12.940Z',
    });
    // A CNA's v3.1 rating and NVD's v3.0 one: the newer version first, whoever scored it.
    expect(ratingsOf(facts.get('CVE-2016-2781')).map((r) => [r.type, r.source, r.primary])).toEqual(
      [
        ['CVSS_V3', '134c704f-9b21-4f2e-91b3-4a467353bcc0', false],
        ['CVSS_V3', 'nvd@nist.gov', true],
        ['CVSS_V2', 'nvd@nist.gov', true],
      ],
    );
  });

  it('skips a bad CVE or rating with an issue naming the file, the CVE and the value', () => {
    // Three edits of the real 38-CVE page: one CVE's lastModified, another's id, a third's
    // v3.1 vector (its NVD rating).
    const doc = JSON.parse(text(`${VUNNEL}/full-page.json`));
    const cves = doc.vulnerabilities.map((v: { cve: Record<string, unknown> }) => v.cve);
    cves[0].lastModified = 'yesterday';
    const renamed = cves[1].id;
    cves[1].id = 'CVE-2023-XYZ';
    const third = cves[2].id;
    cves[2].metrics.cvssMetricV31[0].cvssData.vectorString = 'AV:N/AC:L/Au:N/C:P/I:P/A:P';
    const issues: ImportIssue[] = [];
    const page = nvdFactsOfPage(JSON.stringify(doc), 'page.json', issues);
    expect(page.facts).toHaveLength(36);
    expect(page.facts.map((f) => f.cve)).not.toContain(renamed);
    expect(issues.map((i) => i.message)).toEqual([
      `page.json ${cves[0].id}: lastModified "yesterday" is not a date-time; skipped`,
      'page.json vulnerabilities[1]: id "CVE-2023-XYZ" is not a CVE id; skipped',
      `page.json ${third}: metrics.cvssMetricV31[0]: vectorString "AV:N/AC:L/Au:N/C:P/I:P/A:P" is not a CVSS 3.1 vector; rating skipped`,
    ]);
    expect(issues.every((i) => i.source === 'page.json')).toBe(true);
    // The third CVE keeps the rating that could be read.
    expect(ratingsOf(byCve(page.facts).get(third)).length).toBe(
      cves[2].metrics.cvssMetricV31.length - 1,
    );
  });

  it('refuses a page that cannot be read at all, naming it', () => {
    const real = text(`${VUNNEL}/full-page.json`);
    const issues: ImportIssue[] = [];
    // Cut short, as a dropped connection leaves it.
    expect(() => nvdFactsOfPage(real.slice(0, 5000), 'p1', issues)).toThrow(NvdPageError);
    expect(() => nvdFactsOfPage(real.slice(0, 5000), 'p1', issues)).toThrow(/^p1: not JSON/);
    // The real page without its totalResults.
    const headless = JSON.parse(real);
    delete headless.totalResults;
    expect(() => nvdFactsOfPage(JSON.stringify(headless), 'p2', issues)).toThrow(
      /^p2: not an NVD CVE API 2.0 page: totalResults: /,
    );
    // An error answer NVD sends as JSON.
    expect(() => nvdFactsOfPage('{"message":"Invalid apiKey"}', 'p3', issues)).toThrow(
      /NVD says: Invalid apiKey/,
    );
    const stamped = { ...JSON.parse(real), timestamp: '18/10/2023' };
    expect(() => nvdFactsOfPage(JSON.stringify(stamped), 'p4', issues)).toThrow(
      /timestamp "18\/10\/2023" is not a date-time/,
    );
    expect(issues).toEqual([]);
  });
});
