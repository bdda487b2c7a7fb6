/**
 * The backfill end to end on the local stack (issue 20, items 1 and 5): images already in the
 * registry, never pushed while Bosun ran, are scanned after the deploy-time step. The backfill
 * function is invoked through the functions host as CloudFormation invokes it after `cdk
 * deploy` (the deploy-time custom resource's Create request, its response URL a loopback
 * server), its scan requests go to the scan queue, the scan function pulls each image from the
 * local registry standing in for the ECR host, and SCAN_COMPLETED reaches the topic for each.
 * ECR's API has no local emulator: DescribeRepositories, DescribeImages and the pull-time
 * exclusions are answered at the SDK client's request handler (test/support/ecr-service.ts),
 * listing what really is in the local registry; GetAuthorizationToken is answered likewise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type FunctionsHost, startFunctionsHost } from '../../scripts/local/functions-host.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import { LOCAL_REGION } from '../../scripts/local/services.js';
import { DEPLOY_TIME_RESOURCE_TYPE } from '../../shared/events/custom-resource.js';
import type { BackfillResult } from '../../shared/pipeline/backfill.js';
import { BackfillStore } from '../../shared/stores/backfill-store.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { localClients, localDynamoDb, queueSettled } from '../support/aws.js';
import { fakeEcr, imageDetail, repository } from '../support/ecr-service.js';
import { pushAlpineApp } from '../support/local-ecr.js';
import { TopicCollector } from '../support/topic.js';

const state = inject('localStack');
const clients = localClients(state);
const ddb = localDynamoDb(state);
const work = mkdtempSync(path.join(tmpdir(), 'bosun-backfill-e2e-'));
const registryHost = `127.0.0.1:${state.services.registry.port}`;
const ACCOUNT = '123456789012';
/** The ECR host the backfill names in its scan requests (the function's region). */
const ECR_HOST = `${ACCOUNT}.dkr.ecr.${LOCAL_REGION}.amazonaws.com`;
const SCAN_ROLE = `arn:aws:iam::${ACCOUNT}:role/Bosun-ScannerScanRole645F8743-1A2B3C4D5E6F`;
const run = `bf${process.pid}`;

let host: FunctionsHost;
let deployment: IsolatedDeployment;
let topic: TopicCollector;
let cloudFormation: Server;
const answers: Record<string, unknown>[] = [];
const ecr = fakeEcr({ repositories: [], images: [], exclusions: [] }, { region: LOCAL_REGION });

/** An image of a real Alpine base and a layer of its own, pushed with skopeo; its digest. */
const pushImage = (repo: string, tag: string, content: string) =>
  pushAlpineApp(work, registryHost, repo, tag, content);

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'backfill-e2e');
  topic = new TopicCollector(clients.sqs, deployment.subscription);
  cloudFormation = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      answers.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => cloudFormation.listen(0, '127.0.0.1', resolve));
  // Every ECR call of this process goes to the fake: the backfill's reads and exclusions through
  // the fake client's request handler, the scan's token as GetAuthorizationToken answers it.
  const send = ECRClient.prototype.send;
  vi.spyOn(ECRClient.prototype, 'send').mockImplementation(async function (
    this: ECRClient,
    command,
  ) {
    if (command instanceof GetAuthorizationTokenCommand)
      return {
        authorizationData: [
          {
            authorizationToken: Buffer.from('AWS:ecr-token-backfill').toString('base64'),
            expiresAt: new Date(Date.now() + 12 * 3600_000),
          },
        ],
      };
    return (send as (c: unknown) => Promise<unknown>).call(ecr.ecr, command);
  });
  host = await startFunctionsHost(state, {
    log: () => undefined,
    forwardRegistryNotifications: false,
    env: {
      ...deployment.env,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      BOSUN_REGISTRY_ENDPOINTS: `${ECR_HOST}=http://${registryHost}`,
    },
  });
}, 180_000);

