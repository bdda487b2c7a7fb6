/**
 * The matcher: a query step that fetches candidate advisories per package (by ecosystem and
 * name; OS packages also by their source package), then the pure OSV range evaluation. One
 * finding per CVE per package: the same vulnerability under several ids (CVE, GHSA, PYSEC, GO-,
 * DSA, DLA, DEBIAN-CVE, RHSA, ALSA) is one finding keeping every id.
 */
import { isAffected, nearestFix } from '../advisories/affected.js';
import type { OsvAffected, OsvRecord } from '../advisories/osv.js';
import { type RatingIssue, rate, type SeverityRating } from '../advisories/severity.js';
import { isDistroEcosystem, schemeFor, subscriptionOf } from '../ecosystems.js';
import { InvalidVersionError, type VersionScheme } from '../versions/index.js';
import { isCve, publisherOf, type Rating, rateFinding, worstRating } from './rating.js';
import { findingReachability, symbolTablesByLocation } from './reachability.js';
import type {
  AdvisoryQuery,
  Candidate,
  Finding,
  FixState,
  InventoryPackage,
  MatchIssue,
  MatchOptions,
  MatchResult,
} from './types.js';

interface Hit {
  readonly record: OsvRecord;
  readonly affected: OsvAffected;
  readonly fixed?: string;
}

function packageLabel(p: InventoryPackage): string {
  return `${p.ecosystem}/${p.name}@${p.version}`;
}

/** Groups advisories that share an id or alias (union-find over every id they carry). */
function groupByAliases(hits: readonly Hit[]): Hit[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string) => {
    for (const x of [a, b]) if (!parent.has(x)) parent.set(x, x);
    parent.set(find(a), find(b));
  };
  for (const h of hits) {
    union(h.record.id, h.record.id);
    for (const alias of h.record.aliases ?? []) union(h.record.id, alias);
  }
  const groups = new Map<string, Hit[]>();
  for (const h of hits) {
    const root = find(h.record.id);
    groups.set(root, [...(groups.get(root) ?? []), h]);
  }
  return [...groups.values()];
}

/**
 * The CVE ids a hit is about: its record's id and aliases, the records it derives from
 * (`upstream`: Debian, Ubuntu, Red Hat, Chainguard), and, for a distribution's records only,
 * CVE ids among `related`: OSV defines `related` as "related but not the same", which is what
 * language databases mean by it (GO-2023-1574 relates containerd to podman's CVEs), while
 * AlmaLinux lists the CVEs its advisory fixes there. https://ossf.github.io/osv-schema/#related-field
 */
function cvesOf(hit: Hit): string[] {
  const { record } = hit;
  const related = isDistroEcosystem(hit.affected.package?.ecosystem ?? '')
    ? (record.related ?? [])
    : [];
  const ids = [record.id, ...(record.aliases ?? []), ...(record.upstream ?? []), ...related];
  return [...new Set(ids.filter(isCve))];
}

/** The subscription that alone publishes this fix, when no public record names it. */
function subscriptionFix(hits: readonly Hit[], fixed: string): string | undefined {
  const from = hits.filter((h) => h.fixed === fixed);
  const via = from.map((h) => subscriptionOf(h.affected.package?.ecosystem ?? ''));
  return via.every((v) => v !== undefined) ? via[0] : undefined;
}

interface Vulnerability {
  readonly ids: readonly string[];
  readonly hits: readonly Hit[];
}

/**
 * One vulnerability per CVE. Records that alias each other are one group. A group that names no
 * CVE is one finding. Otherwise each CVE it names is a finding of the group's records that name
 * that CVE (a DSA that fixes three CVEs is part of three findings) and of those that name none,
 * together with every other group that names the same CVE (a DSA, a DLA and the DEBIAN-CVE
 * record of one CVE are one finding keeping all three ids). A record's other CVEs, and aliases
 * that are records about another CVE, stay out of the finding.
 */
function vulnerabilities(hits: readonly Hit[]): Vulnerability[] {
  const byKey = new Map<string, { ids: Set<string>; hits: Set<Hit> }>();
  const entry = (key: string) => {
    const found = byKey.get(key) ?? { ids: new Set<string>(), hits: new Set<Hit>() };
    byKey.set(key, found);
    return found;
  };
  for (const group of groupByAliases(hits)) {
    const cves = new Map(group.map((h) => [h, cvesOf(h)]));
    const all = new Set([...cves.values()].flat());
    if (all.size === 0) {
      const e = entry(`\u0000${group[0]?.record.id}`);
      for (const h of group) {
        e.hits.add(h);
        for (const id of [h.record.id, ...(h.record.aliases ?? [])]) e.ids.add(id);
      }
      continue;
    }
    // Which CVEs a record of this group is about, by its id (aliases may name such records).
    const aboutOf = new Map(group.map((h) => [h.record.id, cves.get(h) ?? []]));
    for (const cve of all) {
      const e = entry(cve);
      e.ids.add(cve);
      for (const h of group) {
        const own = cves.get(h) ?? [];
        if (own.length > 0 && !own.includes(cve)) continue;
        e.hits.add(h);
        for (const id of [h.record.id, ...(h.record.aliases ?? [])]) {
          const about = aboutOf.get(id);
          if (
            isCve(id)
              ? id === cve
              : about === undefined || about.length === 0 || about.includes(cve)
          )
            e.ids.add(id);
        }
      }
    }
  }
  return [...byKey.values()].map((e) => ({ ids: [...e.ids].sort(), hits: [...e.hits] }));
}

