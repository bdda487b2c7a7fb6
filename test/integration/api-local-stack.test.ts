/**
 * The read API end to end on the local stack (issue 22's "done when"): a real image pushed to the
 * local registry standing in for an ECR host (a real Alpine base and an npm package), its push
 * event on the scan queue, the scan function matching it against npm advisories the feed-sync
 * function synced from a loopback OSV feed, and then,
 * through `bosun remote` run as the CLI against the local API endpoint (the api function behind
 * the functions host's stand-in for API Gateway, requests signed with SigV4): the repository's
 * images and findings; a suppression created through the API for one finding, which queues the
 * rescan of its package, after which the finding is SUPPRESSED and exactly one FINDINGS_RESOLVED
 * reached the topic; `bosun remote findings` shows it SUPPRESSED. A request without a signature is refused.
 *
 * ECR's GetAuthorizationToken has no local emulator: it is answered at the SDK boundary, as in
 * the other end-to-end tests. The local stack checks signatures but evaluates no IAM policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { LOCAL_PRINCIPALS } from '../../scripts/local/api-host.js';
import { type FunctionsHost, startFunctionsHost } from '../../scripts/local/functions-host.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import { LOCAL_REGION } from '../../scripts/local/services.js';
import type { FindingRecord } from '../../shared/stores/findings-store.js';
import { localClients, queueSettled } from '../support/aws.js';
import { PROJECT_ROOT } from '../support/fixtures.js';
import { ecrPushEvent, servedDigest } from '../support/local-ecr.js';
import { pushLayout } from '../support/oci.js';
import { OsvFeedServer, type RawRecord } from '../support/osv-feed.js';
import { CONCAT_STREAM_ADVISORY, npmAdvisories, writeTestImage } from '../support/pipeline.js';
import { bosunRemote } from '../support/remote-cli.js';
import { TopicCollector } from '../support/topic.js';

const state = inject('localStack');
const clients = localClients(state);
const work = mkdtempSync(path.join(tmpdir(), 'bosun-api-e2e-'));
const registryHost = `127.0.0.1:${state.services.registry.port}`;
const ACCOUNT = '123456789012';
/** The ECR host of ECR's documented push event (its account and region), served by the local registry. */
const ECR_HOST = `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`;
const repository = `api${process.pid}/app`;
/** As the API names it: `<registry host>/<repository>`. */
const REPOSITORY = `${ECR_HOST}/${repository}`;
const REASON = 'e2e: the vulnerable code is not shipped';

let host: FunctionsHost;
let deployment: IsolatedDeployment;
let topic: TopicCollector;
let feed: OsvFeedServer;
let digest = '';

/** `bosun remote <args> --api-url <local API>`, its exit code checked; stdout. */
async function remote(...args: string[]): Promise<string> {
  const run = await bosunRemote(...args, '--api-url', host.apiUrl, '--region', LOCAL_REGION);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout;
}
const remoteJson = async <T>(...args: string[]) =>
  JSON.parse(await remote(...args, '--format', 'json')) as T;

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'api-e2e');
  topic = new TopicCollector(clients.sqs, deployment.subscription);
  vi.spyOn(ECRClient.prototype, 'send').mockImplementation(async (command) => {
    if (!(command instanceof GetAuthorizationTokenCommand))
      throw new Error(`unexpected ECR call ${command.constructor.name}`);
    return {
      authorizationData: [
        {
          authorizationToken: Buffer.from('AWS:ecr-token-api').toString('base64'),
          expiresAt: new Date(Date.now() + 12 * 3600_000),
        },
      ],
    };
  });
  feed = await OsvFeedServer.start();
  feed.publish(
    'npm',
    npmAdvisories().map((r) => ({
      ...(r as unknown as RawRecord),
      modified: `${r.modified.slice(0, 10)}T00:00:00Z`,
    })),
  );
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
    },
  });
  // The advisories first, through the feed-sync function; their rescans find no image yet.
  await clients.sqs.send(
    new SendMessageCommand({ QueueUrl: deployment.queues.feedSync, MessageBody: '{"version":1}' }),
  );
  await queueSettled(clients.sqs, deployment.queues.feedSync);
  await queueSettled(clients.sqs, deployment.queues.rescan);
  const layout = path.join(work, 'app-310');
  await writeTestImage(layout, 'app-310');
  pushLayout(layout, 'latest', `${registryHost}/${repository}:1.0`, { format: 'oci' });
  digest = await servedDigest(registryHost, repository, '1.0');
  await clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: deployment.queues.scan,
      MessageBody: ecrPushEvent(repository, digest, '1.0'),
    }),
  );
  await topic.waitFor(() => topic.of('SCAN_COMPLETED', digest).length === 1, 'the scan', 90_000);
}, 240_000);

