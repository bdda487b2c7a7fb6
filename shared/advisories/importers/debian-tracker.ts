/**
 * Debian's security tracker as CVE facts: the urgency Debian gives a CVE per source package and
 * release (what makes a CVE `unimportant` for Debian), its status there and the fixed version.
 *
 * The tracker's JSON export (https://security-tracker.debian.org/tracker/data/json, built by
 * `page_json` in the tracker's bin/tracker_service.py) is one object:
 * `{ <source package>: { <CVE or TEMP id>: { description?, debianbug?, scope?, releases: {
 * <codename>: { status, repositories, fixed_version?, urgency, nodsa?, nodsa_reason?,
 * next_point_update? } } } } }`. `status` is `resolved`, `open` or `undetermined`; `urgency` is one
 * of the tracker's levels (https://security-team.debian.org/security_tracker.html#severity-levels:
 * `high`, `medium`, `low`, `unimportant`, `end-of-life`, `not yet assigned`), with `**` appended
 * when NVD assigned it rather than Debian (the tracker's own note in bin/tracker_service.py); a
 * single `*` is accepted too, as other readers of the export (Clair, Trivy) do.
 * Fields without a value are left out (the export drops nulls). `TEMP-…` ids are the tracker's
 * placeholders for issues without a CVE: nothing else names them, so they are skipped.
 *
 * The real export is 60-80 MB. It is not parsed whole: the top-level object is scanned member by
 * member and each package's value is parsed alone, so only one package's objects exist at a
 * time besides the text and the facts (JSON.parse of the whole export builds them all at once).
 * A file whose JSON is broken (a truncated download) cannot be read and is a
 * DebianTrackerFileError; a value of the wrong shape is an issue naming the file, package, CVE
 * and value, and the rest is read.
 *
 * The tracker's text sources (data/CVE/list) are not read here: the export's per-release entries
 * are computed from them together with the archive's Sources indexes (which releases carry the
 * package, in which version), so a reader of the list alone would give other facts than the feed.
 */
import * as z from 'zod';
import { describeIssues } from '../../zod-issues.js';
import type { CveFact, DebianFacts } from '../cve-facts.js';
import { type ImportIssue, UnreadableFeedFileError } from './decode.js';

/** Three times the real export: more is not the tracker's file. */
export const MAX_DEBIAN_TRACKER_CHARS = 256 * 1024 * 1024;

/** The tracker's export cannot be read at all (not JSON, not one object, too large). */
export class DebianTrackerFileError extends UnreadableFeedFileError {}

export interface DebianTrackerOptions {
  /** The largest text accepted (MAX_DEBIAN_TRACKER_CHARS by default). */
  readonly maxChars?: number;
}

// Debian Policy §5.6.1: source package names are lower case letters, digits, `+`, `-` and `.`,
// at least two characters, starting with a letter or digit.
const SOURCE_PACKAGE = /^[a-z0-9][a-z0-9+.-]{1,199}$/;
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
// The tracker's placeholders for issues without a CVE (TEMP-0000000-8A1B2C).
const TEMP_ID = /^TEMP-\d+-[0-9A-Fa-f]+$/;
const CODENAME = /^[a-z][a-z0-9-]{0,31}$/;
const URGENCY = /^(?:high|medium|low|unimportant|end-of-life|not yet assigned)\**$/;

/** A version or a note: Debian versions are far shorter, notes a sentence or two. */
const text = (max: number) => z.string().max(max);

const releaseSchema = z.object({
  status: z.enum(['resolved', 'open', 'undetermined']),
  fixed_version: text(256).optional(),
  urgency: text(64).regex(URGENCY, 'not a tracker urgency').optional(),
  nodsa: text(4096).optional(),
  nodsa_reason: text(64).optional(),
});

const cveSchema = z.object({
  // vunnel's copy of the export has a CVE with `"releases": []`: read as naming no release.
  releases: z.union([z.record(z.string(), z.unknown()), z.array(z.never()).max(0)]),
});

type DebianRelease = DebianFacts['packages'][string][string];

