/**
 * Loads advisories from a directory tree, whatever format each file is in: OSV (JSON or YAML),
 * RubySec YAML, Alpine secdb YAML, or the npm legacy JSON. Each file that cannot be read is an
 * issue; the rest load. Used by the CLI and the tests; feed syncs (a later issue) stream instead.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AlpineSecdbImporter } from './importers/alpine-secdb.js';
import type { ImportIssue } from './importers/decode.js';
import { importNpmLegacy } from './importers/npm-legacy.js';
import { importRubysec } from './importers/rubysec.js';
import { InvalidAdvisoryError, type OsvRecord, parseOsv } from './osv.js';

export interface LoadedAdvisories {
  readonly records: OsvRecord[];
  readonly issues: ImportIssue[];
  readonly files: number;
}

function files(root: string): string[] {
  const st = statSync(root);
  if (st.isFile()) return [root];
  return readdirSync(root)
    .sort()
    .flatMap((n) => (n.startsWith('.') ? [] : files(path.join(root, n))));
}

export function loadAdvisories(root: string): LoadedAdvisories {
  const records: OsvRecord[] = [];
  const issues: ImportIssue[] = [];
  const secdb = new AlpineSecdbImporter();
  let count = 0;
  for (const file of files(root)) {
    const json = file.endsWith('.json');
    if (!json && !/\.ya?ml$/.test(file)) continue;
    const source = path.relative(root, file) || path.basename(file);
    const text = readFileSync(file, 'utf8');
    let doc: unknown;
    try {
      doc = json ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      issues.push({
        source,
        message: `${source}: not ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      });
      continue;
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) continue;
    count++;
    const d = doc as Record<string, unknown>;
    if ('distroversion' in d && 'packages' in d) {
      secdb.add(text, source);
    } else if ('gem' in d) {
      const r = importRubysec(text, source, issues);
      if (r !== undefined) records.push(r);
    } else if ('module_name' in d) {
      const r = importNpmLegacy(text, source, issues);
      if (r !== undefined) records.push(r);
    } else if ('id' in d && 'modified' in d) {
      try {
        records.push(parseOsv(doc, source));
      } catch (error) {
        if (!(error instanceof InvalidAdvisoryError)) throw error;
        issues.push({ source, message: error.message });
      }
    } else {
      count--;
    }
  }
  records.push(...secdb.osv());
  issues.push(...secdb.issues);
  return { records, issues, files: count };
}
