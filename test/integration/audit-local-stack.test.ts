/**
 * The workload inventory end to end on the local stack (issue 20's "done when"): the audit
 * function run by the functions host as EventBridge would invoke it (an ECS "Task State Change"
 * as AWS documents it, the reconcile schedule's "Scheduled Event"), the scan queue and scan
 * function, DynamoDB Local, and messages delivered by the topic to a subscribed queue. The ECR
 * host is the local registry (images pushed with skopeo); npm advisories come from a feed served
 * on loopback through the feed-sync function.
 *
 * ECS's and Lambda's control planes have no emulator: their SDK clients, built by the function
 * itself, are answered at the SDK's HTTP request handler for their hosts only, in their
 * protocols (awsJson1_1 for ECS, restJson1 for Lambda) with bodies typed by the SDK's own output
 * types; every other request (DynamoDB, SQS, SNS, S3) goes to the local stack. ECR's
 * GetAuthorizationToken is faked at the SDK boundary, as in the other end-to-end tests.
 *
 * The cases, in order: an ECS task event for a digest Bosun never scanned is RUNNING_UNSCANNED,
 * its scan is queued and run, and it is then RUNNING_VULNERABLE; its tag re-pushed while the old
 * digest still runs is RUNNING_STALE at the next reconcile; the task stopped (no longer listed)
 * leaves the inventory at the next reconcile; a task no event announced, and a Lambda function,
 * are caught by the reconcile and judged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type {
  DescribeTaskDefinitionResponse,
  DescribeTasksResponse,
  ListClustersResponse,
  ListTasksResponse,
  Task,
} from '@aws-sdk/client-ecs';
import type {
  FunctionConfiguration,
  GetFunctionResponse,
  ListFunctionsResponse,
} from '@aws-sdk/client-lambda';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type FunctionsHost, startFunctionsHost } from '../../scripts/local/functions-host.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import type { AuditOutcome } from '../../shared/pipeline/audit.js';
import type { ReconcileOutcome } from '../../shared/pipeline/audit-run.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import { WorkloadStore } from '../../shared/stores/workload-store.js';
import { localClients, localDynamoDb, queueSettled } from '../support/aws.js';
import { fixtureJson } from '../support/fixtures.js';
import { ecrPushEvent, servedDigest } from '../support/local-ecr.js';
import { pushLayout } from '../support/oci.js';
import { OsvFeedServer, type RawRecord } from '../support/osv-feed.js';
import { CONCAT_STREAM_ADVISORY, npmAdvisories, writeTestImage } from '../support/pipeline.js';
import { TopicCollector } from '../support/topic.js';

type HttpRequest = Parameters<NodeHttpHandler['handle']>[0];

const state = inject('localStack');
const clients = localClients(state);
const ddb = localDynamoDb(state);
const work = mkdtempSync(path.join(tmpdir(), 'bosun-audit-e2e-'));
const registryHost = `127.0.0.1:${state.services.registry.port}`;
const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
/** The ECR host the workloads name; the scan reads it from the local registry. */
const ECR_HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;
const TASK_DEFINITION = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/app:3`;
const run = `au${process.pid}`;
const repository = `${run}/app`;
const taskArn = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/${id}`;
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${run}-worker`;

let host: FunctionsHost;
let feed: OsvFeedServer;
let deployment: IsolatedDeployment;
let topic: TopicCollector;

/** What ECS and Lambda answer now: the running tasks and the container-image functions. */
const control = { tasks: [] as Task[], functions: [] as { arn: string; image: string }[] };
const seen: { service: string; operation: string }[] = [];

// --- ECS and Lambda answered at the request handler -------------------------------------------

/** JSON with Dates as epoch seconds (awsJson1_1 and restJson1 timestamps). */
const wire = (value: unknown) =>
  JSON.stringify(value, function (key, v) {
    const raw = (this as Record<string, unknown>)[key];
    return raw instanceof Date ? raw.getTime() / 1000 : v;
  });

const answer = (body: unknown, status = 200) => ({
  response: {
    statusCode: status,
    headers: { 'content-type': 'application/json' },
    body: new TextEncoder().encode(wire(body)),
  },
});

const bodyOf = (request: HttpRequest) =>
  JSON.parse(
    typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body),
  ) as Record<string, unknown>;

/** ECS, awsJson1_1 (`X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>`). */
function ecs(request: HttpRequest) {
  const operation = (request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
  seen.push({ service: 'ecs', operation });
  const body = bodyOf(request);
  switch (operation) {
    case 'ListClusters':
      return answer({ clusterArns: [CLUSTER] } satisfies ListClustersResponse);
    case 'ListTasks':
      expect(body).toMatchObject({ cluster: CLUSTER, desiredStatus: 'RUNNING' });
      return answer({
        taskArns: control.tasks.map((t) => t.taskArn as string),
      } satisfies ListTasksResponse);
    case 'DescribeTasks': {
      const wanted = new Set(body.tasks as string[]);
      return answer({
        tasks: control.tasks.filter((t) => wanted.has(t.taskArn as string)),
        failures: [],
      } satisfies DescribeTasksResponse);
    }
    case 'DescribeTaskDefinition': {
      // The revision the tasks run, shaped as the ECS documentation's ECR-image example
      // (test/fixtures/ecs/task-definitions/ecr-image-task-role.json): its checks and the
      // container's effective user are judged from it (pipeline/taskdef-checks.ts).
      const documented = fixtureJson<{ containerDefinitions: Record<string, unknown>[] }>(
        'ecs/task-definitions/ecr-image-task-role.json',
      );
      const arn = body.taskDefinition as string;
      const [family, revision] = arn.slice(arn.lastIndexOf('/') + 1).split(':');
      return answer({
        taskDefinition: {
          ...documented,
          taskDefinitionArn: arn,
          family,
          revision: Number(revision),
          status: 'ACTIVE',
          containerDefinitions: [
            {
              ...documented.containerDefinitions[0],
              name: 'web',
              image: `${ECR_HOST}/${repository}:1.0`,
            },
          ],
        },
      } as DescribeTaskDefinitionResponse);
    }
    default:
      return answer({ __type: 'InvalidParameterException', message: operation }, 400);
  }
}

/** Lambda, restJson1: GET /2015-03-31/functions/ and /2015-03-31/functions/{name}. */
function lambda(request: HttpRequest) {
  const name = decodeURIComponent(request.path.replace(/^\/2015-03-31\/functions\/?/, ''));
  seen.push({ service: 'lambda', operation: name === '' ? 'ListFunctions' : 'GetFunction' });
  if (name === '')
    return answer({
      Functions: [
        // A zip function is not a container image: never asked for.
        { FunctionName: `${run}-zip`, FunctionArn: `${FUNCTION_ARN}-zip`, PackageType: 'Zip' },
        ...control.functions.map(
          (f): FunctionConfiguration => ({
            FunctionName: f.arn.split(':').pop() as string,
            FunctionArn: f.arn,
            PackageType: 'Image',
          }),
        ),
      ],
    } satisfies ListFunctionsResponse);
  const f = control.functions.find((x) => x.arn === name);
  if (f === undefined) return answer({ Type: 'User', message: `Function not found: ${name}` }, 404);
  const digest = f.image.slice(f.image.indexOf('@') + 1);
  return answer({
    Configuration: { FunctionArn: f.arn, PackageType: 'Image' },
    Code: {
      RepositoryType: 'ECR',
      ImageUri: `${ECR_HOST}/${repository}:1.0`,
      ResolvedImageUri: `${ECR_HOST}/${repository}@${digest}`,
    },
  } satisfies GetFunctionResponse);
}

/** A running task of the cluster as DescribeTasks describes it. */
function task(id: string, digest: string): Task {
  const arn = taskArn(id);
  return {
    taskArn: arn,
    clusterArn: CLUSTER,
    taskDefinitionArn: TASK_DEFINITION,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    launchType: 'FARGATE',
    createdAt: new Date(),
    containers: [
      {
        containerArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:container/prod/${id}/web`,
        taskArn: arn,
        name: 'web',
        image: `${ECR_HOST}/${repository}:1.0`,
        imageDigest: digest,
        lastStatus: 'RUNNING',
      },
    ],
  };
}