function preferredId(ids: readonly string[]): string {
  return ids.find((id) => id.startsWith('CVE-')) ?? (ids[0] as string);
}

export async function matchPackages(
  packages: readonly InventoryPackage[],
  query: AdvisoryQuery,
  options: MatchOptions = {},
): Promise<MatchResult> {
  const findings: Finding[] = [];
  const issues: MatchIssue[] = [];
  let skippedOsOwned = 0;
  // A binary's symbol table is kept on one of its packages (Go: stdlib): its others find it here.
  const tables = symbolTablesByLocation(packages);
  for (const pkg of packages) {
    if (
      pkg.osOwnedBy !== undefined &&
      !isDistroEcosystem(pkg.ecosystem) &&
      (options.osOwned ?? 'distro-only') === 'distro-only'
    ) {
      skippedOsOwned++;
      continue;
    }
    const scheme = schemeFor(pkg.ecosystem);
    if (scheme === undefined) {
      issues.push({
        kind: 'unknown-ecosystem',
        package: packageLabel(pkg),
        message: `${packageLabel(pkg)}: no version scheme for ecosystem ${JSON.stringify(pkg.ecosystem)}; not matched`,
      });
      continue;
    }
    const version =
      isDistroEcosystem(pkg.ecosystem) && pkg.sourceVersion !== undefined
        ? pkg.sourceVersion
        : pkg.version;
    if (!scheme.valid(version)) {
      issues.push({
        kind: 'invalid-version',
        package: packageLabel(pkg),
        message: `${packageLabel(pkg)}: invalid ${scheme.name} version ${JSON.stringify(version)}; not matched`,
      });
      continue;
    }
    const names = [
      ...new Set([
        pkg.name,
        ...(isDistroEcosystem(pkg.ecosystem) && pkg.sourceName !== undefined
          ? [pkg.sourceName]
          : []),
      ]),
    ];
    const candidates: Candidate[] = [];
    for (const ecosystem of [pkg.ecosystem, ...(pkg.extraEcosystems ?? [])])
      for (const name of names) candidates.push(...(await query.candidates(ecosystem, name)));
    const hits = evaluate(pkg, version, scheme, candidates, issues);
    // The symbol table is read here, not carried by every finding into every output.
    const { symbols: packedSymbols, ...bare } = pkg;
    const ratingIssues: RatingIssue[] = [];
    // Rated once per advisory: one that names several CVEs is part of several findings.
    const ratings = new Map(
      hits.map((h) => [
        h,
        rate(h.record, h.affected, ratingIssues, {
          preferWord: isDistroEcosystem(h.affected.package?.ecosystem ?? ''),
        }),
      ]),
    );
    // What a set of advisories says (fix, rating, ids): the same for each CVE an advisory that
    // fixes many (a kernel ALSA) is split into, so worked out once per set.
    const verdicts = new Map<string, ReturnType<typeof verdictOf>>();
    for (const { ids, hits: group } of vulnerabilities(hits)) {
      const key = group
        .map((h) => `${h.record.id}\u0000${h.affected.package?.ecosystem ?? ''}`)
        .join('\u0001');
      let verdict = verdicts.get(key);
      if (verdict === undefined) {
        verdict = verdictOf(group, scheme, ratings);
        verdicts.set(key, verdict);
      }
      const reachability = findingReachability(
        pkg,
        group.map((h) => h.affected),
        packedSymbols ?? (pkg.location === undefined ? undefined : tables.get(pkg.location)),
      );
      findings.push({
        id: preferredId(ids),
        ids,
        package: bare,
        installedVersion: version,
        ...verdict,
        ...(reachability === undefined ? {} : { reachability }),
      });
    }
    for (const i of ratingIssues)
      issues.push({
        kind: 'invalid-severity',
        advisoryId: i.advisoryId,
        package: packageLabel(pkg),
        message: i.message,
      });
  }
  return { findings: await withCveFacts(findings, query), issues, skippedOsOwned };
}

/**
 * Each finding's effective severity from all its ratings, its advisories' and what the CVE
 * feeds say of its CVEs (NVD, Debian's urgency), and whether the CVE is known exploited (KEV)
 * and how likely it is to be (EPSS: the highest of its CVEs).
 */
