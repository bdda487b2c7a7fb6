/**
 * Task-definition checks in the deployment (issue 21, item 2; docs/checks.md, "Task
 * definitions", and docs/audit.md, "Task-definition checks"):
 *
 * - a new revision, when EventBridge delivers its RegisterTaskDefinition call (CloudTrail), is
 *   read with DescribeTaskDefinition and checked (subject `taskdef:<region>:<account>:<family>:<revision>`);
 * - the revisions of running tasks, as the audit observes them (task state changes and the
 *   reconcile), are checked the same way, and each running container gets its effective
 *   findings (`workload:<source>:<id>`): its definition's `user` ?? the default user of the
 *   image it runs (checks/effective.ts), the image's facts read from the checks the scan stored.
 *
 * A revision is immutable once registered, so it is read once per ARN (`TaskDefinitionCache`)
 * and checked once per function instance; a workload is judged again on every observation,
 * since its image's facts arrive when the image is scanned. Results go through the checks
 * lifecycle (new, resolved; stored and announced), which is a port here.
 */
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import type { ChecksConfig } from '../checks/config.js';
import { effectiveChecks, type ImageUserFacts, type ImageUserSource } from '../checks/effective.js';
import { checkTaskDefinition } from '../checks/taskdef.js';
import type { CheckResult } from '../checks/types.js';
import { mapLimit } from '../concurrency.js';
import { BosunError } from '../errors.js';
import {
  type EcsTaskDefinitionRegisteredEvent,
  revisionToRead,
} from '../events/ecs-task-definition.js';
import type { NotificationImage } from '../notifications/message.js';
import {
  type ChecksStore,
  taskDefinitionSubject,
  workloadSubject,
} from '../stores/checks-store.js';
import type { WorkloadKey } from '../stores/workload-store.js';
import { imageParts, type Observation } from '../workloads/types.js';
import { type ChecksDeps, reconcileChecks } from './checks-lifecycle.js';
import { imageContext, type PipelineDeps } from './context.js';

/** A RegisterTaskDefinition event reached a function deployed without ECS among its sources. */
export class TaskDefinitionChecksOffError extends BosunError {
  readonly fatal = true;
  constructor() {
    super('a RegisterTaskDefinition event arrived, but ECS is not among the audit sources');
  }
}

/** What the lifecycle is told besides the results. */
export interface ChecksContext {
  /**
   * The image announcements describe: a workload's digest, a task definition's first image that
   * names one. Absent: stored, not announced (there is no digest to name).
   */
  readonly image?: NotificationImage;
  /** Repository names (without the registry host) the checks configuration is matched against. */
  readonly repositories: readonly string[];
}

export interface ChecksChange {
  readonly new: number;
  readonly resolved: number;
}

/** Stores a subject's results with their lifecycle and announces what changed. */
export interface ChecksLifecycle {
  reconcile(
    subject: string,
    results: readonly CheckResult[],
    context: ChecksContext,
  ): Promise<ChecksChange>;
}

/** Reads a revision; undefined when ECS no longer has it (checks/taskdef-reader.ts). */
export type DescribeTaskDefinition = (arn: string) => Promise<TaskDefinition | undefined>;

export interface TaskDefinitionChecksDeps {
  /** A `TaskDefinitionCache`'s `get`, or any reader. */
  readonly describe: DescribeTaskDefinition;
  readonly imageUsers: ImageUserSource;
  readonly lifecycle: ChecksLifecycle;
  /** The image as notifications describe it (pipeline/context.ts imageContext). */
  readonly imageContext: (digest: string) => Promise<NotificationImage>;
  /** The digest a tag points at now, as Bosun recorded it (`<registry>/<repository>`, tag). */
  readonly tagDigest: (repository: string, tag: string) => Promise<string | undefined>;
  /** Revisions this function instance has checked already (they cannot change). */
  readonly checked?: Set<string>;
}

/** A full task-definition ARN, revision included: the one form that names immutable content. */
const REVISION_ARN = /^arn:[^:]+:ecs:[^:]+:\d{12}:task-definition\/[A-Za-z0-9_-]+:\d+$/;

/**
 * DescribeTaskDefinition by ARN, each revision read once (concurrent callers share the read),
 * the most recently used `max` kept. A family alone names whatever is latest: never cached. A
 * failed read is not kept, so the next caller reads again.
 */
export class TaskDefinitionCache {
  private readonly entries = new Map<string, Promise<TaskDefinition | undefined>>();
  constructor(
    private readonly read: DescribeTaskDefinition,
    private readonly max = 1_000,
  ) {}

  readonly get = (arn: string): Promise<TaskDefinition | undefined> => {
    if (!REVISION_ARN.test(arn)) return this.read(arn);
    const hit = this.entries.get(arn);
    if (hit !== undefined) {
      this.entries.delete(arn);
      this.entries.set(arn, hit);
      return hit;
    }
    const reading = this.read(arn);
    this.entries.set(arn, reading);
    reading.catch(() => this.entries.delete(arn));
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return reading;
  };
}

