import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import AjvDraft04 from 'ajv-draft-04';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bosun } from '../../support/cli.js';
import { alpine34Rootfs, dataDir, PROJECT_ROOT } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-scan-'));
let rootfs: string;

beforeAll(() => {
  rootfs = alpine34Rootfs(work);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SECDB_34 = () => path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.4');

/** The JSON report of the rootfs, which the other formats are compared with: run once. */
let jsonReport: { images: { packages: number; findings: { id: string }[] }[] } | undefined;
const reportImage = () => {
  jsonReport ??= JSON.parse(
    bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), '--format', 'json').stdout,
  ) as NonNullable<typeof jsonReport>;
  return jsonReport.images[0];
};

describe('bosun scan', () => {
  it('finds the Alpine 3.4 secdb vulnerabilities of a real 3.4 package database', () => {
    const out = bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), '--format', 'json');
    expect(out.status, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as {
      images: {
        os: { ecosystem: string };
        packages: number;
        findings: { id: string; package: string; installedVersion: string; fixedVersion: string }[];
        issues: string[];
      }[];
    };
    const image = report.images[0];
    expect(image?.os.ecosystem).toBe('Alpine:v3.4');
    const got = (pkg: string) =>
      image?.findings
        .filter((f) => f.package === pkg)
        .map((f) => `${f.id} ${f.installedVersion} -> ${f.fixedVersion}`);
    // v3.4/main.yaml: musl fixes CVE-2016-8859 in 1.1.14-r13 and CVE-2017-15650 in 1.1.14-r16;
    // zlib fixes CVE-2016-9840..9843 in 1.2.11-r0. The database has musl 1.1.14-r10, zlib 1.2.8-r2.
    expect(got('musl')).toEqual([
      'CVE-2016-8859 1.1.14-r10 -> 1.1.14-r13',
      'CVE-2017-15650 1.1.14-r10 -> 1.1.14-r16',
    ]);
    expect(got('zlib')).toEqual(
      ['CVE-2016-9840', 'CVE-2016-9841', 'CVE-2016-9842', 'CVE-2016-9843'].map(
        (c) => `${c} 1.2.8-r2 -> 1.2.11-r0`,
      ),
    );
    // musl-utils is built from musl: matched through its origin.
    expect(got('musl-utils')).toHaveLength(2);
    expect(image?.issues).toEqual([
      'lib/apk/db/installed:23: package block at line 23 has no V: version; skipped',
    ]);
  }, 60_000);

  it('prints a table, and exits 1 only when a finding reaches --fail-on', () => {
    const table = bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34());
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/Alpine Linux v3\.4, 15 packages, \d+ findings/);
    expect(table.stdout).toMatch(/^UNKNOWN\s+CVE-2016-8859\s+musl\s+1\.1\.14-r10\s+1\.1\.14-r13$/m);
    // secdb carries no severity: findings are UNKNOWN, which fail the gate only when it says so.
    expect(
      bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), '--fail-on', 'low').status,
    ).toBe(0);
    expect(
      bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), '--fail-on', 'UNKNOWN').status,
    ).toBe(1);
    const usage = bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), '--fail-on', 'SEVERE');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--fail-on "SEVERE" is not a severity');
  }, 60_000);

  it("finds nothing in the real alpine:3.10 image against its own release's secdb", () => {
    const archive = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');
    const out = bosun(
      'scan',
      `docker-archive:${archive}`,
      '--advisories',
      path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.10'),
    );
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/Alpine Linux v3\.10, 14 packages, 0 findings/);
  }, 60_000);
});

