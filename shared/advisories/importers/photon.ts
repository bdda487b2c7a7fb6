/**
 * Photon OS's CVE metadata (https://packages.vmware.com/photon/photon_cve_metadata/): one file
 * per release, `cve_data_photon<release>.json`, an array of
 * `{cve_id, pkg, cve_score, aff_ver, res_ver, status}` (`photon_versions.json` lists the
 * releases). What the fields hold, as the published files and the readers of vunnel and
 * vuln-list-update show:
 * - `cve_id`: a CVE, or another publisher's id (`BDSA-2025-0719`, Black Duck's).
 * - `res_ver`: the release-qualified rpm version that fixes it (`7.88.1-4.ph4`), or `NA`.
 * - `aff_ver`: `all versions before <res_ver> are vulnerable`, or `NA` / empty.
 * - `status`: `Fixed` or `Not Affected`; absent in older files, where `res_ver` says it all.
 *   A `Fixed` entry whose `res_ver` is `NA` names no fixed version: the package is affected and
 *   no fix is published (vunnel reads it the same way), `fix_status: 'not-fixed'`.
 * - `cve_score`: a CVSS base score (NVD's, v3) or null. Photon publishes no severity word, so
 *   none is made up from it: the number is kept as `database_specific.cvss_score`.
 *
 * One OSV record per id across every release file added, in Bosun's own id space:
 * `PHOTON-<id>` (osv.dev has no Photon records; a non-CVE id keeps its own id after the
 * prefix), aliased to the id, with one entry per release and package in osv.dev's ecosystem
 * name `Photon OS:<release>` (https://ossf.github.io/osv-schema/#defined-ecosystems) and PURL
 * `pkg:rpm/photon/<name>`. A `Not Affected` package has no entry; an id whose packages are all
 * not affected still has its record, without entries, so that a package moved to `Not Affected`
 * stops matching once the record is synced again.
 *
 * The files give no date per entry: a record's `modified` is the newest `modified` the caller
 * passed with the files that name it (the file's Last-Modified), else 1970-01-01T00:00:00Z,
 * which says "unknown".
 */
import * as z from 'zod';
import { rpm } from '../../versions/rpm.js';
import { describeIssues } from '../../zod-issues.js';
import { InvalidAdvisoryError, type OsvAffected, type OsvRecord, parseOsv } from '../osv.js';
import { decodeFeedFile, type ImportIssue } from './decode.js';
import { UNKNOWN_MODIFIED } from './secdb-json.js';

/** Files far beyond the real ones (a few MB each) are refused before they are parsed. */
const MAX_PHOTON_CHARS = 128 * 1024 * 1024;
const MAX_ENTRIES = 2_000_000;

const CVE = /^CVE-\d{4}-\d{4,}$/;
/** Another publisher's id: `BDSA-2025-0719`. */
const OTHER_ID = /^[A-Z][A-Z0-9]+(?:-[A-Za-z0-9]+)+$/;
const RELEASE = /^\d+\.\d+$/;
/** The one range shape `aff_ver` is published in. */
const BEFORE = /^all versions before (\S+) are vulnerable$/;
/**
 * The characters rpm allows in a version and a release (alphanumerics and `._+~^`, rpmbuild's
 * check; `_` too, which older packages use), with an optional epoch.
 * https://rpm-software-management.github.io/rpm/manual/spec.html#version
 */
const EVR = /^(?:\d+:)?[\w.+~^]+(?:-[\w.+~^]+)?$/;

/** Whether a file name is a Photon CVE metadata file (`cve_data_photon4.0.json`). */
export function isPhotonName(name: string): boolean {
  return /(^|\/)cve_data_photon[^/]*\.json$/.test(name);
}

/** The release a file name states (`cve_data_photon4.0.json` → `4.0`). */
export function photonReleaseOf(name: string): string | undefined {
  return /(?:^|\/)cve_data_photon(\d+\.\d+)\.json$/.exec(name)?.[1];
}

const entry = z.object({
  cve_id: z.string(),
  pkg: z.string(),
  cve_score: z.unknown().optional(),
  aff_ver: z.string().nullish(),
  res_ver: z.string().nullish(),
  status: z.string().nullish(),
});
type Entry = z.output<typeof entry>;

const NO_VERSION = new Set(['', 'NA']);

interface Pending {
  modified: string;
  score: number | undefined;
  affected: Map<string, OsvAffected>;
}

/** Accumulates release files into OSV records; the same id across releases is one record. */
export class PhotonImporter {
  private readonly records = new Map<string, Pending>();
  readonly issues: ImportIssue[] = [];