async function withCveFacts(
  findings: readonly Finding[],
  query: AdvisoryQuery,
): Promise<Finding[]> {
  const cves = [...new Set(findings.flatMap((f) => f.ids.filter(isCve)))];
  const facts = cves.length === 0 ? new Map() : await query.cveFacts(cves);
  return findings.map((f) => {
    const mine = f.ids.flatMap((id) => facts.get(id) ?? []);
    const { severity, severities } = rateFinding(f.severities, mine, {
      ecosystem: f.package.ecosystem,
      name: f.package.name,
      ...(f.package.sourceName === undefined ? {} : { sourceName: f.package.sourceName }),
      ids: f.ids,
    });
    const kev = mine.find((x) => x.kev !== undefined)?.kev;
    const epss = mine
      .flatMap((x) => (x.epss === undefined ? [] : [x.epss]))
      .sort((a, b) => b.score - a.score)[0];
    return {
      ...f,
      severity,
      severities,
      ...(kev === undefined ? {} : { kev }),
      ...(epss === undefined ? {} : { epss }),
    };
  });
}

/**
 * Why there is no fix, when every advisory of a vulnerability says why: the publisher will not
 * fix it (Red Hat's `no_fix_planned`), or has deferred the fix. Importers write the publisher's
 * word on the affected entry (`database_specific.fix_status`); an advisory that says nothing
 * means a fix may still come, so the finding is simply not fixed yet.
 */
function unfixedState(group: readonly Hit[]): FixState | undefined {
  const states = group.map((h) => h.affected.database_specific?.fix_status);
  if (states.every((s) => s === 'will-not-fix')) return 'will-not-fix';
  if (states.every((s) => s === 'will-not-fix' || s === 'fix-deferred')) return 'fix-deferred';
  return undefined;
}

/** The fix, rating and advisory ids a set of advisories gives one vulnerability of a package. */
function verdictOf(
  group: readonly Hit[],
  scheme: VersionScheme,
  ratings: ReadonlyMap<Hit, SeverityRating>,
) {
  const fixes = group.flatMap((h) => (h.fixed === undefined ? [] : [h.fixed]));
  // Advisories of one vulnerability may name different fixes; the highest satisfies them all.
  const fixedVersion = fixes.sort((a, b) => scheme.compare(a, b)).pop();
  // A fix only a subscription publishes (Ubuntu Pro) is still a fix: say where it is.
  const fixVia = fixedVersion === undefined ? undefined : subscriptionFix(group, fixedVersion);
  const fixState = fixedVersion === undefined ? unfixedState(group) : undefined;
  const severities = group.map(
    (h): Rating => ({
      ...(ratings.get(h) as SeverityRating),
      by: publisherOf(h.record.id, h.affected.package?.ecosystem ?? ''),
    }),
  );
  return {
    advisoryIds: [...new Set(group.map((h) => h.record.id))].sort(),
    ...(fixedVersion === undefined ? {} : { fixedVersion }),
    ...(fixVia === undefined ? {} : { fixVia }),
    ...(fixState === undefined ? {} : { fixState }),
    // Who rated it, kept for the effective severity (rating.ts) once the CVE feeds are read.
    severities,
    severity: worstRating(severities) ?? { severity: 'UNKNOWN', source: 'none', by: 'none' },
    ...(group[0]?.record.summary === undefined ? {} : { summary: group[0].record.summary }),
  };
}

function evaluate(
  pkg: InventoryPackage,
  version: string,
  scheme: VersionScheme,
  candidates: readonly Candidate[],
  issues: MatchIssue[],
): Hit[] {
  const hits = new Map<string, Hit>();
  const withdrawn = new Set<string>();
  for (const { record, affected } of candidates) {
    // One hit per advisory: the first of its entries that applies (a source and a binary name
    // of the same package may both be listed).
    if (hits.has(record.id)) continue;
    if (record.withdrawn !== undefined) {
      if (!withdrawn.has(record.id)) {
        withdrawn.add(record.id);
        issues.push({
          kind: 'withdrawn',
          advisoryId: record.id,
          package: packageLabel(pkg),
          message: `${record.id} was withdrawn on ${record.withdrawn}; not matched`,
        });
      }
      continue;
    }
    try {
      if (!isAffected(version, affected, scheme)) continue;
      const fixed = nearestFix(version, affected, scheme);
      hits.set(record.id, { record, affected, ...(fixed === undefined ? {} : { fixed }) });
    } catch (error) {
      if (!(error instanceof InvalidVersionError)) throw error;
      issues.push({
        kind: 'invalid-version',
        advisoryId: record.id,
        package: packageLabel(pkg),
        message: `${record.id} for ${packageLabel(pkg)}: ${error.message}; this advisory could not be evaluated`,
      });
    }
  }
  return [...hits.values()];
}