describe('bosun scan, when the database cannot cover the image', () => {
  // Only the Node.js security WG's npm advisories: nothing can be said about Alpine 3.4.
  const npmOnly = () => path.join(dataDir(), 'advisories/nodejs-security-wg/vuln/npm');
  const gap =
    '15 OS packages of Alpine Linux v3.4 were not checked for vulnerabilities: the advisory database has no advisory for Alpine:v3.4 (sync it: bosun db sync)';

  it('says so in the table and exits 4, never 0 with no finding', () => {
    const out = bosun('scan', `dir:${rootfs}`, '--advisories', npmOnly());
    expect(out.status, out.stderr).toBe(4);
    expect(out.stdout).toMatch(/15 packages, 0 findings \(INCOMPLETE: coverage gaps below\)/);
    expect(out.stdout).toContain(`COVERAGE GAP: ${gap}`);
    // A finding at --fail-on still decides first.
    expect(
      bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), '--fail-on', 'UNKNOWN').status,
    ).toBe(1);
  }, 60_000);

  it('says so in the JSON report, the SARIF log and the CycloneDX document', () => {
    const json = JSON.parse(
      bosun('scan', `dir:${rootfs}`, '--advisories', npmOnly(), '--format', 'json').stdout,
    ) as { images: { coverage: unknown }[] };
    expect(json.images[0]?.coverage).toEqual({
      complete: false,
      gaps: [{ kind: 'not-synced', ecosystems: ['Alpine:v3.4'], packages: 15, message: gap }],
    });
    const sarif = JSON.parse(
      bosun('scan', `dir:${rootfs}`, '--advisories', npmOnly(), '--format', 'sarif').stdout,
    ) as {
      runs: {
        invocations: {
          toolExecutionNotifications: { level: string; message: { text: string } }[];
        }[];
        properties: { coverageComplete: boolean };
      }[];
    };
    const [run] = sarif.runs;
    expect(run?.properties.coverageComplete).toBe(false);
    expect(run?.invocations[0]?.toolExecutionNotifications).toEqual([
      expect.objectContaining({ level: 'warning', message: { text: `dir:${rootfs}: ${gap}` } }),
    ]);
    // The checks' own properties are test/unit/cli/checks.test.ts's.
    const bom = JSON.parse(
      bosun(
        'scan',
        `dir:${rootfs}`,
        '--advisories',
        npmOnly(),
        '--format',
        'cyclonedx',
        '--no-checks',
      ).stdout,
    ) as { metadata: { properties: { name: string; value: string }[] } };
    expect(bom.metadata.properties).toEqual([
      { name: 'bosun:coverage', value: 'incomplete' },
      { name: 'bosun:coverage:gap', value: gap },
    ]);
  }, 60_000);
});

describe('bosun scan --format cyclonedx', () => {
  it('carries the findings as vulnerabilities that affect their components, in a valid CycloneDX 1.6 document', async () => {
    const out = bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), '--format', 'cyclonedx');
    expect(out.status, out.stderr).toBe(0);
    expect(
      await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(out.stdout),
    ).toBeNull();
    const bom = JSON.parse(out.stdout) as {
      components: { 'bom-ref': string; name: string; version: string }[];
      vulnerabilities: {
        id: string;
        source: { name: string; url: string };
        ratings: { severity: string; method: string }[];
        recommendation?: string;
        affects: { ref: string }[];
      }[];
    };
    const byRef = new Map(bom.components.map((c) => [c['bom-ref'], c]));
    const rows = bom.vulnerabilities
      .map((v) => {
        const c = byRef.get(v.affects[0]?.ref ?? '');
        return `${v.id} ${c?.name} ${c?.version} ${v.recommendation}`;
      })
      .sort();
    // The same findings as the JSON report: musl and musl-utils (built from musl), zlib.
    expect(rows).toContain('CVE-2016-8859 musl 1.1.14-r10 Upgrade musl to 1.1.14-r13 or later.');
    expect(rows).toContain('CVE-2016-9840 zlib 1.2.8-r2 Upgrade zlib to 1.2.11-r0 or later.');
    expect(bom.vulnerabilities).toHaveLength(reportImage()?.findings.length ?? -1);
    expect(bom.vulnerabilities[0]?.source).toEqual({
      name: 'OSV',
      url: expect.stringMatching(/^https:\/\/osv\.dev\/vulnerability\/ALPINE-CVE-/),
    });
    expect(bom.vulnerabilities[0]?.ratings).toEqual([{ severity: 'unknown', method: 'other' }]);
  }, 60_000);
});

