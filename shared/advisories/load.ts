/**
 * Reads advisory files whatever format each is in: OSV (JSON or YAML), RubySec YAML, Alpine
 * secdb YAML, Wolfi and Chainguard secdb JSON, Photon's CVE metadata JSON, Red Hat's CSAF VEX
 * documents, OVAL (Microsoft's, Oracle's, SUSE's), the npm legacy JSON,
 * or Amazon Linux's updateinfo XML (ALAS). A file that cannot be read is an issue; the rest
 * load. `decodeAdvisoryBuffer` is the per-file step the feed sources share; `loadAdvisories`
 * reads a whole tree into memory (the CLI without a store, and the tests).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CveFact } from './cve-facts.js';
import { importUpdateInfo, isUpdateInfoName } from './importers/alas.js';
import { AlpineSecdbImporter } from './importers/alpine-secdb.js';
import { debianTrackerFacts } from './importers/debian-tracker.js';
import { type ImportIssue, UnreadableFeedFileError } from './importers/decode.js';
import { epssFacts } from './importers/epss.js';
import { kevFacts } from './importers/kev.js';
import { importNpmLegacy } from './importers/npm-legacy.js';
import { nvdFactsOfPage } from './importers/nvd.js';
import { importOval, isOvalName } from './importers/oval.js';
import { isPhotonName, PhotonImporter } from './importers/photon.js';
import {
  importRepositoryToCpe,
  REPOSITORY_TO_CPE_FILE,
  type RepositoryCpes,
} from './importers/redhat-repository-to-cpe.js';
import { importRedHatVex, isRedHatVex } from './importers/redhat-vex.js';
import { importRubysec } from './importers/rubysec.js';
import { importSecdbJson, isSecdbJson } from './importers/secdb-json.js';
import { InvalidAdvisoryError, type OsvRecord, parseOsv } from './osv.js';
import { parseYaml } from './yaml.js';

export interface LoadedAdvisories {
  readonly records: OsvRecord[];
  readonly issues: ImportIssue[];
  readonly files: number;
  /** Red Hat's repository-to-CPE mapping, when the folder has a `repository-to-cpe.json`. */
  readonly repositoryCpes?: RepositoryCpes;
  /** What the folder's CVE feed files say of CVEs (NVD, KEV, EPSS, Debian's tracker). */
  readonly facts: CveFact[];
}

/** Whether a file name is one the decoder reads (JSON or YAML, an ALAS updateinfo, OVAL). */
export function isAdvisoryFileName(name: string): boolean {
  return (
    /\.(json|ya?ml|xml|xml\.gz|xml\.bz2)$/.test(name) ||
    isUpdateInfoName(name) ||
    isOvalName(name) ||
    isEpssName(name)
  );
}

/** FIRST's EPSS score file (`epss_scores-2025-03-15.csv.gz`). */
const isEpssName = (name: string) => /epss[^/]*\.csv(\.gz)?$/.test(name);
/** A decompressed EPSS file far beyond a real one (~15 MB) is refused. */
const MAX_EPSS_CSV_BYTES = 256 * 1024 * 1024;

/**
 * Whether XML is an OVAL document: by name (Oracle's `ELSA-*.xml`, `*oval*.xml`), else by its
 * root element near the top (SUSE's and others' files are named for their product).
 */
function isOval(content: Buffer, source: string): boolean {
  if (isOvalName(source)) return true;
  if (!source.endsWith('.xml')) return false;
  return /<(?:\w+:)?oval_definitions[\s>]/.test(content.subarray(0, 64 * 1024).toString('utf8'));
}

/**
 * The importers whose records gather several files: an Alpine secdb CVE record names every
 * release and repository that fixed it, a Photon record every release. Files are added as they
 * come; the records exist once all are in.
 */
export class BundledImporters {
  readonly alpine = new AlpineSecdbImporter();
  readonly photon = new PhotonImporter();
  /** What CVE feed files (NVD pages, KEV, EPSS, Debian's tracker) say of CVEs. */
  readonly facts: CveFact[] = [];

  records(): OsvRecord[] {
    return [...this.alpine.osv(), ...this.photon.osv()];
  }

  issues(): ImportIssue[] {
    return [...this.alpine.issues, ...this.photon.issues];
  }
}

