/**
 * The backfill use case (shared/pipeline/backfill.ts) on the embedded item table, with ECR
 * answered at the SDK client's request handler (test/support/ecr-service.ts) and the scan
 * queue in memory: each image queued once, whatever stops a run and wherever.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScanMessage } from '../../../shared/events/scan-request.js';
import { logger } from '../../../shared/observability.js';
import {
  BackfillConflictError,
  type BackfillDeps,
  type BackfillLog,
  BackfillNotFoundError,
  continueBackfill,
  type ScanQueue,
  startBackfill,
} from '../../../shared/pipeline/backfill.js';
import { EcrImageReader } from '../../../shared/registry/ecr-images.js';
import { BackfillStore } from '../../../shared/stores/backfill-store.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import type { ItemTable } from '../../../shared/stores/item-table.js';
import {
  type EcrContent,
  fakeEcr,
  imageDetail,
  OCI_INDEX,
  repository,
} from '../../support/ecr-service.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const FAR = Date.parse('2030-01-01T00:00:00Z');

/**
 * 3 repositories in scope and one not: 13 images to queue (one an index, two its platform
 * manifests) and a cosign signature to skip.
 */
function registry(): EcrContent {
  const images = [
    ...Array.from({ length: 6 }, (_, i) =>
      imageDetail(ACCOUNT, 'team-a/api', digest(i + 1), {
        imageTags: [`1.${i}`],
        imagePushedAt: new Date(Date.UTC(2024, 0, i + 1)),
      }),
    ),
    imageDetail(ACCOUNT, 'team-a/api', digest(90), {
      imageTags: [`sha256-${digest(1).slice(7)}.sig`],
    }),
    imageDetail(ACCOUNT, 'team-a/web', digest(7), {
      imageTags: ['latest'],
      imageManifestMediaType: OCI_INDEX,
      artifactMediaType: undefined,
    }),
    imageDetail(ACCOUNT, 'team-a/web', digest(8)),
    imageDetail(ACCOUNT, 'team-a/web', digest(9)),
    ...Array.from({ length: 4 }, (_, i) => imageDetail(ACCOUNT, 'team-b/job', digest(10 + i))),
    imageDetail(ACCOUNT, 'other', digest(50)),
  ];
  return {
    repositories: ['team-a/api', 'other', 'team-a/web', 'team-b/job'].map((n) =>
      repository(ACCOUNT, REGION, n),
    ),
    images,
    exclusions: [],
  };
}

const IN_SCOPE = Array.from({ length: 13 }, (_, i) => digest(i + 1));

function memoryQueue(): ScanQueue & { bodies: string[] } {
  const bodies: string[] = [];
  return { bodies, send: async (b) => void bodies.push(...b) };
}

function setup(options: { table?: ItemTable; content?: EcrContent } = {}) {
  const table =
    options.table ??
    EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-bf-')), 'images');
  const ecr = fakeEcr(options.content ?? registry());
  const queue = memoryQueue();
  const logs: { message: string; fields: Record<string, unknown> }[] = [];
  const log: BackfillLog = {
    info: (message, fields) => void logs.push({ message, fields }),
    warn: (message, fields) => void logs.push({ message, fields }),
  };
  const clock = { t: Date.parse('2025-03-01T00:00:00Z') };
  const deps: BackfillDeps = {
    store: new BackfillStore(table),
    ecr: new EcrImageReader(ecr.ecr, { pageSize: 4, ratePerSecond: 1e6 }),
    queue,
    region: REGION,
    log,
    now: () => clock.t,
  };
  return { table, ecr, queue, deps, logs, clock };
}

const digestsOf = (bodies: readonly string[]) =>
  bodies.map((b) => parseScanMessage(b)?.digest ?? '').sort();

const scope = { id: 'first', prefixes: ['team-'] };

