/**
 * CISA's Known Exploited Vulnerabilities catalog (https://www.cisa.gov/known-exploited-vulnerabilities-catalog),
 * as JSON (`known_exploited_vulnerabilities.json`) or as the CSV of the same catalog. The JSON's
 * shape is CISA's schema (https://github.com/cisagov/kev-data, known_exploited_vulnerabilities_schema.json):
 * `catalogVersion`, `dateReleased`, `count` and `vulnerabilities`, each with `cveID`
 * (`CVE-YYYY-NNNN…`), `vendorProject`, `product`, `vulnerabilityName`, `dateAdded`,
 * `shortDescription`, `requiredAction`, `dueDate` (dates `YYYY-MM-DD`), and optionally
 * `knownRansomwareCampaignUse` (`Known` / `Unknown`), `notes` and `cwes`. The CSV has the same
 * columns; its `cwes` are one field, `CWE-59, CWE-436`.
 *
 * One `kev` fact per listed CVE: {dateAdded, dueDate, ransomware, name}. A listing that breaks
 * the schema is an issue naming the file, the CVE and the value; it is skipped only when a field
 * the fact is made of is wrong: a listing is the one signal that a CVE is being exploited, so a
 * malformed CWE or note never hides it.
 */
import * as z from 'zod';
import type { CveFact } from '../cve-facts.js';
import type { ImportIssue } from './decode.js';

export type KevFact = Extract<CveFact, { kind: 'kev' }>;

/** The real catalog is about 1.3 MB for 1,400 CVEs; far more is not CISA's catalog. */
export const MAX_KEV_CHARS = 64 * 1024 * 1024;
const MAX_KEV_ENTRIES = 200_000;

/** The schema's `cveID` pattern. */
export const CVE_ID = /^CVE-[0-9]{4}-[0-9]{4,19}$/;

/** What a fact is made of: without these right, the listing is skipped. */
const listing = z.object({
  cveID: z.string().regex(CVE_ID),
  vulnerabilityName: z.string(),
  dateAdded: z.iso.date(),
  dueDate: z.iso.date(),
  knownRansomwareCampaignUse: z.string().optional(),
});

/** One vulnerability as the schema's `$defs.vulnerability` says (other properties allowed). */
const vulnerability = listing.extend({
  vendorProject: z.string(),
  product: z.string(),
  shortDescription: z.string(),
  requiredAction: z.string(),
  notes: z.string().optional(),
  cwes: z.array(z.string().regex(/^CWE-([0-9])+$/)).optional(),
});

/** Whatever a listing calls its CVE, to name it in messages. */
const named = z.object({ cveID: z.string() });

/** The catalog around its vulnerabilities, each of which is checked on its own. */
const catalog = z.object({
  catalogVersion: z.string(),
  dateReleased: z.iso.datetime({ offset: true }),
  count: z.number().int(),
  vulnerabilities: z.array(z.unknown()).max(MAX_KEV_ENTRIES),
});

export interface KevCatalog {
  readonly facts: KevFact[];
  readonly catalogVersion?: string;
  readonly dateReleased?: string;
}

/** zod's issues with the value each one is about, so a message names what was wrong. */
function describeWithValues(error: z.ZodError, raw: unknown): string {
  return error.issues
    .map((issue) => {
      let value: unknown = raw;
      for (const key of issue.path)
        value =
          value !== null && typeof value === 'object'
            ? (value as Record<PropertyKey, unknown>)[key]
            : undefined;
      const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      const shown = value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 120);
      return `${where}: ${issue.message} (${shown})`;
    })
    .join('; ');
}

/**
 * The facts of the catalog's listings (objects as the JSON holds them, or as the CSV's rows are
 * read), in the catalog's order; `where` names a listing in messages.
 */
function listingFacts(
  listings: readonly unknown[],
  source: string,
  issues: ImportIssue[],
  where: (index: number) => string,
): KevFact[] {
  const facts: KevFact[] = [];
  const seen = new Set<string>();
  listings.forEach((raw, index) => {
    const full = vulnerability.safeParse(raw);
    const core = full.success ? full.data : listing.safeParse(raw).data;
    const cve = named.safeParse(raw).data?.cveID.slice(0, 40);
    const label = `${source}: ${where(index)}${cve === undefined ? '' : ` ${cve}`}`;
    if (!full.success)
      issues.push({
        source,
        message: `${label}: ${describeWithValues(full.error, raw)}; ${core === undefined ? 'skipped' : 'kept (not a field of the fact)'}`,
      });
    if (core === undefined) return;
    if (seen.has(core.cveID)) {
      issues.push({ source, message: `${label}: listed again; the first listing is kept` });
      return;
    }
    seen.add(core.cveID);
    // Fixed key order: the fact's hash is over its JSON (cve-facts.ts, cveFactHash).
    facts.push({
      kind: 'kev',
      cve: core.cveID,
      facts: {
        dateAdded: core.dateAdded,
        dueDate: core.dueDate,
        ...(core.knownRansomwareCampaignUse === undefined
          ? {}
          : { ransomware: core.knownRansomwareCampaignUse }),
        name: core.vulnerabilityName,
      },
    });
  });
  return facts;
}

/**
 * The facts of a KEV catalog in CISA's JSON. A file that is not such a catalog (not JSON, or
 * without the schema's catalog fields) is one issue and no facts: the caller refuses it whole.
 * A `count` other than the number of listings is an issue (a shortened copy, or a slip of
 * CISA's); the listings are read all the same.
 */
