/**
 * RubySec advisories (https://github.com/rubysec/ruby-advisory-db, one YAML file each):
 * `patched_versions` and `unaffected_versions` are Gem::Requirement strings
 * (`~> 6.1.7, >= 6.1.7.1`); every other version is vulnerable. Converted to OSV with the
 * RubyGems scheme. Id `RUBYSEC-<gem>-<CVE, else GHSA, else OSVDB id>`; CVE and GHSA become aliases.
 */
import * as z from 'zod';
import { gemSegments, rubygems } from '../../versions/rubygems.js';
import { complement, type Interval, intersect, toEvents } from '../intervals.js';
import type { OsvRecord } from '../osv.js';
import { decodeFeedFile, type FeedInput, type ImportIssue } from './decode.js';

const rubysecAdvisory = z.object({
  gem: z.string().min(1),
  cve: z.union([z.string(), z.number()]).optional(),
  ghsa: z.string().optional(),
  osvdb: z.union([z.string(), z.number()]).optional(),
  url: z.string().optional(),
  title: z.string().optional(),
  date: z.union([z.string(), z.date()]).optional(),
  description: z.string().optional(),
  cvss_v2: z.number().optional(),
  cvss_v3: z.number().optional(),
  cvss_v4: z.number().optional(),
  patched_versions: z.array(z.string()).nullish(),
  unaffected_versions: z.array(z.string()).nullish(),
});

/** Gem::Version#bump: drop prerelease parts and the last part, then increment: `~> 2.1.3` stops before 2.2. */
export function gemBump(version: string): string {
  const segments = gemSegments(version).filter((s): s is bigint => typeof s === 'bigint');
  if (segments.length > 1) segments.pop();
  const last = segments.length - 1;
  segments[last] = (segments[last] ?? 0n) + 1n;
  return segments.join('.');
}

/** One requirement string (comma-separated conditions, all of which must hold) as an interval. */
export function requirementInterval(requirement: string): Interval | undefined {
  const parts: Interval[] = [];
  for (const raw of requirement.split(',')) {
    const m = /^\s*(~>|>=|<=|!=|=|>|<)?\s*(\S+)\s*$/.exec(raw);
    if (m === null) throw new Error(`unreadable requirement ${JSON.stringify(raw.trim())}`);
    const op = m[1] ?? '=';
    const v = m[2] as string;
    gemSegments(v);
    if (op === '=')
      parts.push({ lo: { version: v, inclusive: true }, hi: { version: v, inclusive: true } });
    else if (op === '>=') parts.push({ lo: { version: v, inclusive: true } });
    else if (op === '>') parts.push({ lo: { version: v, inclusive: false } });
    else if (op === '<=') parts.push({ hi: { version: v, inclusive: true } });
    else if (op === '<') parts.push({ hi: { version: v, inclusive: false } });
    else if (op === '~>')
      parts.push({
        lo: { version: v, inclusive: true },
        hi: { version: gemBump(v), inclusive: false },
      });
    else throw new Error(`"!=" cannot be expressed as an OSV range: ${JSON.stringify(raw.trim())}`);
  }
  return intersect(rubygems, parts);
}

/** `input`: the advisory's YAML text, or the document already parsed from it. */
export function importRubysec(
  input: FeedInput,
  source: string,
  issues: ImportIssue[],
): OsvRecord | undefined {
  const a = decodeFeedFile(input, 'YAML', rubysecAdvisory, 'a RubySec advisory', source, issues);
  if (a === undefined) return undefined;
  const safe: Interval[] = [];
  try {
    for (const requirement of [...(a.patched_versions ?? []), ...(a.unaffected_versions ?? [])]) {
      const interval = requirementInterval(requirement);
      if (interval !== undefined) safe.push(interval);
    }
  } catch (error) {
    issues.push({ source, message: `${source}: ${(error as Error).message}; advisory skipped` });
    return undefined;
  }
  const { events, approximations } = toEvents(rubygems, complement(rubygems, safe));
  for (const note of approximations)
    issues.push({ source, message: `${source}: ${note} (flags that version too)` });
  const cve = a.cve === undefined ? undefined : `CVE-${a.cve}`;
  const ghsa = a.ghsa === undefined ? undefined : `GHSA-${a.ghsa}`;
  const id = `RUBYSEC-${a.gem}-${cve ?? ghsa ?? (a.osvdb === undefined ? source : `OSVDB-${a.osvdb}`)}`;
  const date = a.date instanceof Date ? a.date.toISOString() : a.date;
  return {
    id,
    modified: date ?? '1970-01-01T00:00:00Z',
    ...(date === undefined ? {} : { published: date }),
    aliases: [cve, ghsa].filter((x): x is string => x !== undefined),
    ...(a.title === undefined ? {} : { summary: a.title }),
    ...(a.description === undefined ? {} : { details: a.description }),
    affected:
      events.length === 0
        ? []
        : [
            {
              package: { ecosystem: 'RubyGems', name: a.gem },
              ranges: [{ type: 'ECOSYSTEM', events }],
            },
          ],
    ...(a.url === undefined ? {} : { references: [{ type: 'ADVISORY', url: a.url }] }),
    database_specific: {
      ...(a.cvss_v3 === undefined ? {} : { cvss_v3_score: a.cvss_v3 }),
      ...(a.cvss_v2 === undefined ? {} : { cvss_v2_score: a.cvss_v2 }),
    },
  };
}
