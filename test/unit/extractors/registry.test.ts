/**
 * The registry agrees with the folder layout and the ecosystem table: an extractor's id is its
 * module path (osv-scalibr names an extractor by its folder), and every package type it declares
 * is one shared/ecosystems.ts knows, so nothing it reports goes unmatched for want of a table row.
 */
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LANGUAGE_ECOSYSTEMS, OS_FAMILIES } from '../../../shared/ecosystems.js';
import { EXTRACTORS } from '../../../shared/extractors/registry.js';
import type { Extractor } from '../../../shared/extractors/types.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';

const ROOT = path.join(PROJECT_ROOT, 'shared/extractors');

function modulesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? modulesUnder(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const isExtractor = (v: unknown): v is Extractor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Extractor).id === 'string' &&
  typeof (v as Extractor).version === 'number' &&
  typeof (v as Extractor).required === 'function' &&
  typeof (v as Extractor).extract === 'function';

/** Each module under shared/extractors (path without `.ts`) with the extractors it exports. */
async function exportedExtractors(): Promise<{ module: string; extractors: Extractor[] }[]> {
  const out: { module: string; extractors: Extractor[] }[] = [];
  for (const file of modulesUnder(ROOT)) {
    const module = path.relative(ROOT, file).replace(/\.ts$/, '').split(path.sep).join('/');
    // The registry exports the list, not an extractor of its own.
    if (module === 'registry') continue;
    const exports: Record<string, unknown> = await import(pathToFileURL(file).href);
    out.push({ module, extractors: Object.values(exports).filter(isExtractor) });
  }
  return out;
}

describe('extractor registry', () => {
  it('gives every extractor the id of the module that exports it', async () => {
    const modules = await exportedExtractors();
    for (const e of EXTRACTORS) {
      const exporters = modules.filter((m) => m.extractors.includes(e)).map((m) => m.module);
      expect(exporters, e.id).toEqual([e.id]);
    }
  });

  it('registers every extractor a module exports', async () => {
    const unregistered = (await exportedExtractors()).flatMap((m) =>
      m.extractors.filter((e) => !EXTRACTORS.includes(e)).map((e) => `${m.module}: ${e.id}`),
    );
    expect(unregistered).toEqual([]);
  });

  it('declares only package types the ecosystem table knows', () => {
    const known = new Set<string>([
      ...OS_FAMILIES.map((f) => f.packageType),
      ...Object.keys(LANGUAGE_ECOSYSTEMS),
    ]);
    const unknown = EXTRACTORS.flatMap((e) =>
      e.packageTypes.filter((t) => !known.has(t)).map((t) => `${e.id}: ${t}`),
    );
    expect(unknown).toEqual([]);
  });

  it('has unique ids', () => {
    const ids = EXTRACTORS.map((e) => e.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });
});
