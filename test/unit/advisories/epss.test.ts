/**
 * FIRST's EPSS CSV (advisories/importers/epss.ts) on the real rows that exist: vunnel's
 * example-1.csv checked against vunnel's snapshots, its two negative cases (a wrong header, no
 * score date), and claircore's 29 rows. No whole daily file could be obtained (see the shared
 * data's README), so the line-by-line reader is checked on these rows; malformed rows are
 * claircore's file with one documented edit each.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import {
  type EpssFact,
  EpssFileError,
  EpssReader,
  epssFacts,
} from '../../../shared/advisories/importers/epss.js';
import { dataDir } from '../../support/fixtures.js';

const file = (relative: string) => path.join(dataDir(), 'advisories', relative);
const text = (relative: string) => readFileSync(file(relative), 'utf8');
const VUNNEL = 'vunnel-fixtures/tests/unit/providers/epss/test-fixtures';
const CLAIRCORE = 'claircore-fixtures/enricher/epss/testdata/data.csv';

function read(relative: string, body = text(relative)) {
  const issues: ImportIssue[] = [];
  const out = epssFacts(body, path.basename(relative), issues);
  return {
    ...out,
    issues: issues.map((i) => i.message),
    byCve: new Map(out.facts.map((f) => [f.cve, f.facts])),
  };
}

/** claircore's file with one edit, checked to apply exactly once. */
function edited(from: string, to: string): string {
  const body = text(CLAIRCORE);
  expect(body.split(from)).toHaveLength(2);
  return body.replace(from, to);
}

