/**
 * The simulated OSV export (bench/scale/simulate-osv.ts) from real records: a few of the
 * shared real folders that load in well under a second (RustSec with GHSA and CVE aliases, the
 * Node.js WG's npm advisories in their legacy format, AlmaLinux 10 with its CVEs under
 * `related`, CRAN whose versions have no scheme here), 764 records multiplied past two
 * copies so that the copy rules (new ids, shared and rewritten CVEs, renamed packages,
 * shifted versions) are all exercised. The export is read back through LocalFeedSource, the
 * reader `bosun db sync --from <folder|zip>` uses.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadRealRecords,
  NO_ECOSYSTEM,
  type RealRecords,
  SIMULATED_LABEL,
  type SimulateReport,
  simulateOsv,
} from '../../../bench/scale/simulate-osv.js';
import { ZipWriter } from '../../../bench/scale/zip-writer.js';
import { type OsvRecord, parseOsv } from '../../../shared/advisories/osv.js';
import { LocalFeedSource } from '../../../shared/feeds/sources/local.js';
import { ZipReader } from '../../../shared/zip.js';
import { dataDir } from '../../support/fixtures.js';

const ADVISORIES = path.join(dataDir(), 'advisories');
/** The first `count` advisory files of a real folder, as sources of their own. */
const firstFiles = (folder: string, count: number) =>
  readdirSync(path.join(ADVISORIES, folder))
    .filter((n) => n.endsWith('.json'))
    .sort()
    .slice(0, count)
    .map((n) => path.join(ADVISORIES, folder, n));
const SOURCES = [
  ...firstFiles('rustsec-osv/crates', 250),
  ...firstFiles('nodejs-security-wg/vuln/npm', 250),
  ...firstFiles('almalinux-osv/advisories/almalinux10', 250),
  path.join(ADVISORIES, 'rconsortium-r-advisory-database'),
];
const RECORDS = 2_000;
const CVE = /^CVE-(\d{4})-(\d+)$/;

let dir: string;
let real: RealRecords;
let report: SimulateReport;
/** Every generated record, by id, as the local feed source parsed it. */
const generated = new Map<string, OsvRecord>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'bosun-sim-osv-'));
  real = loadRealRecords(SOURCES);
  report = simulateOsv({ out: path.join(dir, 'osv'), records: RECORDS, real });
  for (const r of await readBack(report.out)) generated.set(r.id, r);
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every record `bosun db sync --from <location>` would read there, none with an issue. */
async function readBack(location: string): Promise<OsvRecord[]> {
  const source = new LocalFeedSource(location);
  const fetched = await source.fetch(undefined);
  if (fetched.kind !== 'changed') throw new Error(`${location}: nothing read`);
  const out: OsvRecord[] = [];
  for await (const entry of fetched.entries()) {
    const parsed = await source.parse(entry);
    expect(parsed.issues, entry.name).toEqual([]);
    out.push(...parsed.records);
  }
  await fetched.close();
  return out;
}

const realById = () =>
  new Map(real.records.map((r) => [r.id, JSON.parse(r.json) as OsvRecord] as const));

/** `SIM-<n>-<id>` → [n, id]. */
function origin(id: string): [number, string] {
  const m = /^SIM-(\d+)-(.+)$/.exec(id);
  if (m === null) throw new Error(`${id} is no simulated id`);
  return [Number(m[1]), m[2] as string];
}

