/**
 * Task-definition checks in the deployment (shared/pipeline/taskdef-checks.ts), run on a store
 * adapter (the embedded table in test/unit/pipeline, DynamoDB Local in test/integration):
 *
 * - the documented RegisterTaskDefinition event (test/fixtures/ecs/task-definitions/cloudtrail)
 *   names a revision, DescribeTaskDefinition (a real ECSClient answered at its request handler)
 *   reads it once, and its checks are stored under `taskdef:<family>:<revision>`;
 * - the documented ECS task state change of a task running an image scanned for real (Alpine
 *   3.10's layer, config `User` nobody or none): the task definition's `user: "0"` makes the
 *   workload root though the image is not; `user: "1000"` over a root image clears it; an image
 *   not scanned yet is "unknown" (ecs/user-unset), then joined once it is scanned;
 * - the reconcile reads each revision once across passes, and a stopped task resolves.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type {
  DescribeTaskDefinitionCommandOutput,
  DescribeTasksCommandOutput,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChecksConfig, parseChecksConfig } from '../../shared/checks/config.js';
import { readTaskDefinition } from '../../shared/checks/taskdef-reader.js';
import { ecsTaskStateChangeEvent } from '../../shared/events/ecs-task.js';
import { ecsTaskDefinitionRegisteredEvent } from '../../shared/events/ecs-task-definition.js';
import { parseJsonEvent } from '../../shared/events/parse.js';
import { OciLayoutSource } from '../../shared/image/oci-layout.js';
import { type AuditDeps, readableRegistries } from '../../shared/pipeline/audit.js';
import { observeTaskEvent, reconcileWorkloads } from '../../shared/pipeline/audit-run.js';
import { type ScanDeps, scanImage } from '../../shared/pipeline/scan.js';
import {
  checkRegisteredTaskDefinition,
  TaskDefinitionCache,
  taskDefinitionChecksDeps,
} from '../../shared/pipeline/taskdef-checks.js';
import {
  ChecksStore,
  taskDefinitionSubject,
  workloadSubject,
} from '../../shared/stores/checks-store.js';
import { FindingsStore } from '../../shared/stores/findings-store.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import { InventoryStore } from '../../shared/stores/inventory-store.js';
import type { ItemTable } from '../../shared/stores/item-table.js';
import { WorkloadStore } from '../../shared/stores/workload-store.js';
import { readEcsWorkloads } from '../../shared/workloads/ecs.js';
import { alpine310Layer } from '../support/check-images.js';
import { fixtureJson, fixtureText } from '../support/fixtures.js';
import { LayoutWriter, sha256 } from '../support/oci.js';
import { MutableAdvisories, RecordingNotifier } from '../support/pipeline.js';
import { type Answer, fakeEcs, type SeenRequest } from '../unit/workloads/sdk-fakes.js';

type Out<T> = Omit<T, '$metadata'>;
const REGISTRY = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
const REVISION = (n: number) =>
  `arn:aws:ecs:us-west-2:111122223333:task-definition/example_task_3:${n}`;
const TASK =
  'arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad';
const WORKLOAD = workloadSubject('ecs', `${TASK}#sample-app`);

/** Opens a fresh table of the stack's kind: `images`, `inventories` or `findings`. */
export type OpenTable = (kind: 'images' | 'inventories' | 'findings') => Promise<ItemTable>;

