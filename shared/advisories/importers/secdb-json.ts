/**
 * The secdb JSON that Wolfi and Chainguard publish beside their apk repositories
 * (https://packages.wolfi.dev/os/security.json, https://packages.cgr.dev/chainguard/security.json):
 * Alpine's secdb layout (https://secdb.alpinelinux.org/) for a rolling distribution, so it has an
 * `apkurl` template, `archs`, `reponame` and `urlprefix` but no `distroversion`. Each source
 * package's `secfixes` map a fixed version to the vulnerability ids it fixes; a fixed version of
 * `0` means the package was never affected (a false positive the publisher has ruled out). The
 * format has no "not fixed yet" key: an unfixed vulnerability is simply not listed.
 *
 * One OSV record per vulnerability id, in Bosun's own id space: `WOLFI-<id>` / `CHAINGUARD-<id>`
 * (osv.dev's records for these distributions are Chainguard's CGA-… advisories, a different
 * source with its own ids), the id itself as the alias, and one entry per package in the
 * ecosystem osv.dev names (`Wolfi`, `Chainguard`: no release suffix, the distributions are
 * rolling) with PURL `pkg:apk/wolfi/<name>` / `pkg:apk/chainguard/<name>`
 * (https://github.com/package-url/purl-spec/blob/main/PURL-TYPES.rst#apk). A vulnerability
 * listed only under `0` still gets its record, without entries, so that a package the publisher
 * later rules out stops matching once the record is synced again.
 *
 * The file has no date per entry: `modified` is the caller's (the file's Last-Modified), else
 * 1970-01-01T00:00:00Z, which says "unknown".
 */
import * as z from 'zod';
import { apk } from '../../versions/apk.js';
import type { OsvAffected, OsvRecord } from '../osv.js';
import { decodeFeedFile, type ImportIssue, pushValid } from './decode.js';

export type SecdbDistro = 'Wolfi' | 'Chainguard';

/** What a record says when its source gives no date. */
export const UNKNOWN_MODIFIED = '1970-01-01T00:00:00Z';

/** Files far beyond the real ones (Wolfi's is a few MB) are refused before they are parsed. */
const MAX_SECDB_CHARS = 128 * 1024 * 1024;
const MAX_PACKAGES = 500_000;

/** The `packages` of any secdb file, Alpine's YAML or Wolfi's and Chainguard's JSON. */
export const secdbPackages = z
  .array(
    z.object({
      pkg: z.object({
        name: z.string().min(1),
        secfixes: z
          .record(z.string(), z.array(z.string().min(1)).nullable())
          .nullable()
          .optional(),
      }),
    }),
  )
  .max(MAX_PACKAGES)
  .nullable();

export type SecdbPackages = z.output<typeof secdbPackages>;

/** One vulnerability id a package's secfixes name; `fixed` is null for `0` (never affected). */
export interface Secfix {
  readonly name: string;
  readonly fixed: string | null;
  readonly id: string;
}

/** A vulnerability id as secdb files name them: `CVE-2019-1234`, `XSA-123`, `GHSA-…`. */
const VULN_ID = /^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/**
 * Every (package, fixed version, id) of a secdb file's packages. A fixed version that is not an
 * apk version is an issue and its ids are skipped. An entry may hold several ids separated by
 * spaces (`CVE-2019-1234 CVE-2019-5678`), as Alpine's older files do, and a note in parentheses
 * after them (`CVE-2018-14466 (AFS/RX)`, `CVE-2018-10103 (SMB - partially fixed, …)`): the
 * note is dropped (its words became advisories named `(AFS/RX)` and `fixed,`), and any other
 * word that is not an id is an issue.
 */
export function* secfixesOf(
  packages: SecdbPackages,
  source: string,
  issues: ImportIssue[],
): Generator<Secfix> {
  for (const { pkg } of packages ?? []) {
    for (const [rawFixed, ids] of Object.entries(pkg.secfixes ?? {})) {
      const fixed = rawFixed.trim();
      if (fixed !== '0' && !apk.valid(fixed)) {
        issues.push({
          source,
          message: `${source}: ${pkg.name}: fixed version ${JSON.stringify(rawFixed)} is not an apk version; skipped`,
        });
        continue;
      }
      for (const raw of ids ?? []) {
        const paren = raw.indexOf('(');
        // Alpine's files also spell a CVE `CVE_2019-2426` (openjdk7) and `CVE 2018-16859`
        // (ansible): its id all the same.
        const words = (paren < 0 ? raw : raw.slice(0, paren))
          .replace(/\bCVE[ _](?=\d{4}-\d+\b)/g, 'CVE-')
          .split(/\s+/)
          .filter((x) => x !== '');
        for (const id of words) {
          if (VULN_ID.test(id)) yield { name: pkg.name, fixed: fixed === '0' ? null : fixed, id };
          else
            issues.push({
              source,
              message: `${source}: ${pkg.name}: ${JSON.stringify(id)} in ${JSON.stringify(raw)} is not a vulnerability id; skipped`,
            });
        }
      }
    }
  }
}

