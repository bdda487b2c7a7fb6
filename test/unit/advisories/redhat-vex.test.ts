/**
 * Red Hat CSAF VEX documents (advisories/importers/redhat-vex.ts) on every real document of the
 * shared data: claircore's VEX fixtures, the five documents of its csaf_vex_2023-10-31.tar.zst
 * archive, and the seven of its acceptance test, whose expected result for a real UBI 8 image
 * is checked against the records. vunnel's Red Hat CSAF advisories are the "not a VEX document"
 * input. Malformed cases are real documents with one small edit, named in each test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { decompress } from 'fzstd';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { isAffected } from '../../../shared/advisories/affected.js';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import {
  importRedHatVex,
  isRedHatVex,
  MAX_VEX_DOCUMENT_BYTES,
} from '../../../shared/advisories/importers/redhat-vex.js';
import type { OsvAffected, OsvRecord } from '../../../shared/advisories/osv.js';
import { advisoryEcosystemsOf } from '../../../shared/ecosystems.js';
import { rpm } from '../../../shared/versions/rpm.js';
import { dataDir } from '../../support/fixtures.js';

const claircore = () => path.join(dataDir(), 'advisories/claircore-fixtures');
const vexDir = () => path.join(claircore(), 'rhel/vex/testdata');
const acceptanceDir = () => path.join(claircore(), 'test/acceptance/testdata');
const csafAdvisories = () =>
  path.join(dataDir(), 'advisories/vunnel-fixtures/tests/unit/providers/rhel/test-fixtures/csaf');

const jsonIn = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => path.join(dir, n));

/** The documents of claircore's real archive, by path, read with the same zstd and tar code. */
async function archiveDocuments(): Promise<Map<string, string>> {
  const file = path.join(vexDir(), 'server/csaf_vex_2023-10-31.tar.zst');
  const extract = tar.extract();
  Readable.from([Buffer.from(decompress(readFileSync(file)))]).pipe(extract);
  const out = new Map<string, string>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    if (entry.header.type === 'file') out.set(entry.header.name, Buffer.concat(chunks).toString());
  }
  return out;
}

function imported(text: string, source: string) {
  const issues: ImportIssue[] = [];
  const records = importRedHatVex(text, source, issues);
  return { records, issues };
}

function importedFile(file: string) {
  return imported(readFileSync(file, 'utf8'), path.basename(file));
}

const entry = (record: OsvRecord | undefined, ecosystem: string, name: string) =>
  record?.affected?.find((a) => a.package?.ecosystem === ecosystem && a.package?.name === name);
const fixedOf = (a: OsvAffected | undefined) =>
  a?.ranges?.[0]?.events.find((e) => 'fixed' in e)?.fixed;

/** The parts of a CSAF VEX document the checks read. */
interface CsafProduct {
  product_id: string;
  product_identification_helper?: { cpe?: string; purl?: string };
}
interface CsafBranch {
  product?: CsafProduct;
  branches?: CsafBranch[];
}
interface CsafRelationship {
  full_product_name: { product_id: string };
  product_reference: string;
  relates_to_product_reference: string;
}
interface CsafVulnerability {
  product_status: Record<string, string[] | undefined>;
  threats?: { category: string; details: string }[];
  scores?: { cvss_v3?: { vectorString: string } }[];
}
interface CsafDoc {
  document: {
    tracking: { id: string; current_release_date?: string; initial_release_date: string };
    aggregate_severity?: { text: string };
  };
  product_tree: { branches: CsafBranch[]; relationships: CsafRelationship[] };
  vulnerabilities: CsafVulnerability[];
}

/**
 * What a document says of each rpm of each stream, read here without the importer: for each
 * fixed or known-affected product id, the relationship's stream CPE and component purl.
 */