/** A value for a message: JSON, cut short. */
function shown(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 200 ? `${json.slice(0, 200)}…` : json;
}

/** The value a zod issue's path points at in `raw`. */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let at = raw;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** zod's complaints, each with the value it refused. */
function complaints(error: z.ZodError, raw: unknown): string {
  const texts = describeIssues(error);
  return error.issues
    .map((issue, i) => `${texts[i]} (value ${shown(valueAt(raw, issue.path))})`)
    .join('; ');
}

/** One release's facts, the fields in a fixed order (the fact's hash is of its JSON). */
function releaseFacts(r: z.output<typeof releaseSchema>): DebianRelease {
  const out: { -readonly [K in keyof DebianRelease]: DebianRelease[K] } = {};
  if (r.urgency !== undefined) out.urgency = r.urgency;
  out.status = r.status;
  if (r.fixed_version !== undefined) out.fixedVersion = r.fixed_version;
  if (r.nodsa !== undefined) out.nodsa = r.nodsa;
  if (r.nodsa_reason !== undefined) out.nodsaReason = r.nodsa_reason;
  return out;
}

/** Reads one package's value: its CVEs' releases into `out` (cve → package → codename → facts). */
function readPackage(
  pkg: string,
  value: unknown,
  out: Map<string, Map<string, Record<string, DebianRelease>>>,
  source: string,
  issues: ImportIssue[],
): void {
  const issue = (message: string) => issues.push({ source, message: `${source}: ${message}` });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    issue(`${pkg}: not an object of CVEs: ${shown(value)}; skipped`);
    return;
  }
  for (const [id, raw] of Object.entries(value)) {
    if (TEMP_ID.test(id)) continue;
    if (!CVE_ID.test(id)) {
      issue(`${pkg}: ${shown(id)} is neither a CVE id nor a TEMP id; skipped`);
      continue;
    }
    const entry = cveSchema.safeParse(raw);
    if (!entry.success) {
      issue(`${pkg} ${id}: ${complaints(entry.error, raw)}; skipped`);
      continue;
    }
    const releases: Record<string, DebianRelease> = {};
    for (const [codename, rawRelease] of Object.entries(entry.data.releases)) {
      if (!CODENAME.test(codename)) {
        issue(`${pkg} ${id}: release ${shown(codename)} is not a codename; skipped`);
        continue;
      }
      const release = releaseSchema.safeParse(rawRelease);
      if (!release.success) {
        issue(`${pkg} ${id} ${codename}: ${complaints(release.error, rawRelease)}; skipped`);
        continue;
      }
      releases[codename] = releaseFacts(release.data);
    }
    const packages = out.get(id) ?? new Map<string, Record<string, DebianRelease>>();
    out.set(id, packages.set(pkg, releases));
  }
}

/** Keys sorted: the tracker's order is a query's, and the fact's hash is of its JSON. */
function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * One `debian` fact per CVE of the tracker's JSON export `text`: every source package the CVE
 * names, and per release codename its urgency (as written, marks included), status, fixed
 * version and no-DSA note. Facts are sorted by CVE id, packages and releases by name.
 */
export function debianTrackerFacts(
  text: string,
  source: string,
  issues: ImportIssue[],
  opts: DebianTrackerOptions = {},
): CveFact[] {
  const max = opts.maxChars ?? MAX_DEBIAN_TRACKER_CHARS;
  if (text.length > max) throw new DebianTrackerFileError(source, `over ${max} characters`);
  const byCve = new Map<string, Map<string, Record<string, DebianRelease>>>();
  const seen = new Set<string>();
  for (const { key, value, at } of topLevelMembers(text, source)) {
    if (!SOURCE_PACKAGE.test(key)) {
      issues.push({
        source,
        message: `${source}: ${shown(key)} is not a Debian source package name; skipped`,
      });
      continue;
    }
    if (seen.has(key)) {
      issues.push({ source, message: `${source}: package ${key} listed twice; skipped` });
      continue;
    }
    seen.add(key);
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new DebianTrackerFileError(
        source,
        `package ${key} (at character ${at}): not JSON: ${(error as Error).message}`,
        { cause: error },
      );
    }
    readPackage(key, parsed, byCve, source, issues);
  }
  return [...byCve.keys()].sort().map(
    (cve): CveFact => ({
      kind: 'debian',
      cve,
      facts: {
        packages: sortedRecord(
          [...(byCve.get(cve) ?? [])].map(([pkg, releases]) => [
            pkg,
            sortedRecord(Object.entries(releases)),
          ]),
        ),
      },
    }),
  );
}

