/**
 * The backfill use case: every image already in ECR, in the repositories in scope, queued for a
 * scan as the registry webhook queues a push (a `{"version":1,"request":{...}}` ScanRequest),
 * so that what was pushed before Bosun was deployed is scanned without being pushed again.
 *
 * A backfill is named by its id and kept in a status item (shared/stores/backfill-store.ts,
 * docs/data-model.md "Backfills"). `startBackfill` records it; `continueBackfill` works on it
 * until a deadline (a Lambda function's remaining time) and returns its status: invoked again
 * with the same id, it goes on from where it stopped. Steps, one ECR page at a time:
 * 1. LISTING: DescribeRepositories pages; the names in scope of each page are written with the
 *    status (its next token) in one transaction.
 * 2. IMAGES: for each repository, DescribeImages pages. Each image is claimed in the ledger (a
 *    conditional put: one ledger item per repository and digest), its request sent, then its
 *    outcome (QUEUED, SKIPPED, FAILED) written in one transaction with the status's counts. The
 *    page's token is saved once the page is done.
 * 3. DONE.
 *
 * No duplicate scans: one run at a time holds the status's lease (until its deadline and a
 * grace), so a second invocation with the same id returns at once ('busy'). A run stopped
 * anywhere leaves its page to the next run, which finds the images it finished in the ledger
 * and skips them; an image left CLAIMED (stopped between the claim and the outcome) is sent
 * again, as its request may not have gone out. Only a stop between the send and the outcome's
 * write sends a request twice; the scan is idempotent (an image already scanned by this
 * analyzer is `unchanged`), so a duplicate costs a queue message, not a scan.
 */
import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { mapLimit } from '../concurrency.js';
import { BosunError } from '../errors.js';
import { type BackfillRequest, type BackfillScope, inScope } from '../events/backfill.js';
import {
  ecrRegistryHost,
  type ScanRequest,
  scanRequestBody,
  scanRequestMessage,
} from '../events/scan-request.js';
import { pushedKind } from '../image/select.js';
import { sendMessages } from '../queues/send.js';
import {
  type EcrImage,
  type EcrImageReader,
  ecrErrorName,
  type Page,
} from '../registry/ecr-images.js';
import {
  type BackfillCounts,
  type BackfillStatus,
  type BackfillStore,
  type LedgerState,
  ZERO_COUNTS,
} from '../stores/backfill-store.js';
import { describeIssues } from '../zod-issues.js';

/** Where scan requests go: the scan queue (sqsScanQueue), or anything that takes bodies. */
export interface ScanQueue {
  send(bodies: readonly string[]): Promise<void>;
}

export function sqsScanQueue(sqs: SQSClient, queueUrl: string): ScanQueue {
  return { send: (bodies) => sendMessages(sqs, queueUrl, bodies) };
}

/** Structured progress logs (the handlers' Powertools logger fits). */
export interface BackfillLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

export interface BackfillDeps {
  readonly store: BackfillStore;
  readonly ecr: EcrImageReader;
  readonly queue: ScanQueue;
  /** The registry's region (its host name is `<account>.dkr.ecr.<region>.amazonaws.com`). */
  readonly region: string;
  readonly log?: BackfillLog;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Names this run in the lease and the ledger. @default a random UUID */
  readonly runId?: string;
  /** How long a run's lease outlasts its deadline. @default 60_000 */
  readonly leaseGraceMs?: number;
}

/** No backfill has this id. */
export class BackfillNotFoundError extends BosunError {
  readonly fatal = false;
}

/** The id names a backfill of another scope. */
export class BackfillConflictError extends BosunError {
  readonly fatal = false;
}

/** Another run took the lease (this one outlived it); this run stops. */
class LeaseLostError extends BosunError {
  readonly fatal = false;
}

/** The status, and why this run returned: finished, out of time, or another run holds it. */
export interface BackfillResult extends BackfillStatus {
  readonly stop: 'done' | 'deadline' | 'busy';
}

const SILENT: BackfillLog = { info() {}, warn() {} };
/** Requests a batch: SendMessageBatch's limit, and 11 writes a transaction with the status. */
const BATCH = 10;

