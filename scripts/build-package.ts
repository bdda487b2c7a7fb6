/**
 * Builds what `npm pack` ships (package.json `files`, run by `prepack`), into dist/:
 *   dist/cli/         the CLI, bundled and minified: no TypeScript or tsx at run time; `--version`
 *                     and `--help` load only the entry chunk (cli/bosun.ts loads commands lazily)
 *   dist/lambda/<fn>/ each Lambda handler, bundled as NodejsFunction bundles it from a checkout
 *                     (infra/lambda-bundling.ts), so the construct needs no bundler at synth
 *   dist/infra/       the construct library, as ESM (index.mjs) and CommonJS (index.cjs), with
 *                     aws-cdk-lib and constructs left to the app (peer dependencies)
 *   dist/types/       its declarations (only the files the public API reaches), and a CommonJS
 *                     copy in dist/types-cjs/ so `require` resolution types it as CommonJS
 *   dist/THIRD-PARTY-NOTICES.txt  the license of every package bundled into the above
 * Usage: tsx scripts/build-package.ts
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { HANDLER_DIRS, LAMBDA_BUNDLING } from '../infra/lambda-bundling.js';
import { ANALYZER_VERSION } from '../shared/pipeline/scan/run.js';
import { BOSUN_VERSION } from '../shared/version.js';
import { handlerBuildOptions } from './lambda-bundle.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');

const common: BuildOptions = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  mainFields: [...LAMBDA_BUNDLING.mainFields],
  external: [...LAMBDA_BUNDLING.externalModules],
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
};

async function bundle(options: BuildOptions): Promise<Metafile> {
  const result = await build({ ...common, ...options });
  if (result.metafile === undefined) throw new Error('esbuild gave no metafile');
  return result.metafile;
}

/** The declaration files the public entry reaches, following relative imports. */
function declarationClosure(dir: string, entry: string): string[] {
  const seen = new Set<string>();
  const todo = [entry];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.normalize(path.join(path.dirname(file), m[1] ?? ''));
      todo.push(target.replace(/\.js$/, '.d.ts'));
    }
  }
  return [...seen].sort();
}

/** Packages whose code a bundle holds: the first folder under each node_modules in its inputs. */
function bundledPackages(metafiles: readonly Metafile[]): Map<string, string> {
  const packages = new Map<string, string>();
  for (const meta of metafiles)
    for (const input of Object.keys(meta.inputs)) {
      const m = /^(.*node_modules\/)((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (m?.[1] !== undefined && m[2] !== undefined)
        packages.set(m[2], path.join(ROOT, m[1], m[2]));
    }
  return packages;
}

function notices(packages: Map<string, string>): string {
  const parts = ['Third-party software bundled in this package, with its license.\n'];
  for (const [name, dir] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      version?: string;
      license?: string;
    };
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying|notice)/i.test(f));
    const text =
      file === undefined
        ? '(no license file in the package)'
        : readFileSync(path.join(dir, file), 'utf8').trim();
    parts.push(
      `${'-'.repeat(78)}\n${name} ${manifest.version ?? ''} (${manifest.license ?? 'license not stated'})\n\n${text}\n`,
    );
  }
  return parts.join('\n');
}

rmSync(DIST, { recursive: true, force: true });
const metafiles: Metafile[] = [];

// The CLI: ESM with code splitting, so the entry chunk holds only the dispatcher.
metafiles.push(
  await bundle({
    entryPoints: { bosun: 'cli/bosun.ts' },
    outdir: path.join(DIST, 'cli'),
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    target: 'node20',
    minify: true,
    banner: { js: LAMBDA_BUNDLING.banner },
    define: {
      __BOSUN_BUILD__: JSON.stringify({ version: BOSUN_VERSION, analyzer: ANALYZER_VERSION }),
    },
  }),
);

for (const dir of HANDLER_DIRS)
  metafiles.push(
    await bundle(handlerBuildOptions(ROOT, dir, path.join(DIST, 'lambda', dir, 'index.mjs'))),
  );

// The construct library: the CDK and constructs are the app's own (one copy of each, or
// construct trees from two copies would not mix).
const library: BuildOptions = {
  entryPoints: ['infra/index.ts'],
  target: 'node20',
  external: [...LAMBDA_BUNDLING.externalModules, 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
  define: { __BOSUN_PACKAGED__: 'true' },
};
metafiles.push(
  await bundle({
    ...library,
    outfile: path.join(DIST, 'infra', 'index.mjs'),
    format: 'esm',
    // The synth checks parse policies and trust material with CommonJS libraries that require
    // Node's modules: an ES module has no `require` of its own.
    banner: { js: LAMBDA_BUNDLING.banner },
  }),
);
metafiles.push(
  await bundle({
    ...library,
    outfile: path.join(DIST, 'infra', 'index.cjs'),
    format: 'cjs',
    // The construct finds its prebuilt handlers from its own location.
    define: { ...library.define, 'import.meta.url': '__bosunModuleUrl' },
    banner: { js: "const __bosunModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  }),
);

// Declarations: emitted for everything the entry imports, shipped for what its API reaches.
const emitted = path.join(ROOT, '.local', 'package-types');
rmSync(emitted, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.package.json',
    '--outDir',
    emitted,
  ],
  { cwd: ROOT, stdio: 'inherit' },
);
for (const [folder, type] of [
  ['types', 'module'],
  ['types-cjs', 'commonjs'],
] as const) {
  for (const file of declarationClosure(emitted, 'infra/index.d.ts')) {
    const target = path.join(DIST, folder, file);
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(path.join(emitted, file), target);
  }
  writeFileSync(path.join(DIST, folder, 'package.json'), `${JSON.stringify({ type })}\n`);
}

writeFileSync(path.join(DIST, 'THIRD-PARTY-NOTICES.txt'), notices(bundledPackages(metafiles)));
if (!existsSync(path.join(DIST, 'cli', 'bosun.mjs'))) throw new Error('the CLI was not built');
console.log(
  `built ${path.relative(ROOT, DIST)}/ for bosun ${BOSUN_VERSION} (analyzer ${ANALYZER_VERSION})`,
);