export function kevFacts(text: string, source: string, issues: ImportIssue[]): KevCatalog {
  if (text.length > MAX_KEV_CHARS) {
    issues.push({ source, message: `${source}: over ${MAX_KEV_CHARS} characters; refused` });
    return { facts: [] };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    issues.push({ source, message: `${source}: not JSON: ${(error as Error).message}` });
    return { facts: [] };
  }
  const parsed = catalog.safeParse(doc);
  if (!parsed.success) {
    issues.push({
      source,
      message: `${source}: not a KEV catalog: ${describeWithValues(parsed.error, doc)}`,
    });
    return { facts: [] };
  }
  const { catalogVersion, dateReleased, count, vulnerabilities } = parsed.data;
  if (count !== vulnerabilities.length)
    issues.push({
      source,
      message: `${source}: count is ${count} but the catalog lists ${vulnerabilities.length} vulnerabilities`,
    });
  const facts = listingFacts(vulnerabilities, source, issues, (i) => `vulnerabilities[${i}]`);
  return { facts, catalogVersion, dateReleased };
}

/** The CSV's columns (CISA writes them in this order; they are found by name). */
const CSV_COLUMNS = [
  'cveID',
  'vendorProject',
  'product',
  'vulnerabilityName',
  'dateAdded',
  'shortDescription',
  'requiredAction',
  'dueDate',
  'knownRansomwareCampaignUse',
  'notes',
  'cwes',
] as const;
const OPTIONAL_COLUMNS = new Set(['knownRansomwareCampaignUse', 'notes', 'cwes']);

/** One CSV row with the line it starts on, or the reason it could not be read. */
interface CsvRow {
  readonly line: number;
  readonly fields: string[];
  readonly error?: string;
}

/**
 * RFC 4180 records (https://www.rfc-editor.org/rfc/rfc4180#section-2): fields separated by
 * commas, quoted when they hold a comma, a quote (doubled) or a line break; CRLF or LF. An
 * unterminated quote ends the file with an error on its row.
 */
function* csvRows(text: string): Generator<CsvRow> {
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let inQuotes = false;
    for (;;) {
      if (i >= text.length) {
        if (inQuotes) {
          yield { line: start, fields, error: 'unterminated quoted field' };
          return;
        }
        fields.push(field);
        break;
      }
      const c = text[i] as string;
      if (inQuotes) {
        if (c === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (c === '"') {
          inQuotes = false;
          i++;
        } else {
          if (c === '\n') line++;
          field += c;
          i++;
        }
        continue;
      }
      if (c === '"' && field === '' && !quoted) {
        inQuotes = true;
        quoted = true;
        i++;
      } else if (c === ',') {
        fields.push(field);
        field = '';
        quoted = false;
        i++;
      } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
        fields.push(field);
        i += c === '\r' ? 2 : 1;
        line++;
        break;
      } else {
        field += c;
        i++;
      }
    }
    // A blank line (a trailing newline's) is no record.
    if (!(fields.length === 1 && fields[0] === '')) yield { line: start, fields };
  }
}

/**
 * The facts of the KEV catalog in CISA's CSV form (known_exploited_vulnerabilities.csv): the
 * same listings as the JSON, without the catalog's version and date. A file whose header lacks
 * a column the schema requires is one issue and no facts; a row of the wrong width is an issue.
 */
export function kevFactsFromCsv(
  text: string,
  source: string,
  issues: ImportIssue[],
): { facts: KevFact[] } {
  if (text.length > MAX_KEV_CHARS) {
    issues.push({ source, message: `${source}: over ${MAX_KEV_CHARS} characters; refused` });
    return { facts: [] };
  }
  const rows = csvRows(text.replace(/^\uFEFF/, ''));
  const header = rows.next();
  const names = header.done === true ? [] : header.value.fields.map((f) => f.trim());
  const missing = CSV_COLUMNS.filter((c) => !OPTIONAL_COLUMNS.has(c) && !names.includes(c));
  if (header.done === true || header.value.error !== undefined || missing.length > 0) {
    issues.push({
      source,
      message: `${source}: not a KEV CSV: header ${JSON.stringify(names.join(',').slice(0, 200))} lacks ${missing.join(', ') || 'nothing, but is unreadable'}`,
    });
    return { facts: [] };
  }
  const listings: unknown[] = [];
  const lines: number[] = [];
  for (const row of rows) {
    if (listings.length >= MAX_KEV_ENTRIES) {
      issues.push({
        source,
        message: `${source}: over ${MAX_KEV_ENTRIES} rows; the rest is not read`,
      });
      break;
    }
    const cve = row.fields[names.indexOf('cveID')];
    const label = `${source}: line ${row.line}${cve === undefined ? '' : ` ${cve}`}`;
    if (row.error !== undefined || row.fields.length !== names.length) {
      issues.push({
        source,
        message: `${label}: ${row.error ?? `${row.fields.length} fields, the header has ${names.length}`}; skipped`,
      });
      if (row.error !== undefined) break;
      continue;
    }
    const listing: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const value = row.fields[i] as string;
      if (OPTIONAL_COLUMNS.has(name) && value === '') return;
      listing[name] =
        name === 'cwes'
          ? value
              .split(',')
              .map((c) => c.trim())
              .filter((c) => c !== '')
          : value;
    });
    listings.push(listing);
    lines.push(row.line);
  }
  return { facts: listingFacts(listings, source, issues, (i) => `line ${lines[i]}`) };
}