describe('simulated OSV export', () => {
  it('writes exactly the records asked for, unique ids, each valid and labelled', () => {
    expect(report.layout).toBe('files');
    expect(report.records).toBe(RECORDS);
    expect(report.copies).toBeGreaterThan(1);
    expect(generated.size).toBe(RECORDS);
    for (const r of generated.values()) {
      expect(() => parseOsv(r, r.id)).not.toThrow();
      expect(r.database_specific?.simulated).toMatch(/^copy \d+ of .+, for benchmarks only$/);
    }
    expect(readFileSync(path.join(report.out, 'SIMULATED.md'), 'utf8')).toContain(SIMULATED_LABEL);
  });

  it("follows the real data's ecosystem mix", () => {
    const realCount = new Map<string, number>();
    for (const r of real.records) realCount.set(r.folder, (realCount.get(r.folder) ?? 0) + 1);
    const total = real.records.length;
    expect(Object.keys(report.ecosystems).sort()).toEqual([...realCount.keys()].sort());
    for (const [folder, n] of realCount) {
      const expected = (RECORDS * n) / total;
      // Within 0.5% of the records: the last copy is partial, and still proportional.
      expect(Math.abs((report.ecosystems[folder] ?? 0) - expected), folder).toBeLessThanOrEqual(
        RECORDS * 0.005,
      );
    }
    expect(realCount.has(NO_ECOSYSTEM)).toBe(false);
  });

  it('rewrites every named id consistently within a copy, and keeps some CVEs shared', () => {
    const originals = realById();
    /** (copy, real CVE) → the id that copy names instead, wherever it names it. */
    const cveOf = new Map<string, string>();
    let kept = 0;
    let rewritten = 0;
    for (const sim of generated.values()) {
      const [n, id] = origin(sim.id);
      const before = originals.get(id) as OsvRecord;
      for (const field of ['aliases', 'upstream', 'related'] as const) {
        const was = before[field] ?? [];
        const now = sim[field] ?? [];
        expect(now.length, `${sim.id} ${field}`).toBe(was.length);
        for (const [i, old] of was.entries()) {
          const mapped = now[i] as string;
          const cve = CVE.exec(old);
          if (cve === null) {
            expect(mapped).toBe(`SIM-${n}-${old}`);
            continue;
          }
          expect(mapped).toMatch(CVE);
          if (mapped === old) kept++;
          else {
            rewritten++;
            expect(mapped).toBe(`CVE-${cve[1]}-${n * 100_000_000 + Number(cve[2])}`);
          }
          const key = `${n}:${old}`;
          expect(cveOf.get(key) ?? mapped, key).toBe(mapped);
          cveOf.set(key, mapped);
        }
      }
    }
    // Copy 0 keeps every CVE; later copies keep about the real share of cross-database CVEs.
    expect(kept).toBeGreaterThan(0);
    expect(rewritten).toBeGreaterThan(0);
    const later = [...cveOf].filter(([key]) => !key.startsWith('0:'));
    const share = later.filter(([key, id]) => key.slice(key.indexOf(':') + 1) === id).length;
    expect(share / later.length).toBeCloseTo(real.aliases.sharedKeyShare, 1);
  });

  it('renames packages in some copies and shifts versions where the scheme keeps order', () => {
    const originals = realById();
    let renamed = 0;
    let shifted = 0;
    for (const sim of generated.values()) {
      const [n, id] = origin(sim.id);
      const before = originals.get(id) as OsvRecord;
      for (const [i, a] of (sim.affected ?? []).entries()) {
        const old = before.affected?.[i];
        if (a.package === undefined || old?.package === undefined) continue;
        if (a.package.name !== old.package.name) {
          renamed++;
          expect(a.package.name).toBe(`${old.package.name}-sim${n}`);
        }
        if (n === 0) expect(a).toEqual(old);
        const events = (a.ranges ?? []).flatMap((r) => r.events.map((e) => Object.values(e)[0]));
        const oldEvents = (old.ranges ?? []).flatMap((r) =>
          r.events.map((e) => Object.values(e)[0]),
        );
        if (JSON.stringify(events) !== JSON.stringify(oldEvents)) shifted++;
      }
    }
    expect(renamed).toBeGreaterThan(0);
    expect(shifted).toBeGreaterThan(0);
    expect(report.packageKeys).toBeGreaterThan(real.packageKeys);
  });

  it('lists every record in modified_id.csv, newest first, as the OSV source reads it', () => {
    const ids: string[] = [];
    for (const folder of Object.keys(report.ecosystems)) {
      const lines = readFileSync(path.join(report.out, folder, 'modified_id.csv'), 'utf8')
        .split('\n')
        .filter((l) => l !== '');
      expect(lines.length, folder).toBe(report.ecosystems[folder]);
      let last = Number.POSITIVE_INFINITY;
      for (const line of lines) {
        const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z),([A-Za-z0-9._:-]+)$/.exec(
          line,
        );
        expect(m, line).not.toBeNull();
        const time = Date.parse(m?.[1] as string);
        expect(time).toBeLessThanOrEqual(last);
        last = time;
        ids.push(m?.[2] as string);
      }
    }
    expect(new Set(ids)).toEqual(new Set(generated.keys()));
  });
});

describe('zip layout', () => {
  it("writes each ecosystem's records as osv.dev's all.zip, which the local source reads", async () => {
    const out = simulateOsv({ out: path.join(dir, 'zips'), records: 300, real, layout: 'zip' });
    const ids: string[] = [];
    for (const folder of Object.keys(out.ecosystems)) {
      const records = await readBack(path.join(out.out, folder, 'all.zip'));
      expect(records.length, folder).toBe(out.ecosystems[folder]);
      ids.push(...records.map((r) => r.id));
    }
    expect(new Set(ids).size).toBe(300);
  });

  it('writes ZIP64 end records that the zip reader follows', async () => {
    const file = path.join(dir, 'zip64.zip');
    const zip = new ZipWriter(file, { forceZip64: true });
    zip.add('a.json', Buffer.from('{"a":1}'));
    zip.add('b/c.json', Buffer.from('x'.repeat(100_000)));
    expect(zip.close().entries).toBe(2);
    const reader = await ZipReader.open(file);
    const read: Record<string, string> = {};
    for await (const e of reader.entries()) read[e.name] = (await e.read()).toString();
    reader.close();
    expect(read).toEqual({ 'a.json': '{"a":1}', 'b/c.json': 'x'.repeat(100_000) });
  });
});
