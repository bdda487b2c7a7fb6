/**
 * `npm run bench:match`: loads every advisory under ../shared/data/advisories (OSV sets, and
 * RubySec, npm legacy and Alpine secdb through their importers) into the matcher's in-memory
 * index, then matches inventories of 100, 1,000 and 5,000 distinct packages drawn from the
 * real packages those advisories name, each at a version an advisory names. Prints load time, packages matched per second
 * and p50/p99 per inventory, warm. Target: a 1,000-package inventory in under 50 ms.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../scripts/local/services.js';
import {
  AlpineSecdbImporter,
  type ImportIssue,
} from '../shared/advisories/importers/alpine-secdb.js';
import { importNpmLegacy } from '../shared/advisories/importers/npm-legacy.js';
import { importRubysec } from '../shared/advisories/importers/rubysec.js';
import { InvalidAdvisoryError, type OsvRecord, parseOsv } from '../shared/advisories/osv.js';
import { matchPackages } from '../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../shared/matcher/memory-index.js';
import type { InventoryPackage } from '../shared/matcher/types.js';

const DATA = path.resolve(
  process.env.BOSUN_DATA_DIR ?? path.join(PROJECT_ROOT, '..', 'shared', 'data'),
  'advisories',
);

const walk = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap((n) =>
      statSync(path.join(dir, n)).isDirectory() ? walk(path.join(dir, n)) : [path.join(dir, n)],
    );

function load(): { records: OsvRecord[]; invalid: number; issues: ImportIssue[] } {
  const records: OsvRecord[] = [];
  const issues: ImportIssue[] = [];
  let invalid = 0;
  for (const dir of [
    'golang-vulndb/data/osv',
    'pypa-advisory-database/vulns',
    'rustsec-osv/crates',
    'almalinux-osv/advisories',
    'rconsortium-r-advisory-database/vulns',
  ]) {
    for (const file of walk(path.join(DATA, dir))) {
      if (!/\.(json|ya?ml)$/.test(file)) continue;
      const text = readFileSync(file, 'utf8');
      try {
        records.push(parseOsv(file.endsWith('.json') ? JSON.parse(text) : parseYaml(text), file));
      } catch (error) {
        if (!(error instanceof InvalidAdvisoryError)) throw error;
        invalid++;
      }
    }
  }
  for (const file of walk(path.join(DATA, 'rubysec-ruby-advisory-db/gems'))) {
    const r = importRubysec(readFileSync(file, 'utf8'), file, issues);
    if (r !== undefined) records.push(r);
  }
  for (const file of walk(path.join(DATA, 'nodejs-security-wg/vuln/npm'))) {
    if (file.endsWith('index.json')) continue;
    const r = importNpmLegacy(readFileSync(file, 'utf8'), file, issues);
    if (r !== undefined) records.push(r);
  }
  const secdb = new AlpineSecdbImporter();
  for (const file of walk(path.join(DATA, 'alpine-secdb-legacy')))
    if (file.endsWith('.yaml')) secdb.add(readFileSync(file, 'utf8'), file);
  records.push(...secdb.osv());
  issues.push(...secdb.issues);
  return { records, invalid, issues };
}

/** Real (ecosystem, package, version) triples: every version an advisory names for its package. */
function universe(records: readonly OsvRecord[]): InventoryPackage[] {
  const seen = new Set<string>();
  const out: InventoryPackage[] = [];
  for (const r of records) {
    for (const a of r.affected ?? []) {
      if (a.package === undefined) continue;
      for (const range of a.ranges ?? []) {
        if (range.type === 'GIT') continue;
        for (const e of range.events) {
          const v = 'introduced' in e ? e.introduced : 'fixed' in e ? e.fixed : undefined;
          if (v === undefined || v === '0') continue;
          const key = `${a.package.ecosystem}|${a.package.name}|${v}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({
            ecosystem: a.package.ecosystem,
            name: a.package.name,
            version: v,
            sourceName: a.package.name,
          });
        }
      }
    }
  }
  return out;
}

/**
 * An inventory of `n` distinct packages, each at one of the versions its advisories name (so
 * most are affected by something: harder than a real image). Deterministic for a seed.
 */
function sample(all: readonly InventoryPackage[], n: number, seed: number): InventoryPackage[] {
  const byPackage = new Map<string, InventoryPackage[]>();
  for (const p of all) {
    const key = `${p.ecosystem}|${p.name}`;
    byPackage.set(key, [...(byPackage.get(key) ?? []), p]);
  }
  const keys = [...byPackage.keys()];
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  const chosen = new Set<string>();
  while (chosen.size < Math.min(n, keys.length)) chosen.add(keys[next() % keys.length] as string);
  return [...chosen].map((k) => {
    const versions = byPackage.get(k) as InventoryPackage[];
    return versions[next() % versions.length] as InventoryPackage;
  });
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[
    Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))
  ] as number;

async function main(): Promise<void> {
  const t0 = performance.now();
  const { records, invalid, issues } = load();
  const index = new MemoryAdvisoryIndex();
  for (const r of records) index.add(r);
  const loadMs = performance.now() - t0;
  console.log(
    `bench:match: loaded ${records.length} advisories (${invalid} invalid, ${issues.length} import notes) in ${(loadMs / 1000).toFixed(2)} s`,
  );
  const all = universe(records);
  console.log(
    `bench:match: ${new Set(all.map((p) => `${p.ecosystem}|${p.name}`)).size} distinct packages to draw from`,
  );
  for (const size of [100, 1000, 5000]) {
    const runs = size === 5000 ? 20 : 50;
    const times: number[] = [];
    let findings = 0;
    for (let run = 0; run < runs + 3; run++) {
      const inventory = sample(all, size, 42 + run);
      const t = performance.now();
      const result = await matchPackages(inventory, index);
      const ms = performance.now() - t;
      if (run >= 3) {
        times.push(ms);
        findings += result.findings.length;
      }
    }
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    console.log(
      `${String(size).padStart(5)} packages: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, ${Math.round((size / mean) * 1000)} packages/s, ${Math.round(findings / times.length)} findings per inventory`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
