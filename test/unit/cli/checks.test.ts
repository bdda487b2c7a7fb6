/**
 * `bosun scan` with the hardening checks, on an image built here from real files
 * (test/support/check-images.ts: Alpine 3.10's real layer, AWS's documented example credentials
 * in a file a later layer deletes and in Env, an ADD of a URL in history): the checks section of
 * the table, `checks` in JSON, SARIF results with their rules (valid against the OASIS schema, as
 * the findings' SARIF test validates it), CycloneDX properties (valid 1.6), `--no-checks`,
 * `--fail-on-check`; and the planted values in no output, no file and no cached layer fact.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import AjvDraft04 from 'ajv-draft-04';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/checks/secrets.js';
import type { CheckIssue, CheckResult } from '../../../shared/checks/types.js';
import {
  AWS_EXAMPLE_KEY_ID,
  AWS_EXAMPLE_SECRET,
  PLANTED,
  writeSecretsImage,
} from '../../support/check-images.js';
import { bosun } from '../../support/cli.js';
import { dataDir, PROJECT_ROOT } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-checks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const layout = path.join(work, 'image');
const cacheDir = path.join(work, 'cache');
const SECDB_310 = () => path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.10');
const ALPINE_310 = () =>
  path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');

/** Every output of the scans below, to grep for the planted values at the end. */
const outputs: { what: string; text: string }[] = [];
function scan(source: string, ...args: string[]) {
  const out = bosun('scan', source, '--advisories', SECDB_310(), '--cache-dir', cacheDir, ...args);
  outputs.push({ what: `scan ${args.join(' ')}`, text: `${out.stdout}\n${out.stderr}` });
  return out;
}

type JsonReport = {
  images: {
    findings: { id: string }[];
    checks?: CheckResult[];
    checkIssues?: CheckIssue[];
  }[];
};
let json: JsonReport;
let checks: CheckResult[];

beforeAll(async () => {
  await writeSecretsImage(layout);
  const out = scan(layout, '--format', 'json');
  expect(out.status, out.stderr).toBe(0);
  json = JSON.parse(out.stdout) as JsonReport;
  checks = json.images[0]?.checks ?? [];
}, 60_000);

describe('bosun scan: checks in JSON', () => {
  it('lists the CheckResults, most severe first, and the collection issues', () => {
    expect(checks.map((c) => `${c.severity} ${c.id} ${c.secret?.rule ?? ''}`.trim())).toEqual([
      'CRITICAL BOSUN-IMG-010 aws-access-key-id',
      'CRITICAL BOSUN-IMG-011 aws-access-key-id',
      'CRITICAL BOSUN-IMG-011 aws-credentials-file',
      'MEDIUM BOSUN-IMG-001',
      'MEDIUM BOSUN-IMG-030',
      'LOW BOSUN-IMG-032',
    ]);
    expect(json.images[0]?.checkIssues).toEqual([]);
    // The file a later layer deleted is still found, and named by its hash only.
    const file = checks.find((c) => c.secret?.rule === 'aws-credentials-file');
    expect(file?.secret).toMatchObject({
      location: { kind: 'file', path: 'root/.aws/credentials', line: 3, deletedBy: 2 },
      valueHash: sha256Hex(AWS_EXAMPLE_SECRET),
    });
    expect(checks[0]?.secret).toEqual({
      rule: 'aws-access-key-id',
      location: { kind: 'config', field: 'config.Env[1]' },
      valueHash: sha256Hex(AWS_EXAMPLE_KEY_ID),
    });
  });
});

