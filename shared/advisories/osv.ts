/**
 * The OSV schema (https://ossf.github.io/osv-schema/, 1.x): the advisory model every feed is
 * normalized into. Records are validated with zod; a record that does not fit becomes an issue
 * naming the file and the field, never a crash.
 */
import * as z from 'zod';
import { BosunError } from '../errors.js';
import { describeIssues } from '../zod-issues.js';

const event = z.union([
  z.object({ introduced: z.string().min(1) }).strict(),
  z.object({ fixed: z.string().min(1) }).strict(),
  z.object({ last_affected: z.string().min(1) }).strict(),
  z.object({ limit: z.string().min(1) }).strict(),
]);
export type OsvEvent = z.infer<typeof event>;

const range = z.object({
  type: z.enum(['SEMVER', 'ECOSYSTEM', 'GIT']),
  repo: z.string().optional(),
  events: z.array(event).min(1),
  database_specific: z.record(z.string(), z.unknown()).optional(),
});
export type OsvRange = z.infer<typeof range>;

const severity = z.object({ type: z.string().min(1), score: z.string().min(1) });

const affected = z.object({
  package: z
    .object({ ecosystem: z.string().min(1), name: z.string().min(1), purl: z.string().optional() })
    .optional(),
  severity: z.array(severity).optional(),
  ranges: z.array(range).optional(),
  versions: z.array(z.string()).optional(),
  ecosystem_specific: z.record(z.string(), z.unknown()).optional(),
  database_specific: z.record(z.string(), z.unknown()).optional(),
});
export type OsvAffected = z.infer<typeof affected>;

export const osvRecord = z.object({
  schema_version: z.string().optional(),
  id: z.string().min(1),
  modified: z.string().min(1),
  published: z.string().optional(),
  withdrawn: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  related: z.array(z.string()).optional(),
  upstream: z.array(z.string()).optional(),
  summary: z.string().optional(),
  details: z.string().optional(),
  severity: z.array(severity).optional(),
  affected: z.array(affected).optional(),
  references: z.array(z.object({ type: z.string(), url: z.string() })).optional(),
  database_specific: z.record(z.string(), z.unknown()).optional(),
});
export type OsvRecord = z.infer<typeof osvRecord>;

/** A record that does not satisfy the OSV schema. */
export class InvalidAdvisoryError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid OSV record ${source}: ${problems.join('; ')}`);
  }
}

// The schema's patterns: GIT events name commits; SEMVER events are SemVer 2.0 without `v`.
const COMMIT = /^(0|[a-f0-9]{40}|[a-f0-9]{64})$/;
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

function eventValue(e: OsvEvent): string {
  return 'introduced' in e
    ? e.introduced
    : 'fixed' in e
      ? e.fixed
      : 'last_affected' in e
        ? e.last_affected
        : e.limit;
}

/**
 * Validates a decoded OSV record against the schema's rules: the shape, a `repo` on GIT ranges,
 * commit hashes in GIT events and SemVer in SEMVER events, and at least one `introduced` per
 * range. The tests check that this accepts exactly what the official JSON schema accepts.
 */
export function parseOsv(value: unknown, source: string): OsvRecord {
  const parsed = osvRecord.safeParse(value);
  if (!parsed.success) throw new InvalidAdvisoryError(source, describeIssues(parsed.error));
  const problems: string[] = [];
  for (const [i, a] of (parsed.data.affected ?? []).entries()) {
    for (const [j, r] of (a.ranges ?? []).entries()) {
      if (r.type === 'GIT' && r.repo === undefined)
        problems.push(`affected.${i}.ranges.${j}: GIT range without repo`);
      for (const [k, e] of r.events.entries()) {
        const v = eventValue(e);
        if (r.type === 'GIT' && !COMMIT.test(v))
          problems.push(
            `affected.${i}.ranges.${j}.events.${k}: ${JSON.stringify(v)} is not a commit hash`,
          );
        if (r.type === 'SEMVER' && v !== '0' && !SEMVER.test(v)) {
          problems.push(
            `affected.${i}.ranges.${j}.events.${k}: ${JSON.stringify(v)} is not a SemVer version`,
          );
        }
      }
      if (!r.events.some((e) => 'introduced' in e))
        problems.push(`affected.${i}.ranges.${j}: no introduced event`);
    }
  }
  if (problems.length > 0) throw new InvalidAdvisoryError(source, problems);
  return parsed.data;
}
