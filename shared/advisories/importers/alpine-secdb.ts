/**
 * Alpine's security database (secdb, https://secdb.alpinelinux.org/; the YAML of the former
 * alpine-secdb repository has the same content): per release and repository, each source
 * package's `secfixes` map a fixed version to the CVEs it fixes. One OSV record per CVE
 * (`ALPINE-CVE-…`), with an `Alpine:vX.Y` entry per package: introduced 0, fixed at that version.
 * A fixed version of `0` means the package was never affected in that release: no entry.
 */
import * as z from 'zod';
import type { OsvAffected, OsvRecord } from '../osv.js';
import { decodeFeedFile, type FeedInput, type ImportIssue } from './decode.js';
import { secdbPackages, secfixesOf } from './secdb-json.js';

export type { ImportIssue } from './decode.js';

const secdb = z.object({
  distroversion: z.string().regex(/^v\d+\.\d+$|^edge$/, 'a release like v3.10'),
  reponame: z.string().min(1),
  packages: secdbPackages,
});

/** Accumulates secdb files into OSV records; the same CVE across packages and releases is one record. */
export class AlpineSecdbImporter {
  private readonly records = new Map<string, { affected: OsvAffected[]; modified: string }>();
  readonly issues: ImportIssue[] = [];

  /** `input`: the file's YAML text, or the document already parsed from it. */
  add(input: FeedInput, source: string, modified = '1970-01-01T00:00:00Z'): void {
    const data = decodeFeedFile(input, 'YAML', secdb, 'an Alpine secdb file', source, this.issues);
    if (data === undefined) return;
    const ecosystem = `Alpine:${data.distroversion}`;
    // Entries are "CVE-2019-1234" or "CVE-2019-1234 CVE-2019-5678" or "XSA-123".
    for (const { name, fixed, id: cve } of secfixesOf(data.packages, source, this.issues)) {
      if (fixed === null) continue;
      const id = `ALPINE-${cve}`;
      const entry = this.records.get(id) ?? { affected: [], modified };
      entry.affected.push({
        package: { ecosystem, name },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
      });
      if (modified > entry.modified) entry.modified = modified;
      this.records.set(id, entry);
    }
  }

  osv(): OsvRecord[] {
    return [...this.records.entries()].map(([id, { affected, modified }]) => ({
      id,
      modified,
      aliases: [id.slice('ALPINE-'.length)],
      affected,
    }));
  }
}