  /**
   * Adds one release file. The release is the caller's, else the one the file name states;
   * `modified` is the file's date (its Last-Modified). Returns false, with one issue, when the
   * file cannot be read at all (not JSON, not an array, no release); a bad entry is an issue
   * and the rest load.
   */
  add(text: string, source: string, release?: string, modified = UNKNOWN_MODIFIED): boolean {
    const rel = release ?? photonReleaseOf(source);
    if (rel === undefined || !RELEASE.test(rel)) {
      this.issues.push({
        source,
        message: `${source}: names no Photon release (${JSON.stringify(rel ?? null)}; expected cve_data_photon<major.minor>.json or a release like 4.0); skipped`,
      });
      return false;
    }
    if (text.length > MAX_PHOTON_CHARS) {
      this.issues.push({
        source,
        message: `${source}: over ${MAX_PHOTON_CHARS} characters; refused`,
      });
      return false;
    }
    const rows = decodeFeedFile(
      text,
      'JSON',
      z.array(z.unknown()).max(MAX_ENTRIES),
      'a Photon CVE metadata file (an array of entries)',
      source,
      this.issues,
    );
    if (rows === undefined) return false;
    for (const [i, row] of rows.entries()) {
      const parsed = entry.safeParse(row);
      if (!parsed.success) {
        this.issues.push({
          source,
          message: `${source}: entry ${i} (${JSON.stringify(row).slice(0, 200)}) is not one: ${describeIssues(parsed.error).join('; ')}; skipped`,
        });
        continue;
      }
      this.addEntry(parsed.data, source, rel, modified);
    }
    return true;
  }

  private addEntry(e: Entry, source: string, release: string, modified: string): void {
    const cve = e.cve_id.trim();
    const name = e.pkg.trim();
    const where = `${source}: ${JSON.stringify(e.cve_id)} ${JSON.stringify(e.pkg)}`;
    if (!(CVE.test(cve) || (!cve.startsWith('CVE-') && OTHER_ID.test(cve)))) {
      this.issues.push({
        source,
        message: `${where}: cve_id is not a CVE or advisory id; skipped`,
      });
      return;
    }
    if (!/^\S+$/.test(name)) {
      this.issues.push({ source, message: `${where}: pkg is not a package name; skipped` });
      return;
    }
    const id = `PHOTON-${cve}`;
    const record = this.records.get(id) ?? { modified, score: undefined, affected: new Map() };
    this.records.set(id, record);
    if (modified > record.modified) record.modified = modified;
    const score = this.score(e.cve_score, where, source);
    if (score !== undefined && (record.score === undefined || score > record.score))
      record.score = score;
    const affected = this.affectedOf(e, where, source, release, name);
    if (affected === undefined) return;
    const key = `${affected.package?.ecosystem}#${name}`;
    const earlier = record.affected.get(key);
    if (earlier === undefined) record.affected.set(key, affected);
    else if (JSON.stringify(earlier) !== JSON.stringify(affected))
      this.issues.push({
        source,
        message: `${where}: listed again with another fix (${JSON.stringify(e.res_ver)}); the first one is kept`,
      });
  }

  /** The entry's affected package, or undefined when it is not affected or cannot be read. */
  private affectedOf(
    e: Entry,
    where: string,
    source: string,
    release: string,
    name: string,
  ): OsvAffected | undefined {
    const status = (e.status ?? '').trim().toLowerCase();
    if (status === 'not affected') return undefined;
    if (status !== '' && status !== 'fixed') {
      this.issues.push({
        source,
        message: `${where}: unknown status ${JSON.stringify(e.status)}; skipped`,
      });
      return undefined;
    }
    const resVer = (e.res_ver ?? '').trim();
    const affVer = (e.aff_ver ?? '').trim();
    const fixed = NO_VERSION.has(resVer) ? undefined : resVer.replace(/^0:/, '');
    if (fixed !== undefined && !(EVR.test(fixed) && rpm.valid(fixed))) {
      this.issues.push({
        source,
        message: `${where}: res_ver ${JSON.stringify(e.res_ver)} is not an rpm version; skipped`,
      });
      return undefined;
    }
    // aff_ver restates res_ver; anything else is a range this reader does not know.
    const before = BEFORE.exec(affVer)?.[1];
    if (!(NO_VERSION.has(affVer) || (before !== undefined && before === resVer))) {
      this.issues.push({
        source,
        message: `${where}: aff_ver ${JSON.stringify(e.aff_ver)} does not agree with res_ver ${JSON.stringify(e.res_ver)}; skipped`,
      });
      return undefined;
    }
    const pkg = {
      ecosystem: `Photon OS:${release}`,
      name,
      purl: `pkg:rpm/photon/${encodeURIComponent(name)}`,
    };
    return fixed === undefined
      ? {
          package: pkg,
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          database_specific: { fix_status: 'not-fixed' },
        }
      : {
          package: pkg,
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
        };
  }

  /** A CVSS base score, 0 to 10; anything else is an issue and left out. */
  private score(value: unknown, where: string, source: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 10)
      return value;
    this.issues.push({
      source,
      message: `${where}: cve_score ${JSON.stringify(value)} is not a CVSS score; left out`,
    });
    return undefined;
  }

  /** The records of every file added so far, by id; invalid ones become issues. */
  osv(): OsvRecord[] {
    const out: OsvRecord[] = [];
    for (const [id, r] of [...this.records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const affected = [...r.affected]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, a]) => a);
      const record = {
        id,
        modified: r.modified,
        aliases: [id.slice('PHOTON-'.length)],
        ...(affected.length === 0 ? {} : { affected }),
        ...(r.score === undefined ? {} : { database_specific: { cvss_score: r.score } }),
      };
      try {
        out.push(parseOsv(record, id));
      } catch (error) {
        if (!(error instanceof InvalidAdvisoryError)) throw error;
        this.issues.push({ source: id, message: error.message });
      }
    }
    return out;
  }
}
