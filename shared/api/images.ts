/**
 * Routes about images and repositories: an image by digest (its record, repositories and tags,
 * provenance verdicts, use, a findings summary, report links), the images and tags of a
 * repository, and a tag's history.
 */
import type { FindingRecord } from '../stores/findings-store.js';
import type { ImageRecord, RepositoryRecord } from '../stores/image-store.js';
import { decodeCursor, type Page, pageOf, queryFingerprint } from './cursor.js';
import type { ApiDeps } from './deps.js';
import { NotFoundError } from './errors.js';

export interface ImageView {
  readonly digest: string;
  readonly scan: Pick<
    ImageRecord,
    | 'status'
    | 'reason'
    | 'platform'
    | 'os'
    | 'analyzerVersion'
    | 'firstScannedAt'
    | 'lastScannedAt'
    | 'lastRescannedAt'
    | 'lastCommit'
    | 'coverage'
  >;
  readonly repositories: readonly Omit<RepositoryRecord, 'digest'>[];
  readonly provenance: readonly {
    repository: string;
    status: string;
    checkedAt: string;
    policyVersion: string;
    trustVersion: string;
    verdict: unknown;
  }[];
  readonly inUse: { inUseCount: number; lastInUseAt?: string; firstInUseAt?: string };
  readonly workloads: readonly {
    source: string;
    workload: string;
    image: string;
    firstSeenAt: string;
    lastSeenAt: string;
  }[];
  readonly findings: {
    readonly total: number;
    readonly byStatus: Readonly<Record<string, number>>;
    readonly bySeverity: Readonly<Record<string, number>>;
  };
  readonly report?: { readonly report: string; readonly sbom: string };
}

const pick = <T extends object, K extends keyof T>(o: T, keys: readonly K[]) =>
  Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<T, K>;

/** The image record, or a 404 naming the digest. */
export async function imageOr404(deps: ApiDeps, digest: string): Promise<ImageRecord> {
  const image = await deps.images.getImage(digest);
  if (image === undefined) throw new NotFoundError(`image ${digest} is not known`);
  return image;
}

/** The digest's record in a repository, or a 404: the repository-scoped routes' guard. */
export async function inRepositoryOr404(deps: ApiDeps, repository: string, digest: string) {
  const repo = (await deps.images.repositoriesOf(digest)).find((r) => r.repository === repository);
  if (repo === undefined)
    throw new NotFoundError(`image ${digest} was never pushed to ${repository}`);
  return repo;
}

function summary(findings: readonly FindingRecord[]): ImageView['findings'] {
  const byStatus: Record<string, number> = {};
  const bySeverity: Record<string, number> = {};
  for (const f of findings) {
    byStatus[f.status] = (byStatus[f.status] ?? 0) + 1;
    if (f.status !== 'CLOSED')
      bySeverity[f.severity.severity] = (bySeverity[f.severity.severity] ?? 0) + 1;
  }
  return { total: findings.length, byStatus, bySeverity };
}

/**
 * An image by digest. With `repository`, what that repository sees of it: its own record, its
 * own verdict and the workloads that name it; the findings are the digest's either way.
 */
export async function imageView(
  deps: ApiDeps,
  digest: string,
  repository?: string,
): Promise<ImageView> {
  const image = await imageOr404(deps, digest);
  const mine = <T extends { repository?: string }>(r: T) =>
    repository === undefined || r.repository === repository;
  const [repos, verdicts, inUse, running, findings] = await Promise.all([
    deps.images.repositoriesOf(digest),
    deps.provenance.ofDigest(digest),
    deps.workloads.inUse(digest),
    deps.workloads.running(digest),
    deps.findings.findings(digest, image.findingsGeneration ?? 0),
  ]);
  const workloads = running.filter(
    (w) => repository === undefined || `${w.registry ?? ''}/${w.repository ?? ''}` === repository,
  );
  return {
    digest,
    scan: pick(image, [
      'status',
      'reason',
      'platform',
      'os',
      'analyzerVersion',
      'firstScannedAt',
      'lastScannedAt',
      'lastRescannedAt',
      'lastCommit',
      'coverage',
    ]),
    repositories: repos.filter(mine).map(({ digest: _d, ...r }) => r),
    provenance: verdicts.filter(mine).map((v) => ({
      repository: v.repository,
      status: v.status,
      checkedAt: v.checkedAt,
      policyVersion: v.policyVersion,
      trustVersion: v.trustVersion,
      verdict: v.verdict,
    })),
    inUse: pick(inUse, ['inUseCount', 'lastInUseAt', 'firstInUseAt']),
    workloads: workloads.map((w) =>
      pick(w, ['source', 'workload', 'image', 'firstSeenAt', 'lastSeenAt']),
    ),
    findings: summary(findings),
    ...(image.reportKey === undefined || image.sbomKey === undefined
      ? {}
      : { report: { report: s3Link(deps, image.reportKey), sbom: s3Link(deps, image.sbomKey) } }),
  };
}

const s3Link = (deps: ApiDeps, key: string) =>
  deps.reportsBucket === undefined ? key : `s3://${deps.reportsBucket}/${key}`;

export interface RepositoryImage extends Omit<RepositoryRecord, 'repository'> {
  readonly status?: string;
}

/** Images pushed to a repository, by first push then digest. */
export async function repositoryImages(
  deps: ApiDeps,
  repository: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<RepositoryImage>> {
  const q = queryFingerprint('repository-images', { repository });
  const after = decodeCursor(cursor, q);
  const key = (r: RepositoryRecord) => [r.pushedAt, r.digest];
  const all = (await deps.images.imagesInRepository(repository))
    .filter((r) => after === undefined || compareKeys(key(r), after) > 0)
    .sort((a, b) => compareKeys(key(a), key(b)));
  const page = pageOf(all, limit, q, key);
  const items = await Promise.all(
    page.items.map(async ({ repository: _r, ...r }) => {
      const image = await deps.images.getImage(r.digest);
      return image === undefined ? r : { ...r, status: image.status };
    }),
  );
  return { ...page, items };
}

/** Orders keys element by element, by code unit (keys are ASCII: instants, digests, tags). */
export function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Tags of a repository and the digest each names, by tag. */
export async function repositoryTags(
  deps: ApiDeps,
  repository: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<{ tag: string; digest: string }>> {
  const q = queryFingerprint('repository-tags', { repository });
  const after = decodeCursor(cursor, q)?.[0];
  const tags = (await deps.images.tags(repository))
    .filter((t) => after === undefined || t.tag > after)
    .sort((a, b) => (a.tag < b.tag ? -1 : 1));
  return pageOf(tags, limit, q, (t) => [t.tag]);
}

/** Every move of a tag, oldest first; a tag never seen is a 404. */
export async function tagHistory(deps: ApiDeps, repository: string, tag: string) {
  const moves = await deps.images.tagHistory(repository, tag);
  if (moves.length === 0) throw new NotFoundError(`tag ${tag} of ${repository} is not known`);
  const current = await deps.images.tagDigest(repository, tag);
  return {
    repository,
    tag,
    ...(current === undefined ? {} : { digest: current }),
    moves: moves.map((m) => pick(m, ['digest', 'previousDigest', 'movedAt'])),
  };
}
