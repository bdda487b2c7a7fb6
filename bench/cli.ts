/**
 * `npm run bench:cli`: the installed CLI as users run it (scripts/packed-app.ts packs the
 * checkout and installs the tarball into a new app, offline). Each command runs BENCH_RUNS
 * times (default 10) as a whole process; medians:
 *   - `node -e 0`, the floor of any Node.js command on this machine;
 *   - `bosun --version`, which must take at most 2x the floor;
 *   - `bosun scan` of the real alpine:3.10 `docker save` archive (trivy's test image) against a
 *     database synced from Alpine's 3.10 secdb, with a warm layer cache and with --no-cache;
 *     the target is under 0.5 s.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR } from '../scripts/debian-image.js';
import { DATA_DIR } from '../scripts/demo-data.js';
import { packAndInstall } from '../scripts/packed-app.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const work = path.join(BENCH_DIR, 'cli');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const { bin } = packAndInstall(work);

function timed(label: string, command: string, args: readonly string[]): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const run = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (run.status !== 0) throw new Error(`${label}: exit ${run.status}: ${run.stderr}`);
  }
  const m = median(times);
  console.log(`${label.padEnd(44)} median ${m.toFixed(0).padStart(5)} ms  (${RUNS} runs)`);
  return m;
}

const archive = path.join(DATA_DIR, 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');
const db = path.join(work, 'db');
const cache = path.join(work, 'cache');
const sync = spawnSync(
  bin,
  ['db', 'sync', '--db', db, '--from', path.join(DATA_DIR, 'advisories/alpine-secdb-legacy/v3.10')],
  { encoding: 'utf8' },
);
if (sync.status !== 0) throw new Error(`db sync: ${sync.stderr}`);

const floor = timed('node -e 0', process.execPath, ['-e', '0']);
const version = timed('bosun --version', bin, ['--version']);
const scan = ['scan', archive, '--db', db, '--format', 'json'];
spawnSync(bin, [...scan, '--cache-dir', cache]);
const warm = timed('bosun scan alpine-3.10 (warm layer cache)', bin, [
  ...scan,
  '--cache-dir',
  cache,
]);
const cold = timed('bosun scan alpine-3.10 (--no-cache)', bin, [...scan, '--no-cache']);
console.log(
  `\n--version / node -e 0: ${(version / floor).toFixed(2)}x (target at most 2x); scan ${warm.toFixed(0)} ms warm, ${cold.toFixed(0)} ms without the cache (target under 500 ms)`,
);
