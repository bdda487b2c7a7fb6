/**
 * The house rules that tooling can check (docs/architecture.md):
 * - imports point down the data flow only: a module of shared/ imports from its own layer or a
 *   layer below it; handlers import shared/ and nothing else of the project;
 * - the pipeline's functions stay small (named steps, not one function with eight jobs).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/fixtures.js';

/**
 * shared/'s layers in data-flow order; each may import from the layers before it. The first
 * holds what every layer may use: errors, small helpers, version schemes and the ecosystem
 * table, the advisory model.
 */
const LAYERS: readonly (readonly string[])[] = [
  [
    'errors.ts',
    'concurrency.ts',
    'checksum.ts',
    'instants.ts',
    'zip.ts',
    'zod-issues.ts',
    'version.ts',
    'types',
    'versions',
    'ecosystems.ts',
    'advisories',
  ],
  ['registry'],
  ['provenance'],
  ['layers'],
  ['image'],
  ['extractors'],
  ['inventory'],
  ['checks'],
  ['matcher', 'vex'],
  ['report', 'sbom'],
  ['events'],
  ['stores'],
  ['notifications', 'queues'],
  ['integrations'],
  ['feeds', 'ingest', 'workloads'],
  ['config'],
  ['pipeline', 'api'],
  ['observability.ts'],
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The relative imports of a file (static, dynamic and type-only), resolved to project paths. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map(
    (m) => m[1] as string,
  );
  return specifiers.map((s) =>
    path.relative(PROJECT_ROOT, path.resolve(path.dirname(file), s)).replace(/\.js$/, '.ts'),
  );
}

/** The layer index of a project path under shared/, by its first path element. */
function layerOf(relative: string): number {
  const first = relative.split('/')[1] ?? '';
  const index = LAYERS.findIndex((layer) => layer.includes(first));
  if (index < 0) throw new Error(`${relative}: shared/${first} is in no layer of LAYERS`);
  return index;
}

describe('import direction', () => {
  it('places every folder and top-level module of shared/ in a layer', () => {
    for (const name of readdirSync(path.join(PROJECT_ROOT, 'shared')))
      expect(() => layerOf(`shared/${name}`), name).not.toThrow();
  });

  it('has every module of shared/ import only from its own layer or below', () => {
    const upward: string[] = [];
    for (const file of filesUnder(path.join(PROJECT_ROOT, 'shared'))) {
      const from = path.relative(PROJECT_ROOT, file);
      for (const to of importsOf(file)) {
        // The package's manifest is data (shared/version.ts reads the release from it).
        if (to === 'package.json') continue;
        if (!to.startsWith('shared/')) {
          upward.push(`${from} -> ${to} (outside shared/)`);
          continue;
        }
        if (layerOf(to) > layerOf(from)) upward.push(`${from} -> ${to}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has handlers import shared/ only, never another handler', () => {
    const wrong: string[] = [];
    const functions = path.join(PROJECT_ROOT, 'functions');
    for (const file of filesUnder(functions)) {
      const own = path.relative(functions, file).split('/')[0];
      for (const to of importsOf(file))
        if (!to.startsWith('shared/') && !to.startsWith(`functions/${own}/`))
          wrong.push(`${path.relative(PROJECT_ROOT, file)} -> ${to}`);
    }
    expect(wrong).toEqual([]);
  });
});

const MAX_PIPELINE_FUNCTION_LINES = 60;

describe('the pipeline', () => {
  it(`has no function over ${MAX_PIPELINE_FUNCTION_LINES} lines`, () => {
    const long: string[] = [];
    for (const file of filesUnder(path.join(PROJECT_ROOT, 'shared/pipeline'))) {
      const source = ts.createSourceFile(
        file,
        readFileSync(file, 'utf8'),
        ts.ScriptTarget.Latest,
        true,
      );
      const visit = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
          const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          if (end - start + 1 > MAX_PIPELINE_FUNCTION_LINES)
            long.push(
              `${path.relative(PROJECT_ROOT, file)}:${start + 1} (${end - start + 1} lines)`,
            );
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });
});
