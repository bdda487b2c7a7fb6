/**
 * Reads advisory files whatever format each is in: OSV (JSON or YAML), RubySec YAML, Alpine
 * secdb YAML, the npm legacy JSON, or Amazon Linux's updateinfo XML (ALAS). A file that cannot be read is an issue; the rest load.
 * `decodeAdvisoryFile` is the per-file step the feed sources share; `loadAdvisories` reads a
 * whole tree into memory (the CLI without a store, and the tests).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { importUpdateInfo, isUpdateInfoName } from './importers/alas.js';
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

/** Whether a file name is one the decoder reads (JSON or YAML, or an ALAS updateinfo). */
export function isAdvisoryFileName(name: string): boolean {
  return /\.(json|ya?ml)$/.test(name) || isUpdateInfoName(name);
}

/**
 * Decodes one file from its bytes: an updateinfo file (XML, gzip'd or not) by the ALAS
 * importer, anything else as text by `decodeAdvisoryFile`.
 */
export function decodeAdvisoryBuffer(
  content: Buffer,
  source: string,
  issues: ImportIssue[],
  secdb: AlpineSecdbImporter,
): OsvRecord[] | 'ignored' {
  if (isUpdateInfoName(source)) return importUpdateInfo(content, source, issues);
  return decodeAdvisoryFile(content.toString('utf8'), source, issues, secdb);
}

/**
 * Decodes one file. Returns the records it holds, `secdb` when it is an Alpine secdb file (whose
 * records only exist once every secdb file is added: the caller adds it to `secdb`), or
 * `ignored` for JSON/YAML that is not an advisory (an index, a schema).
 */
export function decodeAdvisoryFile(
  text: string,
  source: string,
  issues: ImportIssue[],
  secdb: AlpineSecdbImporter,
): OsvRecord[] | 'ignored' {
  const json = source.endsWith('.json');
  let doc: unknown;
  try {
    doc = json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    issues.push({
      source,
      message: `${source}: not ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    });
    return [];
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'ignored';
  const d = doc as Record<string, unknown>;
  if ('distroversion' in d && 'packages' in d) {
    secdb.add(text, source);
    return [];
  }
  if ('gem' in d) {
    const r = importRubysec(text, source, issues);
    return r === undefined ? [] : [r];
  }
  if ('module_name' in d) {
    const r = importNpmLegacy(text, source, issues);
    return r === undefined ? [] : [r];
  }
  if ('id' in d && 'modified' in d) {
    try {
      return [parseOsv(doc, source)];
    } catch (error) {
      if (!(error instanceof InvalidAdvisoryError)) throw error;
      issues.push({ source, message: error.message });
      return [];
    }
  }
  return 'ignored';
}

/** Files under `root` (or `root` itself), sorted, hidden ones left out. */
export function advisoryFiles(root: string): string[] {
  const st = statSync(root);
  if (st.isFile()) return [root];
  return readdirSync(root)
    .sort()
    .flatMap((n) => (n.startsWith('.') ? [] : advisoryFiles(path.join(root, n))));
}

// A folder of advisories may hold Red Hat's repository-to-CPE mapping beside them.
import {
  importRepositoryToCpe,
  REPOSITORY_TO_CPE_FILE,
  type RepositoryCpes,
} from './importers/redhat-repository-to-cpe.js';

export interface LoadedAdvisories {
  /** Red Hat's repository-to-CPE mapping, when the folder has a `repository-to-cpe.json`. */
  readonly repositoryCpes?: RepositoryCpes;
}

export function loadAdvisories(root: string): LoadedAdvisories {
  const records: OsvRecord[] = [];
  const issues: ImportIssue[] = [];
  const secdb = new AlpineSecdbImporter();
  let count = 0;
  let repositoryCpes: RepositoryCpes | undefined;
  for (const file of advisoryFiles(root)) {
    if (!isAdvisoryFileName(file)) continue;
    const source = path.relative(root, file) || path.basename(file);
    if (path.basename(file) === REPOSITORY_TO_CPE_FILE) {
      repositoryCpes = importRepositoryToCpe(readFileSync(file), source, issues) ?? repositoryCpes;
      count++;
      continue;
    }
    const out = decodeAdvisoryBuffer(readFileSync(file), source, issues, secdb);
    if (out === 'ignored') continue;
    count++;
    records.push(...out);
  }
  records.push(...secdb.osv());
  issues.push(...secdb.issues);
  return {
    records,
    issues,
    files: count,
    ...(repositoryCpes === undefined ? {} : { repositoryCpes }),
  };
}
