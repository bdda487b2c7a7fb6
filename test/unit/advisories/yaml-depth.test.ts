/**
 * Issue 17: YAML nested 65,536 levels deep (`{"a":` repeated, a 300 KB file) took the `yaml`
 * parser about 13 s. Such a file is refused before it is parsed, as one issue, and the rest of
 * the feed still loads.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadAdvisories } from '../../../shared/advisories/load.js';
import { MAX_YAML_DEPTH, parseYaml, YamlTooDeepError } from '../../../shared/advisories/yaml.js';
import { dataDir } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-yaml-depth-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const gem = path.join(dataDir(), 'advisories/rubysec-ruby-advisory-db/gems/RedCloth');
const real = readFileSync(path.join(gem, 'CVE-2012-6684.yml'), 'utf8');
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('YAML nesting bound', () => {
  it('parses a real RubySec advisory exactly as the yaml library does', () => {
    expect(parseYaml(real)).toEqual(parse(real));
  });

  it(`parses ${MAX_YAML_DEPTH} levels of flow nesting and refuses one more`, () => {
    expect(parseYaml(`deep: ${nested(MAX_YAML_DEPTH)}\n`)).toHaveProperty('deep.a');
    expect(() => parseYaml(`deep: ${nested(MAX_YAML_DEPTH + 1)}\n`)).toThrow(YamlTooDeepError);
  });

  it('loads the rest of a feed when one real advisory is grown 65,536 levels deep', () => {
    cpSync(gem, path.join(work, 'rubysec'), { recursive: true });
    const deep = path.join(work, 'rubysec', 'CVE-2012-6684-deep.yml');
    writeFileSync(deep, `${real.trimEnd()}\nextra: ${nested(65_536)}\n`);
    const loaded = loadAdvisories(work);
    expect(loaded.issues).toHaveLength(1);
    expect(loaded.issues[0]?.source).toContain('CVE-2012-6684-deep.yml');
    expect(loaded.issues[0]?.message).toMatch(/not YAML: nested more than 256 levels deep/);
    expect(loaded.records.map((r) => r.id)).toContain('RUBYSEC-RedCloth-CVE-2012-6684');
  });
});