interface Run {
  readonly deps: BackfillDeps;
  readonly id: string;
  readonly holder: string;
  readonly deadline: number;
  readonly log: BackfillLog;
  readonly now: () => number;
  status: BackfillStatus;
  readonly pages: Map<number, readonly string[]>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const sameScope = (a: BackfillScope, b: BackfillScope) =>
  JSON.stringify([a.repositories, a.prefixes]) === JSON.stringify([b.repositories, b.prefixes]);

/**
 * Records a backfill (nothing is read from ECR yet) and returns its status; an id already
 * recorded with the same scope returns that backfill's status, with another scope throws
 * BackfillConflictError.
 */
export async function startBackfill(
  deps: BackfillDeps,
  request: BackfillRequest,
): Promise<BackfillStatus> {
  const at = iso((deps.now ?? Date.now)());
  // Sorted and once each, as the message parser leaves them, so a scope compares as a value.
  const norm = (list: readonly string[]) => [...new Set(list)].sort();
  const scope: BackfillScope = {
    ...(request.repositories === undefined ? {} : { repositories: norm(request.repositories) }),
    ...(request.prefixes === undefined ? {} : { prefixes: norm(request.prefixes) }),
  };
  const fresh: BackfillStatus = {
    id: request.id,
    scope,
    phase: 'LISTING',
    listing: { pages: 0 },
    cursor: { page: 0, index: 0 },
    counts: ZERO_COUNTS,
    missing: [],
    startedAt: at,
    updatedAt: at,
    leaseUntil: 0,
    revision: 0,
  };
  if (await deps.store.create(fresh)) {
    deps.log?.info('backfill recorded', { backfillId: request.id, scope });
    return fresh;
  }
  const existing = await deps.store.status(request.id);
  if (existing === undefined) throw new BackfillNotFoundError(`backfill ${request.id} vanished`);
  if (!sameScope(existing.scope, scope))
    throw new BackfillConflictError(
      `backfill ${request.id} exists with scope ${JSON.stringify(existing.scope)}, not ${JSON.stringify(scope)}`,
    );
  return existing;
}

/**
 * Works on the backfill until it is done or `deadline` (epoch ms) has passed, and returns its
 * status. A backfill another run is working on is returned as it is ('busy').
 */
export async function continueBackfill(
  deps: BackfillDeps,
  id: string,
  deadline: number,
): Promise<BackfillResult> {
  const run = await acquire(deps, id, deadline);
  if ('stop' in run) return run;
  try {
    const stop = await work(run);
    return { ...(await release(run)), stop };
  } catch (error) {
    if (error instanceof LeaseLostError) {
      run.log.warn('backfill lease lost', { backfillId: id, error: error.message });
      return { ...((await deps.store.status(id)) ?? run.status), stop: 'busy' };
    }
    // The next invocation need not wait for the lease to expire.
    await release(run).catch(() => undefined);
    throw error;
  }
}

async function acquire(
  deps: BackfillDeps,
  id: string,
  deadline: number,
): Promise<Run | BackfillResult> {
  const status = await deps.store.status(id);
  if (status === undefined) throw new BackfillNotFoundError(`no backfill with id ${id}`);
  if (status.phase === 'DONE') return { ...status, stop: 'done' };
  const now = deps.now ?? Date.now;
  const holder = deps.runId ?? randomUUID();
  if (status.holder !== undefined && status.holder !== holder && status.leaseUntil > now())
    return { ...status, stop: 'busy' };
  const next: BackfillStatus = {
    ...status,
    holder,
    leaseUntil: deadline + (deps.leaseGraceMs ?? 60_000),
    updatedAt: iso(now()),
  };
  if (!(await deps.store.save(status, next)))
    return { ...((await deps.store.status(id)) ?? status), stop: 'busy' };
  const log = deps.log ?? SILENT;
  log.info('backfill run', { backfillId: id, phase: status.phase, counts: status.counts });
  return {
    deps,
    id,
    holder,
    deadline,
    log,
    now,
    status: { ...next, revision: status.revision + 1 },
    pages: new Map(),
  };
}

/** Frees the lease; returns the status as saved. */
async function release(run: Run): Promise<BackfillStatus> {
  const { holder: _holder, ...rest } = run.status;
  await commit(run, { ...rest, leaseUntil: 0 });
  return run.status;
}

async function work(run: Run): Promise<'done' | 'deadline'> {
  for (;;) {
    if (run.status.phase === 'DONE') return 'done';
    if (run.now() >= run.deadline) {
      run.log.info('backfill stopped at its deadline', {
        backfillId: run.id,
        phase: run.status.phase,
        counts: run.status.counts,
      });
      return 'deadline';
    }
    if (run.status.phase === 'LISTING') await listRepositories(run);
    else await readRepository(run);
  }
}

/** Saves the status (and other writes with it); a status changed by another run stops this. */
async function commit(
  run: Run,
  next: BackfillStatus,
  writes: Parameters<BackfillStore['save']>[2] = [],
): Promise<void> {
  const saved = { ...next, updatedAt: iso(run.now()), revision: run.status.revision + 1 };
  if (!(await run.deps.store.save(run.status, saved, writes)))
    throw new LeaseLostError(`backfill ${run.id} was changed by another run`);
  run.status = saved;
}

/** Step 1: one DescribeRepositories page, its names in scope kept with the next token. */
async function listRepositories(run: Run): Promise<void> {
  const { status } = run;
  const page = await run.deps.ecr.repositories(status.listing.token);
  const names = page.items.map((r) => r.name).filter((name) => inScope(status.scope, name));
  const number = status.listing.pages;
  const counts = { ...status.counts, repositories: status.counts.repositories + names.length };
  const listing = { pages: number + 1, ...(page.nextToken ? { token: page.nextToken } : {}) };
  const last = page.nextToken === undefined;
  const missing = last ? await missingNames(run, names) : [];
  await commit(run, { ...status, listing, counts, ...(last ? { phase: 'IMAGES', missing } : {}) }, [
    run.deps.store.pageWrite(run.id, number, names),
  ]);
  run.pages.set(number, names);
  run.log.info('backfill repositories listed', {
    backfillId: run.id,
    page: number,
    inScope: names.length,
    last,
  });
  if (missing.length > 0)
    run.log.warn('backfill repositories not found', { backfillId: run.id, missing });
}

/** The repositories the request named that no page listed. */
async function missingNames(run: Run, lastPage: readonly string[]): Promise<string[]> {
  const named = run.status.scope.repositories;
  if (named === undefined) return [];
  const listed = new Set([...(await run.deps.store.repositories(run.id)), ...lastPage]);
  return named.filter((name) => !listed.has(name));
}

async function pageNames(run: Run, page: number): Promise<readonly string[]> {
  let names = run.pages.get(page);
  if (names === undefined) {
    names = (await run.deps.store.page(run.id, page)) ?? [];
    run.pages.set(page, names);
  }
  return names;
}

/** Step 2: one DescribeImages page of the current repository, queued, then the cursor moved. */
async function readRepository(run: Run): Promise<void> {
  const { page, index, token } = run.status.cursor;
  if (page >= run.status.listing.pages) {
    await commit(run, { ...run.status, phase: 'DONE', finishedAt: iso(run.now()) });
    run.log.info('backfill done', { backfillId: run.id, counts: run.status.counts });
    return;
  }
  const repository = (await pageNames(run, page))[index];
  if (repository === undefined) {
    await commit(run, { ...run.status, cursor: { page: page + 1, index: 0 } });
    return;
  }
  const listed = await describeImages(run, repository, token);
  for (let i = 0; i < listed.items.length; i += BATCH)
    await queueBatch(run, listed.items.slice(i, i + BATCH));
  const last = listed.nextToken === undefined;
  const c = run.status.counts;
  const counts: BackfillCounts = {
    ...c,
    imagesSeen: c.imagesSeen + listed.unreadable,
    failed: c.failed + listed.unreadable,
    repositoriesDone: c.repositoriesDone + (last ? 1 : 0),
  };
  const cursor = last ? { page, index: index + 1 } : { page, index, token: listed.nextToken };
  await commit(run, { ...run.status, counts, cursor });
  run.log.info('backfill images page', {
    backfillId: run.id,
    repository,
    images: listed.items.length,
    last,
    counts,
  });
}

/**
 * A page of the repository's images. A repository deleted since it was listed has none; a
 * token ECR no longer takes (a run resumed long after) reads the repository from its start,
 * which the ledger makes safe.
 */
async function describeImages(
  run: Run,
  repository: string,
  token: string | undefined,
): Promise<Page<EcrImage>> {
  try {
    return await run.deps.ecr.images(repository, token);
  } catch (error) {
    const name = ecrErrorName(error);
    if (name === 'RepositoryNotFoundException') {
      run.log.warn('backfill repository gone', { backfillId: run.id, repository });
      return { items: [], unreadable: 0 };
    }
    if (name === 'InvalidParameterException' && token !== undefined) {
      run.log.warn('backfill page token refused; repository read again', {
        backfillId: run.id,
        repository,
      });
      return run.deps.ecr.images(repository);
    }
    throw error;
  }
}

interface Decided {
  readonly image: EcrImage;
  readonly state: Exclude<LedgerState, 'CLAIMED'>;
  readonly body?: string;
  readonly reason?: string;
}

/** What Bosun does with one listed image: queue it, or why not. */
function decide(run: Run, image: EcrImage): Decided {
  if (image.status !== undefined && image.status !== 'ACTIVE')
    return { image, state: 'SKIPPED', reason: `image status ${image.status}: not pullable` };
  const kinds = (image.tags.length > 0 ? image.tags : [undefined]).map((tag) =>
    pushedKind({ ...image, ...(tag === undefined ? {} : { tag }) }),
  );
  const artifact = kinds.find((k) => k.kind === 'artifact');
  if (artifact !== undefined) return { image, state: 'SKIPPED', reason: artifact.reason };
  const request: ScanRequest = {
    action: 'PUSH',
    registry: ecrRegistryHost(image.registryId, run.deps.region),
    repository: image.repository,
    digest: image.digest,
    // One request a digest carries one tag (ScanRequest has one); ECR lists the others.
    ...(image.tags[0] === undefined ? {} : { tag: image.tags[0] }),
    ...(image.manifestMediaType === undefined
      ? {}
      : { manifestMediaType: image.manifestMediaType }),
    ...(image.artifactMediaType === undefined
      ? {}
      : { artifactMediaType: image.artifactMediaType }),
    eventTime: (image.pushedAt ?? new Date(run.now())).toISOString(),
    eventId: `backfill:${run.id}:${image.repository}@${image.digest}`,
    account: image.registryId,
    region: run.deps.region,
  };
  const valid = scanRequestMessage.safeParse({ version: 1, request });
  if (!valid.success)
    return { image, state: 'FAILED', reason: describeIssues(valid.error).join('; ') };
  return { image, state: 'QUEUED', body: scanRequestBody(request) };
}

/** Claims, sends and records up to ten images. */
async function queueBatch(run: Run, images: readonly EcrImage[]): Promise<void> {
  const decided = images.map((image) => decide(run, image));
  const claimed = await mapLimit(decided, BATCH, async (d) => ((await claim(run, d)) ? d : null));
  const mine = claimed.filter((d): d is Decided => d !== null);
  if (mine.length === 0) return;
  await run.deps.queue.send(mine.flatMap((d) => (d.body === undefined ? [] : [d.body])));
  await recordOutcomes(run, mine);
  for (const d of mine)
    if (d.state === 'FAILED')
      run.log.warn('backfill image not queued', {
        backfillId: run.id,
        repository: d.image.repository,
        digest: d.image.digest,
        reason: d.reason,
      });
}

/**
 * True when this run is to send the image: it claimed it now, or found it CLAIMED by a run
 * that stopped before recording its outcome (this run holds the lease, so that run is gone).
 */
async function claim(run: Run, d: Decided): Promise<boolean> {
  const { repository, digest } = d.image;
  const entry = { repository, digest, holder: run.holder, at: iso(run.now()) };
  if (await run.deps.store.claim(run.id, entry)) return true;
  return (await run.deps.store.entry(run.id, repository, digest))?.state === 'CLAIMED';
}

/**
 * Writes the images' outcomes with the counts, in one transaction. When it fails, either
 * another run took the lease (this one stops) or finished some of the images: those are left
 * to it, the rest written again.
 */
async function recordOutcomes(run: Run, decided: readonly Decided[]): Promise<void> {
  let pending = decided;
  for (let attempt = 0; pending.length > 0; attempt++) {
    const at = iso(run.now());
    const writes = pending.map(({ image, state, reason }) =>
      run.deps.store.outcomeWrite(run.id, {
        repository: image.repository,
        digest: image.digest,
        state,
        holder: run.holder,
        at,
        ...(reason === undefined ? {} : { reason }),
      }),
    );
    const counts = counted(run.status.counts, pending);
    const saved = { ...run.status, counts, updatedAt: at, revision: run.status.revision + 1 };
    if (await run.deps.store.save(run.status, saved, writes)) {
      run.status = saved;
      return;
    }
    const current = await run.deps.store.status(run.id);
    if (current === undefined || current.holder !== run.holder || attempt >= 3)
      throw new LeaseLostError(`backfill ${run.id}: outcomes not recorded`);
    run.status = current;
    const still = await mapLimit(pending, BATCH, (d) =>
      run.deps.store.entry(run.id, d.image.repository, d.image.digest),
    );
    pending = pending.filter((_, i) => still[i]?.state === 'CLAIMED');
  }
}

function counted(c: BackfillCounts, decided: readonly Decided[]): BackfillCounts {
  const n = (state: Decided['state']) => decided.filter((d) => d.state === state).length;
  return {
    ...c,
    imagesSeen: c.imagesSeen + decided.length,
    queued: c.queued + n('QUEUED'),
    skipped: c.skipped + n('SKIPPED'),
    failed: c.failed + n('FAILED'),
  };
}
