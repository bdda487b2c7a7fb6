/**
 * What the functions' bundles run at cold start (issue 18), read from esbuild's metafile of each
 * bundle as it is deployed (scripts/lambda-bundle.ts): parsers that only some images need are in
 * the file but run on first use, and code no scan needs is not bundled at all. How long an
 * import takes is bench:cold-start's to measure, never a test's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_DIRS, type HandlerDir, LAMBDA_BUNDLING } from '../../../infra/lambda-bundling.js';
import { evaluatedAtImport, handlerBuildOptions } from '../../../scripts/lambda-bundle.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';

interface Bundle {
  /** Every input in the bundle. */
  readonly inputs: readonly string[];
  /** The inputs that run when the bundle is imported. */
  readonly atImport: ReadonlySet<string>;
  readonly map: { readonly sourcesContent?: unknown };
}

const bundles = new Map<HandlerDir, Bundle>();

beforeAll(async () => {
  for (const dir of HANDLER_DIRS) {
    const outfile = path.join(PROJECT_ROOT, '.local', 'test', 'cold-start', dir, 'index.mjs');
    const result = await build({
      ...handlerBuildOptions(PROJECT_ROOT, dir, outfile),
      write: false,
    });
    const meta = result.metafile as Metafile;
    const output = meta.outputs[path.relative(PROJECT_ROOT, outfile)];
    const map = result.outputFiles.find((f) => f.path === `${outfile}.map`);
    if (output === undefined || map === undefined) throw new Error(`${dir}: no bundle or map`);
    bundles.set(dir, {
      inputs: Object.keys(output.inputs),
      atImport: evaluatedAtImport(meta, `functions/${dir}/index.ts`),
      map: JSON.parse(map.text) as Bundle['map'],
    });
  }
}, 120_000);

const bundle = (dir: HandlerDir) => bundles.get(dir) as Bundle;
const matching = (inputs: Iterable<string>, pattern: RegExp) =>
  [...inputs].filter((i) => pattern.test(i)).sort();

describe('the scan function at cold start', () => {
  it('runs no reader that only some images need: SQLite (sql.js), the zip reader', () => {
    const { atImport } = bundle('scan');
    expect(matching(atImport, /node_modules\/(sql\.js|yauzl)\/|^shared\/zip\.ts$/)).toEqual([]);
  });

  it('still bundles them, to run on first use: the function has no other file to load', () => {
    const { inputs } = bundle('scan');
    expect(matching(inputs, /node_modules\/sql\.js\/|^shared\/zip\.ts$/)).toEqual([
      'node_modules/sql.js/dist/sql-wasm-inline.js',
      'shared/zip.ts',
    ]);
  });

  it("bundles no advisory importer's parsers: matching reads stored facts, never feed files", () => {
    const { inputs } = bundle('scan');
    // `yaml` is in the scan now, as the provenance policy's parser (issue 19); the feeds' XML
    // parser and decoders are not.
    expect(
      matching(inputs, /node_modules\/fast-xml-parser\/|advisories\/importers\/decode/),
    ).toEqual([]);
  });
});

describe('every function', () => {
  it('ships source maps without the sources, which Node would parse at every cold start', () => {
    expect(LAMBDA_BUNDLING.sourcesContent).toBe(false);
    for (const dir of HANDLER_DIRS) expect(bundle(dir).map.sourcesContent, dir).toBeUndefined();
  });

  // With `import * as z from 'zod'` esbuild keeps only the schema builders used; one
  // `import { z }` anywhere in a function's graph bundles the whole namespace: the 40-odd
  // locales and the JSON Schema converters.
  it('imports zod as a namespace everywhere in shared/ and functions/', () => {
    const named = ['shared', 'functions']
      .flatMap((dir) =>
        readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' }).map(
          (f) => `${dir}/${f}`,
        ),
      )
      .filter(
        (f) =>
          f.endsWith('.ts') &&
          /^import \{ z \} from 'zod';$/m.test(readFileSync(path.join(PROJECT_ROOT, f), 'utf8')),
      )
      .sort();
    expect(named).toEqual([]);
  });

  it.each(['scan', 'rescan', 'feed-sync', 'registry-webhook'] as const)(
    '%s bundles only the English messages of zod',
    (dir) => {
      expect(matching(bundle(dir).inputs, /node_modules\/zod\/v4\/locales\//)).toEqual([
        'node_modules/zod/v4/locales/en.js',
      ]);
    },
  );
});
