/**
 * The backfill on the local stack: its status and ledger on DynamoDB Local (a fresh table shaped
 * like the stack's images table), its scan requests on a fauxqs queue, ECR answered at the SDK
 * client's request handler (ECR has no local emulator; test/support/ecr-service.ts). A registry
 * of 50 images across 3 repositories queues exactly 50 scan requests, once: when two backfills
 * with the same id run at once, and when one is stopped by its deadline halfway and continued.
 */
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseScanMessage } from '../../shared/events/scan-request.js';
import {
  type BackfillDeps,
  continueBackfill,
  sqsScanQueue,
  startBackfill,
} from '../../shared/pipeline/backfill.js';
import { EcrImageReader } from '../../shared/registry/ecr-images.js';
import { BackfillStore } from '../../shared/stores/backfill-store.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { drainQueue, freshTableLike, localClients, localDynamoDb } from '../support/aws.js';
import { type EcrContent, fakeEcr, imageDetail, repository } from '../support/ecr-service.js';

const state = inject('localStack');
const clients = localClients(state);
const dynamo = localDynamoDb(state);
const queues: string[] = [];
afterAll(async () => {
  for (const q of queues) await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: q }));
  clients.destroy();
  dynamo.destroy();
});

const ACCOUNT = '210987654321';
const REGION = 'eu-central-1';
const FAR = Date.parse('2030-01-01T00:00:00Z');
const digest = (repo: number, n: number) =>
  `sha256:${repo.toString(16).padStart(8, '0')}${n.toString(16).padStart(56, '0')}`;

/** 50 images (20, 20 and 10) in 3 repositories, a cosign signature that is not an image. */
function registry(): { content: EcrContent; digests: string[] } {
  const sizes: [string, number][] = [
    ['shop/api', 20],
    ['shop/web', 20],
    ['batch/report', 10],
  ];
  const images = sizes.flatMap(([name, size], r) =>
    Array.from({ length: size }, (_, n) =>
      imageDetail(ACCOUNT, name, digest(r + 1, n), {
        ...(n % 3 === 0 ? { imageTags: [`v${n}`] } : {}),
        imagePushedAt: new Date(Date.UTC(2023, r, n + 1)),
      }),
    ),
  );
  const signature = imageDetail(ACCOUNT, 'shop/api', digest(9, 9), {
    imageTags: [`sha256-${digest(1, 0).slice(7)}.sig`],
  });
  return {
    content: {
      repositories: sizes.map(([name]) => repository(ACCOUNT, REGION, name)),
      images: [...images, signature],
      exclusions: [],
    },
    digests: images.map((i) => i.imageDigest ?? '').sort(),
  };
}

async function setup(now: () => number = Date.now) {
  const table = new DynamoDbItemTable(
    dynamo.documents,
    await freshTableLike(state, 'ScannerTablesImages', dynamo.tables),
  );
  const queueUrl =
    (
      await clients.sqs.send(
        new CreateQueueCommand({ QueueName: `backfill-${process.pid}-${Date.now().toString(36)}` }),
      )
    ).QueueUrl ?? '';
  queues.push(queueUrl);
  const { content, digests } = registry();
  const ecr = fakeEcr(content, { region: REGION });
  const deps: BackfillDeps = {
    store: new BackfillStore(table),
    ecr: new EcrImageReader(ecr.ecr, { pageSize: 7, ratePerSecond: 1e6 }),
    queue: sqsScanQueue(clients.sqs, queueUrl),
    region: REGION,
    now,
  };
  return { deps, queueUrl, digests, ecr };
}

const queuedDigests = async (queueUrl: string) =>
  (await drainQueue(clients.sqs, queueUrl)).map((b) => parseScanMessage(b)?.digest ?? '').sort();

describe('a backfill of 50 images in 3 repositories', () => {
  it('queues exactly 50 scans once, even when started twice', async () => {
    const { deps, queueUrl, digests } = await setup();
    const request = { id: 'deploy', prefixes: ['shop/', 'batch/'] };
    const runs = await Promise.all(
      ['one', 'two'].map((runId) =>
        startBackfill(deps, request).then(() =>
          continueBackfill({ ...deps, runId }, 'deploy', FAR),
        ),
      ),
    );
    // The one that found the other working returned at once; a later invocation finds it done.
    expect(runs.map((r) => r.stop).sort()).toEqual(['busy', 'done']);
    expect((await continueBackfill(deps, 'deploy', FAR)).stop).toBe('done');
    const queued = await queuedDigests(queueUrl);
    expect(queued).toHaveLength(50);
    expect(queued).toEqual(digests);

    // The status item, as DynamoDB Local holds it.
    const status = await deps.store.status('deploy');
    expect(status).toMatchObject({
      id: 'deploy',
      scope: { prefixes: ['batch/', 'shop/'] },
      phase: 'DONE',
      counts: {
        repositories: 3,
        repositoriesDone: 3,
        imagesSeen: 51,
        queued: 50,
        skipped: 1,
        failed: 0,
      },
      leaseUntil: 0,
    });
    expect(status?.holder).toBeUndefined();
    const ledger = await deps.store.entries('deploy');
    expect(ledger.filter((e) => e.state === 'QUEUED')).toHaveLength(50);
    expect(ledger.filter((e) => e.state === 'SKIPPED').map((e) => e.digest)).toEqual([
      digest(9, 9),
    ]);

    // Started again with the same id: nothing more is queued.
    await startBackfill(deps, request);
    expect((await continueBackfill(deps, 'deploy', FAR)).stop).toBe('done');
    expect(await queuedDigests(queueUrl)).toEqual([]);
  });

  it('queues exactly 50 when stopped by its deadline halfway and continued', async () => {
    // A clock that passes 100 ms at every reading, so the deadline falls within the run.
    let t = Date.parse('2025-03-01T00:00:00Z');
    const { deps, queueUrl, digests, ecr } = await setup(() => (t += 100));
    await startBackfill(deps, { id: 'halfway' });
    const first = await continueBackfill(deps, 'halfway', t + 3_000);
    expect(first.stop).toBe('deadline');
    const half = await queuedDigests(queueUrl);
    expect(half.length).toBeGreaterThan(0);
    expect(half.length).toBeLessThan(50);
    expect(first.counts.queued).toBe(half.length);
    expect((await deps.store.status('halfway'))?.holder).toBeUndefined();

    const calls = ecr.calls.length;
    const second = await continueBackfill(deps, 'halfway', FAR);
    expect(second.stop).toBe('done');
    const rest = await queuedDigests(queueUrl);
    expect([...half, ...rest].sort()).toEqual(digests);
    expect(second.counts).toMatchObject({ queued: 50, skipped: 1, repositoriesDone: 3 });
    // It went on from its page: no repository was listed again.
    expect(ecr.calls.slice(calls).map((c) => c.action)).not.toContain('DescribeRepositories');
  });
});
