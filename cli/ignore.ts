/**
 * `.bosunignore`: findings a project has decided about, one per line (docs/cli.md):
 *
 *     # comment
 *     CVE-2024-5535                                   # the vulnerability in any package
 *     CVE-2024-5535 pkg:deb/debian/openssl            # in one package, any version
 *     GHSA-jfh8-c2jp-5v3q pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1 exp:2027-01-31
 *
 * After the id: a package URL (https://github.com/package-url/purl-spec), optional, matched as a
 * VEX product is (shared/vex/apply.ts purlCovers: no version covers all, qualifiers must
 * match); `exp:YYYY-MM-DD`, optional, the last day it applies (UTC); then `#` and the reason.
 * Trivy's `.trivyignore` has the same id-per-line shape and `exp:`; the purl is Bosun's, since
 * an id alone also silences the next package that has it.
 */
import { readFileSync } from 'node:fs';
import { purlCovers } from '../shared/vex/apply.js';
import { UsageError } from './options.js';

export interface IgnoreEntry {
  readonly id: string;
  readonly purl?: string;
  /** The last day (UTC, YYYY-MM-DD) the entry applies. */
  readonly expires?: string;
  readonly reason?: string;
  /** `file:line`, what the output names as the reason's source. */
  readonly where: string;
}

export interface IgnoreFile {
  readonly entries: readonly IgnoreEntry[];
  /** Entries past their expiry: said on every run, never applied. */
  readonly expired: readonly IgnoreEntry[];
}

const ID = /^[A-Za-z][A-Za-z0-9._:-]*-[A-Za-z0-9._:-]+$/;

/** Parses an ignore file's text; a malformed line is a usage error naming the line. */
export function parseIgnore(text: string, file: string, today: string): IgnoreFile {
  const entries: IgnoreEntry[] = [];
  const expired: IgnoreEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    const hash = raw.indexOf('#');
    const body = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    const reason = hash < 0 ? undefined : raw.slice(hash + 1).trim() || undefined;
    if (body === '') return;
    const [id, ...rest] = body.split(/\s+/);
    if (id === undefined || !ID.test(id))
      throw new UsageError(`${where}: ${JSON.stringify(id)} is not a vulnerability id`);
    let purl: string | undefined;
    let expires: string | undefined;
    for (const word of rest) {
      if (word.startsWith('exp:')) {
        expires = word.slice(4);
        if (!/^\d{4}-\d{2}-\d{2}$/.test(expires) || Number.isNaN(Date.parse(expires)))
          throw new UsageError(`${where}: ${JSON.stringify(word)} is not exp:YYYY-MM-DD`);
      } else if (word.startsWith('pkg:') && purl === undefined) purl = word;
      else
        throw new UsageError(`${where}: unexpected ${JSON.stringify(word)} (a purl, exp:, or #)`);
    }
    const entry: IgnoreEntry = {
      id,
      ...(purl === undefined ? {} : { purl }),
      ...(expires === undefined ? {} : { expires }),
      ...(reason === undefined ? {} : { reason }),
      where,
    };
    if (expires !== undefined && expires < today) expired.push(entry);
    else entries.push(entry);
  });
  return { entries, expired };
}

export function readIgnoreFile(file: string, today: string): IgnoreFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ignore file ${file}: ${(error as Error).message}`);
  }
  return parseIgnore(text, file, today);
}

/** The entry that ignores a finding with these ids in this package, if any. */
export function ignoredBy(
  file: IgnoreFile,
  ids: readonly string[],
  purl: string | undefined,
): IgnoreEntry | undefined {
  return file.entries.find(
    (e) =>
      ids.includes(e.id) &&
      (e.purl === undefined || (purl !== undefined && purlCovers(e.purl, purl))),
  );
}
