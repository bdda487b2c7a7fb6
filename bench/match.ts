/**
 * `npm run bench:match`: loads every advisory under ../shared/data/advisories (OSV sets, and
 * RubySec, npm legacy and Alpine secdb through their importers) into a new embedded advisory
 * store with a feed sync, opens it again as `bosun scan` does, then matches inventories of 100,
 * 1,000 and 5,000 distinct packages drawn from the real packages those advisories name, each at
 * a version an advisory names. Prints load and open time, packages matched per second and
 * p50/p99 per inventory, warm. Target: a 1,000-package inventory in under 50 ms.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DATA_DIR } from '../scripts/demo-data.js';
import type { OsvRecord } from '../shared/advisories/osv.js';
import { LocalFeedSource } from '../shared/feeds/sources/local.js';
import { syncFeed } from '../shared/feeds/sync.js';
import { matchPackages } from '../shared/matcher/match.js';
import type { InventoryPackage } from '../shared/matcher/types.js';
import { EmbeddedAdvisoryStore } from '../shared/stores/embedded/advisory-store.js';

const DATA = path.join(DATA_DIR, 'advisories');

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
function byPackage(all: readonly InventoryPackage[]): Map<string, InventoryPackage[]> {
  const out = new Map<string, InventoryPackage[]>();
  for (const p of all) {
    const key = `${p.ecosystem}|${p.name}`;
    const list = out.get(key);
    if (list === undefined) out.set(key, [p]);
    else list.push(p);
  }
  return out;
}

function sample(
  packages: ReadonlyMap<string, readonly InventoryPackage[]>,
  keys: readonly string[],
  n: number,
  seed: number,
): InventoryPackage[] {
  // mulberry32: 32-bit integer arithmetic throughout. (A textbook LCG written with JS numbers
  // loses precision above 2^53 and fell into a cycle too short to draw 5,000 distinct packages.)
  let x = seed >>> 0;
  const next = () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const chosen = new Set<string>();
  while (chosen.size < Math.min(n, keys.length)) chosen.add(keys[next() % keys.length] as string);
  return [...chosen].map((k) => {
    const versions = packages.get(k) as InventoryPackage[];
    return versions[next() % versions.length] as InventoryPackage;
  });
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[
    Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))
  ] as number;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-bench-match-'));
  try {
    await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(dir: string): Promise<void> {
  const t0 = performance.now();
  const writer = EmbeddedAdvisoryStore.open(dir);
  const sync = await syncFeed({ source: new LocalFeedSource(DATA), store: writer });
  const records: OsvRecord[] = [];
  for await (const a of writer.all()) records.push(a.record);
  await writer.close();
  const loadMs = performance.now() - t0;
  console.log(
    `bench:match: loaded ${records.length} advisories (${sync.invalid} issues) into the embedded store in ${(loadMs / 1000).toFixed(2)} s`,
  );
  const t1 = performance.now();
  const index = EmbeddedAdvisoryStore.open(dir, 'read');
  console.log(`bench:match: store opened in ${(performance.now() - t1).toFixed(0)} ms`);
  const all = universe(records);
  const packages = byPackage(all);
  const keys = [...packages.keys()];
  console.log(
    `bench:match: ${new Set(all.map((p) => `${p.ecosystem}|${p.name}`)).size} distinct packages to draw from`,
  );
  for (const size of [100, 1000, 5000]) {
    const runs = size === 5000 ? 20 : 50;
    const times: number[] = [];
    let findings = 0;
    for (let run = 0; run < runs + 3; run++) {
      const inventory = sample(packages, keys, size, 42 + run);
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