/** The subject of a revision's own checks (stores/checks-store.ts names subjects). */
const revisionSubject = (td: TaskDefinition) =>
  taskDefinitionSubject(td.family ?? '(unnamed)', td.revision ?? 0, td.taskDefinitionArn);

/**
 * The checks lifecycle (pipeline/checks-lifecycle.ts) as this port: a task definition is read
 * whole, so a reading is complete and what it no longer has is resolved.
 */
export function checksLifecycle(deps: ChecksDeps, config?: ChecksConfig): ChecksLifecycle {
  return {
    async reconcile(subject, results, context) {
      const out = await reconcileChecks(deps, subject, results, {
        complete: true,
        repositories: context.repositories,
        trigger: 'workload',
        ...(config === undefined ? {} : { config }),
        ...(context.image === undefined ? {} : { image: context.image }),
      });
      return { new: out.new.length, resolved: out.resolved.length };
    },
  };
}

/** The image's default user as the scan's checks stored it (ChecksStore.imageUser). */
export function storedImageUsers(store: Pick<ChecksStore, 'imageUser'>): ImageUserSource {
  return {
    async imageUser(digest) {
      const effective = await store.imageUser(digest);
      return effective === undefined ? undefined : { effective };
    },
  };
}

/**
 * A revision's context: the repositories of its containers' images, and for announcements the
 * first image that names a digest (written in the image string, or its tag's digest as Bosun
 * last recorded it).
 */
async function revisionContext(
  deps: TaskDefinitionChecksDeps,
  td: TaskDefinition,
): Promise<ChecksContext> {
  const parts = (td.containerDefinitions ?? []).flatMap((c) => {
    const p = c.image === undefined ? undefined : imageParts(c.image);
    return p === undefined ? [] : [p];
  });
  const repositories = [...new Set(parts.map((p) => p.repository))];
  for (const p of parts) {
    const digest =
      p.digest ??
      (p.tag === undefined
        ? undefined
        : await deps.tagDigest(`${p.registry}/${p.repository}`, p.tag));
    if (digest !== undefined) return { image: await deps.imageContext(digest), repositories };
  }
  return { repositories };
}

export interface RevisionOutcome {
  /** What the event named: an ARN, or a family when CloudTrail kept no response. */
  readonly taskDefinition?: string;
  /** `refused`: the call failed, nothing was registered; `gone`: ECS no longer has it. */
  readonly status: 'checked' | 'refused' | 'gone' | 'already-checked';
  readonly results: number;
  readonly new: number;
  readonly resolved: number;
}

/** A revision's own checks, stored through the lifecycle once per function instance. */
async function checkRevision(
  deps: TaskDefinitionChecksDeps,
  td: TaskDefinition,
): Promise<Omit<RevisionOutcome, 'taskDefinition'>> {
  const arn = td.taskDefinitionArn ?? revisionSubject(td);
  if (deps.checked?.has(arn) === true)
    return { status: 'already-checked', results: 0, new: 0, resolved: 0 };
  const results = checkTaskDefinition(td);
  const change = await deps.lifecycle.reconcile(
    revisionSubject(td),
    results,
    await revisionContext(deps, td),
  );
  deps.checked?.add(arn);
  return { status: 'checked', results: results.length, ...change };
}

/** A RegisterTaskDefinition call as EventBridge delivers it: the revision read and checked. */
export async function checkRegisteredTaskDefinition(
  deps: TaskDefinitionChecksDeps,
  event: EcsTaskDefinitionRegisteredEvent,
): Promise<RevisionOutcome> {
  const named = revisionToRead(event);
  if (named === undefined) return { status: 'refused', results: 0, new: 0, resolved: 0 };
  const td = await deps.describe(named);
  if (td === undefined)
    return { taskDefinition: named, status: 'gone', results: 0, new: 0, resolved: 0 };
  return { taskDefinition: td.taskDefinitionArn ?? named, ...(await checkRevision(deps, td)) };
}

export interface RunningChecksOutcome {
  /** Revisions checked now (not those checked before by this instance). */
  readonly revisions: number;
  /** Running containers judged (their effective findings). */
  readonly workloads: number;
  /** Of those, how many run an image whose default user is not known yet. */
  readonly unknownUser: number;
  readonly new: number;
  readonly resolved: number;
  /** Revisions that could not be read: their tasks' checks wait for the next observation. */
  readonly unread: readonly { readonly taskDefinition: string; readonly error: string }[];
}

/**
 * The checks of what the audit observed: each running task's revision, each running
 * container's effective findings; a stopped container's findings resolved (`stopped`, the
 * audit's outcome: stopped observations and the workloads a reconcile no longer saw).
 */
