/**
 * `bosun scan --checks-config FILE` (the deployment's imageChecks document, shared/checks/config.ts)
 * on the image built from real files (test/support/check-images.ts): a severity changed and a
 * check disabled in every output and in --fail-on-check, a secret suppressed by its value hash
 * until its expiry; a bad file is a usage error naming it. And the exit code 4 when a gated
 * check could not read every file: an image whose layer holds more candidate files than the
 * layer's secret budget reads (shared/checks/collect.ts, DEFAULT_SECRET_BUDGET).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SECRET_BUDGET } from '../../../shared/checks/collect.js';
import { sha256Hex } from '../../../shared/checks/secrets.js';
import type { CheckIssue, CheckResult } from '../../../shared/checks/types.js';
import {
  AWS_EXAMPLE_SECRET,
  alpine310Layer,
  PLANTED,
  writeSecretsImage,
} from '../../support/check-images.js';
import { bosun } from '../../support/cli.js';
import { dataDir } from '../../support/fixtures.js';
import { LayoutWriter, tarOf } from '../../support/oci.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-checks-config-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const layout = path.join(work, 'image');
const cacheDir = path.join(work, 'cache');
const SECDB_310 = () => path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.10');

const scan = (source: string, ...args: string[]) =>
  bosun('scan', source, '--advisories', SECDB_310(), '--cache-dir', cacheDir, ...args);

function configFile(name: string, value: unknown): string {
  const file = path.join(work, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

type JsonReport = { images: { checks?: CheckResult[]; checkIssues?: CheckIssue[] }[] };
const checksOf = (stdout: string) =>
  ((JSON.parse(stdout) as JsonReport).images[0]?.checks ?? []).map((c) =>
    `${c.severity} ${c.id} ${c.secret?.rule ?? ''}`.trim(),
  );

beforeAll(async () => {
  await writeSecretsImage(layout);
}, 60_000);

describe('bosun scan --checks-config', () => {
  const config = {
    rules: [
      { repositories: ['*'], disable: ['BOSUN-IMG-030'], severity: { 'BOSUN-IMG-032': 'HIGH' } },
    ],
    suppressions: [
      {
        valueHash: `sha256:${sha256Hex(AWS_EXAMPLE_SECRET)}`,
        reason: "AWS's documented example secret key",
        author: 'security@example.com',
        expiresAt: '2099-01-01T00:00:00Z',
      },
    ],
  };

  it('disables, re-rates and suppresses in JSON, the table and SARIF', () => {
    const file = configFile('checks.json', config);
    const out = scan(layout, '--format', 'json', '--checks-config', file);
    expect(out.status, out.stderr).toBe(0);
    expect(checksOf(out.stdout)).toEqual([
      'CRITICAL BOSUN-IMG-010 aws-access-key-id',
      'CRITICAL BOSUN-IMG-011 aws-access-key-id',
      'HIGH BOSUN-IMG-032',
      'MEDIUM BOSUN-IMG-001',
    ]);
    const table = scan(layout, '--checks-config', file);
    expect(table.stdout).toMatch(/HIGH\s+BOSUN-IMG-032/);
    expect(table.stdout).not.toContain('BOSUN-IMG-030');
    const sarif = JSON.parse(scan(layout, '--format', 'sarif', '--checks-config', file).stdout) as {
      runs: { results: { ruleId: string }[] }[];
    };
    expect(sarif.runs[0]?.results.map((r) => r.ruleId)).not.toContain('BOSUN-IMG-030');
    for (const value of PLANTED)
      expect(`${out.stdout}${table.stdout}${table.stderr}`.includes(value), value).toBe(false);
  }, 90_000);

  it('gates --fail-on-check on the configured severities, and an expired suppression no longer applies', () => {
    const raised = configFile('raised.json', {
      rules: [{ repositories: ['*'], disable: ['BOSUN-IMG-010', 'BOSUN-IMG-011'] }],
    });
    expect(
      scan(layout, '--fail-on-check', 'CRITICAL', '-q', '--checks-config', raised).status,
    ).toBe(0);
    expect(scan(layout, '--fail-on-check', 'MEDIUM', '-q', '--checks-config', raised).status).toBe(
      1,
    );
    const expired = configFile('expired.json', {
      suppressions: [{ ...config.suppressions[0], expiresAt: '2020-01-01T00:00:00Z' }],
    });
    const out = scan(layout, '--format', 'json', '--checks-config', expired);
    expect(checksOf(out.stdout)).toContain('CRITICAL BOSUN-IMG-011 aws-credentials-file');
  }, 90_000);

  it('refuses a file that is missing or not a configuration, naming it', () => {
    const missing = scan(layout, '--checks-config', path.join(work, 'absent.json'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--checks-config');
    const bad = scan(
      layout,
      '--checks-config',
      configFile('bad.json', {
        rules: [{ repositories: ['*'], severity: { 'BOSUN-IMG-001': 'SEVERE' } }],
      }),
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('rules.0.severity.BOSUN-IMG-001');
    const both = scan(layout, '--no-checks', '--checks-config', configFile('ok.json', {}));
    expect(both.status).toBe(2);
  }, 60_000);
});

describe('bosun scan --fail-on-check when a layer was not read whole for secrets', () => {
  it('exits 4 (incomplete) when no check fails the gate, and says which layer', async () => {
    // One more candidate file than a layer's secret budget reads: the last is left unread.
    const files = Array.from({ length: DEFAULT_SECRET_BUDGET.files + 1 }, (_, i) => ({
      path: `srv/conf/${i}.txt`,
      content: 'setting=1\n',
    }));
    const dir = path.join(work, 'budget');
    const w = new LayoutWriter(dir);
    w.finish(
      w.image({ architecture: 'amd64', layers: [alpine310Layer(), await tarOf(files)] }),
      'latest',
    );
    const out = scan(dir, '--format', 'json', '--fail-on-check', 'CRITICAL');
    expect(out.status, out.stderr).toBe(4);
    expect((JSON.parse(out.stdout) as JsonReport).images[0]?.checkIssues).toEqual([
      {
        location: 'layer 1',
        message: "1 files were not read for secrets: the layer's secret budget was spent",
      },
    ]);
    // Without the gate nothing was asked of the checks: the scan's own exit code stands.
    expect(scan(dir, '-q').status).toBe(0);
    // A check that fails the gate still fails it (exit 1 wins over incomplete).
    expect(scan(dir, '-q', '--fail-on-check', 'MEDIUM').status).toBe(1);
  }, 180_000);
});