describe('bosun scan --format sarif', () => {
  it('writes SARIF 2.1.0 that passes the OASIS schema, one result per finding', () => {
    // Without the checks' results (test/unit/cli/checks.test.ts has them).
    const out = bosun(
      'scan',
      `dir:${rootfs}`,
      '--advisories',
      SECDB_34(),
      '--format',
      'sarif',
      '--no-checks',
    );
    expect(out.status, out.stderr).toBe(0);
    // The schema as Microsoft's SARIF SDK ships it (JSON Schema draft-04).
    const schema = JSON.parse(
      readFileSync(
        path.join(
          PROJECT_ROOT,
          'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json',
        ),
        'utf8',
      ),
    ) as object;
    // unicodeRegExp off: one pattern of this schema (the language tag) is not valid with the u flag.
    const validate = new AjvDraft04.default({
      allErrors: true,
      strict: false,
      unicodeRegExp: false,
    }).compile(schema);
    const sarif = JSON.parse(out.stdout) as {
      runs: {
        tool: { driver: { rules: { id: string }[] } };
        results: {
          ruleId: string;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string } } }[];
        }[];
      }[];
    };
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
    const run = sarif.runs[0];
    expect(run?.results).toHaveLength(reportImage()?.findings.length ?? -1);
    expect(new Set(run?.tool.driver.rules.map((r) => r.id))).toEqual(
      new Set(reportImage()?.findings.map((f) => f.id)),
    );
    const musl = run?.results.find((r) => r.ruleId === 'CVE-2016-8859');
    expect(musl?.level).toBe('note');
    expect(musl?.message.text).toMatch(
      /^musl 1\.1\.14-r10 in dir:.* \(linux\/amd64\) is affected by CVE-2016-8859 \(UNKNOWN\); fixed in 1\.1\.14-r13\.$/,
    );
    expect(musl?.locations[0]?.physicalLocation.artifactLocation.uri).toBe('lib/apk/db/installed');
    // And the schema does reject a broken log.
    expect(validate({ ...sarif, version: '3.0' })).toBe(false);
  }, 60_000);

  it('writes the inventory as SPDX 3.0.1 with --format spdx3-json, from scan and from sbom', () => {
    const args = ['--format', 'spdx3-json'];
    const fromScan = bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), ...args);
    const fromSbom = bosun('sbom', `dir:${rootfs}`, ...args);
    for (const out of [fromScan, fromSbom]) {
      expect(out.status, out.stderr).toBe(0);
      const doc = JSON.parse(out.stdout) as { '@context': string; '@graph': { type: string }[] };
      expect(doc['@context']).toBe('https://spdx.org/rdf/3.0.1/spdx-context.jsonld');
      // The Alpine 3.4 database's packages (one entry of it is broken on purpose), the OS and the image.
      expect(doc['@graph'].filter((n) => n.type === 'software_Package')).toHaveLength(
        (reportImage()?.packages ?? 0) + 2,
      );
    }
    expect(bosun('sbom', `dir:${rootfs}`, '--format', 'xml').status).toBe(2);
  }, 60_000);

  it('writes SPDX 2.3 JSON with --format spdx-json, from scan and from sbom', () => {
    const args = ['--format', 'spdx-json'];
    const fromScan = bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), ...args);
    const fromSbom = bosun('sbom', `dir:${rootfs}`, ...args);
    for (const out of [fromScan, fromSbom]) {
      expect(out.status, out.stderr).toBe(0);
      const doc = JSON.parse(out.stdout) as { spdxVersion: string; packages: unknown[] };
      expect(doc.spdxVersion).toBe('SPDX-2.3');
      // The Alpine 3.4 database's packages, the OS and the image.
      expect(doc.packages).toHaveLength((reportImage()?.packages ?? 0) + 2);
    }
  }, 60_000);

  it('writes SPDX 2.3 tag-value with --format spdx (as Trivy does), the same packages as spdx-json', () => {
    const fromScan = bosun('scan', `dir:${rootfs}`, '--advisories', SECDB_34(), '--format', 'spdx');
    const fromSbom = bosun('sbom', `dir:${rootfs}`, '--format', 'spdx');
    const json = JSON.parse(bosun('sbom', `dir:${rootfs}`, '--format', 'spdx-json').stdout) as {
      packages: { name: string; versionInfo?: string }[];
    };
    for (const out of [fromScan, fromSbom]) {
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout.split('\n')[0]).toBe('SPDXVersion: SPDX-2.3');
      const names = [...out.stdout.matchAll(/^PackageName: (.*)$/gm)].map((m) => m[1]);
      expect(names).toEqual(json.packages.map((p) => p.name));
    }
  }, 60_000);
});
