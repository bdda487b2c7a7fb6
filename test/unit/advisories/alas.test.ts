/**
 * ALAS updateinfo files (advisories/importers/alas.ts): the real AL2, AL2022 and AL2023
 * fixtures of vuln-list-update, checked against that project's golden files (its own reading of
 * the same updates), and its deliberately broken file.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alasRelease, importUpdateInfo } from '../../../shared/advisories/importers/alas.js';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import { dataDir } from '../../support/fixtures.js';

const dir = () => path.join(dataDir(), 'advisories/vuln-list-update-fixtures/amazon/testdata');

interface Golden {
  id: string;
  severity: string;
  cveids: string[];
  packages: { name: string; epoch: string; version: string; release: string }[];
}

function imported(file: string) {
  const issues: ImportIssue[] = [];
  const records = importUpdateInfo(readFileSync(path.join(dir(), 'fixtures', file)), file, issues);
  return { records, issues };
}

describe('ALAS updateinfo', () => {
  it.each([
    ['updateinfo_AL2023.xml.gz', 'ALAS2023-2023-001', 'Amazon Linux:2023'],
    ['updateinfo_AL2022.xml.gz', 'ALAS2022-2021-001', 'Amazon Linux:2022'],
    ['updateinfo_2_items.xml.gz', 'ALAS2-2018-942', 'Amazon Linux:2'],
  ])(
    'reads %s as vuln-list-update does: every fixed package, its epoch, the CVEs',
    (file, id, ecosystem) => {
      const { records, issues } = imported(file);
      expect(issues).toEqual([]);
      const record = records.find((r) => r.id === id);
      const golden = JSON.parse(
        readFileSync(path.join(dir(), `${id}.json.golden`), 'utf8'),
      ) as Golden;
      expect(record?.upstream).toEqual([...golden.cveids].sort());
      expect(record?.database_specific?.severity).toBe(golden.severity);
      const fixed = Object.fromEntries(
        (record?.affected ?? []).map((a) => {
          expect(a.package?.ecosystem).toBe(ecosystem);
          const events = a.ranges?.[0]?.events ?? [];
          return [a.package?.name, events.find((e) => 'fixed' in e)?.fixed];
        }),
      );
      const expected = Object.fromEntries(
        golden.packages.map((p) => [
          p.name,
          `${p.epoch === '0' ? '' : `${p.epoch}:`}${p.version}-${p.release}`,
        ]),
      );
      expect(fixed).toEqual(expected);
    },
  );

  it('refuses a file that is not well-formed XML with one issue, and names ids of other shapes', () => {
    const { records, issues } = imported('updateinfo_invalid.xml.gz');
    expect(records).toEqual([]);
    expect(issues).toEqual([
      {
        source: 'updateinfo_invalid.xml.gz',
        message: expect.stringMatching(/^updateinfo_invalid\.xml\.gz: not well-formed XML: /),
      },
    ]);
    expect(
      [
        'ALAS-2018-1000',
        'ALAS2-2018-939',
        // An extras id names a topic, not a release: its repository's release decides.
        'ALASKERNEL-5.15-2023-024',
        'ALAS2023-2023-001',
        'RHSA-2024:1',
      ].map(alasRelease),
    ).toEqual(['1', '2', undefined, '2023', undefined]);
  });
});