describe('EPSS CSV', () => {
  it("reads vunnel's example as vunnel's snapshots do", () => {
    const { facts, issues, byCve, modelVersion, scoreDate } = read(`${VUNNEL}/example-1.csv`);
    expect(issues).toEqual([]);
    expect(modelVersion).toBe('v2023.03.01');
    expect(scoreDate).toBe('2025-02-20T00:00:00+0000');
    const dir = `${VUNNEL}/snapshots/example-1`;
    const snapshots = readdirSync(file(dir));
    expect(facts.map((f) => `${f.cve.toLowerCase()}.json`).sort()).toEqual(snapshots.sort());
    for (const name of snapshots) {
      const { item } = JSON.parse(text(`${dir}/${name}`));
      expect(byCve.get(item.cve), name).toEqual({
        score: item.epss,
        percentile: item.percentile,
        date: item.date,
      });
    }
  });

  it("reads claircore's 29 rows, the last without a newline", () => {
    const { facts, issues, byCve, scoreDate } = read(CLAIRCORE);
    expect(issues).toEqual([]);
    expect(scoreDate).toBe('2024-10-25T00:00:00+0000');
    const rows = text(CLAIRCORE)
      .split('\n')
      .filter((l) => l.startsWith('CVE-'));
    expect(rows).toHaveLength(29);
    expect(facts.map((f) => f.cve)).toEqual(rows.map((r) => r.split(',')[0]));
    expect(facts.every((f) => f.kind === 'epss' && f.facts.date === '2024-10-25')).toBe(true);
    expect(byCve.get('CVE-1999-0005')).toEqual({
      score: 0.91963,
      percentile: 0.9903,
      date: '2024-10-25',
    });
    expect(byCve.get('CVE-2024-9987')).toEqual({
      score: 0.00043,
      percentile: 0.09778,
      date: '2024-10-25',
    });
  });

  it("refuses vunnel's negative cases: a header that is not FIRST's, no score date", () => {
    const header = read(`${VUNNEL}/invalid-header.csv`);
    expect(header.facts).toEqual([]);
    expect(header.scoreDate).toBeUndefined();
    expect(header.issues).toEqual([
      'invalid-header.csv: line 2: header "invalid,header,format" is not cve,epss,percentile: not EPSS CSV',
    ]);
    const undated = read(`${VUNNEL}/missing-date.csv`);
    expect(undated.facts).toEqual([]);
    expect(undated.modelVersion).toBeUndefined();
    expect(undated.issues).toEqual([
      'missing-date.csv: line 1 "#model_version:v2023.03.01" has no score_date: not EPSS CSV',
    ]);
    // A score date that is no day, and a file with nothing after its metadata line.
    expect(read(CLAIRCORE, edited('2024-10-25T', '2024-02-30T')).issues).toEqual([
      'data.csv: line 1: score_date "2024-02-30T00:00:00+0000" is not an RFC 3339 date-time',
    ]);
    expect(read(CLAIRCORE, `${text(CLAIRCORE).split('\n')[0]}\n`).issues).toEqual([
      'data.csv: no header after the metadata line: not EPSS CSV',
    ]);
    expect(read(CLAIRCORE, '').issues).toEqual(['data.csv: empty: not EPSS CSV']);
  });

  it('skips a bad row, naming the line, the CVE and the value, and reads the rest', () => {
    const cases: [string, string, string][] = [
      // A score over 1.
      [
        'CVE-1999-0006,0.03341,',
        'CVE-1999-0006,1.03341,',
        'data.csv: line 4 CVE-1999-0006: epss "1.03341" is not a number from 0 to 1; skipped',
      ],
      // A percentile left empty.
      [
        'CVE-1999-0007,0.00073,0.32734',
        'CVE-1999-0007,0.00073,',
        'data.csv: line 5 CVE-1999-0007: percentile "" is not a number from 0 to 1; skipped',
      ],
      // A CVE id that is not one.
      [
        'CVE-2022-34665,',
        'CVE-22-34665,',
        'data.csv: line 9: cve "CVE-22-34665" is not a CVE id; skipped',
      ],
      // A fourth field.
      [
        'CVE-2024-9972,0.00091,0.39923',
        'CVE-2024-9972,0.00091,0.39923,2024-10-25',
        'data.csv: line 20 CVE-2024-9972: 4 fields, the header has 3: "CVE-2024-9972,0.00091,0.39923,2024-10-25"; skipped',
      ],
      // Not a number at all.
      [
        'CVE-1999-0008,0.13967',
        'CVE-1999-0008,NaN',
        'data.csv: line 6 CVE-1999-0008: epss "NaN" is not a number from 0 to 1; skipped',
      ],
    ];
    for (const [from, to, message] of cases) {
      const { facts, issues } = read(CLAIRCORE, edited(from, to));
      expect(issues, to).toEqual([message]);
      expect(facts, to).toHaveLength(28);
    }
  });

  it('reads line by line what it reads whole, CRLF and a byte-order mark included', () => {
    const body = text(CLAIRCORE);
    const issues: ImportIssue[] = [];
    const reader = new EpssReader('data.csv', issues);
    const facts: EpssFact[] = [];
    for (const line of `\uFEFF${body.replaceAll('\n', '\r\n')}`.split('\n')) {
      const fact = reader.line(line);
      if (fact !== undefined) facts.push(fact);
      // The metadata line is read before any row.
      if (fact !== undefined) expect(reader.preamble?.date).toBe('2024-10-25');
    }
    reader.end();
    expect(issues).toEqual([]);
    expect(facts).toEqual(read(CLAIRCORE).facts);
    expect(reader.preamble).toEqual({
      modelVersion: 'v2023.03.01',
      scoreDate: '2024-10-25T00:00:00+0000',
      date: '2024-10-25',
    });
  });

  it("refuses a line longer than any of FIRST's as not EPSS CSV", () => {
    const reader = new EpssReader('data.csv', []);
    const [meta, header] = text(CLAIRCORE).split('\n');
    reader.line(meta as string);
    reader.line(header as string);
    expect(() => reader.line(`CVE-1999-0005,${'9'.repeat(2000)},0.99030`)).toThrow(EpssFileError);
    expect(() => new EpssReader('x', []).line('#'.repeat(2000))).toThrow(
      /line 1 is over 1024 characters/,
    );
  });
});
