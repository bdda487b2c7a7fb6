/**
 * Alpine's security database (secdb, https://secdb.alpinelinux.org/; the YAML of the former
 * alpine-secdb repository has the same content): per release and repository, each source
 * package's `secfixes` map a fixed version to the CVEs it fixes. One OSV record per CVE
 * (`ALPINE-CVE-…`), with an `Alpine:vX.Y` entry per package: introduced 0, fixed at that version.
 * A fixed version of `0` means the package was never affected in that release: no entry.
 */
import { z } from 'zod';
import { apk } from '../../versions/apk.js';
import type { OsvAffected, OsvRecord } from '../osv.js';
import { decodeFeedFile, type ImportIssue } from './decode.js';

export type { ImportIssue } from './decode.js';

const secdb = z.object({
  distroversion: z.string().regex(/^v\d+\.\d+$|^edge$/, 'a release like v3.10'),
  reponame: z.string().min(1),
  packages: z
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
    .nullable(),
});

/** Accumulates secdb files into OSV records; the same CVE across packages and releases is one record. */
export class AlpineSecdbImporter {
  private readonly records = new Map<string, { affected: OsvAffected[]; modified: string }>();
  readonly issues: ImportIssue[] = [];

  add(text: string, source: string, modified = '1970-01-01T00:00:00Z'): void {
    const data = decodeFeedFile(text, 'YAML', secdb, 'an Alpine secdb file', source, this.issues);
    if (data === undefined) return;
    const ecosystem = `Alpine:${data.distroversion}`;
    for (const { pkg } of data.packages ?? []) {
      for (const [rawFixed, ids] of Object.entries(pkg.secfixes ?? {})) {
        const fixed = rawFixed.trim();
        if (fixed === '0') continue;
        if (!apk.valid(fixed)) {
          this.issues.push({
            source,
            message: `${source}: ${pkg.name}: fixed version ${JSON.stringify(rawFixed)} is not an apk version; skipped`,
          });
          continue;
        }
        for (const raw of ids ?? []) {
          // Entries are "CVE-2019-1234" or "CVE-2019-1234 CVE-2019-5678" or "XSA-123".
          for (const cve of raw.split(/\s+/).filter((x) => x !== '')) {
            const id = `ALPINE-${cve}`;
            const entry = this.records.get(id) ?? { affected: [], modified };
            entry.affected.push({
              package: { ecosystem, name: pkg.name },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
            });
            if (modified > entry.modified) entry.modified = modified;
            this.records.set(id, entry);
          }
        }
      }
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
