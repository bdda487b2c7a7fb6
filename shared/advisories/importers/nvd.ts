/**
 * NVD's CVE API 2.0 response pages (https://nvd.nist.gov/developers/vulnerabilities) read as CVE
 * facts (../cve-facts.ts): per `vulnerabilities[].cve`, its id, `vulnStatus`, `lastModified` and
 * every CVSS rating of `metrics.cvssMetricV40`, `cvssMetricV31`, `cvssMetricV30` and
 * `cvssMetricV2`. NVD's yearly feed files (`nvdcve-2.0-<year>.json`) have the same shape and are
 * read the same way.
 *
 * What the fields hold (the API's schema, https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema):
 * - a metric is `{source, type: Primary|Secondary, cvssData: {version, vectorString, ...}}`:
 *   `Primary` is NVD's own rating of that CVSS version, `Secondary` a CNA's;
 * - CVSS v3.x and v4.0 vectors carry their `CVSS:<version>/` prefix; v2 vectors have none
 *   (https://www.first.org/cvss/v2/guide#2-4-Base-Temporal-Environmental-Vectors) and are kept as
 *   NVD writes them;
 * - times (`lastModified`, the page's `timestamp`) are written without a zone
 *   (`2024-03-07T21:15:07.813`) and are UTC; they are written here as RFC 3339 UTC instants.
 *
 * A CVE whose id or `lastModified` cannot be read is an issue and the rest of the page goes on;
 * a rating that cannot be read (a vector that is not of its version) is an issue and the CVE
 * keeps its other ratings. A page that cannot be read at all is an NvdPageError.
 */
import * as z from 'zod';
import { describeIssues } from '../../zod-issues.js';
import type { CveFact, CvssRating } from '../cve-facts.js';
import { type ImportIssue, UnreadableFeedFileError } from './decode.js';

/**
 * An API page holds at most 2,000 CVEs and NVD's yearly feed files a few tens of MB; far more
 * is refused before it is parsed (a V8 string cannot hold more than about 512 Mi characters).
 */
export const MAX_NVD_PAGE_CHARS = 256 * 1024 * 1024;
const MAX_CVES = 1_000_000;
/** A CVE has a handful of ratings; a CVSS v4.0 vector with every metric is under 300 chars. */
const MAX_METRICS = 64;
const MAX_VECTOR = 512;

