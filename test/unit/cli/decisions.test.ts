/**
 * `bosun scan --vex` and the ignore file, through the CLI as a user runs it, on a real Alpine
 * 3.4 package database and the real Alpine 3.4 secdb: what a decision covers leaves the
 * findings and is listed as suppressed with why, in JSON, SARIF and the table; it fails no gate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bosun, bosunWith } from '../../support/cli.js';
import { alpine34Rootfs, dataDir } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-decisions-'));
let rootfs = '';
const secdb = () => path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.4');

beforeAll(() => {
  rootfs = alpine34Rootfs(work);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Report {
  images: {
    findings: { id: string; package: string }[];
    suppressed: { id: string; package: string; reason: string }[];
  }[];
}

/** An OpenVEX document: musl is not affected by CVE-2016-8859 (as its supplier would say). */
function muslVex(): string {
  const file = path.join(work, 'musl.openvex.json');
  writeFileSync(
    file,
    JSON.stringify({
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://openvex.dev/docs/example/musl-8859',
      author: 'platform team',
      timestamp: '2026-11-01T00:00:00Z',
      version: 1,
      statements: [
        {
          vulnerability: { name: 'CVE-2016-8859' },
          products: [{ '@id': 'pkg:apk/alpine/musl' }],
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
        },
      ],
    }),
  );
  return file;
}

/** `bosun scan` of the Alpine root with the musl VEX document, in the given format. */
const scanWithMuslVex = (format: string) =>
  bosun('scan', `dir:${rootfs}`, '--advisories', secdb(), '--vex', muslVex(), '--format', format);

describe('bosun scan with decisions', { timeout: 120_000 }, () => {
  it('lists what a VEX document says is not affected as suppressed, with the statement', () => {
    const out = scanWithMuslVex('json');
    expect(out.status, out.stderr).toBe(0);
    const [image] = (JSON.parse(out.stdout) as Report).images;
    expect(image?.suppressed.map((s) => `${s.id} ${s.package}`).sort()).toEqual([
      'CVE-2016-8859 musl',
    ]);
    expect(image?.suppressed[0]?.reason).toBe(
      'vex: not_affected (vulnerable_code_not_in_execute_path) in https://openvex.dev/docs/example/musl-8859',
    );
    expect(image?.findings.some((f) => f.id === 'CVE-2016-8859' && f.package === 'musl')).toBe(
      false,
    );
    // The statement names musl, not musl-utils: that finding stays.
    expect(
      image?.findings.some((f) => f.id === 'CVE-2016-8859' && f.package === 'musl-utils'),
    ).toBe(true);
  });

  it('keeps a suppressed finding in CycloneDX, with the VEX statement as its analysis', () => {
    const out = scanWithMuslVex('cyclonedx');
    expect(out.status, out.stderr).toBe(0);
    const bom = JSON.parse(out.stdout) as {
      vulnerabilities: {
        id: string;
        affects: { ref: string }[];
        analysis?: { state?: string; detail?: string };
        properties?: { name: string; value: string }[];
      }[];
    };
    const musl = bom.vulnerabilities.filter(
      (v) => v.id === 'CVE-2016-8859' && v.affects.some((a) => a.ref.includes('/musl@')),
    );
    expect(musl).toHaveLength(1);
    expect(musl[0]?.analysis).toEqual({
      state: 'not_affected',
      detail:
        'vex: not_affected (vulnerable_code_not_in_execute_path) in https://openvex.dev/docs/example/musl-8859',
    });
    expect(musl[0]?.properties).toContainEqual({
      name: 'bosun:suppressed',
      value: musl[0]?.analysis?.detail,
    });
  });

  it('reads .bosunignore from the current folder, says expired entries, and marks SARIF results suppressed', () => {
    const project = mkdtempSync(path.join(work, 'project-'));
    writeFileSync(
      path.join(project, '.bosunignore'),
      [
        'CVE-2016-9840 pkg:apk/alpine/zlib   # inflate not reachable from our code',
        'CVE-2016-9841 exp:2020-01-01        # expired long ago',
      ].join('\n'),
    );
    const args = ['scan', `dir:${rootfs}`, '--advisories', secdb()];
    const json = bosunWith({ cwd: project }, ...args, '--format', 'json');
    expect(json.status, json.stderr).toBe(0);
    expect(json.stderr).toMatch(
      /\.bosunignore:2: CVE-2016-9841 expired on 2020-01-01; not applied/,
    );
    // Said in the report too, not only on the terminal.
    expect((JSON.parse(json.stdout) as { decisionNotes?: string[] }).decisionNotes).toEqual([
      '.bosunignore:2: CVE-2016-9841 expired on 2020-01-01; not applied',
    ]);
    const [image] = (JSON.parse(json.stdout) as Report).images;
    expect(image?.suppressed).toEqual([
      expect.objectContaining({
        id: 'CVE-2016-9840',
        package: 'zlib',
        reason: 'ignored: inflate not reachable from our code (.bosunignore:1)',
      }),
    ]);
    expect(image?.findings.map((f) => f.id)).toContain('CVE-2016-9841');

    const sarif = JSON.parse(bosunWith({ cwd: project }, ...args, '--format', 'sarif').stdout) as {
      runs: { results: { ruleId: string; suppressions?: { justification: string }[] }[] }[];
    };
    const results = sarif.runs[0]?.results ?? [];
    expect(results.filter((r) => r.suppressions !== undefined)).toEqual([
      expect.objectContaining({
        ruleId: 'CVE-2016-9840',
        suppressions: [
          {
            kind: 'external',
            status: 'accepted',
            justification: 'ignored: inflate not reachable from our code (.bosunignore:1)',
          },
        ],
      }),
    ]);

    const table = bosunWith({ cwd: project }, ...args);
    expect(table.stdout).toMatch(/suppressed: 1 \(VEX, ignore file\)/);
    expect(table.stdout).toMatch(/SUPPRESSED {2}CVE-2016-9840 {2}zlib 1\.2\.8-r2 {2}ignored:/);
  });

  it('does not fail a gate on a suppressed finding', () => {
    const args = ['scan', `dir:${rootfs}`, '--advisories', secdb(), '--format', 'json'];
    const gate = ['--fail-on', 'LOW,unknown'];
    const all = bosun(...args, ...gate);
    expect(all.status).toBe(1);
    // Every finding of the image decided: nothing is left for the gate.
    const ids = (JSON.parse(all.stdout) as Report).images[0]?.findings.map((f) => f.id) ?? [];
    expect(ids.length).toBeGreaterThan(0);
    const ignore = path.join(work, 'everything.ignore');
    writeFileSync(ignore, `${[...new Set(ids)].join('\n')}\n`);
    const decided = bosun(...args, ...gate, '--ignore-file', ignore);
    expect(decided.status, decided.stderr).toBe(0);
    const [image] = (JSON.parse(decided.stdout) as Report).images;
    expect(image?.findings).toEqual([]);
    expect(image?.suppressed).toHaveLength(ids.length);
  });

  it('refuses a document that is not VEX, naming the file (usage, exit 2)', () => {
    const bad = path.join(work, 'bad.json');
    writeFileSync(bad, '{"spdxVersion":"SPDX-2.3"}');
    const out = bosun('scan', `dir:${rootfs}`, '--advisories', secdb(), '--vex', bad);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/bad\.json: invalid VEX document: neither an OpenVEX document/);
  });
});
