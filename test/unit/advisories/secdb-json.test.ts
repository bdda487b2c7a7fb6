/**
 * Wolfi and Chainguard secdb JSON (advisories/importers/secdb-json.ts) on the real files:
 * vunnel's Wolfi fixture checked against vunnel's 59 snapshots of it, vuln-list-update's Wolfi
 * fixture against its golden, and vunnel's Chainguard fixture against its own secfixes. Broken
 * inputs are real files of other kinds, or one documented edit of a real file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import {
  importSecdbJson,
  isSecdbJson,
  secdbDistroOf,
} from '../../../shared/advisories/importers/secdb-json.js';
import type { OsvRecord } from '../../../shared/advisories/osv.js';
import { dataDir } from '../../support/fixtures.js';

const advisories = () => path.join(dataDir(), 'advisories');
const wolfiDir = () =>
  path.join(advisories(), 'vunnel-fixtures/tests/unit/providers/wolfi/test-fixtures');
const WOLFI = () => path.join(wolfiDir(), 'input/secdb/security.json');
const WOLFI_VULN_LIST = () =>
  path.join(advisories(), 'vuln-list-update-fixtures/wolfi/testdata/security.json');
const CHAINGUARD = () =>
  path.join(
    advisories(),
    'osv-samples-misc/anchore__vunnel/tests/unit/providers/chainguard/test-fixtures/input/secdb/security.json',
  );
const text = (file: string) => readFileSync(file, 'utf8');

/** Each package's fixed version, by `ecosystem#name`. */
function fixes(record: OsvRecord | undefined): Record<string, string | undefined> {
  return Object.fromEntries(
    (record?.affected ?? []).map((a) => {
      const fixed = a.ranges?.[0]?.events.find((e) => 'fixed' in e);
      return [
        `${a.package?.ecosystem}#${a.package?.name}`,
        fixed !== undefined && 'fixed' in fixed ? fixed.fixed : undefined,
      ];
    }),
  );
}

function imported(file: string, distro?: 'Wolfi' | 'Chainguard', modified?: string) {
  const issues: ImportIssue[] = [];
  const records = importSecdbJson(text(file), path.basename(file), issues, distro, modified);
  return { records, issues, byId: new Map(records.map((r) => [r.id, r])) };
}