export async function checkObservedWorkloads(
  deps: TaskDefinitionChecksDeps,
  observations: readonly Observation[],
  stopped: readonly WorkloadKey[] = [],
): Promise<RunningChecksOutcome> {
  // As the inventory: a container whose digest ECS did not report is not tracked (nor is its
  // stop), so it gets no workload findings; its revision is still checked.
  const running = observations.filter(
    (o) => o.state === 'RUNNING' && o.taskDefinition !== undefined,
  );
  const tracked = running.filter((o) => o.digest !== undefined);
  const revisions = await readRevisions(deps, [
    ...new Set(running.map((o) => o.taskDefinition as string)),
  ]);
  let checked = 0;
  let changed = { new: 0, resolved: 0 };
  const add = (c: ChecksChange) => {
    changed = { new: changed.new + c.new, resolved: changed.resolved + c.resolved };
  };
  for (const td of revisions.read.values()) {
    const outcome = await checkRevision(deps, td);
    if (outcome.status === 'checked') checked++;
    add(outcome);
  }
  const judged = await judgeWorkloads(deps, tracked, revisions.read);
  for (const c of judged.changes) add(c);
  // Only ECS workloads have effective findings (Lambda and EKS are not checked yet).
  const ended = stopped.filter((w) => w.source === 'ecs');
  for (const c of await mapLimit(ended, 8, (w) =>
    // The container no longer runs: what it was is resolved, announced with its image.
    workloadContext(deps, w).then((context) =>
      deps.lifecycle.reconcile(workloadSubject('ecs', w.workload), [], context),
    ),
  ))
    add(c);
  return {
    revisions: checked,
    workloads: judged.changes.length,
    unknownUser: judged.unknown,
    ...changed,
    unread: revisions.unread,
  };
}

async function readRevisions(deps: TaskDefinitionChecksDeps, arns: readonly string[]) {
  const read = new Map<string, TaskDefinition>();
  const unread: { taskDefinition: string; error: string }[] = [];
  await mapLimit(arns, 4, async (arn) => {
    try {
      const td = await deps.describe(arn);
      if (td === undefined) unread.push({ taskDefinition: arn, error: 'ECS no longer has it' });
      else read.set(arn, td);
    } catch (error) {
      unread.push({ taskDefinition: arn, error: (error as Error).message });
    }
  });
  return { read, unread };
}

/** Each running container's effective findings, its image's facts read once per digest. */
async function judgeWorkloads(
  deps: TaskDefinitionChecksDeps,
  running: readonly Observation[],
  revisions: ReadonlyMap<string, TaskDefinition>,
): Promise<{ changes: ChecksChange[]; unknown: number }> {
  const facts = new Map<string, Promise<ImageUserFacts | undefined>>();
  const imageOf = (digest: string | undefined) => {
    if (digest === undefined) return Promise.resolve(undefined);
    let f = facts.get(digest);
    if (f === undefined) {
      f = deps.imageUsers.imageUser(digest);
      facts.set(digest, f);
    }
    return f;
  };
  let unknown = 0;
  const changes = await mapLimit(
    running.filter((o) => revisions.has(o.taskDefinition as string)),
    8,
    async (o) => {
      const td = revisions.get(o.taskDefinition as string) as TaskDefinition;
      const container = o.workload.slice(o.workload.lastIndexOf('#') + 1);
      const results = effectiveChecks(
        { taskDefinition: td, container, ...(o.digest === undefined ? {} : { digest: o.digest }) },
        await imageOf(o.digest),
      );
      if (results.some((r) => r.id === 'ecs/user-unset')) unknown++;
      return deps.lifecycle.reconcile(
        workloadSubject(o.source, o.workload),
        results,
        await workloadContext(deps, o),
      );
    },
  );
  return { changes, unknown };
}

/**
 * A workload's context: the image it runs as Bosun knows it, or as the workload names it when
 * Bosun has no record of the digest (as the audit's judgements do).
 */
async function workloadContext(
  deps: TaskDefinitionChecksDeps,
  o: Pick<Observation, 'digest' | 'registry' | 'repository'>,
): Promise<ChecksContext> {
  const named = o.repository === undefined ? [] : [o.repository];
  if (o.digest === undefined) return { repositories: named };
  const image = await deps.imageContext(o.digest);
  if (image.repositories.length > 0) return { image, repositories: image.repositories };
  return {
    image: {
      ...image,
      ...(o.registry === undefined ? {} : { registry: o.registry }),
      repositories: named,
    },
    repositories: named,
  };
}

/**
 * The checks' dependencies from the pipeline's: the checks store beside the findings (the
 * image users the scan stored, the lifecycle and its dedupe records), the image store for
 * notification context and tags, and `describe` (a `TaskDefinitionCache`'s `get`).
 */
export function taskDefinitionChecksDeps(
  deps: PipelineDeps,
  checks: ChecksStore,
  describe: DescribeTaskDefinition,
  config?: ChecksConfig,
): TaskDefinitionChecksDeps {
  return {
    describe,
    imageUsers: storedImageUsers(checks),
    lifecycle: checksLifecycle(
      {
        checks,
        findings: deps.findings,
        notifier: deps.notifier,
        ...(deps.now === undefined ? {} : { now: deps.now }),
      },
      config,
    ),
    imageContext: async (digest) => imageContext(deps, digest, await deps.images.getImage(digest)),
    tagDigest: (repository, tag) => deps.images.tagDigest(repository, tag),
    checked: new Set(),
  };
}
