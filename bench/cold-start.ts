/**
 * `npm run bench:cold-start`: what each Lambda handler costs before its first event (issue 18).
 * Bundles every handler as it is deployed (scripts/lambda-bundle.ts, the settings NodejsFunction
 * uses) into .local/bench/cold-start/now/<function>/, then imports each bundle in fresh `node`
 * processes, BENCH_RUNS times (default 10), with the environment the construct gives the
 * function (dummy values shaped like real ones, NODE_OPTIONS=--enable-source-maps) and, where
 * `unshare` works, no network at all. Reported, medians:
 *   - bundle and source map KB, modules bundled (and how many of them are evaluated at import);
 *   - import ms: `await import(bundle)` timed inside the process (wall, and CPU of the whole
 *     process during it), with source maps as deployed, and the wall time without them;
 *   - process ms: the whole `node` process that imports the bundle (started in its network
 *     namespace, run, ended), beside the same process importing nothing (Node's own start).
 * Then the scan bundle's 10 biggest inputs, each marked `init` (evaluated at import) or `lazy`
 * (reached only through a dynamic import: in the file, but run on first use).
 *
 * BENCH_BASELINE=<another checkout> bundles that checkout's handlers too, with its own
 * scripts/lambda-bundle.ts (copy this one into a checkout from before it), and imports the two
 * sets in turn, run by run, so that a shared machine's load falls on both alike.
 * Node here is 20; Lambda runs 24: compare numbers of one machine and Node version only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { HANDLER_DIRS, type HandlerDir } from '../infra/lambda-bundling.js';
import { BENCH_DIR } from '../scripts/debian-image.js';
import { evaluatedAtImport } from '../scripts/lambda-bundle.js';
import { DEPLOYED_ENV } from '../test/support/lambda.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const ROOT = path.resolve(BENCH_DIR, '..', '..');
const OUT = path.join(BENCH_DIR, 'cold-start');

// What the function's process has at import: the construct's variables (infra/constructs/
// bosun-function.ts), the runtime's, and credentials that are never used (no request is made
// at import). Nothing of this machine's own environment leaks in but PATH.
const ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  ...DEPLOYED_ENV,
  AWS_DEFAULT_REGION: DEPLOYED_ENV.AWS_REGION,
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_METRICS_NAMESPACE: 'Bosun',
  // Lambda runs Node 24, where the SDK has nothing to warn about; printing it is not init.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
// The source maps as deployed, or none: set when the process starts, so in its environment.
const envWith = (maps: boolean): Record<string, string> => ({
  ...ENV,
  ...(maps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
});

// No network: the bundle runs in a network namespace of its own where `unshare` is allowed.
const NO_NET = spawnSync('unshare', ['--net', 'true']).status === 0 ? ['unshare', '--net'] : [];

// Imports the bundle named by its URL (or nothing, for Node's own start) as the named function,
// and prints the time the import took.
const RUNNER = path.join(OUT, 'import.mjs');
const RUNNER_TEXT = `const [url, fn] = process.argv.slice(2);
if (fn !== undefined) process.env.AWS_LAMBDA_FUNCTION_NAME = process.env.POWERTOOLS_SERVICE_NAME = 'bosun-' + fn;
const cpu = process.cpuUsage();
const started = performance.now();
if (url !== undefined) await import(url);
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({ ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 }));
`;

function run(argv: readonly string[], env: Record<string, string>): string {
  const [command, ...args] = [...NO_NET, ...argv];
  const child = spawnSync(command as string, args, { env, encoding: 'utf8' });
  if (child.status !== 0)
    throw new Error(`${argv.join(' ')}: exit ${child.status}: ${child.stderr}${child.stdout}`);
  return child.stdout;
}

const kb = (bytes: number) => (bytes / 1024).toFixed(0);
const ms = (n: number) => n.toFixed(0);

/** One fresh process: its import (wall and CPU, timed inside it) and the whole process's wall. */
interface Timing {
  readonly ms: number;
  readonly cpuMs: number;
  readonly processMs: number;
}

/** Runs one process of the runner, as the named function when there is a bundle. */
function timed(bundle: { url: string; dir: string } | undefined, maps: boolean): Timing {
  const started = process.hrtime.bigint();
  const out = run(
    [process.execPath, RUNNER, ...(bundle === undefined ? [] : [bundle.url, bundle.dir])],
    envWith(maps),
  );
  const processMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { ...(JSON.parse(out) as { ms: number; cpuMs: number }), processMs };
}