// --- Events as EventBridge delivers them --------------------------------------------------------

/** The documented RUNNING event of task `id`, its container running `repository:1.0` at `digest`. */
function taskRunning(id: string, digest: string) {
  const event = fixtureJson<{
    id: string;
    account: string;
    time: string;
    resources: string[];
    detail: Record<string, unknown> & { containers: Record<string, unknown>[] };
  }>('ecs/task-state-change/running.json');
  const now = new Date().toISOString();
  const text = JSON.stringify(event)
    .replaceAll('111122223333', ACCOUNT)
    .replaceAll('FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad', `prod/${id}`)
    .replaceAll('FargateCluster', 'prod');
  const e = JSON.parse(text) as typeof event;
  e.id = crypto.randomUUID();
  e.time = now;
  e.detail.updatedAt = now;
  const [container] = e.detail.containers;
  if (container === undefined) throw new Error('the fixture has no container');
  // The container of the task definition (as DescribeTasks names it below).
  container.name = 'web';
  container.image = `${ECR_HOST}/${repository}:1.0`;
  container.imageDigest = digest;
  return e;
}

const schedule = () => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: ACCOUNT,
  time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  region: REGION,
  resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/bosun-audit-schedule`],
  detail: {},
});

/** ECR's documented push event for `repository@digest:tag`, on the scan queue. */
async function ecrPush(digest: string, tag: string): Promise<void> {
  await clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: deployment.queues.scan,
      MessageBody: ecrPushEvent(repository, digest, tag),
    }),
  );
}

/** Pushes a test image as `repository:tag` to the local registry; its digest. */
async function push(kind: 'app-310' | 'app-311', tag: string): Promise<string> {
  const dir = path.join(work, `${kind}-${tag}`);
  await writeTestImage(dir, kind);
  pushLayout(dir, 'latest', `${registryHost}/${repository}:${tag}`, { format: 'oci' });
  return servedDigest(registryHost, repository, tag);
}

const workloadStore = () =>
  new WorkloadStore(new DynamoDbItemTable(ddb.documents, deployment.tables.images));
const running = (eventType: string, digest: string, source = 'ecs') =>
  topic.of(eventType, digest).filter((m) => m.body.workload?.source === source);

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'audit-e2e');
  topic = new TopicCollector(clients.sqs, deployment.subscription);
  feed = await OsvFeedServer.start();
  feed.publish(
    'npm',
    npmAdvisories().map((r) => ({
      ...(r as unknown as RawRecord),
      modified: `${r.modified.slice(0, 10)}T00:00:00Z`,
    })),
  );
  vi.spyOn(ECRClient.prototype, 'send').mockImplementation(async (command) => {
    if (!(command instanceof GetAuthorizationTokenCommand))
      throw new Error(`unexpected ECR call ${command.constructor.name}`);
    return {
      authorizationData: [
        {
          authorizationToken: Buffer.from('AWS:ecr-token-audit').toString('base64'),
          expiresAt: new Date(Date.now() + 12 * 3600_000),
        },
      ],
    };
  });
  const handle = NodeHttpHandler.prototype.handle;
  vi.spyOn(NodeHttpHandler.prototype, 'handle').mockImplementation(function (
    this: NodeHttpHandler,
    request: HttpRequest,
    options,
  ) {
    if (request.hostname === `ecs.${REGION}.amazonaws.com`) return Promise.resolve(ecs(request));
    if (request.hostname === `lambda.${REGION}.amazonaws.com`)
      return Promise.resolve(lambda(request));
    return handle.call(this, request, options);
  } as typeof handle);
  host = await startFunctionsHost(state, {
    log: () => undefined,
    // Pushes reach the scan as ECR's events only, under the ECR host's name.
    forwardRegistryNotifications: false,
    env: {
      ...deployment.env,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      BOSUN_FEED_ECOSYSTEMS: 'npm',
      BOSUN_OSV_BASE_URL: feed.baseUrl,
      BOSUN_REGISTRY_ENDPOINTS: `${ECR_HOST}=http://${registryHost}`,
      // What the construct sets on the scan, rescan and audit functions (infra/constructs/audit.ts).
      BOSUN_AUDIT_SEVERITY: 'MEDIUM',
      BOSUN_AUDIT_SOURCES: 'ecs,lambda',
      BOSUN_AUDIT_REGIONS: REGION,
    },
  });
  // The advisories first: the npm finding of the test images is MEDIUM.
  await clients.sqs.send(
    new SendMessageCommand({ QueueUrl: deployment.queues.feedSync, MessageBody: '{"version":1}' }),
  );
  await queueSettled(clients.sqs, deployment.queues.feedSync);
}, 180_000);

