/**
 * dpkg's database of installed packages: `var/lib/dpkg/status`, and distroless images'
 * one-file-per-package `var/lib/dpkg/status.d/<name>`. Paragraphs of RFC 822-style fields
 * (deb-control(5)); a package counts when its Status is `… installed`.
 * https://man7.org/linux/man-pages/man5/dpkg-status.5.html
 */
import { parseDpkg } from '../../../versions/dpkg.js';
import { InvalidVersionError } from '../../../versions/types.js';
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from '../../types.js';

const ID = 'os/dpkg/status';

/** Paragraphs of `Field: value` lines, continuation lines starting with a space or tab. */
export function parseControlParagraphs(
  text: string,
): { fields: Record<string, string>; line: number }[] {
  const out: { fields: Record<string, string>; line: number }[] = [];
  let fields: Record<string, string> = {};
  let last: string | undefined;
  let start = 1;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      if (Object.keys(fields).length > 0) out.push({ fields, line: start });
      fields = {};
      last = undefined;
      start = i + 2;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      fields[last] = `${fields[last]}\n${line.slice(1)}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim();
    fields[last] = line.slice(colon + 1).trim();
  }
  if (Object.keys(fields).length > 0) out.push({ fields, line: start });
  return out;
}

export const dpkgStatus: Extractor = {
  id: ID,
  osDatabase: true,
  version: 1,
  packageTypes: ['deb'],
  required: (path) =>
    path === 'var/lib/dpkg/status' ||
    (path.startsWith('var/lib/dpkg/status.d/') && !path.endsWith('.md5sums')),
  extract(path: string, content: Buffer): ExtractResult {
    const packages: ExtractedPackage[] = [];
    const issues: ExtractIssue[] = [];
    for (const { fields, line } of parseControlParagraphs(content.toString('utf8'))) {
      const name = fields.Package;
      const version = fields.Version;
      // distroless status.d entries have no Status field: their presence means installed.
      const status = fields.Status;
      if (status !== undefined && status.split(/\s+/)[2] !== 'installed') continue;
      // An empty value is no name or version either (a corrupt file: fuzz/targets.ts found one).
      if (!name || !version) {
        issues.push({
          extractor: ID,
          location: path,
          message: `${path}:${line}: paragraph without ${name ? 'Version' : 'Package'}; skipped`,
        });
        continue;
      }
      try {
        parseDpkg(version);
      } catch (error) {
        if (!(error instanceof InvalidVersionError)) throw error;
        issues.push({
          extractor: ID,
          location: path,
          message: `${path}:${line}: ${name}: ${error.message}; skipped`,
        });
        continue;
      }
      // `Source: name` or `Source: name (version)` when the source version differs.
      const source = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(fields.Source ?? '');
      packages.push({
        type: 'deb',
        name,
        version,
        ...(fields.Architecture === undefined ? {} : { arch: fields.Architecture }),
        sourceName: source?.[1] ?? name,
        sourceVersion: source?.[2] ?? version,
        location: path,
      });
    }
    return { packages, issues };
  },
};
