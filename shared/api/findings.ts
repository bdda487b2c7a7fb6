/**
 * Routes about findings: those of a digest, those of a repository's images, and the images an
 * advisory or CVE affects (Inspector's "by vulnerability" view). Findings are read as readers
 * see them (resolved against each image's committed generation, findings-store.ts
 * visibleFinding), in the table's own order, so a page resumes exactly where the last stopped.
 */
import { type FindingRecord, findingSortKey, visibleFinding } from '../stores/findings-store.js';
import { decodeCursor, type Page, pageOf, queryFingerprint } from './cursor.js';
import type { ApiDeps } from './deps.js';
import { compareKeys } from './images.js';
import type { FindingsFilters } from './params.js';

function matches(f: FindingRecord, filters: FindingsFilters): boolean {
  if (filters.severity !== undefined && !filters.severity.includes(f.severity.severity))
    return false;
  if (filters.status !== undefined && !filters.status.includes(f.status)) return false;
  if (filters.fixAvailable !== undefined && (f.fixedVersion !== undefined) !== filters.fixAvailable)
    return false;
  if (filters.kev !== undefined && (f.kev !== undefined) !== filters.kev) return false;
  return true;
}

/**
 * Up to `want` visible findings of a digest after the sort key `after`, filtered; each with
 * its sort key (the cursor's second part).
 */
async function digestFindings(
  deps: ApiDeps,
  digest: string,
  after: string | undefined,
  filters: FindingsFilters,
  want: number,
): Promise<{ key: [string, string]; finding: FindingRecord }[]> {
  const image = await deps.images.getImage(digest);
  if (image === undefined) return [];
  const committed = image.findingsGeneration ?? 0;
  const out: { key: [string, string]; finding: FindingRecord }[] = [];
  for (const stored of await deps.findings.storedAfter(digest, after)) {
    const f = visibleFinding(stored, committed);
    if (f === undefined || !matches(f, filters)) continue;
    out.push({ key: [digest, findingSortKey(f)], finding: f });
    if (out.length >= want) break;
  }
  return out;
}

/** Findings of the digests given, in digest order then the table's, one page of them. */
async function findingsOver(
  deps: ApiDeps,
  digests: readonly string[],
  q: string,
  filters: FindingsFilters,
  limit: number,
  cursor: string | undefined,
): Promise<Page<FindingRecord>> {
  const after = decodeCursor(cursor, q);
  const collected: { key: [string, string]; finding: FindingRecord }[] = [];
  for (const digest of [...new Set(digests)].sort()) {
    if (after !== undefined && digest < (after[0] ?? '')) continue;
    const from = after !== undefined && digest === after[0] ? after[1] : undefined;
    // One more than the page, to know whether another page follows.
    collected.push(
      ...(await digestFindings(deps, digest, from, filters, limit + 1 - collected.length)),
    );
    if (collected.length > limit) break;
  }
  const page = pageOf(collected, limit, q, (c) => c.key);
  return { ...page, items: page.items.map((c) => c.finding) };
}

export function imageFindings(
  deps: ApiDeps,
  digest: string,
  filters: FindingsFilters,
  limit: number,
  cursor: string | undefined,
): Promise<Page<FindingRecord>> {
  return findingsOver(
    deps,
    [digest],
    queryFingerprint('image-findings', { digest, ...filters }),
    filters,
    limit,
    cursor,
  );
}

/** Findings of every image still in the repository (digests deleted from it are left out). */
export async function repositoryFindings(
  deps: ApiDeps,
  repository: string,
  filters: FindingsFilters,
  limit: number,
  cursor: string | undefined,
): Promise<Page<FindingRecord>> {
  const live = (await deps.images.imagesInRepository(repository))
    .filter((r) => r.deletedAt === undefined)
    .map((r) => r.digest);
  const q = queryFingerprint('repository-findings', { repository, ...filters });
  return findingsOver(deps, live, q, filters, limit, cursor);
}

export interface AffectedImage {
  readonly digest: string;
  /** `<registry host>/<repository>` the digest is in now, with its tags there. */
  readonly repositories: readonly { repository: string; tags: readonly string[] }[];
  /** Whether a workload runs it now (the workload inventory's INUSE count). */
  readonly running: boolean;
  readonly inUseCount: number;
  readonly findings: readonly Pick<
    FindingRecord,
    | 'packageKey'
    | 'packageName'
    | 'installedVersion'
    | 'vulnerabilityId'
    | 'ids'
    | 'status'
    | 'severity'
    | 'fixedVersion'
  >[];
}

/**
 * The images a vulnerability affects, through the findings table's `byAdvisory` index: the id
 * itself and every advisory that aliases it (a CVE reaches the GHSA and distribution advisories
 * findings are indexed under). Images with only CLOSED findings of it are left out.
 */
export async function vulnerabilityImages(
  deps: ApiDeps,
  id: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<AffectedImage>> {
  const q = queryFingerprint('vuln-images', { id });
  const after = decodeCursor(cursor, q)?.[0];
  const ids = [...new Set([id, ...(await deps.advisories.idsByAlias(id))])];
  const byDigest = new Map<string, FindingRecord[]>();
  const images = new Map<string, number>();
  for (const advisory of ids)
    for (const stored of await deps.findings.byAdvisory(advisory)) {
      if (after !== undefined && stored.digest <= after) continue;
      if (!images.has(stored.digest))
        images.set(
          stored.digest,
          (await deps.images.getImage(stored.digest))?.findingsGeneration ?? 0,
        );
      const f = visibleFinding(stored, images.get(stored.digest) ?? 0);
      if (f === undefined || f.status === 'CLOSED') continue;
      const list = byDigest.get(f.digest) ?? [];
      if (!list.some((g) => findingSortKey(g) === findingSortKey(f))) list.push(f);
      byDigest.set(f.digest, list);
    }
  const digests = [...byDigest.keys()].sort((a, b) => compareKeys([a], [b]));
  const page = pageOf(digests, limit, q, (d) => [d]);
  const items = await Promise.all(
    page.items.map((d) => affectedImage(deps, d, byDigest.get(d) ?? [])),
  );
  return { ...page, items };
}

async function affectedImage(
  deps: ApiDeps,
  digest: string,
  findings: readonly FindingRecord[],
): Promise<AffectedImage> {
  const [repos, inUse] = await Promise.all([
    deps.images.repositoriesOf(digest),
    deps.workloads.inUse(digest),
  ]);
  return {
    digest,
    repositories: repos
      .filter((r) => r.deletedAt === undefined)
      .map((r) => ({ repository: r.repository, tags: r.tags })),
    running: inUse.inUseCount > 0,
    inUseCount: inUse.inUseCount,
    findings: findings.map((f) => ({
      packageKey: f.packageKey,
      packageName: f.packageName,
      installedVersion: f.installedVersion,
      vulnerabilityId: f.vulnerabilityId,
      ids: f.ids,
      status: f.status,
      severity: f.severity,
      ...(f.fixedVersion === undefined ? {} : { fixedVersion: f.fixedVersion }),
    })),
  };
}
