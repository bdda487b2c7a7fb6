/**
 * What the audit function does with an invocation, on the embedded item table, ECS and Lambda
 * answered at real SDK clients' request handlers (test/unit/workloads/sdk-fakes.ts):
 * - the reconcile: each source and region is its own pass; a source that could not be read
 *   removes nothing (its workloads stay, the failure is reported) while the others reconcile;
 * - the trigger: an ECS task state change or the schedule's event, anything else refused;
 * - the handler: its variables checked at cold start, naming each bad one.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type {
  DescribeTasksCommandOutput,
  ListClustersCommandOutput,
  ListTasksCommandOutput,
  Task,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../../shared/config/env.js';
import { InvalidEventError } from '../../../shared/errors.js';
import { auditTriggerEvent } from '../../../shared/events/audit-trigger.js';
import { parseEvent } from '../../../shared/events/parse.js';
import { type AuditDeps, readableRegistries } from '../../../shared/pipeline/audit.js';
import { reconcileWorkloads, type WorkloadReader } from '../../../shared/pipeline/audit-run.js';
import { AUDIT_CONFIG } from '../../../shared/pipeline/aws.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { WorkloadStore } from '../../../shared/stores/workload-store.js';
import { readEcsWorkloads } from '../../../shared/workloads/ecs.js';
import { readLambdaWorkloads } from '../../../shared/workloads/lambda.js';
import { fixtureJson } from '../../support/fixtures.js';
import { DEPLOYED_ENV } from '../../support/lambda.js';
import { MutableAdvisories, RecordingNotifier } from '../../support/pipeline.js';
import { type Answer, fakeEcs, fakeLambda, type SeenRequest } from '../workloads/sdk-fakes.js';

const REGISTRY = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
const CLUSTER = 'arn:aws:ecs:us-west-2:111122223333:cluster/prod';
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const taskArn = (id: string) => `arn:aws:ecs:us-west-2:111122223333:task/prod/${id}`;

function deps(): AuditDeps {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-audit-fn-'));
  const images = EmbeddedItemTable.open(dir, 'images');
  return {
    images: new ImageStore(images),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(EmbeddedItemTable.open(dir, 'findings')),
    advisories: new MutableAdvisories([]),
    notifier: new RecordingNotifier(),
    audit: { workloads: new WorkloadStore(images), unreadable: readableRegistries() },
  };
}

function task(id: string, n: number): Task {
  return {
    taskArn: taskArn(id),
    clusterArn: CLUSTER,
    lastStatus: 'RUNNING',
    containers: [
      {
        name: 'web',
        taskArn: taskArn(id),
        image: `${REGISTRY}/team/app:1.0`,
        imageDigest: digest(n),
        lastStatus: 'RUNNING',
      },
    ],
  };
}

/** ECS running `tasks` in one cluster; `broken`: ListTasks fails as a throttled call does. */
function ecsReader(tasks: () => Task[], broken = () => false): WorkloadReader {
  const { client } = fakeEcs((r: SeenRequest): Answer => {
    switch (r.target) {
      case 'ListClusters':
        return {
          body: { clusterArns: [CLUSTER] } satisfies Omit<ListClustersCommandOutput, '$metadata'>,
        };
      case 'ListTasks':
        if (broken())
          return { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
        return {
          body: {
            taskArns: tasks().map((t) => t.taskArn as string),
          } satisfies Omit<ListTasksCommandOutput, '$metadata'>,
        };
      case 'DescribeTasks':
        return {
          body: { tasks: tasks(), failures: [] } satisfies Omit<
            DescribeTasksCommandOutput,
            '$metadata'
          >,
        };
      default:
        return { status: 400, body: { __type: 'InvalidParameterException', message: r.target } };
    }
  });
  return {
    source: 'ecs',
    region: 'us-west-2',
    read: () => readEcsWorkloads(client, { intervalMs: 0 }),
  };
}

/** Lambda with no container-image function. */
function lambdaReader(): WorkloadReader {
  const { client } = fakeLambda(() => ({ body: { Functions: [] } }));
  return {
    source: 'lambda',
    region: 'us-west-2',
    read: () => readLambdaWorkloads(client, { intervalMs: 0 }),
  };
}

describe('the reconcile', () => {
  it('reads each source and region as its own pass, and removes what a source no longer runs', async () => {
    const d = deps();
    let tasks = [task('a', 1), task('b', 2)];
    const readers = [ecsReader(() => tasks), lambdaReader()];
    const first = await reconcileWorkloads(d, readers);
    expect(first.failures).toEqual([]);
    expect(first.passes.map((p) => [p.source, p.region, p.recorded, p.removed])).toEqual([
      ['ecs', 'us-west-2', 2, 0],
      ['lambda', 'us-west-2', 0, 0],
    ]);
    tasks = [task('b', 2)];
    const second = await reconcileWorkloads(d, readers);
    expect(second.passes[0]).toMatchObject({ recorded: 1, removed: 1 });
    expect(await d.audit.workloads.running(digest(1))).toEqual([]);
    expect((await d.audit.workloads.running(digest(2))).map((w) => w.workload)).toEqual([
      `${taskArn('b')}#web`,
    ]);
  });

  it('removes nothing of a source it could not read, reports it, and reconciles the others', async () => {
    const d = deps();
    let broken = false;
    const readers = [
      ecsReader(
        () => [task('a', 1)],
        () => broken,
      ),
      lambdaReader(),
    ];
    await reconcileWorkloads(d, readers);
    broken = true;
    const outcome = await reconcileWorkloads(d, readers);
    expect(outcome.passes.map((p) => p.source)).toEqual(['lambda']);
    expect(outcome.failures).toEqual([
      {
        source: 'ecs',
        region: 'us-west-2',
        error: expect.objectContaining({ name: 'ThrottlingException' }),
      },
    ]);
    // Still running as far as Bosun knows: the next schedule reads ECS again.
    expect(await d.audit.workloads.inUse(digest(1))).toMatchObject({ inUseCount: 1 });
  });
});

describe('the trigger', () => {
  it("is an ECS task state change as AWS documents it, or the schedule's event; anything else is refused", () => {
    const change = parseEvent(
      auditTriggerEvent,
      'audit trigger',
      fixtureJson('ecs/task-state-change/running.json'),
    );
    expect(change.source).toBe('aws.ecs');
    // EventBridge's example of a scheduled event
    // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html).
    const scheduled = {
      version: '0',
      id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: '2015-10-08T16:53:06Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule'],
      detail: {},
    };
    expect(parseEvent(auditTriggerEvent, 'audit trigger', scheduled).source).toBe('aws.events');
    expect(() =>
      parseEvent(auditTriggerEvent, 'audit trigger', { ...scheduled, source: 'aws.s3' }),
    ).toThrow(InvalidEventError);
  });
});

