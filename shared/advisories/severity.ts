/**
 * Severity of an advisory for one package: the most precise source wins, CVSS v4, then v3.x,
 * then v2 (base score computed from the vector with ae-cvss-calculator), then the database's own
 * word (`database_specific.severity`: GitHub's MODERATE, Go's, distro priorities).
 * Ratings: CVSS v3/v4 (https://www.first.org/cvss/v3.1/specification-document#Qualitative-Severity-Rating-Scale),
 * CVSS v2 (NVD: low < 4, medium < 7, high).
 */
import cvss from 'ae-cvss-calculator';

// A CommonJS package: named imports do not resolve under Node's ESM loader.
const { Cvss2, Cvss3P0, Cvss3P1, Cvss4P0 } = cvss;

import type { OsvAffected, OsvRecord } from './osv.js';

export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface SeverityRating {
  readonly severity: Severity;
  readonly score?: number;
  readonly vector?: string;
  /** Where the rating came from: `CVSS_V4`, `CVSS_V3`, `CVSS_V2`, `database_specific`, or `none`. */
  readonly source: string;
}

export interface RatingIssue {
  readonly advisoryId: string;
  readonly message: string;
}

const PRECEDENCE = ['CVSS_V4', 'CVSS_V3', 'CVSS_V2'];

function baseScore(type: string, vector: string): number {
  if (type === 'CVSS_V4') return new Cvss4P0(vector).calculateScores().base as number;
  if (type === 'CVSS_V3')
    return (
      vector.startsWith('CVSS:3.0/') ? new Cvss3P0(vector) : new Cvss3P1(vector)
    ).calculateScores().base as number;
  return new Cvss2(vector).calculateScores().base as number;
}

/** The base score of a CVSS vector, or undefined when it does not parse. */
export function cvssBaseScore(type: string, vector: string): number | undefined {
  try {
    const score = baseScore(type, vector);
    return Number.isFinite(score) ? score : undefined;
  } catch {
    return undefined;
  }
}

export function ratingOf(type: string, score: number): Severity {
  if (type === 'CVSS_V2') return score >= 7 ? 'HIGH' : score >= 4 ? 'MEDIUM' : 'LOW';
  if (score === 0) return 'NONE';
  return score >= 9 ? 'CRITICAL' : score >= 7 ? 'HIGH' : score >= 4 ? 'MEDIUM' : 'LOW';
}

const WORDS: Record<string, Severity> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  important: 'HIGH',
  moderate: 'MEDIUM',
  medium: 'MEDIUM',
  low: 'LOW',
  negligible: 'LOW',
  unimportant: 'LOW',
  none: 'NONE',
};

/**
 * The publisher's own word for the severity: `database_specific.severity` (GitHub's MODERATE,
 * ALAS's Important, Red Hat's impact), or the `Ubuntu` severity type OSV defines for Ubuntu's
 * priority (https://ossf.github.io/osv-schema/#severityscore).
 */
function wordRating(
  record: OsvRecord,
  affected: OsvAffected | undefined,
): SeverityRating | undefined {
  const words = [
    affected?.database_specific?.severity,
    record.database_specific?.severity,
    ...[...(affected?.severity ?? []), ...(record.severity ?? [])]
      .filter((s) => s.type === 'Ubuntu')
      .map((s) => s.score),
  ];
  // The first word that is a severity: a placeholder (`N/A`) does not hide a real one.
  const mapped = words
    .map((w) => (typeof w === 'string' ? WORDS[w.toLowerCase()] : undefined))
    .find((s) => s !== undefined);
  return mapped === undefined ? undefined : { severity: mapped, source: 'database_specific' };
}

/**
 * Rates `affected` of `record`. A vector that does not parse is reported through `issues` and
 * the next source is tried: a bad vector never makes an advisory silently harmless. With
 * `preferWord` (a distribution's record) the publisher's own word comes first: Ubuntu's
 * `negligible` or Debian's `unimportant` stays LOW whatever the CVSS vector beside it says.
 */
export function rate(
  record: OsvRecord,
  affected: OsvAffected | undefined,
  issues: RatingIssue[] = [],
  opts: { preferWord?: boolean } = {},
): SeverityRating {
  const word = wordRating(record, affected);
  if (opts.preferWord === true && word !== undefined) return word;
  const vectors = [...(affected?.severity ?? []), ...(record.severity ?? [])];
  for (const type of PRECEDENCE) {
    for (const s of vectors.filter((v) => v.type === type)) {
      try {
        const score = baseScore(type, s.score);
        if (!Number.isFinite(score)) throw new Error('no base score');
        return { severity: ratingOf(type, score), score, vector: s.score, source: type };
      } catch (error) {
        issues.push({
          advisoryId: record.id,
          message: `${record.id}: ${type} vector ${JSON.stringify(s.score)} does not parse: ${(error as Error).message}`,
        });
      }
    }
  }
  return word ?? { severity: 'UNKNOWN', source: 'none' };
}
