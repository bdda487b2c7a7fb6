/**
 * Alpine's older secdb files follow some ids with a note in parentheses (tcpdump in v3.10:
 * `CVE-2018-14466 (AFS/RX)`, `CVE-2018-10103 (SMB - partially fixed, but SMB printing
 * disabled)`). The note's words were read as more ids: advisories named `ALPINE-(AFS/RX)` and
 * `ALPINE-fixed,`. The id before the note is kept; the note is not an advisory.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlpineSecdbImporter } from '../../../shared/advisories/importers/alpine-secdb.js';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import { secfixesOf } from '../../../shared/advisories/importers/secdb-json.js';
import { dataDir } from '../../support/fixtures.js';

const file = path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.10/main.yaml');

describe('Alpine secdb ids followed by a note', () => {
  it('keeps the id before the note and makes no advisory of its words', () => {
    const importer = new AlpineSecdbImporter();
    importer.add(readFileSync(file, 'utf8'), 'v3.10/main.yaml');
    const records = importer.osv();
    const ids = records.map((r) => r.id);
    expect(ids.filter((id) => !/^ALPINE-[A-Za-z][A-Za-z0-9]*-[\w.:-]+$/.test(id))).toEqual([]);
    const tcpdump = (id: string) =>
      records.find((r) => r.id === id)?.affected?.some((a) => a.package?.name === 'tcpdump');
    expect(tcpdump('ALPINE-CVE-2018-14466')).toBe(true);
    expect(tcpdump('ALPINE-CVE-2018-10103')).toBe(true);
    // The one word of the file that is no id is a placeholder Alpine wrote beside a Xen
    // advisory: said, and the Xen id kept.
    expect(importer.issues.map((i) => i.message)).toEqual([
      'v3.10/main.yaml: xen: "CVE-????-?????" in "CVE-????-?????  XSA-295" is not a vulnerability id; skipped',
    ]);
    expect(ids).toContain('ALPINE-XSA-295');
  });

  it('says so when a word outside a note is not an id', () => {
    const issues: ImportIssue[] = [];
    const fixes = [
      ...secfixesOf(
        [{ pkg: { name: 'curl', secfixes: { '7.64.0-r0': ['CVE-2019-3822 and CVE-2019-3823'] } } }],
        'test',
        issues,
      ),
    ];
    expect(fixes.map((f) => f.id)).toEqual(['CVE-2019-3822', 'CVE-2019-3823']);
    expect(issues.map((i) => i.message)).toEqual([
      'test: curl: "and" in "CVE-2019-3822 and CVE-2019-3823" is not a vulnerability id; skipped',
    ]);
  });
});