describe('bosun scan: checks in the table', () => {
  it('prints a checks section after the findings: severity, id, title, location', () => {
    const out = scan(layout);
    expect(out.status, out.stderr).toBe(0);
    const lines = out.stdout.split('\n');
    const image = lines.findIndex((l) => l.includes('Alpine Linux v3.10, 14 packages'));
    const section = lines.findIndex((l) => l.startsWith('  checks: '));
    // After the image's findings (their header and rows, when there are any).
    const findingsHeader = lines.findIndex((l) => l.startsWith('SEVERITY  VULNERABILITY'));
    expect(image).toBeGreaterThanOrEqual(0);
    expect(section).toBeGreaterThan(
      Math.max(image, findingsHeader + (json.images[0]?.findings.length ?? 0)),
    );
    expect(lines[section]).toBe('  checks: CRITICAL 3, MEDIUM 2, LOW 1');
    expect(lines[section + 1]).toMatch(/^SEVERITY\s+CHECK\s+TITLE\s+LOCATION$/);
    expect(lines.slice(section + 2, section + 8).map((l) => l.split(/\s{2,}/))).toEqual([
      ['CRITICAL', 'BOSUN-IMG-010', 'AWS access key ID in the image config', 'config.Env[1]'],
      [
        'CRITICAL',
        'BOSUN-IMG-011',
        'AWS access key ID in a file',
        'root/.aws/credentials:2 (layer 1, deleted by layer 2)',
      ],
      [
        'CRITICAL',
        'BOSUN-IMG-011',
        'AWS credentials file in a file',
        'root/.aws/credentials:3 (layer 1, deleted by layer 2)',
      ],
      ['MEDIUM', 'BOSUN-IMG-001', 'Image runs as root by default', 'config.User'],
      ['MEDIUM', 'BOSUN-IMG-030', 'ADD of a remote URL', 'history[1].created_by'],
      ['LOW', 'BOSUN-IMG-032', 'No HEALTHCHECK', 'config.Healthcheck'],
    ]);
  }, 60_000);
});

describe('bosun scan: checks in SARIF', () => {
  it('has a result per check with its rule in the driver, valid against the SARIF 2.1.0 schema', () => {
    const out = scan(layout, '--format', 'sarif');
    expect(out.status, out.stderr).toBe(0);
    const schema = JSON.parse(
      readFileSync(
        path.join(
          PROJECT_ROOT,
          'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json',
        ),
        'utf8',
      ),
    ) as object;
    const validate = new AjvDraft04.default({
      allErrors: true,
      strict: false,
      unicodeRegExp: false,
    }).compile(schema);
    const sarif = JSON.parse(out.stdout) as {
      runs: {
        tool: {
          driver: {
            rules: {
              id: string;
              shortDescription: { text: string };
              properties: Record<string, unknown>;
            }[];
          };
        };
        results: {
          ruleId: string;
          level: string;
          message: { text: string };
          locations: {
            physicalLocation?: {
              artifactLocation: { uri: string };
              region?: { startLine: number };
            };
          }[];
          partialFingerprints: Record<string, string>;
        }[];
      }[];
    };
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
    const run = sarif.runs[0];
    const checkResults = run?.results.filter((r) => r.ruleId.startsWith('BOSUN-IMG-')) ?? [];
    expect(checkResults.map((r) => r.ruleId)).toEqual(checks.map((c) => c.id));
    expect(run?.results).toHaveLength(checks.length + (json.images[0]?.findings.length ?? 0));
    const rules = new Map(run?.tool.driver.rules.map((r) => [r.id, r]));
    expect(rules.get('BOSUN-IMG-011')?.shortDescription.text).toBe('Secret in a file of a layer');
    expect(rules.get('BOSUN-IMG-011')?.properties['security-severity']).toBe('9.5');
    expect(rules.get('BOSUN-IMG-001')?.properties['security-severity']).toBe('5.5');
    expect(rules.get('BOSUN-IMG-032')?.properties['security-severity']).toBe('2.0');
    const deleted = checkResults.find((r) => r.message.text.includes('AWS credentials file'));
    expect(deleted?.level).toBe('error');
    expect(deleted?.locations[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: 'root/.aws/credentials' },
      region: { startLine: 3 },
    });
    expect(deleted?.partialFingerprints.hardeningCheck).toContain(sha256Hex(AWS_EXAMPLE_SECRET));
  }, 60_000);
});

