/**
 * FIRST's daily EPSS scores (https://www.first.org/epss/data_stats), the CSV every score of a day
 * is published in:
 *
 *   #model_version:v2025.03.14,score_date:2025-03-15T00:00:00+0000
 *   cve,epss,percentile
 *   CVE-1999-0001,0.0046,0.7385
 *
 * The first line names the model and the day the scores were computed (the rows carry no date
 * of their own); then the header; then one row per scored CVE, the probability of exploitation
 * activity in the next 30 days (0 to 1) and its percentile among all scored CVEs
 * (https://www.first.org/epss/model). The whole file is about 300,000 rows, so it is read line
 * by line (`EpssReader`): no more than one line is held at a time.
 *
 * A file whose first lines are not these (no score_date, a header without cve/epss/percentile)
 * cannot date or read its scores: an EpssFileError. A bad row (a CVE id that is not one, a
 * score that is not a number from 0 to 1, the wrong number of fields) is an issue naming the
 * file, the line, the CVE and the value, and the rest is read.
 */
import * as z from 'zod';
import { BosunError } from '../../errors.js';
import type { CveFact } from '../cve-facts.js';
import type { ImportIssue } from './decode.js';
import { CVE_ID } from './kev.js';

export type EpssFact = Extract<CveFact, { kind: 'epss' }>;

/** The file cannot be read as FIRST's EPSS CSV at all. */
export class EpssFileError extends BosunError {
  readonly fatal = false;
}

/** The longest line read: a real row is about 30 characters, the first line about 70. */
export const MAX_EPSS_LINE_CHARS = 1024;
/** The whole text `epssFacts` accepts (the real file is about 10 MB). */
const MAX_EPSS_CHARS = 256 * 1024 * 1024;

/** `score_date` as FIRST writes it (`2025-02-20T00:00:00+0000`), or with `Z` / `+00:00`. */
const SCORE_DATE = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;
/** A decimal (FIRST writes `0.00383`) or the exponent form some writers use for tiny scores. */
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const day = z.iso.date();

export interface EpssPreamble {
  readonly modelVersion?: string;
  /** `score_date` as written. */
  readonly scoreDate: string;
  /** Its day, the facts' `date` (YYYY-MM-DD). */
  readonly date: string;
}

/**
 * FIRST's CSV, one line at a time, in order: the metadata line, the header, then rows. Give it
 * every line (`line`) and then call `end`; the rows' facts come back one by one.
 */
export class EpssReader {
  private lineNo = 0;
  private meta: EpssPreamble | undefined;
  private columns: { cve: number; epss: number; percentile: number; width: number } | undefined;

  constructor(
    private readonly source: string,
    private readonly issues: ImportIssue[],
  ) {}

  /** The metadata line once it is read. */
  get preamble(): EpssPreamble | undefined {
    return this.meta;
  }

  /** Whether the metadata line and the header are read (rows come next). */
  get started(): boolean {
    return this.columns !== undefined;
  }

  /** The fact of one line, if it holds one. Throws EpssFileError on a file that is not FIRST's. */
  line(raw: string): EpssFact | undefined {
    this.lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const text = this.lineNo === 1 && line.startsWith('\uFEFF') ? line.slice(1) : line;
    if (text.length > MAX_EPSS_LINE_CHARS)
      throw new EpssFileError(
        `${this.source}: line ${this.lineNo} is over ${MAX_EPSS_LINE_CHARS} characters: not EPSS CSV`,
      );
    if (text.trim() === '') return undefined;
    if (this.meta === undefined) {
      this.meta = this.metadata(text);
      return undefined;
    }
    if (this.columns === undefined) {
      this.columns = this.header(text);
      return undefined;
    }
    return this.row(text);
  }

  /** The end of the file: one without its first two lines is no EPSS file. */
  end(): void {
    if (this.columns === undefined)
      throw new EpssFileError(
        `${this.source}: ${this.meta === undefined ? 'empty' : 'no header after the metadata line'}: not EPSS CSV`,
      );
  }