/** An OCI layout of Alpine 3.10's real layer whose config runs as `user` (none: root). */
async function writeAlpine(dir: string, user?: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const layer = alpine310Layer();
  const w = new LayoutWriter(dir);
  const blob = w.blob(layer, 'application/vnd.oci.image.layer.v1.tar');
  const config = w.jsonBlob(
    {
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'], ...(user === undefined ? {} : { User: user }) },
      history: [{ created_by: '/bin/sh -c #(nop) ADD file:a0c4a4bd3c8e5a8 in / ' }],
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
    },
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = {
    ...w.manifest(config, [blob]),
    platform: { os: 'linux', architecture: 'amd64' },
  };
  w.finish(manifest, 'latest');
  return manifest.digest;
}

/** The documented "Amazon ECR image and task definition IAM role" example, as ECS stores it. */
function registered(revision: number, user?: string): TaskDefinition {
  const td = fixtureJson<TaskDefinition>('ecs/task-definitions/ecr-image-task-role.json');
  return {
    ...td,
    taskDefinitionArn: REVISION(revision),
    revision,
    status: 'ACTIVE',
    containerDefinitions: (td.containerDefinitions ?? []).map((c) => ({
      ...c,
      image: `${REGISTRY}/team/app:1.0`,
      ...(user === undefined ? {} : { user }),
    })),
  };
}

/** The documented running task's event, running `digest` of revision `revision`. */
function taskEvent(digest: string, revision: number, status: 'running' | 'stopped' = 'running') {
  const raw = fixtureJson<{
    detail: {
      taskDefinitionArn: string;
      containers: { name: string; image: string; imageDigest?: string }[];
    };
  }>(`ecs/task-state-change/${status}.json`);
  raw.detail.taskDefinitionArn = REVISION(revision);
  for (const c of raw.detail.containers) {
    c.name = 'sample-app';
    c.image = `${REGISTRY}/team/app:1.0`;
    c.imageDigest = digest;
  }
  return parseJsonEvent(ecsTaskStateChangeEvent, 'task', JSON.stringify(raw));
}

export function taskDefinitionChecksSuite(name: string, open: OpenTable): void {
  describe(`task-definition checks on ${name}`, () => {
    const work = mkdtempSync(path.join(tmpdir(), 'bosun-taskdef-checks-'));
    const layouts = new Map<string, string>();
    let nonRoot = '';
    let root = '';
    afterAll(() => rmSync(work, { recursive: true, force: true }));
    beforeAll(async () => {
      nonRoot = await writeAlpine(path.join(work, 'nobody'), 'nobody');
      root = await writeAlpine(path.join(work, 'root'));
      layouts.set(nonRoot, path.join(work, 'nobody'));
      layouts.set(root, path.join(work, 'root'));
    }, 60_000);

    async function setup(config?: ChecksConfig) {
      const [imagesTable, inventoriesTable, findingsTable] = await Promise.all([
        open('images'),
        open('inventories'),
        open('findings'),
      ]);
      const notifier = new RecordingNotifier();
      const checkStore = new ChecksStore(findingsTable);
      const deps: ScanDeps & AuditDeps = {
        images: new ImageStore(imagesTable),
        inventories: new InventoryStore(inventoriesTable),
        findings: new FindingsStore(findingsTable),
        checkStore,
        advisories: new MutableAdvisories([]),
        notifier,
        openImage: (r) => new OciLayoutSource(layouts.get(r.digest) as string, 'latest').images(),
        audit: { workloads: new WorkloadStore(imagesTable), unreadable: readableRegistries() },
      };
      const definitions = new Map<string, TaskDefinition>();
      const ecs = fakeEcs((r: SeenRequest): Answer => {
        const found = definitions.get(r.body.taskDefinition as string);
        if (r.target === 'DescribeTaskDefinition' && found !== undefined)
          return {
            body: { taskDefinition: found } satisfies Out<DescribeTaskDefinitionCommandOutput>,
          };
        return {
          status: 400,
          body: { __type: 'ClientException', message: 'Unable to describe task definition.' },
        };
      });
      const cache = new TaskDefinitionCache((arn) => readTaskDefinition(ecs.client, arn));
      const checks = taskDefinitionChecksDeps(deps, checkStore, cache.get, config);
      const scan = (digest: string) =>
        scanImage(
          {
            action: 'PUSH',
            registry: REGISTRY,
            repository: 'team/app',
            digest,
            tag: '1.0',
            eventTime: '2026-12-01T00:00:00.000Z',
            eventId: `push-${digest}`,
          },
          deps,
        );
      const ids = async (subject: string) =>
        (await checkStore.open(subject)).map((c) => [c.checkId, c.result.evidence.userSource]);
      return { deps, checks, checkStore, notifier, ecs, definitions, scan, ids };
    }

    it('checks the revision the documented RegisterTaskDefinition event names, read once', async () => {
      const s = await setup();
      const text = fixtureText('ecs/task-definitions/cloudtrail/register-sleep360.json');
      const event = parseJsonEvent(ecsTaskDefinitionRegisteredEvent, 'register', text);
      // The response as CloudTrail recorded it (the event's schema keeps only what names it).
      const response = fixtureJson<{
        detail: { responseElements: { taskDefinition: TaskDefinition } };
      }>('ecs/task-definitions/cloudtrail/register-sleep360.json').detail.responseElements
        .taskDefinition;
      s.definitions.set(response.taskDefinitionArn as string, { ...response, status: 'ACTIVE' });
      const first = await checkRegisteredTaskDefinition(s.checks, event);
      expect(first).toEqual({
        taskDefinition: response.taskDefinitionArn,
        status: 'checked',
        results: 3,
        new: 3,
        resolved: 0,
      });
      expect(
        (await s.checkStore.open(taskDefinitionSubject('sleep360', 1, response.taskDefinitionArn)))
          .map((c) => c.checkId)
          .sort(),
      ).toEqual(['ecs/capabilities-not-dropped', 'ecs/user-unset', 'ecs/writable-root-filesystem']);
      // EventBridge delivers at least once: the same event again reads and writes nothing.
      expect((await checkRegisteredTaskDefinition(s.checks, event)).status).toBe('already-checked');
      expect(s.ecs.seen.map((r) => r.target)).toEqual(['DescribeTaskDefinition']);
      // Its image is a Docker Hub tag Bosun has no digest for: stored, not announced.
      expect(s.notifier.sent).toEqual([]);
      const refused = parseJsonEvent(
        ecsTaskDefinitionRegisteredEvent,
        'register',
        fixtureText('ecs/task-definitions/cloudtrail/register-refused.json'),
      );
      expect((await checkRegisteredTaskDefinition(s.checks, refused)).status).toBe('refused');
      expect(s.ecs.seen).toHaveLength(1);
    }, 60_000);

    it('flags root a workload whose task definition says user "0" over a non-root image', async () => {
      const s = await setup();
      expect((await s.scan(nonRoot)).status).toBe('scanned');
      expect(await s.checkStore.imageUser(nonRoot)).toMatchObject({ kind: 'user', uid: 65534 });
      s.definitions.set(REVISION(1), registered(1, '0'));
      const outcome = await observeTaskEvent(s.deps, taskEvent(nonRoot, 1), s.checks);
      expect(outcome.checks).toMatchObject({
        revisions: 1,
        workloads: 1,
        unknownUser: 0,
        unread: [],
      });
      expect(await s.ids(WORKLOAD)).toEqual([['ecs/root-user', 'task-definition']]);
      const [root0] = await s.checkStore.open(WORKLOAD);
      expect(root0?.result.evidence).toMatchObject({
        taskDefinition: REVISION(1),
        container: 'sample-app',
        field: 'containerDefinitions[].user',
        value: '0',
      });
      expect(root0?.result.evidence.detail).toContain("over the image's non-root");
      // The revision's own checks say it too, from the definition alone.
      expect(
        (await s.ids(taskDefinitionSubject('example_task_3', 1, REVISION(1)))).map(([id]) => id),
      ).toContain('ecs/root-user');
      const news = s.notifier.of('CHECKS_NEW', nonRoot);
      expect(news.map((n) => n.checks?.subject)).toContain(WORKLOAD);
      // Observed again (the reconcile, a later event): nothing new, nothing announced again.
      const sent = s.notifier.sent.length;
      await observeTaskEvent(s.deps, taskEvent(nonRoot, 1), s.checks);
      expect(s.notifier.sent).toHaveLength(sent);
      expect(s.ecs.seen.filter((r) => r.target === 'DescribeTaskDefinition')).toHaveLength(1);
    }, 60_000);

    it('clears it when a new revision runs a root image as user "1000", and resolves on stop', async () => {
      const s = await setup();
      await s.scan(root);
      expect(await s.checkStore.imageUser(root)).toMatchObject({ kind: 'root' });
      s.definitions.set(REVISION(1), registered(1));
      s.definitions.set(REVISION(2), registered(2, '1000'));
      await observeTaskEvent(s.deps, taskEvent(root, 1), s.checks);
      expect(await s.ids(WORKLOAD)).toEqual([['ecs/root-user', 'image']]);
      const outcome = await observeTaskEvent(s.deps, taskEvent(root, 2), s.checks);
      expect(outcome.checks).toMatchObject({ resolved: 1 });
      expect(await s.ids(WORKLOAD)).toEqual([]);
      expect(s.notifier.of('CHECKS_RESOLVED', root).map((n) => n.checks?.subject)).toEqual([
        WORKLOAD,
      ]);
      // Back to the root revision, then the task stops: what it ran as is resolved.
      await observeTaskEvent(s.deps, taskEvent(root, 1), s.checks);
      expect(await s.ids(WORKLOAD)).toEqual([['ecs/root-user', 'image']]);
      const stopped = await observeTaskEvent(s.deps, taskEvent(root, 1, 'stopped'), s.checks);
      expect(stopped.checks).toMatchObject({ resolved: 1 });
      expect(await s.ids(WORKLOAD)).toEqual([]);
    }, 60_000);

    it("applies the deployment's checks configuration by the workload's repository", async () => {
      const s = await setup(
        parseChecksConfig(
          JSON.stringify({
            rules: [
              { repositories: ['team/*'], severity: { 'ecs/root-user': 'CRITICAL' } },
              { repositories: ['team/*'], disable: ['ecs/capabilities-not-dropped'] },
            ],
          }),
          'test',
        ),
      );
      await s.scan(nonRoot);
      s.definitions.set(REVISION(1), registered(1, '0'));
      await observeTaskEvent(s.deps, taskEvent(nonRoot, 1), s.checks);
      const [root0] = await s.checkStore.open(WORKLOAD);
      expect(root0).toMatchObject({ checkId: 'ecs/root-user', severity: 'CRITICAL' });
      // The revision's image is team/app:1.0, which the scan recorded: the same rules hold.
      const revision = await s.checkStore.open(
        taskDefinitionSubject('example_task_3', 1, REVISION(1)),
      );
      expect(revision.map((c) => c.checkId)).not.toContain('ecs/capabilities-not-dropped');
      expect(revision.find((c) => c.checkId === 'ecs/root-user')?.severity).toBe('CRITICAL');
    }, 60_000);

    it('says an image not scanned yet is unknown, then joins it once scanned', async () => {
      const s = await setup();
      s.definitions.set(REVISION(1), registered(1));
      await observeTaskEvent(s.deps, taskEvent(nonRoot, 1), s.checks);
      const [unknown, ...rest] = await s.checkStore.open(WORKLOAD);
      expect(rest).toEqual([]);
      expect(unknown?.checkId).toBe('ecs/user-unset');
      expect(unknown?.result.evidence.detail).toContain(`${nonRoot} is not scanned yet`);
      await s.scan(nonRoot);
      const outcome = await observeTaskEvent(s.deps, taskEvent(nonRoot, 1), s.checks);
      expect(outcome.checks).toMatchObject({ unknownUser: 0, resolved: 1, new: 0 });
      expect(await s.ids(WORKLOAD)).toEqual([]);
    }, 60_000);

    it('reads a revision once across reconcile passes, and checks each running container', async () => {
      const s = await setup();
      await s.scan(nonRoot);
      s.definitions.set(REVISION(1), registered(1, 'root'));
      const tasks = ['a', 'b'].map((id) => ({
        taskArn: `arn:aws:ecs:us-west-2:111122223333:task/prod/${id}`,
        taskDefinitionArn: REVISION(1),
        lastStatus: 'RUNNING',
        containers: [
          {
            name: 'sample-app',
            image: `${REGISTRY}/team/app:1.0`,
            imageDigest: nonRoot,
            lastStatus: 'RUNNING',
          },
        ],
      }));
      const reconcile = fakeEcs((r: SeenRequest): Answer => {
        if (r.target === 'ListClusters')
          return { body: { clusterArns: ['arn:aws:ecs:us-west-2:111122223333:cluster/prod'] } };
        if (r.target === 'ListTasks') return { body: { taskArns: tasks.map((t) => t.taskArn) } };
        if (r.target === 'DescribeTasks')
          return { body: { tasks, failures: [] } satisfies Out<DescribeTasksCommandOutput> };
        return { status: 400, body: { __type: 'InvalidParameterException', message: r.target } };
      });
      const reader = {
        source: 'ecs' as const,
        region: 'us-west-2',
        read: () =>
          readEcsWorkloads(reconcile.client, { intervalMs: 0, describe: s.checks.describe }),
      };
      const first = await reconcileWorkloads(s.deps, [reader], s.checks);
      expect(first.failures).toEqual([]);
      // The revision's own three (root-user, writable root, capabilities) and one per workload.
      expect(first.passes[0]?.checks).toMatchObject({ revisions: 1, workloads: 2, new: 5 });
      const second = await reconcileWorkloads(s.deps, [reader], s.checks);
      expect(second.passes[0]?.checks).toMatchObject({ revisions: 0, workloads: 2, new: 0 });
      expect(s.ecs.seen.filter((r) => r.target === 'DescribeTaskDefinition')).toHaveLength(1);
      for (const t of tasks)
        expect(await s.ids(workloadSubject('ecs', `${t.taskArn}#sample-app`))).toEqual([
          ['ecs/root-user', 'task-definition'],
        ]);
      // A revision ECS no longer has is said, and the pass goes on.
      tasks[1] = { ...(tasks[1] as (typeof tasks)[number]), taskDefinitionArn: REVISION(9) };
      const third = await reconcileWorkloads(s.deps, [reader], s.checks);
      expect(third.passes[0]?.checks?.unread).toEqual([
        { taskDefinition: REVISION(9), error: 'ECS no longer has it' },
      ]);
    }, 120_000);
  });
}
