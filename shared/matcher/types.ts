import type { CveFactKind, CveFacts, EpssFacts, KevFacts } from '../advisories/cve-facts.js';
import type { OsvAffected, OsvRecord } from '../advisories/osv.js';

import type { InventoryPackage } from '../inventory/package.js';
import type { Rating } from './rating.js';
import type { Reachability } from './reachability.js';

export type { InventoryPackage };

/** One `affected` entry of an advisory, with the advisory it belongs to. */
export interface Candidate {
  readonly record: OsvRecord;
  readonly affected: OsvAffected;
}

/**
 * The query step: the advisory entries that name a package in an ecosystem (from a store, or
 * from memory). Entries, not whole records: a distro advisory can name hundreds of packages.
 */
export interface AdvisoryQuery {
  candidates(ecosystem: string, name: string): Promise<readonly Candidate[]>;
  /**
   * What the CVE feeds say of these CVEs (NVD's ratings, KEV, EPSS, Debian's urgency), for
   * those they name: what rates a finding whose advisories do not, and what says it is exploited.
   */
  cveFacts(cves: readonly string[]): Promise<Map<string, CveFacts>>;
  /**
   * Whether any fact of this kind was ever stored: without KEV, "no finding is known exploited"
   * means nothing was asked (a gate on `kev` must say so, not pass).
   */
  hasCveFacts(kind: CveFactKind): Promise<boolean>;
  /**
   * Whether any advisory names a package of this exact ecosystem (`Alpine:v3.10`, `npm`): what
   * says a database covers an ecosystem at all, so that no match is not mistaken for no
   * vulnerability (matcher/coverage.ts).
   */
  hasEcosystem(ecosystem: string): Promise<boolean>;
}

/** Why a vulnerability has no fix, when its publisher says (Trivy's will_not_fix, fix_deferred). */
export type FixState = 'will-not-fix' | 'fix-deferred';

export interface Finding {
  /** The id shown first: a CVE when one is known, else the advisory's own. */
  readonly id: string;
  /** Every id this vulnerability has in the matched advisories (ids and aliases), sorted. */
  readonly ids: readonly string[];
  /** The advisories that matched, by id. */
  readonly advisoryIds: readonly string[];
  readonly package: InventoryPackage;
  readonly installedVersion: string;
  /** The nearest fixed version above the installed one, when an advisory names one. */
  readonly fixedVersion?: string;
  /** Where that fix is published when only a subscription has it (`Ubuntu Pro`). */
  readonly fixVia?: string;
  /** With no fix: the publisher has said it will not fix this, or has deferred the fix. */
  readonly fixState?: FixState;
  /** The effective severity (matcher/rating.ts says which source wins), and who gave it. */
  readonly severity: Rating;
  /** Every source's rating: the distribution's, a language database's, NVD's. */
  readonly severities: readonly Rating[];
  /** CISA lists the CVE as known exploited (KEV). */
  readonly kev?: KevFacts;
  /** FIRST's EPSS score of the CVE (the highest of its CVEs). */
  readonly epss?: EpssFacts;
  readonly summary?: string;
  /**
   * Whether the vulnerable code is in the binary (matcher/reachability.ts): set for the
   * ecosystems that can tell (Go), absent where it was not evaluated. Never hides a finding.
   */
  readonly reachability?: Reachability;
}

export type MatchIssueKind =
  | 'invalid-version'
  | 'unknown-ecosystem'
  | 'withdrawn'
  | 'invalid-severity';

export interface MatchIssue {
  readonly kind: MatchIssueKind;
  readonly message: string;
  readonly advisoryId?: string;
  readonly package?: string;
}

export interface MatchOptions {
  /**
   * For language packages owned by an OS package: `distro-only` (default) matches them only
   * through the distro's advisories, since distros backport fixes without changing upstream
   * versions; `all` matches them against upstream advisories too.
   */
  readonly osOwned?: 'distro-only' | 'all';
}

export interface MatchResult {
  readonly findings: Finding[];
  readonly issues: MatchIssue[];
  /** Language packages not matched upstream because an OS package owns them. */
  readonly skippedOsOwned: number;
}