  /** `#model_version:<v>,score_date:<RFC 3339>`: the score date is required, it dates every row. */
  private metadata(text: string): EpssPreamble {
    const fields = new Map<string, string>();
    if (text.startsWith('#'))
      for (const part of text.slice(1).split(',')) {
        const colon = part.indexOf(':');
        if (colon > 0) fields.set(part.slice(0, colon).trim(), part.slice(colon + 1).trim());
      }
    const scoreDate = fields.get('score_date');
    if (scoreDate === undefined)
      throw new EpssFileError(
        `${this.source}: line ${this.lineNo} ${JSON.stringify(text.slice(0, 120))} has no score_date: not EPSS CSV`,
      );
    const date = SCORE_DATE.exec(scoreDate)?.[1];
    if (date === undefined || !day.safeParse(date).success)
      throw new EpssFileError(
        `${this.source}: line ${this.lineNo}: score_date ${JSON.stringify(scoreDate)} is not an RFC 3339 date-time`,
      );
    const modelVersion = fields.get('model_version');
    return { ...(modelVersion ? { modelVersion } : {}), scoreDate, date };
  }

  private header(text: string): NonNullable<EpssReader['columns']> {
    const names = text.split(',').map((n) => n.trim().toLowerCase());
    const at = (name: string) => names.indexOf(name);
    const [cve, epss, percentile] = [at('cve'), at('epss'), at('percentile')];
    if (cve < 0 || epss < 0 || percentile < 0)
      throw new EpssFileError(
        `${this.source}: line ${this.lineNo}: header ${JSON.stringify(text.slice(0, 120))} is not cve,epss,percentile: not EPSS CSV`,
      );
    return { cve, epss, percentile, width: names.length };
  }

  private row(text: string): EpssFact | undefined {
    const columns = this.columns as NonNullable<EpssReader['columns']>;
    const fields = text.split(',').map((f) => f.trim());
    const cve = fields[columns.cve] ?? '';
    const skip = (why: string) => {
      this.issues.push({
        source: this.source,
        message: `${this.source}: line ${this.lineNo}${CVE_ID.test(cve) ? ` ${cve}` : ''}: ${why}; skipped`,
      });
      return undefined;
    };
    if (fields.length !== columns.width)
      return skip(
        `${fields.length} fields, the header has ${columns.width}: ${JSON.stringify(text.slice(0, 120))}`,
      );
    if (!CVE_ID.test(cve)) return skip(`cve ${JSON.stringify(cve)} is not a CVE id`);
    const score = probability(fields[columns.epss]);
    if (score === undefined)
      return skip(`epss ${JSON.stringify(fields[columns.epss])} is not a number from 0 to 1`);
    const percentile = probability(fields[columns.percentile]);
    if (percentile === undefined)
      return skip(
        `percentile ${JSON.stringify(fields[columns.percentile])} is not a number from 0 to 1`,
      );
    const date = (this.meta as EpssPreamble).date;
    return { kind: 'epss', cve, facts: { score, percentile, date } };
  }
}

function probability(text: string | undefined): number | undefined {
  if (text === undefined || !NUMBER.test(text)) return undefined;
  const value = Number(text);
  return value >= 0 && value <= 1 ? value : undefined;
}

/**
 * The facts of a whole EPSS CSV held as text (feeds stream the file through EpssReader instead).
 * A file that is not FIRST's CSV is one issue and no facts, with no model version or score date.
 */
export function epssFacts(
  text: string,
  source: string,
  issues: ImportIssue[],
): { facts: EpssFact[]; modelVersion?: string; scoreDate?: string } {
  if (text.length > MAX_EPSS_CHARS) {
    issues.push({ source, message: `${source}: over ${MAX_EPSS_CHARS} characters; refused` });
    return { facts: [] };
  }
  const reader = new EpssReader(source, issues);
  const facts: EpssFact[] = [];
  try {
    for (const line of text.split('\n')) {
      const fact = reader.line(line);
      if (fact !== undefined) facts.push(fact);
    }
    reader.end();
  } catch (error) {
    if (!(error instanceof EpssFileError)) throw error;
    issues.push({ source, message: error.message });
    return { facts: [] };
  }
  const meta = reader.preamble as EpssPreamble;
  return {
    facts,
    ...(meta.modelVersion === undefined ? {} : { modelVersion: meta.modelVersion }),
    scoreDate: meta.scoreDate,
  };
}