/**
 * Decodes one file from its bytes: an updateinfo file (XML, gzip'd or not) by the ALAS
 * importer, anything else as text by `decodeAdvisoryFile`.
 */
export function decodeAdvisoryBuffer(
  content: Buffer,
  source: string,
  issues: ImportIssue[],
  bundled: BundledImporters,
): OsvRecord[] | 'ignored' {
  if (isUpdateInfoName(source)) return importUpdateInfo(content, source, issues);
  if (isEpssName(source)) {
    const gzip = content[0] === 0x1f && content[1] === 0x8b;
    const text = (
      gzip ? gunzipSync(content, { maxOutputLength: MAX_EPSS_CSV_BYTES }) : content
    ).toString('utf8');
    bundled.facts.push(...epssFacts(text, source, issues).facts);
    return [];
  }
  if (isOval(content, source)) return importOval(content, source, issues);
  // Other XML (a repomd.xml, an RSS feed) is not an advisory.
  if (/\.xml(\.gz|\.bz2)?$/.test(source)) return 'ignored';
  return decodeAdvisoryFile(content.toString('utf8'), source, issues, bundled);
}

/**
 * The CVE facts of a CVE feed's file, recognised by shape: NVD's API 2.0 page or yearly feed
 * (`format: NVD_CVE`), CISA's KEV catalog (`catalogVersion`), Debian's tracker export (source
 * packages whose members are CVE ids); undefined for any other document.
 */
function cveFactsOf(
  d: Record<string, unknown>,
  text: string,
  source: string,
  issues: ImportIssue[],
): CveFact[] | undefined {
  try {
    if (d.format === 'NVD_CVE' && Array.isArray(d.vulnerabilities))
      return nvdFactsOfPage(text, source, issues).facts;
    if ('catalogVersion' in d && Array.isArray(d.vulnerabilities))
      return kevFacts(text, source, issues).facts;
    const first = Object.values(d)[0];
    if (
      first !== null &&
      typeof first === 'object' &&
      !Array.isArray(first) &&
      Object.keys(first).some((k) => /^(CVE|TEMP)-/.test(k))
    )
      return debianTrackerFacts(text, source, issues);
  } catch (error) {
    if (!(error instanceof UnreadableFeedFileError)) throw error;
    issues.push({ source, message: error.message });
    return [];
  }
  return undefined;
}

/**
 * Decodes one file. Returns the records it holds ([] for a file of a bundled format, which goes
 * to `bundled`), or `ignored` for JSON/YAML that is not an advisory (an index, a schema).
 */
export function decodeAdvisoryFile(
  text: string,
  source: string,
  issues: ImportIssue[],
  bundled: BundledImporters,
): OsvRecord[] | 'ignored' {
  // Photon's files are a bare array: recognised by name (`cve_data_photon4.0.json`).
  if (isPhotonName(source)) {
    bundled.photon.add(text, source);
    return [];
  }
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
  // The document parsed above is handed on, not the text: a file is parsed once (issue 17 #11).
  if ('distroversion' in d && 'packages' in d) {
    bundled.alpine.add({ doc }, source);
    return [];
  }
  if (isSecdbJson(d)) return importSecdbJson(text, source, issues);
  const facts = cveFactsOf(d, text, source, issues);
  if (facts !== undefined) {
    bundled.facts.push(...facts);
    return [];
  }
  if (isRedHatVex(d)) return importRedHatVex(text, source, issues);
  if ('gem' in d) {
    const r = importRubysec({ doc }, source, issues);
    return r === undefined ? [] : [r];
  }
  if ('module_name' in d) {
    const r = importNpmLegacy({ doc }, source, issues);
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

export function loadAdvisories(root: string): LoadedAdvisories {
  const records: OsvRecord[] = [];
  const issues: ImportIssue[] = [];
  const bundled = new BundledImporters();
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
    const out = decodeAdvisoryBuffer(readFileSync(file), source, issues, bundled);
    if (out === 'ignored') continue;
    count++;
    records.push(...out);
  }
  records.push(...bundled.records());
  issues.push(...bundled.issues());
  return {
    records,
    issues,
    files: count,
    facts: bundled.facts,
    ...(repositoryCpes === undefined ? {} : { repositoryCpes }),
  };
}
