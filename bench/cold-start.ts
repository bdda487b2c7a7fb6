/**
 * `npm run bench:cold-start`: what each Lambda handler costs before its first event (issue 18).
 * Bundles every handler as it is deployed (scripts/lambda-bundle.ts, the settings NodejsFunction
 * uses) into .local/bench/cold-start/<function>/, then imports each bundle in fresh `node`
 * processes, BENCH_RUNS times (default 10), with the environment the construct gives the
 * function (dummy values shaped like real ones, NODE_OPTIONS=--enable-source-maps) and, where
 * `unshare` works, no network at all. Reported, medians:
 *   - bundle and source map KB, modules bundled (and how many of them are evaluated at import);
 *   - import ms: `await import(bundle)` timed inside the process (wall, and CPU of the whole
 *     process during it), with source maps as deployed, and the wall time without them;
 *   - process ms: the whole `node` process that imports the bundle, by hyperfine when installed
 *     (a loop otherwise), beside the same process importing nothing (Node's own start).
 * Then the scan bundle's 10 biggest inputs, each marked `init` (evaluated at import) or `lazy`
 * (reached only through a dynamic import: in the file, but run on first use).
 * Node here is 20; Lambda runs 24: compare numbers of one machine and Node version only.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { HANDLER_DIRS, type HandlerDir } from '../infra/lambda-bundling.js';
import { BENCH_DIR } from '../scripts/debian-image.js';
import { evaluatedAtImport, handlerBuildOptions } from '../scripts/lambda-bundle.js';
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
const envFor = (dir: HandlerDir, maps: boolean): Record<string, string> => ({
  ...ENV,
  AWS_LAMBDA_FUNCTION_NAME: `bosun-${dir}`,
  POWERTOOLS_SERVICE_NAME: `bosun-${dir}`,
  ...(maps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
});

// No network: the bundle runs in a network namespace of its own where `unshare` is allowed.
const NO_NET = spawnSync('unshare', ['--net', 'true']).status === 0 ? ['unshare', '--net'] : [];
const HYPERFINE = spawnSync('hyperfine', ['--version']).status === 0;

// Imports the bundle named by its URL (or nothing, for Node's own start) and prints the time.
const RUNNER = path.join(OUT, 'import.mjs');
const RUNNER_TEXT = `const url = process.argv[2];
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

/** Medians of the in-process import time over RUNS fresh processes, after one discarded run. */
function importTimes(url: string, env: Record<string, string>): { ms: number; cpuMs: number } {
  const runs: { ms: number; cpuMs: number }[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const out = JSON.parse(run([process.execPath, RUNNER, url], env)) as {
      ms: number;
      cpuMs: number;
    };
    if (i > 0) runs.push(out);
  }
  return { ms: median(runs.map((r) => r.ms)), cpuMs: median(runs.map((r) => r.cpuMs)) };
}

/** Median wall time of the whole process (Node's start, the import, exit). */
function processMs(args: readonly string[], env: Record<string, string>): number {
  const argv = [process.execPath, RUNNER, ...args];
  if (HYPERFINE) {
    const json = path.join(OUT, 'hyperfine.json');
    const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    run(
      ['hyperfine', '-N', '--style', 'none', '--warmup', '1', '--runs', String(RUNS)].concat([
        '--export-json',
        json,
        quoted,
      ]),
      env,
    );
    const result = JSON.parse(readFileSync(json, 'utf8')) as { results: { median: number }[] };
    return (result.results[0]?.median ?? Number.NaN) * 1000;
  }
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const started = process.hrtime.bigint();
    run(argv, env);
    if (i > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(times);
}

const kb = (bytes: number) => (bytes / 1024).toFixed(0);
const ms = (n: number) => n.toFixed(0);

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
writeFileSync(RUNNER, RUNNER_TEXT);

console.log(
  `${RUNS} runs each, Node ${process.version}, ${NO_NET.length > 0 ? 'no network (unshare)' : 'network present (unshare not allowed)'}, process times by ${HYPERFINE ? 'hyperfine' : 'a loop'}`,
);
const floor = processMs([], envFor('scan', true));
const rows: string[][] = [];
let scanInputs: string[][] = [];
for (const dir of HANDLER_DIRS) {
  const outfile = path.join(OUT, dir, 'index.mjs');
  const { metafile } = await build(handlerBuildOptions(ROOT, dir, outfile));
  if (metafile === undefined) throw new Error('esbuild gave no metafile');
  const output = metafile.outputs[path.relative(ROOT, outfile)];
  if (output === undefined) throw new Error(`no output ${outfile} in the metafile`);
  const init = evaluatedAtImport(metafile, `functions/${dir}/index.ts`);
  const url = pathToFileURL(outfile).href;
  const deployed = importTimes(url, envFor(dir, true));
  const noMaps = importTimes(url, envFor(dir, false));
  rows.push([
    dir,
    kb(output.bytes),
    kb(statSync(`${outfile}.map`).size),
    `${Object.keys(output.inputs).filter((i) => init.has(i)).length} / ${Object.keys(output.inputs).length}`,
    ms(deployed.ms),
    ms(deployed.cpuMs),
    ms(noMaps.ms),
    ms(processMs([url], envFor(dir, true))),
  ]);
  if (dir === 'scan')
    scanInputs = Object.entries(output.inputs)
      .sort(([, a], [, b]) => b.bytesInOutput - a.bytesInOutput)
      .slice(0, 10)
      .map(([input, { bytesInOutput }]) => [
        input,
        kb(bytesInOutput),
        init.has(input) ? 'init' : 'lazy',
      ]);
}

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
console.log(`\nNode's own start (the same process importing nothing): ${ms(floor)} ms`);
console.log('\nscan: the 10 biggest inputs');
table(['input', 'KB', 'evaluated'], scanInputs);
