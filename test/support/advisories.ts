import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidAdvisoryError, type OsvRecord, parseOsv } from '../../shared/advisories/osv.js';
import { dataDir } from './fixtures.js';

export interface Loaded {
  readonly records: OsvRecord[];
  readonly invalid: InvalidAdvisoryError[];
  readonly files: number;
}

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? files(full) : [full];
    });
}

/** Every `.json` / `.yaml` OSV record under `advisories/<relative>`. */
export function loadOsvDir(relative: string): Loaded {
  const root = path.join(dataDir(), 'advisories', relative);
  const records: OsvRecord[] = [];
  const invalid: InvalidAdvisoryError[] = [];
  let count = 0;
  for (const file of files(root)) {
    const yaml = /\.ya?ml$/.test(file);
    if (!yaml && !file.endsWith('.json')) continue;
    count++;
    const text = readFileSync(file, 'utf8');
    try {
      records.push(parseOsv(yaml ? parseYaml(text) : JSON.parse(text), path.relative(root, file)));
    } catch (error) {
      if (!(error instanceof InvalidAdvisoryError)) throw error;
      invalid.push(error);
    }
  }
  return { records, invalid, files: count };
}
