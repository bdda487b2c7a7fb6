/**
 * ECS workloads: the documented task state change events as observations, and the reconcile
 * pass on a real ECSClient answered at its request handler as the ECS API reference documents
 * ListClusters, ListTasks, DescribeTasks and DescribeTaskDefinition (awsJson1_1).
 */
import type {
  DescribeTaskDefinitionCommandOutput,
  DescribeTasksCommandOutput,
  ListClustersCommandOutput,
  ListTasksCommandOutput,
  Task,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { ecsTaskStateChangeEvent } from '../../../shared/events/ecs-task.js';
import { parseJsonEvent } from '../../../shared/events/parse.js';
import {
  DESCRIBE_TASKS_BATCH,
  observationsOfTaskEvent,
  readEcsWorkloads,
} from '../../../shared/workloads/ecs.js';
import { fixtureText } from '../../support/fixtures.js';
import { type Answer, fakeEcs, type SeenRequest } from './sdk-fakes.js';

const event = (name: string) =>
  observationsOfTaskEvent(
    parseJsonEvent(
      ecsTaskStateChangeEvent,
      'ECS Task State Change',
      fixtureText(`ecs/task-state-change/${name}.json`),
    ),
  );
const TASK =
  'arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad';
const DIGEST = 'sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6';

describe('ECS Task State Change as observations', () => {
  it('observes the running container of the documented event, digest and repository', () => {
    expect(event('running')).toEqual([
      {
        source: 'ecs',
        workload: `${TASK}#FargateApp`,
        image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/hello-repository:latest',
        digest: DIGEST,
        registry: '111122223333.dkr.ecr.us-west-2.amazonaws.com',
        repository: 'hello-repository',
        tag: 'latest',
        account: '111122223333',
        region: 'us-west-2',
        seenAt: '2020-01-23T17:57:58.103Z',
        taskDefinition: 'arn:aws:ecs:us-west-2:111122223333:task-definition/sample-fargate:1',
        state: 'RUNNING',
      },
    ]);
  });

  it('says nothing of a pending task, and a stopped one stopped at its stoppedAt', () => {
    expect(event('pending')).toEqual([]);
    expect(event('stopped')).toEqual([
      expect.objectContaining({
        workload: `${TASK}#FargateApp`,
        digest: DIGEST,
        state: 'STOPPED',
        seenAt: '2020-01-23T18:12:03.655Z',
      }),
    ]);
  });

  it('keeps a container whose event has no digest, with its Docker Hub repository', () => {
    const [, sidecar] = event('sidecar-without-digest');
    expect(sidecar).toEqual(
      expect.objectContaining({
        workload: `${TASK}#xray-daemon`,
        image: 'amazon/aws-xray-daemon',
        registry: 'docker.io',
        repository: 'amazon/aws-xray-daemon',
        tag: 'latest',
      }),
    );
    expect(sidecar?.digest).toBeUndefined();
  });
});

type Out<T> = Omit<T, '$metadata'>;
const CLUSTERS = [
  'arn:aws:ecs:us-west-2:111122223333:cluster/web',
  'arn:aws:ecs:us-west-2:111122223333:cluster/batch',
];
const taskArn = (cluster: string, i: number) =>
  `${cluster.replace(':cluster/', ':task/')}/${i.toString(16).padStart(32, '0')}`;
const digestOf = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;

/** 150 running tasks on `web` (two ListTasks pages), one on `batch` with a pending sidecar. */
function ecsService() {
  const web = Array.from({ length: 150 }, (_, i) => taskArn(CLUSTERS[0] as string, i));
  const batch = [taskArn(CLUSTERS[1] as string, 999)];
  const task = (arn: string): Task => {
    const i = Number.parseInt(arn.slice(arn.lastIndexOf('/') + 1), 16);
    const inBatch = arn === batch[0];
    return {
      taskArn: arn,
      clusterArn: inBatch ? CLUSTERS[1] : CLUSTERS[0],
      taskDefinitionArn: `arn:aws:ecs:us-west-2:111122223333:task-definition/${inBatch ? 'batch:7' : 'web:3'}`,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      startedAt: new Date('2026-11-28T09:00:00Z'),
      containers: [
        {
          name: 'app',
          // DescribeTasks names the image; a container without it takes the definition's.
          ...(inBatch ? {} : { image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1.4' }),
          imageDigest: digestOf(i),
          lastStatus: 'RUNNING',
          taskArn: arn,
        },
        ...(inBatch
          ? [{ name: 'init', image: 'busybox:1.36', lastStatus: 'PENDING', taskArn: arn }]
          : []),
      ],
    };
  };
  const answer = (r: SeenRequest): Answer => {
    const b = r.body as Record<string, unknown>;
    switch (r.target) {
      case 'ListClusters':
        return {
          body: (b.nextToken === undefined
            ? { clusterArns: [CLUSTERS[0] as string], nextToken: 'c2' }
            : { clusterArns: [CLUSTERS[1] as string] }) satisfies Out<ListClustersCommandOutput>,
        };
      case 'ListTasks': {
        const all = b.cluster === CLUSTERS[0] ? web : batch;
        const from = b.nextToken === undefined ? 0 : Number(b.nextToken);
        const page = all.slice(from, from + (b.maxResults as number));
        const next = from + page.length < all.length ? String(from + page.length) : undefined;
        return {
          body: {
            taskArns: page,
            ...(next === undefined ? {} : { nextToken: next }),
          } satisfies Out<ListTasksCommandOutput>,
        };
      }
      case 'DescribeTasks':
        return {
          body: {
            tasks: (b.tasks as string[]).map(task),
            failures: [],
          } satisfies Out<DescribeTasksCommandOutput>,
        };
      case 'DescribeTaskDefinition':
        return {
          body: {
            taskDefinition: {
              taskDefinitionArn: b.taskDefinition as string,
              containerDefinitions: [
                {
                  name: 'app',
                  image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/batch:nightly',
                },
                { name: 'init', image: 'busybox:1.36' },
              ],
            },
          } satisfies Out<DescribeTaskDefinitionCommandOutput>,
        };
      default:
        return { status: 400, body: { __type: 'InvalidParameterException', message: r.target } };
    }
  };
  return fakeEcs(answer);
}

describe('ECS reconcile', () => {
  it('lists every cluster and running task, paginated, describing 100 tasks a call', async () => {
    const { client, seen } = ecsService();
    const now = new Date('2026-11-29T10:00:00.000Z');
    const observed = await readEcsWorkloads(client, { intervalMs: 0, now: () => now });
    expect(observed).toHaveLength(151);
    expect(seen.map((r) => r.target)).toEqual([
      'ListClusters',
      'ListClusters',
      'ListTasks',
      'ListTasks',
      'DescribeTasks',
      'DescribeTasks',
      'ListTasks',
      'DescribeTasks',
      'DescribeTaskDefinition',
    ]);
    const described = seen.filter((r) => r.target === 'DescribeTasks');
    expect(described.map((r) => (r.body.tasks as string[]).length)).toEqual([
      DESCRIBE_TASKS_BATCH,
      50,
      1,
    ]);
    expect(seen.filter((r) => r.target === 'ListTasks').map((r) => r.body.desiredStatus)).toEqual([
      'RUNNING',
      'RUNNING',
      'RUNNING',
    ]);
    expect(observed[0]).toEqual({
      source: 'ecs',
      workload: `${taskArn(CLUSTERS[0] as string, 0)}#app`,
      image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1.4',
      digest: digestOf(0),
      registry: '111122223333.dkr.ecr.us-west-2.amazonaws.com',
      repository: 'web',
      tag: '1.4',
      account: '111122223333',
      region: 'us-west-2',
      seenAt: now.toISOString(),
      taskDefinition: 'arn:aws:ecs:us-west-2:111122223333:task-definition/web:3',
      state: 'RUNNING',
    });
    // The batch task's image from its definition; its pending init container is not observed.
    expect(observed.at(-1)).toMatchObject({
      workload: `${taskArn(CLUSTERS[1] as string, 999)}#app`,
      repository: 'batch',
      tag: 'nightly',
      digest: digestOf(999),
    });
    client.destroy();
  });

  it('spaces its calls by the interval', async () => {
    const { client, seen } = ecsService();
    const started = Date.now();
    await readEcsWorkloads(client, { intervalMs: 25 });
    expect(Date.now() - started).toBeGreaterThanOrEqual((seen.length - 1) * 25 - 5);
    client.destroy();
  });
});
