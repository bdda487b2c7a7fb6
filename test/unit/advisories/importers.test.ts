/**
 * The RubySec and npm legacy importers over every real advisory we hold, checked against an
 * independent reading of the original ranges: @renovatebot/ruby-semver's Gem::Requirement for
 * RubySec, node-semver's `satisfies` for npm, at every version the ranges name and around it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { satisfies as gemRequirementHolds } from '@renovatebot/ruby-semver';
import semverLib from 'semver';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { isAffected } from '../../../shared/advisories/affected.js';
import type { ImportIssue } from '../../../shared/advisories/importers/alpine-secdb.js';
import { importNpmLegacy } from '../../../shared/advisories/importers/npm-legacy.js';
import { importRubysec } from '../../../shared/advisories/importers/rubysec.js';
import { parseOsv } from '../../../shared/advisories/osv.js';
import { rubygems } from '../../../shared/versions/rubygems.js';
import { npm } from '../../../shared/versions/semver.js';
import { dataDir } from '../../support/fixtures.js';

describe('RubySec importer', () => {
  const root = path.join(dataDir(), 'advisories/rubysec-ruby-advisory-db/gems');
  const files = readdirSync(root).flatMap((gem) =>
    readdirSync(path.join(root, gem)).map((f) => `${gem}/${f}`),
  );

  it('converts all 1,234 gem advisories into valid OSV, agreeing with Gem::Requirement at every named version', () => {
    const issues: ImportIssue[] = [];
    let checked = 0;
    let converted = 0;
    for (const file of files) {
      const text = readFileSync(path.join(root, file), 'utf8');
      const record = importRubysec(text, file, issues);
      if (record === undefined) continue;
      converted++;
      expect(() => parseOsv(record, file)).not.toThrow();
      const original = parseYaml(text) as {
        patched_versions?: string[];
        unaffected_versions?: string[];
      };
      const requirements = [
        ...(original.patched_versions ?? []),
        ...(original.unaffected_versions ?? []),
      ];
      const approximated = new Set(
        issues
          .filter((i) => i.source === file)
          .map((i) => /^.*: >(\S+) written/.exec(i.message)?.[1]),
      );
      const named = requirements
        .flatMap((r) => [...r.matchAll(/(\d[\w.]*)/g)].map((m) => m[1] as string))
        .filter((v) => rubygems.valid(v));
      const affected = record.affected?.[0];
      for (const v of new Set(named)) {
        if (approximated.has(v)) continue;
        const safe = requirements.some((r) => gemRequirementHolds(v, r));
        expect(
          affected === undefined ? false : isAffected(v, affected, rubygems),
          `${file} at ${v}`,
        ).toBe(!safe);
        checked++;
      }
    }
    expect(converted).toBe(1234);
    expect(checked).toBeGreaterThan(2000);
    // The only notes: exclusive lower bounds OSV cannot state.
    for (const i of issues) expect(i.message).toMatch(/written as >=.*\(flags that version too\)$/);
  });
});

describe('npm legacy importer', () => {
  const root = path.join(dataDir(), 'advisories/nodejs-security-wg/vuln/npm');
  const files = readdirSync(root).filter((f) => f !== 'index.json');

  it('converts all 467 advisories into valid OSV, agreeing with node-semver around every version the ranges name', () => {
    const issues: ImportIssue[] = [];
    let checked = 0;
    for (const file of files) {
      const text = readFileSync(path.join(root, file), 'utf8');
      const record = importNpmLegacy(text, file, issues);
      expect(record, file).toBeDefined();
      if (record === undefined) continue;
      expect(() => parseOsv(record, file)).not.toThrow();
      const range = (JSON.parse(text) as { vulnerable_versions: string }).vulnerable_versions;
      const approximated = new Set(
        issues.filter((i) => i.source === file).map((i) => /: >(\S+) written/.exec(i.message)?.[1]),
      );
      const named = new Set(
        new semverLib.Range(range).set
          .flat()
          .flatMap((c) => (c.value === '' ? [] : [c.semver.version])),
      );
      const probes = [...named].flatMap((v) => [
        v,
        semverLib.inc(v, 'patch') as string,
        semverLib.inc(v, 'minor') as string,
      ]);
      for (const v of new Set(probes)) {
        if (approximated.has(v) || semverLib.prerelease(v) !== null) continue;
        const affected = record.affected?.[0];
        expect(
          affected === undefined ? false : isAffected(v, affected, npm),
          `${file} ${range} at ${v}`,
        ).toBe(semverLib.satisfies(v, range));
        checked++;
      }
    }
    expect(files.length).toBe(467);
    expect(checked).toBeGreaterThan(1000);
    expect(issues).toHaveLength(4);
  });

  it('refuses a malformed advisory with an issue naming the field', () => {
    const issues: ImportIssue[] = [];
    expect(importNpmLegacy('{"id": "x", "module_name": ""}', 'bad.json', issues)).toBeUndefined();
    expect(
      importNpmLegacy(
        '{"id": 9, "module_name": "m", "vulnerable_versions": "not a range"}',
        'range.json',
        issues,
      ),
    ).toBeUndefined();
    expect(importNpmLegacy('{', 'truncated.json', issues)).toBeUndefined();
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^bad\.json: not a legacy npm advisory: id: .*; module_name: /),
      'range.json: vulnerable_versions "not a range" is not an npm range; advisory skipped',
      expect.stringMatching(/^truncated\.json: not JSON: /),
    ]);
  });
});