describe('bosun scan: checks in CycloneDX', () => {
  it('carries a bosun:check property per result on the metadata, in a valid 1.6 document', async () => {
    const out = scan(layout, '--format', 'cyclonedx');
    expect(out.status, out.stderr).toBe(0);
    expect(
      await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(out.stdout),
    ).toBeNull();
    const bom = JSON.parse(out.stdout) as {
      metadata: { properties: { name: string; value: string }[] };
    };
    const props = bom.metadata.properties.filter((p) => p.name === 'bosun:check');
    expect(props.map((p) => p.value).sort()).toEqual(
      [
        'BOSUN-IMG-001 MEDIUM Image runs as root by default @ config.User',
        'BOSUN-IMG-010 CRITICAL AWS access key ID in the image config @ config.Env[1]',
        'BOSUN-IMG-011 CRITICAL AWS access key ID in a file @ root/.aws/credentials:2 (layer 1, deleted by layer 2)',
        'BOSUN-IMG-011 CRITICAL AWS credentials file in a file @ root/.aws/credentials:3 (layer 1, deleted by layer 2)',
        'BOSUN-IMG-030 MEDIUM ADD of a remote URL @ history[1].created_by',
        'BOSUN-IMG-032 LOW No HEALTHCHECK @ config.Healthcheck',
      ].sort(),
    );
  }, 60_000);
});

describe('bosun scan --no-checks', () => {
  it('runs no check: no checks section, no checks in JSON or SARIF', () => {
    const table = scan(layout, '--no-checks');
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).not.toContain('checks:');
    expect(table.stdout).not.toContain('BOSUN-IMG-');
    const report = JSON.parse(scan(layout, '--no-checks', '--format', 'json').stdout) as JsonReport;
    expect(report.images[0]).not.toHaveProperty('checks');
    expect(report.images[0]?.findings).toEqual(json.images[0]?.findings);
    expect(scan(layout, '--no-checks', '--format', 'sarif').stdout).not.toContain('BOSUN-IMG-');
  }, 60_000);
});

describe('bosun scan --fail-on-check', () => {
  it('exits 1 when a check is at or above the severity, 0 when none is', () => {
    expect(scan(layout, '--fail-on-check', 'critical', '-q').status).toBe(1);
    // Alpine 3.10 as published: root by default (MEDIUM) and no HEALTHCHECK (LOW).
    expect(scan(ALPINE_310(), '--fail-on-check', 'HIGH', '-q').status).toBe(0);
    expect(scan(ALPINE_310(), '--fail-on-check', 'MEDIUM', '-q').status).toBe(1);
  }, 90_000);

  it('refuses a value that is no severity, and a gate with --no-checks', () => {
    const bad = scan(layout, '--fail-on-check', 'SEVERE');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(
      '--fail-on-check "SEVERE" is not a severity (CRITICAL, HIGH, MEDIUM, LOW)',
    );
    const both = scan(layout, '--no-checks', '--fail-on-check', 'HIGH');
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('--fail-on-check with --no-checks');
  }, 60_000);
});

describe('the planted secrets', () => {
  it('appear in no output of any format, no -o file and no cached layer fact', () => {
    for (const format of ['spdx', 'spdx-json', 'spdx3-json']) {
      const out = scan(layout, '--format', format);
      expect(out.status, out.stderr).toBe(0);
    }
    const file = path.join(work, 'report.json');
    expect(scan(layout, '--format', 'json', '-o', file).status).toBe(0);
    outputs.push({ what: file, text: readFileSync(file, 'utf8') });
    const cached = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const p = path.join(dir, name);
        return statSync(p).isDirectory() ? cached(p) : [p];
      });
    const cacheFiles = cached(cacheDir);
    expect(cacheFiles.length).toBeGreaterThan(0);
    for (const p of cacheFiles) outputs.push({ what: p, text: readFileSync(p).toString('latin1') });
    // Every format was produced: table, json, sarif, cyclonedx and the SPDX ones.
    expect(outputs.length).toBeGreaterThanOrEqual(10);
    for (const { what, text } of outputs)
      for (const value of PLANTED) expect(text.includes(value), `${value} in ${what}`).toBe(false);
  }, 90_000);
});