describe('Wolfi and Chainguard secdb JSON', () => {
  it("reads vunnel's Wolfi secdb as vunnel's snapshots do; `0` (never affected) is a record without entries", () => {
    const { records, issues, byId } = imported(WOLFI(), undefined, '2023-11-15T00:00:00Z');
    expect(issues).toEqual([]);
    const snapshots = readdirSync(path.join(wolfiDir(), 'snapshots/wolfi:rolling'));
    expect(snapshots).toHaveLength(59);
    expect(records.map((r) => r.id).sort()).toEqual(
      snapshots.map((f) => `WOLFI-${f.replace(/\.json$/, '')}`).sort(),
    );
    for (const file of snapshots) {
      const v = (
        JSON.parse(text(path.join(wolfiDir(), 'snapshots/wolfi:rolling', file))) as {
          item: { Vulnerability: { Name: string; FixedIn: { Name: string; Version: string }[] } };
        }
      ).item.Vulnerability;
      const record = byId.get(`WOLFI-${v.Name}`);
      expect(record?.aliases).toEqual([v.Name]);
      expect(record?.modified).toBe('2023-11-15T00:00:00Z');
      expect(fixes(record), v.Name).toEqual(
        Object.fromEntries(
          v.FixedIn.filter((f) => f.Version !== '0').map((f) => [`Wolfi#${f.Name}`, f.Version]),
        ),
      );
    }
    expect(byId.get('WOLFI-CVE-2022-42916')?.affected?.[0]?.package).toEqual({
      ecosystem: 'Wolfi',
      name: 'curl',
      purl: 'pkg:apk/wolfi/curl',
    });
    // apko's `0` names a GHSA id too: its own record, nothing affected.
    expect(byId.get('WOLFI-GHSA-jq35-85cj-fj4p')).toEqual({
      id: 'WOLFI-GHSA-jq35-85cj-fj4p',
      modified: '2023-11-15T00:00:00Z',
      aliases: ['GHSA-jq35-85cj-fj4p'],
    });
  });

  it("reads vuln-list-update's Wolfi secdb as its golden does", () => {
    const { records, issues } = imported(WOLFI_VULN_LIST());
    expect(issues).toEqual([]);
    const golden = JSON.parse(
      text(
        path.join(advisories(), 'vuln-list-update-fixtures/wolfi/testdata/golden/binutils.json'),
      ),
    ) as { name: string; secfixes: Record<string, string[]> };
    expect(
      Object.fromEntries(records.map((r) => [r.aliases?.[0], fixes(r)[`Wolfi#${golden.name}`]])),
    ).toEqual(
      Object.fromEntries(
        Object.entries(golden.secfixes).flatMap(([version, ids]) => ids.map((id) => [id, version])),
      ),
    );
    // No date known: the record says so.
    expect(records[0]?.modified).toBe('1970-01-01T00:00:00Z');
  });

  it("reads vunnel's Chainguard secdb (its urlprefix names cgr.dev) in the Chainguard ecosystem", () => {
    const { records, issues, byId } = imported(CHAINGUARD());
    expect(issues).toEqual([]);
    const doc = JSON.parse(text(CHAINGUARD())) as {
      packages: { pkg: { name: string; secfixes: Record<string, string[]> } }[];
    };
    const expected = new Map<string, Record<string, string>>();
    for (const { pkg } of doc.packages)
      for (const [version, ids] of Object.entries(pkg.secfixes))
        for (const id of ids) {
          const entry = expected.get(id) ?? {};
          if (version !== '0') entry[`Chainguard#${pkg.name}`] = version;
          expected.set(id, entry);
        }
    expect(records).toHaveLength(189);
    for (const [id, entry] of expected)
      expect(fixes(byId.get(`CHAINGUARD-${id}`)), id).toEqual(entry);
    // Two Go streams fixed at their own versions; Python never affected by the tarfile CVE.
    expect(fixes(byId.get('CHAINGUARD-CVE-2022-41723'))).toEqual({
      'Chainguard#go-1.19': '1.19.6-r1',
      'Chainguard#go-1.20': '1.20.1-r1',
    });
    expect(byId.get('CHAINGUARD-CVE-2007-4559')?.affected).toBeUndefined();
    expect(byId.get('CHAINGUARD-CVE-2022-41723')?.affected?.[0]?.package?.purl).toBe(
      'pkg:apk/chainguard/go-1.19',
    );
  });

  it('takes the distribution from the caller first, else from the download URL, else reports the file', () => {
    const wolfi = JSON.parse(text(WOLFI())) as Record<string, unknown>;
    const chainguard = JSON.parse(text(CHAINGUARD())) as Record<string, unknown>;
    expect(secdbDistroOf(wolfi as never)).toBe('Wolfi');
    expect(secdbDistroOf(chainguard as never)).toBe('Chainguard');
    expect(imported(WOLFI(), 'Chainguard').records[0]?.id).toMatch(/^CHAINGUARD-/);
    // Edit: the real Wolfi file without its urlprefix, so that apkurl names no host.
    const issues: ImportIssue[] = [];
    const { urlprefix: _, ...bare } = wolfi;
    expect(importSecdbJson(JSON.stringify(bare), 'security.json', issues)).toEqual([]);
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringMatching(
        /^security\.json: apkurl "\{\{urlprefix\}\}\/\{\{reponame\}\}\/.*" with urlprefix null names neither Wolfi .* nor Chainguard .*; name the distribution$/,
      ),
    ]);
    expect(importSecdbJson(JSON.stringify(bare), 'security.json', [], 'Wolfi')).toHaveLength(59);
  });

  it('tells its files from Alpine secdb and other JSON for the loader', () => {
    const osvIndex = JSON.parse(
      text(
        path.join(
          advisories(),
          'osv-samples-misc/anchore__vunnel/tests/unit/providers/chainguard/test-fixtures/input/osv/all.json',
        ),
      ),
    );
    expect(isSecdbJson(JSON.parse(text(WOLFI())))).toBe(true);
    expect(isSecdbJson(JSON.parse(text(CHAINGUARD())))).toBe(true);
    expect(isSecdbJson(osvIndex)).toBe(false);
    // Alpine's own secdb names its release: not this format.
    expect(isSecdbJson({ ...JSON.parse(text(WOLFI())), distroversion: 'v3.15' })).toBe(false);
  });

  it('reports a file that is not secdb JSON, and a fixed version that is not an apk version, and goes on', () => {
    const issues: ImportIssue[] = [];
    // A real JSON file of another kind: Chainguard's OSV index.
    const index = path.join(
      advisories(),
      'osv-samples-misc/anchore__vunnel/tests/unit/providers/chainguard/test-fixtures/input/osv/all.json',
    );
    expect(importSecdbJson(text(index), 'all.json', issues)).toEqual([]);
    // vuln-list-update's deliberately broken JSON.
    const broken = path.join(
      advisories(),
      'vuln-list-update-fixtures/photon/testdata/cve_data_photon_invalid_format.json',
    );
    expect(importSecdbJson(text(broken), 'broken.json', issues)).toEqual([]);
    // Edit: binutils' first fix with a space in its version.
    const edited = text(WOLFI()).replace('"2.39-r1": [', '"2.39 r1": [');
    const records = importSecdbJson(edited, 'security.json', issues);
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^all\.json: not a secdb JSON file: \(root\): /),
      expect.stringMatching(/^broken\.json: not JSON: /),
      'security.json: binutils: fixed version "2.39 r1" is not an apk version; skipped',
    ]);
    expect(records).toHaveLength(58);
    expect(records.some((r) => r.id === 'WOLFI-CVE-2022-38126')).toBe(false);
    expect(fixes(records.find((r) => r.id === 'WOLFI-CVE-2022-38533'))).toEqual({
      'Wolfi#binutils': '2.39-r2',
    });
  });
});
