/**
 * Reachability in every output, from a real Go binary (esbuild 0.15.18, built by Go 1.19.3,
 * whose standard library the real Go vulnerability database has many advisories for) in a
 * root filesystem scanned by the CLI: the table's REACHABLE column and summary, JSON (per
 * finding and counted), SARIF result properties (schema-valid), CycloneDX (a valid 1.6
 * document; `not_affected` / `code_not_reachable` only where the code is not linked),
 * --reachable-only (drops exactly the unreachable ones), the layer cache (a cached layer keeps
 * the table), and the SNS message's summary counts (schema-valid).
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import AjvDraft04 from 'ajv-draft-04';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goBinary } from '../../../shared/extractors/binary/go/buildinfo.js';
import { matchPackages } from '../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import type { Reachability } from '../../../shared/matcher/reachability.js';
import {
  buildMessage,
  dedupeKey,
  type Notification,
} from '../../../shared/notifications/message.js';
import { draftsOf } from '../../../shared/pipeline/lifecycle.js';
import type { FindingRecord } from '../../../shared/stores/findings-store.js';
import { loadOsvDir } from '../../support/advisories.js';
import { bosun } from '../../support/cli.js';
import { dataDir, PROJECT_ROOT, setupFile } from '../../support/fixtures.js';
import { notificationErrors } from '../../support/notification-schema.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-reach-out-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const rootfs = path.join(work, 'rootfs');
const cache = path.join(work, 'cache');
const DIGEST = `sha256:${'a'.repeat(64)}`;
const GO_DB = () => path.join(dataDir(), 'advisories/golang-vulndb/data/osv');

interface JsonFinding {
  id: string;
  package: string;
  reachability?: Reachability;
}
interface JsonReport {
  images: {
    summary: { reachability: { reachable: number; unreachable: number; unknown: number } };
    findings: JsonFinding[];
  }[];
}
const scan = (...args: string[]) => {
  const out = bosun('scan', `dir:${rootfs}`, '--advisories', GO_DB(), '--no-checks', ...args);
  expect(out.status, out.stderr).toBe(0);
  return out.stdout;
};

let report: JsonReport['images'][number];
beforeAll(() => {
  mkdirSync(path.join(rootfs, 'usr/local/bin'), { recursive: true });
  const target = path.join(rootfs, 'usr/local/bin/esbuild');
  copyFileSync(setupFile('go-binaries/esbuild-linux-64_0.15.18'), target);
  chmodSync(target, 0o755);
  report = (JSON.parse(scan('--format', 'json', '--cache-dir', cache)) as JsonReport)
    .images[0] as JsonReport['images'][number];
}, 180_000);

describe('reachability in the outputs', () => {
  it('JSON: every Go finding judged, counted in the summary; a cached layer says the same', () => {
    const verdicts = report.findings.map((f) => f.reachability?.reachable);
    expect(verdicts.every((v) => v !== undefined)).toBe(true);
    const count = (v: unknown) => verdicts.filter((x) => x === v).length;
    expect(report.summary.reachability).toEqual({
      reachable: count(true),
      unreachable: count(false),
      unknown: count('unknown'),
    });
    // A stdlib of 2022 has both: advisories for code esbuild links, and for code it does not.
    expect(count(true)).toBeGreaterThan(0);
    expect(count(false)).toBeGreaterThan(0);
    const again = JSON.parse(scan('--format', 'json', '--cache-dir', cache)) as JsonReport;
    expect(again.images[0]?.findings).toEqual(report.findings);
  }, 120_000);

  it('table: a REACHABLE column and the counts in the summary line', () => {
    const lines = scan().split('\n');
    const header = lines.find((l) => l.startsWith('SEVERITY'));
    expect(header).toMatch(/EXPLOIT\s+REACHABLE$/);
    const { reachable, unreachable, unknown } = report.summary.reachability;
    expect(
      lines.some((l) =>
        l.includes(
          `reachable ${reachable}, not reachable ${unreachable}, unknown ${unknown} (Go symbols)`,
        ),
      ),
    ).toBe(true);
    const rows = lines.filter((l) => /^(CRITICAL|HIGH|MEDIUM|LOW|NONE|UNKNOWN)\s/.test(l));
    expect(rows.length).toBe(report.findings.length);
    expect(rows.filter((r) => /\sno( \(package\))?$/.test(r)).length).toBe(unreachable);
  }, 120_000);

  it('--reachable-only leaves out exactly the findings whose code is not linked', () => {
    const only = (JSON.parse(scan('--format', 'json', '--reachable-only')) as JsonReport).images[0];
    expect(only?.findings.map((f) => f.id)).toEqual(
      report.findings.filter((f) => f.reachability?.reachable !== false).map((f) => f.id),
    );
    // What was left out is said, in the JSON summary and the table's line.
    const hidden = report.findings.filter((f) => f.reachability?.reachable === false).length;
    expect((only as unknown as { summary: { unreachableLeftOut?: number } }).summary).toMatchObject(
      { unreachableLeftOut: hidden },
    );
    expect(scan('--reachable-only')).toContain(
      `not reachable 0 (${hidden} more left out by --reachable-only)`,
    );
  }, 120_000);

  it('SARIF: the verdict as a result property, schema-valid', () => {
    const sarif = JSON.parse(scan('--format', 'sarif')) as {
      runs: { results: { ruleId: string; properties?: { reachability?: Reachability } }[] }[];
    };
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
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
    const results = sarif.runs[0]?.results ?? [];
    expect(results.map((r) => r.properties?.reachability)).toEqual(
      report.findings.map((f) => f.reachability),
    );
  }, 120_000);

  it('CycloneDX: not_affected / code_not_reachable only for unreachable findings, valid 1.6', async () => {
    const out = scan('--format', 'cyclonedx');
    await expect(
      new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(out),
    ).resolves.toBeNull();
    const bom = JSON.parse(out) as {
      vulnerabilities: {
        id: string;
        analysis?: { state: string; justification: string };
        properties?: { name: string; value: string }[];
      }[];
    };
    const byId = new Map(report.findings.map((f) => [f.id, f.reachability?.reachable]));
    for (const v of bom.vulnerabilities) {
      const reachable = v.properties?.find((p) => p.name === 'bosun:reachability')?.value;
      expect(reachable).toBe(String(byId.get(v.id)));
      if (reachable === 'false')
        expect(v.analysis).toMatchObject({
          state: 'not_affected',
          justification: 'code_not_reachable',
        });
      else expect(v.analysis).toBeUndefined();
    }
  }, 120_000);

  it('the SNS message counts them, schema-valid, from the stored findings', async () => {
    const index = new MemoryAdvisoryIndex();
    for (const r of loadOsvDir('golang-vulndb/data/osv').records) index.add(r);
    const result = await goBinary.extract(
      'usr/local/bin/esbuild',
      readFileSync(path.join(rootfs, 'usr/local/bin/esbuild')),
    );
    const { findings } = await matchPackages(
      result.packages.map((p) => ({ ...p, ecosystem: 'Go' })),
      index,
    );
    const now = '2026-12-07T00:00:00Z';
    const records: FindingRecord[] = draftsOf(
      DIGEST,
      findings,
      [],
      ['team/app'],
      Date.parse(now),
    ).map((d) => ({ ...d, firstObservedAt: now, lastObservedAt: now }));
    expect(records.every((r) => r.reachability !== undefined)).toBe(true);
    const message = buildMessage({
      eventType: 'SCAN_COMPLETED',
      dedupeKey: dedupeKey('SCAN_COMPLETED', DIGEST, ['generation:1']),
      occurredAt: now,
      trigger: 'push',
      image: {
        digest: DIGEST,
        registry: 'registry.example.test',
        repositories: ['team/app'],
        tags: [],
      },
      findings: records,
    });
    expect(notificationErrors(message.body)).toEqual([]);
    expect((JSON.parse(message.body) as Notification).summary.reachability).toEqual(
      report.summary.reachability,
    );
  }, 120_000);
});
