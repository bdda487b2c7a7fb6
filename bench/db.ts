/**
 * `npm run bench:db [-- --from DIR] [--db DIR]`: the embedded advisory database at size, as a
 * user meets it, every step a whole `bosun` process (the CLI as the package ships it, built
 * first with `npm run build`):
 *
 * 1. `bosun db sync --from DIR` into a new database (default: every real advisory under
 *    ../shared/data/advisories; `--from .local/bench/scale/osv` for the simulated full-size
 *    export of `npm run bench:scale:generate`): wall time, peak RSS, bytes on disk, segments.
 *    With `--db DIR` an existing database is measured instead of syncing one.
 * 2. `bosun db status`, BENCH_RUNS times: median wall time and peak RSS.
 * 3. `bosun sbom` and `bosun scan` of the benchmark images (bench:inventory's Debian with
 *    language applications and its 730 MB debootstrap'd Debian, when built), BENCH_RUNS each:
 *    medians, and what the database adds to a scan.
 * Prints Markdown tables for docs/benchmarks.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR } from '../scripts/debian-image.js';
import { DATA_DIR } from '../scripts/demo-data.js';
import { PROJECT_ROOT } from '../scripts/local/services.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const { values } = parseArgs({
  options: { from: { type: 'string' }, db: { type: 'string' } },
});

interface Run {
  readonly seconds: number;
  readonly rssMb: number;
  readonly stdout: string;
}

/** One whole process under `/usr/bin/time`: wall time and peak RSS (the `%M` it prints). */
function run(args: readonly string[]): Run {
  const started = process.hrtime.bigint();
  const child = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...args], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const lines = child.stderr.trim().split('\n');
  const rssKb = Number(lines[lines.length - 1]);
  // scan exits 1 when it finds vulnerabilities and 4 when something could not be checked:
  // results, not failures.
  if (child.status !== 0 && child.status !== 1 && child.status !== 4)
    throw new Error(`${args.join(' ')} exited ${child.status}: ${child.stderr.slice(-2000)}`);
  return { seconds, rssMb: Math.round(rssKb / 1024), stdout: child.stdout };
}

function bytesUnder(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir, { withFileTypes: true }))
    if (f.isFile()) total += statSync(path.join(dir, f.name)).size;
  return total;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const s = (seconds: number) => seconds.toFixed(2);

execFileSync('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
const bosun = path.join(PROJECT_ROOT, 'dist', 'cli', 'bosun.mjs');
const from = values.from ?? path.join(DATA_DIR, 'advisories');
let db = values.db;
let temporary: string | undefined;
if (db === undefined) {
  temporary = mkdtempSync(path.join(BENCH_DIR, 'db-'));
  db = temporary;
  const sync = run([bosun, 'db', 'sync', '--db', db, '--from', from]);
  console.log('\n| step | seconds | peak RSS (MB) | on disk (MB) |\n|---|---|---|---|');
  console.log(
    `| \`db sync --from ${path.basename(from)}\` | ${s(sync.seconds)} | ${sync.rssMb} | ${mb(bytesUnder(db))} |`,
  );
}
try {
  const statuses = Array.from({ length: RUNS }, () =>
    run([bosun, 'db', 'status', '--db', db, '--json']),
  );
  const status = JSON.parse(statuses[0]?.stdout ?? '{}') as {
    advisories: number;
    storage: { segments: number; segmentBytes: number };
  };
  console.log(
    `\ndatabase: ${status.advisories} advisories, ${status.storage.segments} segments, ${mb(bytesUnder(db))} MB on disk`,
  );
  console.log('\n| command | median s | peak RSS (MB) |\n|---|---|---|');
  console.log(
    `| \`db status\` | ${s(median(statuses.map((r) => r.seconds)))} | ${Math.max(...statuses.map((r) => r.rssMb))} |`,
  );
  const images: [string, string][] = [
    ['debian+languages', path.join(BENCH_DIR, 'languages', 'debian.docker.tar')],
    ['debian:bookworm+', path.join(BENCH_DIR, 'debian.docker.tar')],
  ];
  for (const [name, archive] of images) {
    if (!existsSync(archive)) {
      console.log(`| ${name} | not built: run \`npm run bench:inventory\` first | |`);
      continue;
    }
    const sbom = Array.from({ length: RUNS }, () => run([bosun, 'sbom', archive, '--no-cache']));
    const scan = Array.from({ length: RUNS }, () =>
      run([bosun, 'scan', archive, '--no-cache', '--db', db, '--format', 'json']),
    );
    const sbomS = median(sbom.map((r) => r.seconds));
    const scanS = median(scan.map((r) => r.seconds));
    console.log(`| \`sbom\` ${name} | ${s(sbomS)} | ${Math.max(...sbom.map((r) => r.rssMb))} |`);
    console.log(
      `| \`scan\` ${name} (+${s(scanS - sbomS)} s) | ${s(scanS)} | ${Math.max(...scan.map((r) => r.rssMb))} |`,
    );
  }
} finally {
  if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
}
