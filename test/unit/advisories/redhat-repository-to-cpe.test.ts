/**
 * Red Hat's repository-to-CPE mapping (advisories/importers/redhat-repository-to-cpe.ts) on the
 * whole real file (10,106 repositories, as of 2025-02-12) and vuln-list-update's two-repository
 * copy; malformed cases are the real file with one documented edit each.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import {
  importRepositoryToCpe,
  redHatEcosystemOfCpe,
} from '../../../shared/advisories/importers/redhat-repository-to-cpe.js';
import { dataDir } from '../../support/fixtures.js';

const realFile = () =>
  path.join(dataDir(), 'advisories/redhat-repository-to-cpe/repository-to-cpe.json');
const real = () => readFileSync(realFile());

function imported(content: Buffer | string, source = 'repository-to-cpe.json') {
  const issues: ImportIssue[] = [];
  return { mapping: importRepositoryToCpe(content, source, issues), issues };
}

describe('repository-to-CPE importer', () => {
  it('reads every repository of the whole real mapping, with its CPEs', () => {
    const { mapping, issues } = imported(real());
    expect(issues).toEqual([]);
    expect(mapping?.size).toBe(10_106);
    expect(new Set([...(mapping?.values() ?? [])].flat()).size).toBe(1_643);
    expect([...(mapping?.values() ?? [])].flat()).toHaveLength(15_415);
    expect(mapping?.get('rhel-8-for-x86_64-baseos-rpms')).toEqual([
      'cpe:/o:redhat:enterprise_linux:8::baseos',
    ]);
    expect(mapping?.get('rhel-8-for-x86_64-appstream-rpms')).toEqual([
      'cpe:/a:redhat:enterprise_linux:8::appstream',
    ]);
    expect(mapping?.get('rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4')).toEqual([
      'cpe:/o:redhat:rhel_eus:9.4::baseos',
    ]);
    expect(mapping?.get('rhocp-4.16-for-rhel-9-x86_64-rpms')).toEqual([
      'cpe:/a:redhat:openshift:4.16::el9',
    ]);
    // An entry without repo_relative_urls is as good as one with them.
    expect(mapping?.get('rhel-9-appstream-rpms')).toEqual([
      'cpe:/a:redhat:enterprise_linux:9::appstream',
    ]);
    expect(mapping?.get('3scale-amp-2-for-rhel-8-ppc64le-rpms')).toEqual([
      'cpe:/a:redhat:3scale:2.13::el8',
      'cpe:/a:redhat:3scale:2.14::el8',
      'cpe:/a:redhat:3scale:2.15::el8',
      'cpe:/a:redhat:3scale_amp:2.11::el8',
      'cpe:/a:redhat:3scale_amp:2.12::el8',
      'cpe:/a:redhat:3scale_amp:2.8::el8',
    ]);
    // The real-time repository of the OpenShift 4.16 image's manifest is not in this mapping.
    expect(mapping?.has('rhel-9-for-x86_64-rt-rpms__9_DOT_4')).toBe(false);
  });

  it("reads vuln-list-update's copy of the file", () => {
    const file = path.join(
      dataDir(),
      'advisories/vuln-list-update-fixtures/redhat/oval/testdata/happy/repository-to-cpe.json',
    );
    const { mapping, issues } = imported(readFileSync(file));
    expect(issues).toEqual([]);
    expect([...(mapping?.keys() ?? [])]).toEqual([
      '3scale-amp-2-for-rhel-8-ppc64le-debug-rpms',
      '3scale-amp-2-for-rhel-8-ppc64le-rpms',
    ]);
  });

  it('leaves out each malformed repository with an issue naming it and the bad value, and keeps the rest', () => {
    // The real file with four edits: one repository without CPEs, one whose CPE is no CPE, one
    // whose entry is a string, and one repository id with a space.
    const doc = JSON.parse(real().toString('utf8')) as {
      data: Record<string, unknown>;
    };
    doc.data['rhel-8-for-x86_64-baseos-rpms'] = { cpes: [] };
    doc.data['rhel-8-for-x86_64-appstream-rpms'] = { cpes: ['enterprise_linux:8::appstream'] };
    doc.data['rhel-9-appstream-rpms'] = 'cpe:/a:redhat:enterprise_linux:9::appstream';
    doc.data['rhel 9 baseos'] = doc.data['rhel-9-baseos-rpms'];
    const { mapping, issues } = imported(JSON.stringify(doc), 'edited.json');
    expect(mapping?.size).toBe(10_106 - 3);
    expect(mapping?.get('rhel-9-baseos-rpms')).toEqual([
      'cpe:/o:redhat:enterprise_linux:9::baseos',
    ]);
    const messages = issues.map((i) => i.message).sort();
    expect(messages).toHaveLength(4);
    expect(messages[0]).toMatch(
      /^edited\.json: repository id "rhel 9 baseos" is not a repository label/,
    );
    expect(messages[1]).toMatch(
      /^edited\.json: repository rhel-8-for-x86_64-appstream-rpms: cpes\.0: .*CPE 2\.2 URI.*; left out$/,
    );
    expect(messages[2]).toMatch(/^edited\.json: repository rhel-8-for-x86_64-baseos-rpms: cpes: /);
    expect(messages[3]).toMatch(/^edited\.json: repository rhel-9-appstream-rpms: \(root\): /);
    expect(issues.every((i) => i.source === 'edited.json')).toBe(true);
  });

  it('makes one issue and no mapping of a file that is not the mapping at all', () => {
    // The real file cut short; a real JSON file of another kind (a UBI content manifest).
    const cut = imported(real().subarray(0, 4096));
    expect(cut.mapping).toBeUndefined();
    expect(cut.issues).toHaveLength(1);
    expect(cut.issues[0]?.message).toMatch(/^repository-to-cpe\.json: not JSON: /);
    const manifest = readFileSync(
      path.join(
        dataDir(),
        'pkgdbs/trivy/pkg/fanal/analyzer/buildinfo/testdata/content_manifests/ubi8-minimal-container-8.5-218.json',
      ),
    );
    const other = imported(manifest);
    expect(other.mapping).toBeUndefined();
    expect(other.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^repository-to-cpe\.json: not a repository-to-CPE mapping: data: /),
    ]);
  });

  it("names each Red Hat CPE's OSV ecosystem, and none for another vendor's", () => {
    expect(redHatEcosystemOfCpe('cpe:/o:redhat:enterprise_linux:9::baseos')).toBe(
      'Red Hat:enterprise_linux:9::baseos',
    );
    expect(redHatEcosystemOfCpe('cpe:/a:redhat:rhel_eus:9.4::appstream')).toBe(
      'Red Hat:rhel_eus:9.4::appstream',
    );
    // Both are in the real mapping (cf-me-5.1-for-rhel-5-rpms, openliberty-textonly-1-…).
    const { mapping } = imported(real());
    expect(mapping?.get('cf-me-5.1-for-rhel-5-rpms')).toEqual([
      'cpe:/a:cloudforms_managementengine:5::el5',
    ]);
    expect(redHatEcosystemOfCpe('cpe:/a:cloudforms_managementengine:5::el5')).toBeUndefined();
    const foreign = [...(mapping?.entries() ?? [])].filter(([, cpes]) =>
      cpes.some((c) => redHatEcosystemOfCpe(c) === undefined),
    );
    expect(foreign).toHaveLength(17);
  });
});
