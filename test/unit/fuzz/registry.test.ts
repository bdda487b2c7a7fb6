/**
 * The fuzz registry covers every extractor, and the saved regression inputs belong to targets
 * and say how they were made.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../../fuzz/harness.js';
import { PROJECT_ROOT } from '../../../fuzz/seeds.js';
import { TARGETS } from '../../../fuzz/targets.js';
import { EXTRACTORS } from '../../../shared/extractors/registry.js';

describe('the fuzz target registry', () => {
  it('has a target for every extractor of the extractor registry', () => {
    const fuzzed = new Set(TARGETS.map((t) => t.module));
    expect(
      EXTRACTORS.map((x) => `shared/extractors/${x.id}`).filter((m) => !fuzzed.has(m)),
    ).toEqual([]);
  });

  it('names each target once, as a flat folder name', () => {
    const names = TARGETS.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('lists every target in the long-run table of docs/reliability.md', () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/reliability.md'), 'utf8');
    const fuzzing = doc.slice(doc.indexOf('## Fuzzing'));
    const listed = new Set([...fuzzing.matchAll(/^\| `([a-z0-9-]+)`\s*\|/gm)].map((m) => m[1]));
    expect(TARGETS.map((t) => t.name).filter((n) => !listed.has(n))).toEqual([]);
  });

  it('keeps each regression input in the folder of a target, with a README saying how it was made', () => {
    const dirs = existsSync(FIXTURES_DIR) ? readdirSync(FIXTURES_DIR) : [];
    const names = new Set(TARGETS.map((t) => t.name));
    expect(dirs.filter((d) => !names.has(d))).toEqual([]);
    for (const d of dirs)
      for (const c of readdirSync(path.join(FIXTURES_DIR, d))) {
        const readme = path.join(FIXTURES_DIR, d, c, 'README.md');
        expect(existsSync(path.join(FIXTURES_DIR, d, c, 'input')), `${d}/${c}/input`).toBe(true);
        expect(readFileSync(readme, 'utf8'), `${d}/${c}/README.md`).toMatch(/^Made by `/);
      }
  });
});
