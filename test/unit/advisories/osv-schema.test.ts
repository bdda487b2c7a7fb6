import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { InvalidAdvisoryError, parseOsv } from '../../../shared/advisories/osv.js';
import { dataDir } from '../../support/fixtures.js';

const schema = JSON.parse(
  readFileSync(
    path.join(dataDir(), 'advisories/osv-samples-misc/ossf__osv-schema/validation/schema.json'),
    'utf8',
  ),
);
const ajv = new Ajv2020.default({ allErrors: true, strict: false });
addFormats.default(ajv);
const validate = ajv.compile(schema);

const walk = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap((n) =>
      statSync(path.join(dir, n)).isDirectory() ? walk(path.join(dir, n)) : [path.join(dir, n)],
    );

describe('parseOsv against the official OSV JSON schema', () => {
  it.each([
    'golang-vulndb/data/osv',
    'pypa-advisory-database/vulns',
    'rustsec-osv/crates',
    'almalinux-osv/advisories',
    'rconsortium-r-advisory-database/vulns',
  ])(
    'accepts and rejects exactly what the schema does, for every record of %s',
    (dir) => {
      const disagreements: string[] = [];
      let rejected = 0;
      for (const file of walk(path.join(dataDir(), 'advisories', dir))) {
        if (!/\.(json|ya?ml)$/.test(file)) continue;
        const text = readFileSync(file, 'utf8');
        const value: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
        const bySchema = validate(value) === true;
        let byUs = true;
        try {
          parseOsv(value, path.basename(file));
        } catch (error) {
          if (!(error instanceof InvalidAdvisoryError)) throw error;
          byUs = false;
          rejected++;
        }
        if (bySchema !== byUs)
          disagreements.push(`${path.basename(file)}: schema ${bySchema}, Bosun ${byUs}`);
      }
      expect(disagreements).toEqual([]);
      expect(rejected).toBe(dir.startsWith('pypa') ? 7 : 0);
    },
    60_000,
  );
});