describe('a backfill', () => {
  it('queues every image in scope once, as the webhook queues a push, and skips signatures', async () => {
    const { deps, queue, ecr } = setup();
    const started = await startBackfill(deps, scope);
    expect(started).toMatchObject({ id: 'first', phase: 'LISTING', counts: { queued: 0 } });
    const result = await continueBackfill(deps, 'first', FAR);
    expect(result.stop).toBe('done');
    expect(digestsOf(queue.bodies)).toEqual(IN_SCOPE);
    const first = parseScanMessage(queue.bodies[0] ?? '');
    expect(first).toEqual({
      action: 'PUSH',
      registry: HOST,
      repository: 'team-a/api',
      digest: digest(1),
      tag: '1.0',
      manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
      eventTime: '2024-01-01T00:00:00.000Z',
      eventId: `backfill:first:team-a/api@${digest(1)}`,
      account: ACCOUNT,
      region: REGION,
    });
    expect(result).toMatchObject({
      phase: 'DONE',
      counts: {
        repositories: 3,
        repositoriesDone: 3,
        imagesSeen: 14,
        queued: 13,
        skipped: 1,
        failed: 0,
      },
      missing: [],
      leaseUntil: 0,
    });
    expect(result.holder).toBeUndefined();
    expect(result.finishedAt).toBeDefined();
    const entries = await deps.store.entries('first');
    expect(entries.filter((e) => e.state === 'SKIPPED')).toEqual([
      expect.objectContaining({
        digest: digest(90),
        reason: `cosign signature, attestation or SBOM tag sha256-${digest(1).slice(7)}.sig`,
      }),
    ]);
    // Done is done: another invocation reads nothing from ECR and queues nothing.
    const calls = ecr.calls.length;
    expect((await continueBackfill(deps, 'first', FAR)).stop).toBe('done');
    expect(ecr.calls).toHaveLength(calls);
    expect(queue.bodies).toHaveLength(13);
  });

  it('takes names and prefixes, and records the names the registry does not have', async () => {
    const { deps, queue } = setup();
    await startBackfill(deps, {
      id: 'named',
      repositories: ['other', 'gone/app'],
      prefixes: ['team-b/'],
    });
    const result = await continueBackfill(deps, 'named', FAR);
    expect(digestsOf(queue.bodies)).toEqual([
      digest(10),
      digest(11),
      digest(12),
      digest(13),
      digest(50),
    ]);
    expect(result.missing).toEqual(['gone/app']);
    expect(result.counts).toMatchObject({ repositories: 2, repositoriesDone: 2, queued: 5 });
  });

  it('stops at its deadline and goes on from there when invoked again', async () => {
    const { deps, queue, clock } = setup();
    // Each queue send takes a second of the clock.
    const send = deps.queue.send.bind(deps.queue);
    const timed = {
      ...deps,
      queue: {
        send: async (b: readonly string[]) => {
          clock.t += 1000;
          await send(b);
        },
      },
    };
    await startBackfill(timed, scope);
    const first = await continueBackfill(timed, 'first', clock.t + 1500);
    expect(first.stop).toBe('deadline');
    expect(first.phase).toBe('IMAGES');
    expect(first.holder).toBeUndefined();
    const half = queue.bodies.length;
    expect(half).toBeGreaterThan(0);
    expect(half).toBeLessThan(13);
    expect(first.counts.queued).toBe(half);
    const second = await continueBackfill(timed, 'first', FAR);
    expect(second.stop).toBe('done');
    expect(digestsOf(queue.bodies)).toEqual(IN_SCOPE);
    expect(second.counts).toMatchObject({ queued: 13, skipped: 1, imagesSeen: 14 });
  });

  it('lets one of two concurrent runs work; the other returns at once', async () => {
    const { deps, queue } = setup();
    const [a, b] = await Promise.all([
      startBackfill(deps, scope).then(() =>
        continueBackfill({ ...deps, runId: 'a' }, 'first', FAR),
      ),
      startBackfill(deps, scope).then(() =>
        continueBackfill({ ...deps, runId: 'b' }, 'first', FAR),
      ),
    ]);
    expect([a.stop, b.stop].sort()).toEqual(['busy', 'done']);
    expect(digestsOf(queue.bodies)).toEqual(IN_SCOPE);
    expect((await deps.store.status('first'))?.counts.queued).toBe(13);
  });

  it('sends what a run claimed but could not send, once, on the next run', async () => {
    const { deps, queue } = setup();
    await startBackfill(deps, scope);
    // The second batch's send fails: the run throws, leaving its claims behind.
    let sends = 0;
    const flaky = {
      ...deps,
      queue: {
        send: async (b: readonly string[]) => {
          if (sends++ === 1) throw new Error('queue unavailable');
          queue.bodies.push(...b);
        },
      },
    };
    await expect(continueBackfill(flaky, 'first', FAR)).rejects.toThrow('queue unavailable');
    const claimed = (await deps.store.entries('first')).filter((e) => e.state === 'CLAIMED');
    expect(claimed.length).toBeGreaterThan(0);
    // The failed run freed its lease: the next one goes on at once.
    const result = await continueBackfill(deps, 'first', FAR);
    expect(result.stop).toBe('done');
    expect(digestsOf(queue.bodies)).toEqual(IN_SCOPE);
    expect(result.counts).toMatchObject({ queued: 13, skipped: 1, imagesSeen: 14 });
  });

  it('counts each image once when a run stopped between the send and the outcome', async () => {
    const base = EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-bf-')), 'images');
    let failOutcome = 2;
    const table: ItemTable = {
      get: (k) => base.get(k),
      query: (pk, r) => base.query(pk, r),
      queryIndex: (i, v, r) => base.queryIndex(i, v, r),
      batch: (w) => base.batch(w),
      // The second outcome transaction (ledger writes with the status) is lost: a crash.
      transact: async (writes) => {
        if (writes.length > 1 && --failOutcome === 0) throw new Error('stopped');
        return base.transact(writes);
      },
    };
    const { deps, queue } = setup({ table });
    await startBackfill(deps, scope);
    await expect(continueBackfill(deps, 'first', FAR)).rejects.toThrow('stopped');
    const result = await continueBackfill(deps, 'first', FAR);
    expect(result.stop).toBe('done');
    // The batch sent before the crash is sent again (its outcome was not recorded); every other
    // image once; the counts count each image once.
    const sent = digestsOf(queue.bodies);
    expect([...new Set(sent)]).toEqual(IN_SCOPE);
    expect(sent.length).toBeGreaterThan(13);
    expect(sent.length).toBeLessThanOrEqual(13 + 10);
    expect(result.counts).toMatchObject({ queued: 13, skipped: 1, imagesSeen: 14 });
  });

  it('waits for a live lease, and takes over one that has expired', async () => {
    const { deps, queue, clock, table } = setup();
    const status = await startBackfill(deps, scope);
    await table.transact([
      {
        put: {
          pk: 'BACKFILL#first',
          sk: 'STATUS',
          ...status,
          holder: 'dead-run',
          leaseUntil: clock.t + 60_000,
          revision: 1,
        },
      },
    ]);
    expect((await continueBackfill(deps, 'first', FAR)).stop).toBe('busy');
    expect(queue.bodies).toEqual([]);
    clock.t += 60_001;
    expect((await continueBackfill(deps, 'first', FAR)).stop).toBe('done');
    expect(digestsOf(queue.bodies)).toEqual(IN_SCOPE);
  });

  it('goes on past a repository deleted after listing, and reads again one whose page token ECR refuses', async () => {
    const { deps, queue, ecr, logs } = setup();
    await startBackfill(deps, scope);
    ecr.inject.push(
      {
        action: 'DescribeImages',
        type: 'RepositoryNotFoundException',
        message: "The repository with name 'team-a/web' does not exist",
        when: (body) => body.repositoryName === 'team-a/web',
      },
      {
        action: 'DescribeImages',
        type: 'InvalidParameterException',
        message: 'Invalid parameter at nextToken',
        when: (body) => body.repositoryName === 'team-a/api' && body.nextToken !== undefined,
      },
    );
    const result = await continueBackfill(deps, 'first', FAR);
    expect(result.stop).toBe('done');
    expect(result.counts).toMatchObject({ repositoriesDone: 3, queued: 10, skipped: 1 });
    // team-a/api read again from its first page: its images are still queued once.
    expect(digestsOf(queue.bodies)).toEqual(
      IN_SCOPE.filter((d) => ![digest(7), digest(8), digest(9)].includes(d)),
    );
    expect(logs.map((l) => l.message)).toEqual(
      expect.arrayContaining([
        'backfill repository gone',
        'backfill page token refused; repository read again',
      ]),
    );
  });

  it('refuses an id taken by another scope, and an unknown id', async () => {
    const { deps } = setup();
    await startBackfill(deps, scope);
    await expect(startBackfill(deps, { id: 'first', prefixes: ['tools/'] })).rejects.toThrow(
      BackfillConflictError,
    );
    await expect(continueBackfill(deps, 'nope', FAR)).rejects.toThrow(BackfillNotFoundError);
  });

  it("logs through the handlers' Powertools logger", async () => {
    const { deps } = setup();
    await startBackfill({ ...deps, log: logger }, scope);
    expect((await continueBackfill({ ...deps, log: logger }, 'first', FAR)).stop).toBe('done');
  });
});