function statedRpms(doc: CsafDoc): { key: string; status: string; version?: string }[] {
  const products = new Map<string, CsafProduct>();
  const walk = (branches: CsafBranch[] = []) => {
    for (const b of branches) {
      if (b.product !== undefined) products.set(b.product.product_id, b.product);
      walk(b.branches);
    }
  };
  walk(doc.product_tree.branches);
  const rels = new Map(
    doc.product_tree.relationships.map((r) => [r.full_product_name.product_id, r]),
  );
  const out: { key: string; status: string; version?: string }[] = [];
  for (const v of doc.vulnerabilities)
    for (const status of ['fixed', 'known_affected'])
      for (const id of v.product_status[status] ?? []) {
        const rel = rels.get(id);
        if (rel === undefined) continue;
        const purl = products.get(rel.product_reference)?.product_identification_helper?.purl;
        const cpe = products.get(rel.relates_to_product_reference)?.product_identification_helper
          ?.cpe as string;
        if (typeof purl !== 'string' || !purl.startsWith('pkg:rpm/redhat/')) continue;
        const url = new URL(purl);
        const [, , nameAt] = url.pathname.split('/');
        const [name, version] = (nameAt as string).split('@');
        const epoch = url.searchParams.get('epoch');
        out.push({
          key: `${cpe.replace(/^cpe:\/[aho]:redhat:/, 'Red Hat:')}#${decodeURIComponent(name as string)}`,
          status,
          ...(version === undefined
            ? {}
            : {
                version: `${epoch === null || epoch === '0' ? '' : `${epoch}:`}${decodeURIComponent(version)}`,
              }),
        });
      }
  return out;
}

const REAL_VEX = () => [...jsonIn(vexDir()), ...jsonIn(acceptanceDir())];

