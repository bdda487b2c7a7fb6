/**
 * esbuild's options for one Lambda handler, from the settings NodejsFunction uses at synth
 * (infra/lambda-bundling.ts): the package build (scripts/build-package.ts) and the cold-start
 * benchmark (bench/cold-start.ts) both bundle with these, so they measure and ship one thing.
 */
import type { BuildOptions, Metafile } from 'esbuild';
import { type HandlerDir, LAMBDA_BUNDLING } from '../infra/lambda-bundling.js';

export function handlerBuildOptions(root: string, dir: HandlerDir, outfile: string): BuildOptions {
  return {
    absWorkingDir: root,
    entryPoints: [`functions/${dir}/index.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: LAMBDA_BUNDLING.target,
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    sourcesContent: LAMBDA_BUNDLING.sourcesContent,
    banner: { js: LAMBDA_BUNDLING.banner },
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    external: [...LAMBDA_BUNDLING.externalModules],
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  };
}

/**
 * The bundle's inputs that run when it is imported: those the entry reaches without a dynamic
 * `import()`. The rest are in the file too (one file per function: NodejsFunction bundles with
 * `--outfile`, so no code splitting) but esbuild wraps them to run on first use.
 */
export function evaluatedAtImport(meta: Metafile, entry: string): Set<string> {
  const seen = new Set([entry]);
  const todo = [entry];
  for (let file = todo.pop(); file !== undefined; file = todo.pop())
    for (const i of meta.inputs[file]?.imports ?? [])
      if (!i.external && i.kind !== 'dynamic-import' && !seen.has(i.path)) {
        seen.add(i.path);
        todo.push(i.path);
      }
  return seen;
}