describe('the handler', () => {
  beforeEach(() => {
    vi.resetModules();
    for (const [name, value] of Object.entries(DEPLOYED_ENV)) vi.stubEnv(name, value);
  });
  afterEach(() => vi.unstubAllEnvs());

  it('refuses an event of neither shape before any call', async () => {
    vi.stubEnv('BOSUN_AUDIT_SOURCES', 'ecs,lambda');
    const { handler } = await import('../../../functions/audit/index.js');
    const { lambdaContext } = await import('../../support/lambda.js');
    await expect(handler({ version: 1 }, lambdaContext('audit'))).rejects.toThrow(
      /invalid audit trigger event/,
    );
  });

  it('fails at cold start naming each variable it cannot use', async () => {
    vi.stubEnv('BOSUN_AUDIT_SEVERITY', 'SEVERE');
    await expect(import('../../../functions/audit/index.js')).rejects.toThrow(
      /BOSUN_AUDIT_SEVERITY="SEVERE" is not valid \(CRITICAL, HIGH, MEDIUM, LOW\); BOSUN_AUDIT_SOURCES is not set/,
    );
  });

  it('reads sources, clusters and regions as lists, each item checked and none twice', () => {
    const env = {
      ...DEPLOYED_ENV,
      BOSUN_AUDIT_SOURCES: 'ecs,eks',
      BOSUN_AUDIT_EKS_CLUSTERS: 'prod,staging',
      BOSUN_AUDIT_REGIONS: 'eu-west-1,us-east-1',
    };
    expect(loadConfig(AUDIT_CONFIG, env)).toMatchObject({
      auditSources: ['ecs', 'eks'],
      auditEksClusters: ['prod', 'staging'],
      auditRegions: ['eu-west-1', 'us-east-1'],
    });
    for (const [name, value] of [
      ['BOSUN_AUDIT_SOURCES', 'ecs,k8s'],
      ['BOSUN_AUDIT_SOURCES', 'ecs,ecs'],
      ['BOSUN_AUDIT_EKS_CLUSTERS', 'prod,not a name'],
      ['BOSUN_AUDIT_REGIONS', 'Europe'],
    ] as const)
      expect(() => loadConfig(AUDIT_CONFIG, { ...env, [name]: value }), value).toThrow(
        new RegExp(`${name}=.* is not valid`),
      );
    expect(() => loadConfig(AUDIT_CONFIG, { ...env, BOSUN_AUDIT_SOURCES: 'ecs,k8s' })).toThrow(
      ConfigError,
    );
  });
});