afterAll(async () => {
  await host?.stop();
  await new Promise<void>((resolve) =>
    cloudFormation ? cloudFormation.close(() => resolve()) : resolve(),
  );
  vi.restoreAllMocks();
  clients.destroy();
  ddb.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('the backfill on the local stack', () => {
  it('after the deploy-time step, every image already in the registry is scanned once; a second invocation queues nothing', async () => {
    // Pushed before "deployment": no push event ever reaches the scan queue.
    const images: [string, string][] = [
      [`${run}/shop/api`, await pushImage(`${run}/shop/api`, 'v1', 'api 1\n')],
      [`${run}/shop/api`, await pushImage(`${run}/shop/api`, 'v2', 'api 2\n')],
      [`${run}/shop/web`, await pushImage(`${run}/shop/web`, 'v1', 'web 1\n')],
    ];
    ecr.content.repositories.push(
      ...[`${run}/shop/api`, `${run}/shop/web`, `${run}/other`].map((name) =>
        repository(ACCOUNT, LOCAL_REGION, name),
      ),
    );
    ecr.content.images.push(
      ...images.map(([repo, digest], i) =>
        imageDetail(ACCOUNT, repo, digest, {
          imageTags: [`v${i + 1}`],
          imagePushedAt: new Date(Date.UTC(2024, 5, i + 1)),
        }),
      ),
    );

    // What CloudFormation sends after `cdk deploy` (the construct's properties, test/infra).
    const serviceToken = `arn:aws:lambda:${LOCAL_REGION}:${ACCOUNT}:function:bosun-backfill`;
    const answer = await host.invokeBackfill({
      RequestType: 'Create',
      ServiceToken: serviceToken,
      ResponseURL: `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}/response`,
      StackId: `arn:aws:cloudformation:${LOCAL_REGION}:${ACCOUNT}:stack/Bosun/5b3d8e50-1a2b-11f0-9c3d-0a1b2c3d4e5f`,
      RequestId: crypto.randomUUID(),
      ResourceType: DEPLOY_TIME_RESOURCE_TYPE,
      LogicalResourceId: 'ScannerDeployTime807F4FED',
      ResourceProperties: {
        ServiceToken: serviceToken,
        BackfillId: run,
        Prefixes: [`${run}/shop/`],
        ExcludedPrincipals: [SCAN_ROLE],
      },
    });
    expect(answer).toMatchObject({ Status: 'SUCCESS', Data: { BackfillId: run } });
    expect(answers).toEqual([answer]);
    expect(ecr.content.exclusions).toEqual([SCAN_ROLE]);
    await host.backfillsSettled();

    const store = new BackfillStore(new DynamoDbItemTable(ddb.documents, deployment.tables.images));
    expect(await store.status(run)).toMatchObject({
      phase: 'DONE',
      scope: { prefixes: [`${run}/shop/`] },
      counts: { repositories: 2, repositoriesDone: 2, imagesSeen: 3, queued: 3, skipped: 0 },
    });

    const digests = images.map(([, d]) => d);
    await topic.waitFor(
      () => digests.every((d) => topic.of('SCAN_COMPLETED', d).length === 1),
      'SCAN_COMPLETED for each image',
      120_000,
    );
    for (const [i, [repo, digest]] of images.entries())
      expect(topic.of('SCAN_COMPLETED', digest)[0]?.body.image).toMatchObject({
        registry: ECR_HOST,
        repositories: [repo],
        tags: [`${repo}:v${i + 1}`],
      });

    // Invoked again by hand with the same message: done already, nothing queued.
    const again = (await host.invokeBackfill({
      version: 1,
      backfill: { id: run, prefixes: [`${run}/shop/`] },
    })) as BackfillResult;
    expect(again).toMatchObject({ stop: 'done', counts: { queued: 3 } });
    await queueSettled(clients.sqs, deployment.queues.scan);
    await topic.drain();
    expect(topic.received.filter((r) => r.body.eventType === 'SCAN_COMPLETED')).toHaveLength(3);
  }, 240_000);
});