describe('Red Hat CSAF VEX documents', () => {
  it('reads every real VEX document into one record per CVE naming exactly the rpms the document states', async () => {
    const docs: [string, string][] = [
      ...REAL_VEX().map((f): [string, string] => [path.basename(f), readFileSync(f, 'utf8')]),
      ...(await archiveDocuments()),
    ];
    expect(docs).toHaveLength(16);
    for (const [source, text] of docs) {
      const doc = JSON.parse(text) as CsafDoc;
      expect(isRedHatVex(doc), source).toBe(true);
      const { records, issues } = imported(text, source);
      expect(issues, source).toEqual([]);
      const cve = doc.document.tracking.id as string;
      expect(records.map((r) => [r.id, r.aliases])).toEqual([[`REDHAT-${cve}`, [cve]]]);
      const record = records[0] as OsvRecord;
      expect(record.modified).toBe(
        new Date(doc.document.tracking.current_release_date as string).toISOString(),
      );
      expect(record.published).toBe(
        new Date(doc.document.tracking.initial_release_date).toISOString(),
      );
      const v = doc.vulnerabilities[0];
      const impact = v?.threats?.find((t) => t.category === 'impact')?.details;
      expect(record.database_specific?.severity).toBe(
        impact ?? doc.document.aggregate_severity?.text,
      );
      const vector = v?.scores?.[0]?.cvss_v3?.vectorString;
      expect(record.severity).toEqual(
        vector === undefined ? undefined : [{ type: 'CVSS_V3', score: vector }],
      );
      // Every rpm of a fixed or known-affected product is one entry, and nothing else is.
      const stated = statedRpms(doc);
      const keys = (record.affected ?? []).map((a) => `${a.package?.ecosystem}#${a.package?.name}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(new Set(keys)).toEqual(new Set(stated.map((s) => s.key)));
      for (const a of record.affected ?? []) {
        const key = `${a.package?.ecosystem}#${a.package?.name}`;
        expect(a.package?.purl).toBe(`pkg:rpm/redhat/${encodeURIComponent(a.package?.name ?? '')}`);
        const fixes = stated.filter((s) => s.key === key && s.status === 'fixed');
        if (fixes.length === 0) {
          expect(a.ranges).toEqual([{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }]);
          expect(['not-fixed', 'will-not-fix', 'fix-deferred']).toContain(
            a.database_specific?.fix_status,
          );
        } else {
          // The lowest of the fixed builds the document lists for that repository and name.
          const lowest = fixes.map((f) => f.version as string).sort(rpm.compare)[0];
          expect(a.ranges).toEqual([
            { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: lowest }] },
          ]);
          expect(a.database_specific).toBeUndefined();
        }
      }
    }
  });

  it('gives curl the lowest fix of each repository for CVE-2023-38545', () => {
    const { records } = importedFile(path.join(vexDir(), 'cve-2023-38545.json'));
    const r = records[0];
    expect(r?.summary).toBe('curl: heap based buffer overflow in the SOCKS5 proxy handshake');
    expect(r?.database_specific).toEqual({ severity: 'Important' });
    expect(r?.severity).toEqual([
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H' },
    ]);
    expect(r?.details).toMatch(/^A heap-based buffer overflow flaw was found in the SOCKS5 proxy/);
    expect(r?.references).toContainEqual({
      type: 'ADVISORY',
      url: 'https://security.access.redhat.com/data/csaf/v2/vex/2023/cve-2023-38545.json',
    });
    expect(r?.references).toContainEqual({
      type: 'REPORT',
      url: 'https://bugzilla.redhat.com/show_bug.cgi?id=2241933',
    });
    // RHEL 9.2 EUS and 9.3 share the CPE enterprise_linux:9::baseos: 9.2's build is the lower.
    for (const eco of [
      'Red Hat:enterprise_linux:9::baseos',
      'Red Hat:enterprise_linux:9::appstream',
    ])
      for (const name of ['curl', 'libcurl', 'libcurl-minimal'])
        expect(fixedOf(entry(r, eco, name)), `${eco} ${name}`).toBe('7.76.1-23.el9_2.4');
    expect(fixedOf(entry(r, 'Red Hat:rhel_eus:9.0::baseos', 'curl'))).toBe('7.76.1-14.el9_0.9');
    expect(fixedOf(entry(r, 'Red Hat:jboss_core_services:1::el8', 'jbcs-httpd24-curl'))).toBe(
      '8.4.0-2.el8jbcs',
    );
    expect(fixedOf(entry(r, 'Red Hat:rhel_satellite_client:6::el9', 'puppet-agent'))).toBe(
      '7.27.0-1.el9sat',
    );
    expect(r?.affected).toHaveLength(55);
    expect(r?.affected?.every((a) => a.database_specific === undefined)).toBe(true);
  });

  it("says will-not-fix, fix-deferred and not-fixed as Red Hat's remediations word them", () => {
    const openssl = importedFile(path.join(acceptanceDir(), 'cve-2024-0727-openssl.json'))
      .records[0];
    const status = (r: OsvRecord | undefined, eco: string, name: string) =>
      entry(r, eco, name)?.database_specific?.fix_status;
    // no_fix_planned "Out of support scope" on RHEL 6 and 7.
    expect(status(openssl, 'Red Hat:enterprise_linux:6', 'openssl')).toBe('will-not-fix');
    expect(status(openssl, 'Red Hat:enterprise_linux:7', 'openssl-libs')).toBe('will-not-fix');
    // none_available "Fix deferred" on RHEL 8.
    expect(status(openssl, 'Red Hat:enterprise_linux:8', 'openssl')).toBe('fix-deferred');
    expect(status(openssl, 'Red Hat:enterprise_linux:9', 'compat-openssl11')).toBe('fix-deferred');
    // Fixed in RHEL 9, the epoch written.
    expect(fixedOf(entry(openssl, 'Red Hat:enterprise_linux:9::baseos', 'openssl'))).toBe(
      '1:3.0.7-27.el9',
    );
    // CVE-2022-38752 (2.9 MB, 4,024 product ids): 28 fixed, 35 known affected, 2,353 not
    // affected; of those, 11 rpms of streams are fixed and 3 wait (containers, middleware and
    // components without a purl name no rpm).
    const snake = importedFile(path.join(vexDir(), 'cve-2022-38752.json')).records[0];
    expect(snake?.affected).toHaveLength(14);
    expect(snake?.affected?.filter((a) => fixedOf(a) !== undefined)).toHaveLength(11);
    // none_available "Affected": a fix may come.
    expect(status(snake, 'Red Hat:satellite:6', 'puppetserver')).toBe('not-fixed');
    expect(status(snake, 'Red Hat:ocp_tools', 'jenkins-2-plugins')).toBe('not-fixed');
    expect(status(snake, 'Red Hat:rhel_software_collections:3', 'rh-maven36-byte-buddy')).toBe(
      'will-not-fix',
    );
    expect(fixedOf(entry(snake, 'Red Hat:satellite:6.13::el8', 'candlepin'))).toBe(
      '4.2.13-1.el8sat',
    );
  });

  it('keeps the rpm name of module builds and leaves containers out', () => {
    const perl = importedFile(path.join(acceptanceDir(), 'cve-2025-40907-perl.json')).records[0];
    // Four module contexts of perl-FCGI:0.78 in RHEL 8.10's AppStream: the lowest build.
    expect(fixedOf(entry(perl, 'Red Hat:enterprise_linux:8::appstream', 'perl-FCGI'))).toBe(
      '1:0.78-12.module+el8.10.0+23147+df114ff4',
    );
    // RHEL 10.0's AppStream product names cpe:/o:redhat:enterprise_linux:10.0.
    expect(fixedOf(entry(perl, 'Red Hat:enterprise_linux:10.0', 'perl-FCGI'))).toBe(
      '1:0.82-13.1.el10_0',
    );
    const go = importedFile(path.join(acceptanceDir(), 'cve-2026-27142.json')).records[0];
    // `golang::go-toolset:rhel8`: the go-toolset:rhel8 module's golang, unfixed.
    expect(entry(go, 'Red Hat:enterprise_linux:8', 'golang')?.database_specific).toEqual({
      fix_status: 'fix-deferred',
    });
    expect(fixedOf(entry(go, 'Red Hat:hummingbird:1', 'golang1.25'))).toBe('1.25.8-1.1.hum1');
    const scrapy = importedFile(path.join(acceptanceDir(), 'cve-2025-6176.json')).records[0];
    const names = new Set(scrapy?.affected?.map((a) => a.package?.name));
    for (const container of ['controller-rhel9', 'grafana-rhel9', 'rhceph-8-rhel9'])
      expect(names.has(container), container).toBe(false);
  });

  it("agrees with claircore's expected result for the real ubi8/perl-526 image", () => {
    // cve-2025-40907.csv: `<CVE>,<product id>,<status>` after `#` comments.
    const rows = readFileSync(path.join(acceptanceDir(), 'cve-2025-40907.csv'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.split(','));
    expect(rows).toHaveLength(1);
    const file = path.join(acceptanceDir(), 'cve-2025-40907-perl.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as CsafDoc;
    const record = importedFile(file).records[0];
    // A UBI 8 image is matched against RHEL 8's repositories.
    const ecosystems = advisoryEcosystemsOf({ id: 'rhel', versionId: '8.10' });
    for (const [cve, productId, status] of rows) {
      expect(record?.aliases).toEqual([cve]);
      expect(status).toBe('affected');
      // The product the row names, resolved in the document without the importer.
      const only = statedRpms({
        ...doc,
        vulnerabilities: [{ product_status: { fixed: [productId as string] } }],
      });
      expect(only).toHaveLength(1);
      const { key, version } = only[0] as { key: string; version: string };
      const [ecosystem, name] = key.split('#') as [string, string];
      expect(ecosystems).toContain(ecosystem);
      const a = entry(record, ecosystem, name);
      // Our fix is one of the builds the document lists, at or below the row's; every build of
      // that package the document lists below our fix is affected, and none at or above it.
      const fix = fixedOf(a) as string;
      expect(rpm.compare(fix, version)).toBeLessThanOrEqual(0);
      expect(isAffected(version, a as OsvAffected, rpm)).toBe(false);
      const builds = statedRpms(doc)
        .filter((s) => s.key.endsWith(`#${name}`) && s.version !== undefined)
        .map((s) => s.version as string);
      expect(builds).toContain(fix);
      const older = builds.filter((b) => rpm.compare(b, fix) < 0);
      expect(older.length).toBeGreaterThan(0);
      for (const b of builds)
        expect(isAffected(b, a as OsvAffected, rpm), b).toBe(older.includes(b));
    }
  });

  it('refuses what is not a Red Hat VEX document with one issue and no record', () => {
    const advisories = readdirSync(csafAdvisories(), { recursive: true })
      .map(String)
      .filter((n) => /rhsa-.*\.json$/.test(n))
      .sort();
    expect(advisories).toHaveLength(8);
    for (const name of advisories) {
      const text = readFileSync(path.join(csafAdvisories(), name), 'utf8');
      expect(isRedHatVex(JSON.parse(text))).toBe(false);
      expect(imported(text, name)).toEqual({
        records: [],
        issues: [
          {
            source: name,
            message: `${name}: not a Red Hat CSAF VEX document (category "csaf_security_advisory", publisher "Red Hat Product Security")`,
          },
        ],
      });
    }
    // The first half of a real document: not JSON.
    const curl = readFileSync(path.join(vexDir(), 'cve-2023-38545.json'), 'utf8');
    const half = imported(curl.slice(0, curl.length / 2), 'half.json');
    expect(half.records).toEqual([]);
    expect(half.issues).toHaveLength(1);
    expect(half.issues[0]?.message).toMatch(/^half\.json: not JSON: /);
    // A real document padded with spaces past the bound is not read at all.
    const padded = imported(curl + ' '.repeat(MAX_VEX_DOCUMENT_BYTES), 'padded.json');
    expect(padded.records).toEqual([]);
    expect(padded.issues[0]?.message).toBe(
      `padded.json: over ${MAX_VEX_DOCUMENT_BYTES} characters; not a VEX document`,
    );
  });

  it('reports what a document gets wrong and reads the rest', () => {
    const file = path.join(acceptanceDir(), 'cve-2024-0727-openssl.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as CsafDoc;
    // Edit 1: the relationship of `red_hat_enterprise_linux_6:openssl` removed.
    // Edit 2: openssl-devel's purl (a component of RHEL 6, 7 and 8) made unparseable.
    // Edit 3: the CVSS vector replaced by a word.
    const edited = structuredClone(doc);
    edited.product_tree.relationships = edited.product_tree.relationships.filter(
      (r) => r.full_product_name.product_id !== 'red_hat_enterprise_linux_6:openssl',
    );
    const devel = (function find(branches: CsafBranch[]): CsafProduct | undefined {
      for (const b of branches) {
        if (b.product?.product_id === 'openssl-devel') return b.product;
        const hit = find(b.branches ?? []);
        if (hit !== undefined) return hit;
      }
      return undefined;
    })(edited.product_tree.branches) as CsafProduct;
    devel.product_identification_helper = { purl: 'pkg:rpm' };
    const cvss = edited.vulnerabilities[0]?.scores?.[0]?.cvss_v3;
    if (cvss === undefined) throw new Error('cve-2024-0727-openssl.json has no CVSS v3 score');
    cvss.vectorString = 'Low';
    const { records, issues } = imported(JSON.stringify(edited), 'edited.json');
    expect(issues.map((i) => i.message)).toEqual([
      'edited.json: CVE-2024-0727: CVSS v3 vector that is not one: "Low"; skipped',
      'edited.json: CVE-2024-0727: product id the product tree does not define: "red_hat_enterprise_linux_6:openssl"; skipped',
      'edited.json: CVE-2024-0727: malformed purl: "pkg:rpm" and 2 more; skipped',
    ]);
    const r = records[0];
    expect(r?.severity).toBeUndefined();
    // RHEL 6's openssl is still named, by its source rpm (`red_hat_enterprise_linux_6:openssl.src`).
    expect(entry(r, 'Red Hat:enterprise_linux:6', 'openssl')?.database_specific).toEqual({
      fix_status: 'will-not-fix',
    });
    expect(entry(r, 'Red Hat:enterprise_linux:6', 'openssl-devel')).toBeUndefined();
    expect(entry(r, 'Red Hat:enterprise_linux:6', 'openssl-perl')?.database_specific).toEqual({
      fix_status: 'will-not-fix',
    });
    expect(entry(r, 'Red Hat:enterprise_linux:8', 'openssl-devel')).toBeUndefined();
    expect(r?.affected).toHaveLength(47 - 3);
    // Edit 4: no current_release_date: no record (its `modified` would be made up).
    const undated = structuredClone(doc);
    delete undated.document.tracking.current_release_date;
    expect(imported(JSON.stringify(undated), 'undated.json')).toEqual({
      records: [],
      issues: [
        {
          source: 'undated.json',
          message:
            'undated.json: CVE-2024-0727: current_release_date null is not an RFC 3339 date-time; skipped',
        },
      ],
    });
  });
});