// --- the top-level object, member by member (RFC 8259 §4: members are `string : value`) -------

const WHITESPACE = /[ \t\n\r]*/y;
// The characters that open or close a structure, or open a string.
const STRUCTURAL = /[{}[\]"]/g;
const SCALAR = /[^,}\]\s]*/y;

function skipWhitespace(text: string, at: number): number {
  WHITESPACE.lastIndex = at;
  WHITESPACE.test(text);
  return WHITESPACE.lastIndex;
}

/** The index after the string opening at `at` (a `"`). */
function stringEnd(text: string, at: number, source: string): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) throw new DebianTrackerFileError(source, `unterminated string at ${at}`);
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/**
 * The index after the value starting at `at`. Only the nesting is followed here: JSON.parse of
 * the slice checks the rest, and a bracket closed by the wrong kind fails there.
 */
function valueEnd(text: string, at: number, source: string): number {
  const first = text[at];
  if (first === '"') return stringEnd(text, at, source);
  if (first !== '{' && first !== '[') {
    // A number, true, false or null: up to the next delimiter.
    SCALAR.lastIndex = at;
    SCALAR.test(text);
    if (SCALAR.lastIndex === at) throw new DebianTrackerFileError(source, `no value at ${at}`);
    return SCALAR.lastIndex;
  }
  let depth = 0;
  let i = at;
  for (;;) {
    STRUCTURAL.lastIndex = i;
    const m = STRUCTURAL.exec(text);
    if (m === null) throw new DebianTrackerFileError(source, `unterminated value at ${at}`);
    const c = m[0];
    if (c === '"') {
      i = stringEnd(text, m.index, source);
      continue;
    }
    i = m.index + 1;
    if (c === '{' || c === '[') depth++;
    else if (--depth === 0) return i;
  }
}

/** A member's name from its JSON string (escapes and all). */
function memberName(json: string, at: number, source: string): string {
  try {
    return JSON.parse(json) as string;
  } catch (error) {
    throw new DebianTrackerFileError(source, `bad string at ${at}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The members of the top-level object, each value as its text. */
function* topLevelMembers(
  text: string,
  source: string,
): Generator<{ key: string; value: string; at: number }> {
  const fail = (what: string, at: number): never => {
    throw new DebianTrackerFileError(
      source,
      `not the tracker's JSON export: ${what} at character ${at} (${shown(text.slice(at, at + 40))})`,
    );
  };
  let i = skipWhitespace(text, text.charCodeAt(0) === 0xfeff ? 1 : 0);
  if (text[i] !== '{') fail('expected an object', i);
  i = skipWhitespace(text, i + 1);
  if (text[i] === '}') i = skipWhitespace(text, i + 1);
  else
    for (;;) {
      if (text[i] !== '"') fail('expected a package name', i);
      const keyEnd = stringEnd(text, i, source);
      const key = memberName(text.slice(i, keyEnd), i, source);
      i = skipWhitespace(text, keyEnd);
      if (text[i] !== ':') fail('expected ":"', i);
      const at = skipWhitespace(text, i + 1);
      const end = valueEnd(text, at, source);
      yield { key, value: text.slice(at, end), at };
      i = skipWhitespace(text, end);
      if (text[i] === ',') {
        i = skipWhitespace(text, i + 1);
        continue;
      }
      if (text[i] !== '}') fail('expected "," or "}"', i);
      i = skipWhitespace(text, i + 1);
      break;
    }
  if (i < text.length) fail('data after the object', i);
}