/** The whole page cannot be read (not JSON, not of the API's shape, too large, a bad timestamp). */
export class NvdPageError extends UnreadableFeedFileError {}

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
/** NVD's times: zone-less (UTC), sometimes `Z`; the feed files' `timestamp` has microseconds. */
const NVD_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * An NVD time as an RFC 3339 UTC instant (`2024-03-07T21:15:07.813Z`), or undefined when it is
 * not one. Fractions past milliseconds are dropped (JavaScript's precision); a date that does not
 * exist (`2023-02-30`) is refused rather than rolled over.
 */
export function nvdInstant(text: string): string | undefined {
  const m = NVD_TIME.exec(text);
  if (m === null) return undefined;
  const [, seconds, fraction, zone] = m as unknown as [string, string, string?, string?];
  const ms = (fraction ?? '').slice(0, 3).padEnd(3, '0');
  const time = Date.parse(`${seconds}.${ms}${zone ?? 'Z'}`);
  if (Number.isNaN(time)) return undefined;
  const iso = new Date(time).toISOString();
  // Date.parse rolls 2023-02-30 over to March: the fields must come back as written.
  if ((zone ?? 'Z') === 'Z' && iso.slice(0, 19) !== seconds) return undefined;
  return iso;
}

const page = z.object({
  resultsPerPage: z.number().int().nonnegative(),
  startIndex: z.number().int().nonnegative(),
  totalResults: z.number().int().nonnegative(),
  format: z.literal('NVD_CVE').optional(),
  version: z.literal('2.0').optional(),
  timestamp: z.string().optional(),
  // An empty answer (no CVE in a lastMod window) may leave the array out.
  vulnerabilities: z.array(z.unknown()).max(MAX_CVES).optional(),
});

const metric = z.object({
  source: z.string().min(1).max(256),
  type: z.enum(['Primary', 'Secondary']),
  cvssData: z.object({ version: z.string(), vectorString: z.string().min(1).max(MAX_VECTOR) }),
});

const cve = z.object({
  id: z.string(),
  vulnStatus: z.string().max(64).optional(),
  lastModified: z.string(),
  metrics: z
    .object({
      cvssMetricV40: z.array(z.unknown()).max(MAX_METRICS).optional(),
      cvssMetricV31: z.array(z.unknown()).max(MAX_METRICS).optional(),
      cvssMetricV30: z.array(z.unknown()).max(MAX_METRICS).optional(),
      cvssMetricV2: z.array(z.unknown()).max(MAX_METRICS).optional(),
    })
    .optional(),
});

/**
 * Each metrics field: the rating type it is, the `cvssData.version` NVD writes in it, and the
 * shape of its vectors (CVSS v2: six base metrics, then optional temporal and environmental
 * ones, https://www.first.org/cvss/v2/guide; v3.x and v4.0: the specification's prefix).
 */
const METRIC_FIELDS = [
  {
    field: 'cvssMetricV40',
    type: 'CVSS_V4',
    version: '4.0',
    vector: /^CVSS:4\.0(?:\/[A-Z]+:[A-Z]+)+$/,
  },
  {
    field: 'cvssMetricV31',
    type: 'CVSS_V3',
    version: '3.1',
    vector: /^CVSS:3\.1(?:\/[A-Z]+:[A-Z]+)+$/,
  },
  {
    field: 'cvssMetricV30',
    type: 'CVSS_V3',
    version: '3.0',
    vector: /^CVSS:3\.0(?:\/[A-Z]+:[A-Z]+)+$/,
  },
  {
    field: 'cvssMetricV2',
    type: 'CVSS_V2',
    version: '2.0',
    vector: /^AV:[LAN]\/AC:[HML]\/Au:[MSN]\/C:[NPC]\/I:[NPC]\/A:[NPC](?:\/[A-Za-z]+:[A-Z]+)*$/,
  },
] as const;

export interface NvdPage {
  readonly facts: CveFact[];
  readonly totalResults: number;
  readonly startIndex: number;
  readonly resultsPerPage: number;
  /** When NVD answered, as an RFC 3339 UTC instant (the page's `timestamp`). */
  readonly timestamp?: string;
}

/**
 * Reads one API 2.0 response page (or a yearly feed file) into facts of kind `nvd`, one per CVE
 * in the page's order. `source` names the page in issues and errors (its URL or file name).
 * Throws NvdPageError when the page as a whole cannot be read.
 */
export function nvdFactsOfPage(text: string, source: string, issues: ImportIssue[]): NvdPage {
  if (text.length > MAX_NVD_PAGE_CHARS)
    throw new NvdPageError(source, `over ${MAX_NVD_PAGE_CHARS} characters; refused`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new NvdPageError(source, `not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = page.safeParse(doc);
  if (!parsed.success) {
    // NVD answers some errors with a JSON `message` instead of a page: it says what went wrong.
    const said = (doc as { message?: unknown } | null)?.message;
    throw new NvdPageError(
      source,
      `not an NVD CVE API 2.0 page: ${describeIssues(parsed.error).join('; ')}${typeof said === 'string' ? ` (NVD says: ${said.slice(0, 200)})` : ''}`,
    );
  }
  const { timestamp, vulnerabilities = [] } = parsed.data;
  const answered = timestamp === undefined ? undefined : nvdInstant(timestamp);
  if (timestamp !== undefined && answered === undefined)
    throw new NvdPageError(source, `timestamp ${JSON.stringify(timestamp)} is not a date-time`);
  const facts: CveFact[] = [];
  for (const [i, item] of vulnerabilities.entries()) {
    const fact = factOf(item, `${source} vulnerabilities[${i}]`, source, issues);
    if (fact !== undefined) facts.push(fact);
  }
  return {
    facts,
    totalResults: parsed.data.totalResults,
    startIndex: parsed.data.startIndex,
    resultsPerPage: parsed.data.resultsPerPage,
    ...(answered === undefined ? {} : { timestamp: answered }),
  };
}

/** One `vulnerabilities[]` item as a fact, or undefined with an issue naming it. */
function factOf(
  item: unknown,
  where: string,
  source: string,
  issues: ImportIssue[],
): CveFact | undefined {
  const wrapped = (item as { cve?: unknown } | null)?.cve;
  const parsed = cve.safeParse(wrapped);
  if (!parsed.success) {
    const id = (wrapped as { id?: unknown } | null | undefined)?.id;
    issues.push({
      source,
      message: `${typeof id === 'string' ? `${source} ${id.slice(0, 64)}` : where}: not an NVD CVE: ${describeIssues(parsed.error).join('; ')}; skipped`,
    });
    return undefined;
  }
  const { id, vulnStatus, lastModified, metrics } = parsed.data;
  if (!CVE_ID.test(id)) {
    issues.push({
      source,
      message: `${where}: id ${JSON.stringify(id.slice(0, 64))} is not a CVE id; skipped`,
    });
    return undefined;
  }
  const modified = nvdInstant(lastModified);
  if (modified === undefined) {
    issues.push({
      source,
      message: `${source} ${id}: lastModified ${JSON.stringify(lastModified.slice(0, 64))} is not a date-time; skipped`,
    });
    return undefined;
  }
  const ratings: CvssRating[] = [];
  for (const { field, type, version, vector } of METRIC_FIELDS) {
    const read: CvssRating[] = [];
    for (const [j, raw] of (metrics?.[field] ?? []).entries()) {
      const m = metric.safeParse(raw);
      const problem = !m.success
        ? describeIssues(m.error).join('; ')
        : m.data.cvssData.version !== version
          ? `cvssData.version ${JSON.stringify(m.data.cvssData.version)} is not ${version}`
          : !vector.test(m.data.cvssData.vectorString)
            ? `vectorString ${JSON.stringify(m.data.cvssData.vectorString)} is not a CVSS ${version} vector`
            : undefined;
      if (problem !== undefined || !m.success) {
        issues.push({
          source,
          message: `${source} ${id}: metrics.${field}[${j}]: ${problem}; rating skipped`,
        });
        continue;
      }
      read.push({
        type,
        vector: m.data.cvssData.vectorString,
        source: m.data.source,
        primary: m.data.type === 'Primary',
      });
    }
    ratings.push(...sortRatings(read));
  }
  return {
    kind: 'nvd',
    cve: id,
    facts: {
      // Newest CVSS version first (4.0, 3.1, 3.0, 2.0), then NVD's own before the CNAs' and by
      // source: the same ratings listed in another order are the same fact (cveFactHash hashes
      // the list).
      ratings,
      ...(vulnStatus === undefined ? {} : { status: vulnStatus }),
      lastModified: modified,
    },
  };
}

/** One version's ratings: NVD's own (`Primary`) first, then by source. */
function sortRatings(ratings: readonly CvssRating[]): CvssRating[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...ratings].sort(
    (a, b) =>
      Number(b.primary) - Number(a.primary) || cmp(a.source, b.source) || cmp(a.vector, b.vector),
  );
}