afterAll(async () => {
  await host?.stop();
  await feed?.close();
  vi.restoreAllMocks();
  clients.destroy();
  ddb.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('the workload inventory on the local stack', () => {
  let first = '';
  let second = '';

  it('an ECS task event for an unscanned digest: RUNNING_UNSCANNED, its scan queued and run, then RUNNING_VULNERABLE', async () => {
    first = await push('app-310', '1.0');
    control.tasks = [task('t1', first)];
    const outcome = (await host.invokeAudit(taskRunning('t1', first))) as AuditOutcome;
    expect(outcome).toMatchObject({ recorded: 1, removed: 0, undigested: [] });
    await topic.waitFor(
      () => running('RUNNING_VULNERABLE', first).length === 1,
      'RUNNING_VULNERABLE',
      90_000,
    );
    const [unscanned] = running('RUNNING_UNSCANNED', first);
    expect(unscanned?.body.workload).toMatchObject({
      source: 'ecs',
      workload: `${taskArn('t1')}#web`,
      image: `${ECR_HOST}/${repository}:1.0`,
      reason: 'never scanned by Bosun; its scan is queued',
      account: ACCOUNT,
      region: REGION,
    });
    expect(unscanned?.attributes).toMatchObject({
      eventType: 'RUNNING_UNSCANNED',
      workloadSource: 'ecs',
    });
    // The scan the audit queued is the one that ran: the image is recorded under the ECR host.
    expect(topic.of('SCAN_COMPLETED', first)).toHaveLength(1);
    const images = new ImageStore(new DynamoDbItemTable(ddb.documents, deployment.tables.images));
    expect((await images.getImage(first))?.status).toBe('COMPLETE');
    expect((await images.repositoriesOf(first)).map((r) => r.repository)).toEqual([
      `${ECR_HOST}/${repository}`,
    ]);
    const [vulnerable] = running('RUNNING_VULNERABLE', first);
    expect(vulnerable?.body).toMatchObject({ trigger: 'push' });
    expect(vulnerable?.body.findings.map((f) => [f.id, f.packageName])).toEqual([
      [CONCAT_STREAM_ADVISORY, 'concat-stream'],
    ]);
    expect(vulnerable?.body.workload?.reason).toMatch(/^1 active findings at or above MEDIUM/);
    expect(await workloadStore().inUse(first)).toMatchObject({ inUseCount: 1 });
  });

  it('its tag re-pushed while the old digest still runs: RUNNING_STALE at the next reconcile', async () => {
    second = await push('app-311', '1.0');
    expect(second).not.toBe(first);
    await ecrPush(second, '1.0');
    await topic.waitFor(() => topic.of('SCAN_COMPLETED', second).length === 1, 'the re-push');
    await queueSettled(clients.sqs, deployment.queues.scan);

    const outcome = (await host.invokeAudit(schedule())) as ReconcileOutcome;
    expect(outcome.failures).toEqual([]);
    expect(outcome.passes.map((p) => [p.source, p.region, p.recorded, p.removed])).toEqual([
      ['ecs', REGION, 1, 0],
      ['lambda', REGION, 0, 0],
    ]);
    await topic.waitFor(() => running('RUNNING_STALE', first).length === 1, 'RUNNING_STALE');
    const [stale] = running('RUNNING_STALE', first);
    expect(stale?.body.workload?.reason).toContain(`tag ${repository}:1.0 now points to ${second}`);
    expect(stale?.body).toMatchObject({ trigger: 'workload' });
    // Announced once: what still holds is not announced again.
    expect(running('RUNNING_VULNERABLE', first)).toHaveLength(1);
    expect(running('RUNNING_UNSCANNED', first)).toHaveLength(1);
    // The reconcile's three calls of a pass, each revision read once for its checks: the one
    // the documented RUNNING event named (sample-fargate:1), then the reconciled task's (app:3).
    expect(seen.filter((s) => s.service === 'ecs').map((s) => s.operation)).toEqual([
      'DescribeTaskDefinition',
      'ListClusters',
      'ListTasks',
      'DescribeTasks',
      'DescribeTaskDefinition',
    ]);
  });

  it('the task stopped (no longer listed): the workload leaves the inventory at the next reconcile', async () => {
    control.tasks = [];
    const outcome = (await host.invokeAudit(schedule())) as ReconcileOutcome;
    expect(outcome.passes.find((p) => p.source === 'ecs')).toMatchObject({
      recorded: 0,
      removed: 1,
    });
    const store = workloadStore();
    expect(await store.running(first)).toEqual([]);
    expect(await store.inUse(first)).toMatchObject({ inUseCount: 0 });
    const [stopped] = await store.history(first);
    expect(stopped?.stoppedAt).toBeDefined();
    // Cleared, not announced.
    expect(
      (await store.judgements({ digest: first, source: 'ecs', workload: `${taskArn('t1')}#web` }))
        ?.cleared,
    ).toHaveProperty('RUNNING_VULNERABLE');
  });

  it('a task no event announced, and a Lambda function, are caught by the reconcile and judged', async () => {
    control.tasks = [task('t2', second)];
    control.functions = [{ arn: FUNCTION_ARN, image: `${ECR_HOST}/${repository}@${second}` }];
    const outcome = (await host.invokeAudit(schedule())) as ReconcileOutcome;
    expect(outcome.passes.map((p) => [p.source, p.recorded])).toEqual([
      ['ecs', 1],
      ['lambda', 1],
    ]);
    await topic.waitFor(
      () =>
        running('RUNNING_VULNERABLE', second).length === 1 &&
        running('RUNNING_VULNERABLE', second, 'lambda').length === 1,
      'RUNNING_VULNERABLE for the missed task and the function',
    );
    expect(running('RUNNING_VULNERABLE', second)[0]?.body.workload?.workload).toBe(
      `${taskArn('t2')}#web`,
    );
    expect(running('RUNNING_VULNERABLE', second, 'lambda')[0]?.body.workload).toMatchObject({
      workload: FUNCTION_ARN,
      image: `${ECR_HOST}/${repository}:1.0`,
    });
    // The digest the tag points to is not stale, and was scanned: nothing else about it.
    expect(topic.of('RUNNING_STALE', second)).toEqual([]);
    expect(topic.of('RUNNING_UNSCANNED', second)).toEqual([]);
    expect(await workloadStore().inUse(second)).toMatchObject({ inUseCount: 2 });
    expect(seen.filter((s) => s.service === 'lambda').map((s) => s.operation)).toContain(
      'GetFunction',
    );
  });
});