afterAll(async () => {
  await host?.stop();
  await feed?.close();
  vi.restoreAllMocks();
  clients.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('the read API on the local stack, through bosun remote', () => {
  let chosen: FindingRecord;

  it('lists the pushed image and its findings', async () => {
    const images = await remoteJson<{
      items: { digest: string; tags: string[]; status: string }[];
    }>('images', REPOSITORY);
    expect(images.items).toEqual([
      expect.objectContaining({ digest, tags: ['1.0'], status: 'COMPLETE' }),
    ]);
    const table = await remote('images', REPOSITORY);
    expect(table.split('\n')[1]).toMatch(new RegExp(`^${digest}\\s+1\\.0\\s+\\S+\\s+COMPLETE$`));

    const findings = await remoteJson<{ items: FindingRecord[]; nextCursor?: string }>(
      'findings',
      REPOSITORY,
      '--all',
    );
    expect(findings.nextCursor).toBeUndefined();
    expect(
      findings.items.map((f) => [f.digest, f.vulnerabilityId, f.packageName, f.status]),
    ).toEqual([[digest, CONCAT_STREAM_ADVISORY, 'concat-stream', 'ACTIVE']]);
    // As many as the scan announced.
    const [scan] = topic.of('SCAN_COMPLETED', digest);
    expect(findings.items.length).toBe(scan?.body.summary.total);
    chosen = findings.items[0] as FindingRecord;
  }, 90_000);

  it('a suppression created through the API closes the finding in the rescan it queues, announced once', async () => {
    const created = await remoteJson<Record<string, string>>(
      'suppress',
      REPOSITORY,
      chosen.vulnerabilityId,
      '--package',
      chosen.packageKey,
      '--reason',
      REASON,
    );
    expect(created).toMatchObject({
      scope: repository,
      vulnerabilityId: chosen.vulnerabilityId,
      packageKey: chosen.packageKey,
      author: LOCAL_PRINCIPALS.local?.arn,
    });
    const listed = await remote('suppressions', REPOSITORY);
    expect(listed).toContain(chosen.vulnerabilityId);

    // The API queued the rescan of the package (api/rescans.ts): the rescan function runs it.
    await topic.waitFor(
      () => topic.of('FINDINGS_RESOLVED', digest).length > 0,
      'FINDINGS_RESOLVED',
      90_000,
    );
    await queueSettled(clients.sqs, deployment.queues.rescan);
    await topic.drain();
    const resolved = topic.of('FINDINGS_RESOLVED', digest);
    expect(resolved).toHaveLength(1);
    expect(resolved[0]?.body.findings.map((f) => [f.id, f.packageName])).toEqual([
      [chosen.vulnerabilityId, chosen.packageName],
    ]);

    const suppressed = await remoteJson<{ items: FindingRecord[] }>(
      'findings',
      REPOSITORY,
      '--status',
      'SUPPRESSED',
      '--all',
    );
    expect(
      suppressed.items.map((f) => [f.vulnerabilityId, f.packageKey, f.status, f.statusReason]),
    ).toEqual([[chosen.vulnerabilityId, chosen.packageKey, 'SUPPRESSED', `suppressed: ${REASON}`]]);
    const table = await remote('findings', REPOSITORY, '--status', 'suppressed');
    expect(table).toMatch(
      new RegExp(`\\nSUPPRESSED\\s+\\S+\\s+${chosen.vulnerabilityId}\\s+${chosen.packageName}\\s`),
    );
  }, 180_000);

  it('a VEX document uploaded, listed and deleted through the API', async () => {
    const file = path.join(PROJECT_ROOT, 'test/fixtures/vex/openvex/spring-boot-log4shell.json');
    const put = await remoteJson<{ id: string; scope: string; format: string; rescans: number }>(
      'vex',
      'put',
      file,
      '--repository',
      REPOSITORY,
    );
    // Log4Shell was found in no image here: nothing to rescan.
    expect(put).toMatchObject({ scope: repository, rescans: 0 });
    const listed = await remoteJson<{ items: { id: string; uploadedBy: string }[] }>(
      'vex',
      'list',
      '--repository',
      REPOSITORY,
    );
    expect(listed.items).toEqual([
      expect.objectContaining({ id: put.id, uploadedBy: LOCAL_PRINCIPALS.local?.arn }),
    ]);
    expect(await remote('vex', 'delete', put.id, '--repository', REPOSITORY)).toContain(
      `deleted the VEX document ${put.id}`,
    );
    expect(
      (await remoteJson<{ items: unknown[] }>('vex', 'list', '--repository', REPOSITORY)).items,
    ).toEqual([]);
  }, 90_000);

  it('refuses a request without a signature, as IAM would', async () => {
    const url = new URL(`repositories/${encodeURIComponent(REPOSITORY)}/findings`, host.apiUrl);
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  }, 60_000);
});
