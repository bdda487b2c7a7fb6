/**
 * One effective severity per finding, from every rating its sources give (issue 15). Each
 * rating keeps who gave it (`by`): the distribution (`Debian`, `Ubuntu`, `Red Hat`, `Amazon
 * Linux`, …), a language database (`GHSA`, `PyPA`, `Go`, `RustSec`, …) or `NVD`.
 *
 * Precedence, as Trivy's (https://trivy.dev/latest/docs/scanner/vulnerability/#severity-selection):
 * 1. the distribution's own rating, for a package of the distribution: it rates the flaw as its
 *    build and configuration expose it, so Debian's `unimportant` and Ubuntu's `negligible` stay
 *    LOW whatever NVD's score (the worst of the distribution's records when several rate it);
 * 2. the language databases' ratings (GHSA's and the others' CVSS, else their word; the worst of
 *    them when several rate it), for a language package;
 * 3. NVD's own rating of the CVE (its Primary score, newest CVSS version), then a CNA's;
 * 4. UNKNOWN: no source rates it (counted and reported, never silently LOW).
 * Where we differ from Trivy: a distribution's record that carries only a CVSS vector (Red Hat,
 * Ubuntu without priority) is still the distribution's rating; Trivy reads distributions'
 * words only.
 */
import type { CveFacts, CvssRating } from '../advisories/cve-facts.js';
import { debianUrgency } from '../advisories/debian-urgency.js';
import {
  cvssBaseScore,
  ratingOf,
  SEVERITIES,
  type Severity,
  type SeverityRating,
} from '../advisories/severity.js';
import { baseEcosystem, isDistroEcosystem } from '../ecosystems.js';

/** One source's rating of a finding. */
export interface Rating extends SeverityRating {
  /** Who rated it: a distribution, a language database, or `NVD`. */
  readonly by: string;
}

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;

/** The publisher of a record: its distribution, or its database by id prefix (GHSA-…). */
export function publisherOf(recordId: string, ecosystem: string): string {
  if (isDistroEcosystem(ecosystem)) return baseEcosystem(ecosystem);
  const prefix = /^([A-Z]+)-/.exec(recordId)?.[1];
  return (
    { GHSA: 'GHSA', PYSEC: 'PyPA', GO: 'Go', RUSTSEC: 'RustSec', MAL: 'OpenSSF' }[prefix ?? ''] ??
    prefix ??
    recordId
  );
}

export function worstRating<T extends SeverityRating>(ratings: readonly T[]): T | undefined {
  return [...ratings].sort(
    (a, b) =>
      SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
      (b.score ?? -1) - (a.score ?? -1),
  )[0];
}

const CVSS_ORDER = ['CVSS_V4', 'CVSS_V3', 'CVSS_V2'] as const;

/** NVD's ratings of a CVE, NVD's own Primary ones first, newest CVSS version first. */
function nvdRatings(ratings: readonly CvssRating[]) {
  return [...ratings]
    .sort(
      (a, b) =>
        Number(b.primary) - Number(a.primary) ||
        CVSS_ORDER.indexOf(a.type) - CVSS_ORDER.indexOf(b.type),
    )
    .flatMap((r): Rating[] => {
      const s = cvssBaseScore(r.type, r.vector);
      return s === undefined
        ? []
        : [
            {
              severity: ratingOf(r.type, s),
              score: s,
              vector: r.vector,
              source: r.type,
              by: 'NVD',
            },
          ];
    });
}

export interface RatingContext {
  /** The package's ecosystem (`Debian:12`, `npm`) and the source package a distribution names. */
  readonly ecosystem: string;
  readonly sourceName?: string;
  readonly name: string;
  /** The ids of the finding (its CVEs among them). */
  readonly ids: readonly string[];
}

/**
 * Every rating of a finding (its advisories', Debian's urgency, NVD's) and the effective one.
 */
export function rateFinding(
  advisories: readonly Rating[],
  facts: readonly CveFacts[],
  ctx: RatingContext,
): { severity: Rating; severities: Rating[] } {
  const known = (r: Rating) => r.severity !== 'UNKNOWN';
  const distro = isDistroEcosystem(ctx.ecosystem);
  const vendor = advisories.filter((r) => known(r) && distro);
  const debian =
    baseEcosystem(ctx.ecosystem) === 'Debian'
      ? facts.flatMap((f): Rating[] => {
          const urgency =
            f.debian === undefined
              ? undefined
              : debianUrgency(
                  f.debian,
                  ctx.sourceName ?? ctx.name,
                  ctx.ecosystem.slice('Debian:'.length),
                );
          const severity = urgency === undefined ? undefined : URGENCY[urgency];
          return severity === undefined
            ? []
            : [{ severity, source: 'database_specific', by: 'Debian' }];
        })
      : [];
  const language = advisories.filter((r) => known(r) && !distro);
  // Per CVE, NVD's own rating (else a CNA's); of several CVEs, the worst.
  const perCve = facts.flatMap((f) => (f.nvd === undefined ? [] : [nvdRatings(f.nvd.ratings)]));
  const nvdChosen = worstRating(perCve.flatMap((ratings) => ratings.slice(0, 1)));
  const nvd = perCve.flat();
  const severity = worstRating([...debian, ...vendor]) ??
    worstRating(language) ??
    nvdChosen ?? { severity: 'UNKNOWN' as Severity, source: 'none', by: 'none' };
  const all = [...debian, ...vendor, ...language, ...nvd];
  const seen = new Set<string>();
  const severities = all.filter((r) => {
    const key = `${r.by}\u0000${r.severity}\u0000${r.vector ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { severity, severities };
}

/**
 * Debian's urgencies (https://security-team.debian.org/security_tracker.html#severity-levels).
 * `end-of-life` is not one: it says the package gets no security support in that release, so it
 * rates nothing (NVD's rating stands) rather than making a critical flaw LOW.
 */
const URGENCY: Record<string, Severity> = {
  unimportant: 'LOW',
  low: 'LOW',
  medium: 'MEDIUM',
  high: 'HIGH',
};

export const isCve = (id: string) => CVE_ID.test(id);
