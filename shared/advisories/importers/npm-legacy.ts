/**
 * The Node.js security WG's legacy npm advisories (https://github.com/nodejs/security-wg,
 * vuln/npm/*.json): `vulnerable_versions` is a node-semver range, converted to OSV events with
 * the npm scheme. Id `NSWG-ECO-<id>`, the WG's own naming; CVEs become aliases.
 */
import semverLib from 'semver';
import * as z from 'zod';
import { npm } from '../../versions/semver.js';
import { type Interval, intersect, toEvents } from '../intervals.js';
import type { OsvRecord } from '../osv.js';
import { decodeFeedFile, type FeedInput, type ImportIssue } from './decode.js';

const legacy = z.object({
  id: z.number().int(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  publish_date: z.string().nullish(),
  title: z.string().optional(),
  module_name: z.string().min(1),
  cves: z.array(z.string()).nullish(),
  vulnerable_versions: z.string().nullish(),
  patched_versions: z.string().nullish(),
  overview: z.string().nullish(),
  cvss_vector: z.string().nullish(),
  cvss_score: z.number().nullish(),
});

/** A node-semver range as intervals: one per `||` alternative. */
export function npmRangeIntervals(range: string): Interval[] {
  const parsed = new semverLib.Range(range);
  const out: Interval[] = [];
  for (const comparators of parsed.set) {
    const parts: Interval[] = comparators.map((c) => {
      // An empty comparator (`*`, `x`) matches every version.
      if (c.value === '') return {};
      const v = c.semver.version;
      switch (c.operator) {
        case '>=':
          return { lo: { version: v, inclusive: true } };
        case '>':
          return { lo: { version: v, inclusive: false } };
        case '<=':
          return { hi: { version: v, inclusive: true } };
        case '<':
          return { hi: { version: v, inclusive: false } };
        default:
          return { lo: { version: v, inclusive: true }, hi: { version: v, inclusive: true } };
      }
    });
    const interval = intersect(npm, parts);
    if (interval !== undefined) out.push(interval);
  }
  return out;
}

/** `input`: the advisory's JSON text, or the document already parsed from it. */
export function importNpmLegacy(
  input: FeedInput,
  source: string,
  issues: ImportIssue[],
): OsvRecord | undefined {
  const a = decodeFeedFile(input, 'JSON', legacy, 'a legacy npm advisory', source, issues);
  if (a === undefined) return undefined;
  const range = a.vulnerable_versions ?? '';
  if (range.trim() === '' || semverLib.validRange(range) === null) {
    issues.push({
      source,
      message: `${source}: vulnerable_versions ${JSON.stringify(range)} is not an npm range; advisory skipped`,
    });
    return undefined;
  }
  const { events, approximations } = toEvents(npm, npmRangeIntervals(range));
  for (const note of approximations)
    issues.push({ source, message: `${source}: ${note} (flags that version too)` });
  return {
    id: `NSWG-ECO-${a.id}`,
    modified: a.updated_at ?? a.created_at ?? '1970-01-01T00:00:00Z',
    ...(a.publish_date === undefined || a.publish_date === null
      ? {}
      : { published: a.publish_date }),
    aliases: a.cves ?? [],
    ...(a.title === undefined ? {} : { summary: a.title }),
    ...(a.overview === undefined || a.overview === null ? {} : { details: a.overview }),
    ...(a.cvss_vector === undefined || a.cvss_vector === null
      ? {}
      : { severity: [{ type: 'CVSS_V3', score: a.cvss_vector }] }),
    affected:
      events.length === 0
        ? []
        : [
            {
              package: { ecosystem: 'npm', name: a.module_name },
              ranges: [{ type: 'SEMVER', events }],
            },
          ],
  };
}