const secdbJson = z.object({
  apkurl: z.string().min(1),
  archs: z.array(z.string()).optional(),
  reponame: z.string().optional(),
  urlprefix: z.string().optional(),
  packages: secdbPackages,
});

export type SecdbJson = z.output<typeof secdbJson>;

/** Whether a decoded JSON document is a Wolfi/Chainguard secdb (not Alpine's, which names a release). */
export function isSecdbJson(doc: unknown): boolean {
  return (
    doc !== null &&
    typeof doc === 'object' &&
    !Array.isArray(doc) &&
    'packages' in doc &&
    'apkurl' in doc &&
    !('distroversion' in doc)
  );
}

/**
 * The distribution a secdb names through where its packages are downloaded: the `apkurl`
 * template with `{{urlprefix}}` filled in (`https://packages.wolfi.dev/os/…`,
 * `https://libraries.cgr.dev/chainguard/…`). Undefined for any other host.
 */
export function secdbDistroOf(
  doc: Pick<SecdbJson, 'apkurl' | 'urlprefix'>,
): SecdbDistro | undefined {
  let host: string;
  try {
    host = new URL(doc.apkurl.replaceAll('{{urlprefix}}', doc.urlprefix ?? '')).hostname;
  } catch {
    return undefined;
  }
  if (/(^|\.)wolfi\.dev$/.test(host)) return 'Wolfi';
  if (/(^|\.)cgr\.dev$/.test(host)) return 'Chainguard';
  return undefined;
}

/** Reads a secdb JSON file; one issue (and undefined) when it is no such file. */
export function decodeSecdbJson(
  text: string,
  source: string,
  issues: ImportIssue[],
): SecdbJson | undefined {
  if (text.length > MAX_SECDB_CHARS) {
    issues.push({ source, message: `${source}: over ${MAX_SECDB_CHARS} characters; refused` });
    return undefined;
  }
  return decodeFeedFile(text, 'JSON', secdbJson, 'a secdb JSON file', source, issues);
}

/** The records of a decoded secdb file; the distribution must be known (see importSecdbJson). */
export function secdbJsonRecords(
  doc: SecdbJson,
  source: string,
  issues: ImportIssue[],
  distro: SecdbDistro,
  modified: string = UNKNOWN_MODIFIED,
): OsvRecord[] {
  const prefix = distro.toUpperCase();
  const purlType = `pkg:apk/${distro.toLowerCase()}`;
  const byId = new Map<string, OsvAffected[]>();
  for (const { name, fixed, id } of secfixesOf(doc.packages, source, issues)) {
    const affected = byId.get(id) ?? [];
    byId.set(id, affected);
    if (fixed === null) continue;
    affected.push({
      package: { ecosystem: distro, name, purl: `${purlType}/${encodeURIComponent(name)}` },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
    });
  }
  const records: OsvRecord[] = [];
  for (const [id, affected] of [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const record = {
      id: `${prefix}-${id}`,
      modified,
      aliases: [id],
      ...(affected.length === 0 ? {} : { affected }),
    };
    pushValid(records, record, source, issues);
  }
  return records;
}

/**
 * The records of one Wolfi or Chainguard secdb JSON file. The distribution is the caller's, else
 * the one the file's download URL names; a file that names neither is one issue and no record,
 * as is a file that is not secdb JSON at all. A fixed version that is not an apk version is an
 * issue and the rest load.
 */
export function importSecdbJson(
  text: string,
  source: string,
  issues: ImportIssue[],
  distro?: SecdbDistro,
  modified: string = UNKNOWN_MODIFIED,
): OsvRecord[] {
  const doc = decodeSecdbJson(text, source, issues);
  if (doc === undefined) return [];
  const which = distro ?? secdbDistroOf(doc);
  if (which === undefined) {
    issues.push({
      source,
      message: `${source}: apkurl ${JSON.stringify(doc.apkurl)} with urlprefix ${JSON.stringify(doc.urlprefix ?? null)} names neither Wolfi (packages.wolfi.dev) nor Chainguard (*.cgr.dev); name the distribution`,
    });
    return [];
  }
  return secdbJsonRecords(doc, source, issues, which, modified);
}