interface Bundle {
  readonly label: string;
  readonly dir: HandlerDir;
  readonly url: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly modules: string;
  /** The biggest inputs: path, KB, evaluated at import or not. */
  readonly top: string[][];
  /** Per run, with source maps (as deployed) and without. */
  readonly deployed: Timing[];
  readonly noMaps: Timing[];
}

/** Builds one checkout's handlers with that checkout's own bundling options. */
async function bundles(label: string, root: string): Promise<Bundle[]> {
  const options = path.join(root, 'scripts', 'lambda-bundle.ts');
  if (!existsSync(options))
    throw new Error(`${root} has no scripts/lambda-bundle.ts to build with`);
  const own = (await import(
    pathToFileURL(options).href
  )) as typeof import('../scripts/lambda-bundle.js');
  const out: Bundle[] = [];
  for (const dir of HANDLER_DIRS) {
    const outfile = path.join(OUT, label, dir, 'index.mjs');
    const { metafile } = await build(own.handlerBuildOptions(root, dir, outfile));
    if (metafile === undefined) throw new Error('esbuild gave no metafile');
    const output = metafile.outputs[path.relative(root, outfile)];
    if (output === undefined) throw new Error(`no output ${outfile} in the metafile`);
    const init = evaluatedAtImport(metafile, `functions/${dir}/index.ts`);
    const inputs = Object.keys(output.inputs);
    out.push({
      label,
      dir,
      url: pathToFileURL(outfile).href,
      bytes: output.bytes,
      mapBytes: statSync(`${outfile}.map`).size,
      modules: `${inputs.filter((i) => init.has(i)).length} / ${inputs.length}`,
      top: Object.entries(output.inputs)
        .sort(([, a], [, b]) => b.bytesInOutput - a.bytesInOutput)
        .slice(0, 10)
        .map(([input, { bytesInOutput }]) => [
          // A baseline whose node_modules is a link names its inputs by the link's target.
          input.replace(/^(\.\.\/)+(?=node_modules\/)/, ''),
          kb(bytesInOutput),
          init.has(input) ? 'init' : 'lazy',
        ]),
      deployed: [],
      noMaps: [],
    });
  }
  return out;
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
writeFileSync(RUNNER, RUNNER_TEXT);

const BASELINE = process.env.BENCH_BASELINE;
const all = [
  ...(BASELINE === undefined ? [] : await bundles('before', path.resolve(BASELINE))),
  ...(await bundles('now', ROOT)),
];
console.log(
  `${RUNS} runs each, Node ${process.version}, ${NO_NET.length > 0 ? 'no network (unshare)' : 'network present (unshare not allowed)'}`,
);
// Run by run, every bundle in turn, with and without maps, and Node's own start: load that comes
// and goes on a shared machine then weighs on all of them alike (hyperfine would run each
// command's runs back to back). The first round is discarded (cold file cache).
const floor: Timing[] = [];
for (let i = 0; i <= RUNS; i++) {
  const start = timed(undefined, true);
  if (i > 0) floor.push(start);
  for (const b of all)
    for (const maps of [true, false]) {
      const t = timed(b, maps);
      if (i > 0) (maps ? b.deployed : b.noMaps).push(t);
    }
}
const rows = all.map((b) => [
  BASELINE === undefined ? b.dir : `${b.dir} (${b.label})`,
  kb(b.bytes),
  kb(b.mapBytes),
  b.modules,
  ms(median(b.deployed.map((r) => r.ms))),
  ms(median(b.deployed.map((r) => r.cpuMs))),
  ms(median(b.noMaps.map((r) => r.ms))),
  ms(median(b.deployed.map((r) => r.processMs))),
]);

function table(head: string[], body: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(line(head));
  console.log(
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
  );
  for (const r of body) console.log(line(r));
}

console.log();
table(
  [
    'function',
    'bundle KB',
    'map KB',
    'modules at init / all',
    'import ms',
    'import CPU ms',
    'import ms, no maps',
    'process ms',
  ],
  rows,
);
console.log(
  `\nNode's own start (the same process importing nothing): ${ms(median(floor.map((r) => r.processMs)))} ms`,
);
for (const b of all.filter((b) => b.dir === 'scan')) {
  console.log(`\nscan${BASELINE === undefined ? '' : ` (${b.label})`}: the 10 biggest inputs`);
  table(['input', 'KB', 'evaluated'], b.top);
}
