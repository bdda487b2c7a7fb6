/**
 * ECS workloads: every container of a running task, by its task ARN and container name, with
 * the digest ECS reports for it (`imageDigest`, set once the image was pulled). Two readers:
 *
 * - the EventBridge "ECS Task State Change" event (shared/events/ecs-task.ts): a container
 *   RUNNING or STOPPED as the event says, within seconds;
 * - the reconcile pass: ListClusters → ListTasks (desiredStatus RUNNING) → DescribeTasks, 100
 *   tasks a call (its limit), which catches what events missed; the inventory then removes
 *   what the pass did not see (pipeline/audit.ts).
 *
 * API: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListClusters.html,
 * API_ListTasks.html, API_DescribeTasks.html, API_DescribeTaskDefinition.html.
 */
import {
  type Container,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListClustersCommand,
  ListTasksCommand,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { EcsTaskStateChangeEvent } from '../events/ecs-task.js';
import { arnScope, type Observation, observation, Pacer } from './types.js';

/** DescribeTasks takes at most 100 task ARNs. */
export const DESCRIBE_TASKS_BATCH = 100;

/** The workload id of a container of a task. */
export const ecsWorkload = (taskArn: string, container: string) => `${taskArn}#${container}`;

/**
 * What one task state change says of each container: RUNNING when the container runs, STOPPED
 * when it or its task stopped; nothing for containers still starting (no digest yet) or
 * stopping.
 */
export function observationsOfTaskEvent(event: EcsTaskStateChangeEvent): Observation[] {
  const d = event.detail;
  const scope = { account: event.account, region: event.region };
  const out: Observation[] = [];
  for (const c of d.containers) {
    const image = c.image ?? c.imageDigest;
    if (image === undefined) continue;
    const stopped = d.lastStatus === 'STOPPED' || c.lastStatus === 'STOPPED';
    if (!stopped && c.lastStatus !== 'RUNNING') continue;
    const seenAt = stopped
      ? (d.stoppedAt ?? d.updatedAt ?? event.time)
      : (d.updatedAt ?? event.time);
    out.push(
      observation(
        {
          source: 'ecs',
          workload: ecsWorkload(d.taskArn, c.name),
          image,
          ...scope,
          seenAt: new Date(seenAt).toISOString(),
          taskDefinition: d.taskDefinitionArn,
          state: stopped ? 'STOPPED' : 'RUNNING',
        },
        c.imageDigest,
      ),
    );
  }
  return out;
}

export interface EcsReadOptions {
  /** Minimum time between two ECS API calls. @default 50 ms (20 a second) */
  readonly intervalMs?: number;
  readonly now?: () => Date;
  /**
   * Reads a task definition revision (DescribeTaskDefinition); the audit passes its cache by
   * ARN, so a revision is read once however many tasks and passes run it (revisions are
   * immutable). @default one DescribeTaskDefinition per revision per pass
   */
  readonly describe?: (arn: string) => Promise<TaskDefinition | undefined>;
}

/** Every running container of every cluster the client's account and region have. */
export async function readEcsWorkloads(
  ecs: ECSClient,
  options: EcsReadOptions = {},
): Promise<Observation[]> {
  const pacer = new Pacer(options.intervalMs ?? 50);
  const images = new Map<string, Map<string, string>>();
  const describe =
    options.describe ??
    (async (arn: string) => {
      await pacer.wait();
      const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      return out.taskDefinition;
    });
  const out: Observation[] = [];
  for (const cluster of await listClusters(ecs, pacer)) {
    const arns = await listRunningTasks(ecs, pacer, cluster);
    for (let i = 0; i < arns.length; i += DESCRIBE_TASKS_BATCH) {
      await pacer.wait();
      const described = await ecs.send(
        new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + DESCRIBE_TASKS_BATCH) }),
      );
      const seenAt = (options.now?.() ?? new Date()).toISOString();
      for (const task of described.tasks ?? [])
        for (const c of task.containers ?? []) {
          const o = await containerObservation(describe, images, task, c, seenAt);
          if (o !== undefined) out.push(o);
        }
    }
  }
  return out;
}

async function listClusters(ecs: ECSClient, pacer: Pacer): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    await pacer.wait();
    const page = await ecs.send(new ListClustersCommand({ maxResults: 100, nextToken }));
    arns.push(...(page.clusterArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return arns;
}

async function listRunningTasks(ecs: ECSClient, pacer: Pacer, cluster: string) {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    await pacer.wait();
    const page = await ecs.send(
      new ListTasksCommand({ cluster, desiredStatus: 'RUNNING', maxResults: 100, nextToken }),
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return arns;
}

/** A running container as an observation; its image string from the task definition if need be. */
async function containerObservation(
  describe: (arn: string) => Promise<TaskDefinition | undefined>,
  images: Map<string, Map<string, string>>,
  task: Task,
  c: Container,
  seenAt: string,
): Promise<Observation | undefined> {
  if (c.lastStatus !== 'RUNNING' || task.taskArn === undefined || c.name === undefined)
    return undefined;
  const image =
    c.image ??
    (task.taskDefinitionArn === undefined
      ? undefined
      : (await definitionImages(describe, images, task.taskDefinitionArn)).get(c.name)) ??
    c.imageDigest;
  if (image === undefined) return undefined;
  return observation(
    {
      source: 'ecs',
      workload: ecsWorkload(task.taskArn, c.name),
      image,
      ...arnScope(task.taskArn),
      seenAt,
      ...(task.taskDefinitionArn === undefined ? {} : { taskDefinition: task.taskDefinitionArn }),
      state: 'RUNNING',
    },
    c.imageDigest,
  );
}

/** Container name → image string of a task definition, read once per pass. */
async function definitionImages(
  describe: (arn: string) => Promise<TaskDefinition | undefined>,
  cache: Map<string, Map<string, string>>,
  arn: string,
): Promise<Map<string, string>> {
  let images = cache.get(arn);
  if (images === undefined) {
    const td = await describe(arn);
    images = new Map(
      (td?.containerDefinitions ?? []).flatMap((d) =>
        d.name === undefined || d.image === undefined ? [] : [[d.name, d.image] as const],
      ),
    );
    cache.set(arn, images);
  }
  return images;
}
