/**
 * The pipeline end to end on the local stack: images pushed to the local registry reach the
 * scan function through the registry's push notification and the webhook (or as the documented
 * ECR event on the scan queue), and the findings topic delivers to a subscribed queue; an
 * advisory feed served on loopback changes, and the rescan announces exactly the differences.
 * Handlers run in this process as Lambda would run them (scripts/local/functions-host.ts), on
 * tables, queues, topic and bucket of their own. Only ECR's GetAuthorizationToken and Secrets
 * Manager are faked, at the SDK boundary.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type FunctionsHost, startFunctionsHost } from '../../scripts/local/functions-host.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { FindingsStore } from '../../shared/stores/findings-store.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import { InventoryStore } from '../../shared/stores/inventory-store.js';
import { localClients, localDynamoDb, queueSettled } from '../support/aws.js';
import { fixtureJson } from '../support/fixtures.js';
import { pushLayout } from '../support/oci.js';
import { OsvFeedServer, type RawRecord } from '../support/osv-feed.js';
import {
  CONCAT_STREAM_ADVISORY,
  npmAdvisories,
  type TestImageKind,
  writeCorruptImage,
  writeTestImage,
} from '../support/pipeline.js';
import {
  startPasswordRegistry,
  startProxy,
  type TestProxy,
  type TestRegistry,
} from '../support/registry.js';
import { type Delivered, TopicCollector } from '../support/topic.js';

const state = inject('localStack');
const clients = localClients(state);
const ddb = localDynamoDb(state);
const s3 = new S3Client({
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
  endpoint: state.services.fauxqs.endpoint,
  forcePathStyle: true,
});
const work = mkdtempSync(path.join(tmpdir(), 'bosun-pipeline-e2e-'));
const registryHost = `127.0.0.1:${state.services.registry.port}`;
const ECR_HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';

let host: FunctionsHost;
let feed: OsvFeedServer;
let proxy: TestProxy;
let ecrRegistry: TestRegistry;
let deployment: IsolatedDeployment;
let subscription: string;
let tables: IsolatedDeployment['tables'];
let queues: IsolatedDeployment['queues'];
let bucket: string;
const digests: Partial<Record<TestImageKind, string>> = {};
const ecrTokens: string[][] = [];

/** The npm advisories as the feed publishes them (OSV timestamps for `modified`). */
function npmRecords(): RawRecord[] {
  return npmAdvisories().map((r) => ({
    ...(r as unknown as RawRecord),
    modified: `${r.modified.slice(0, 10)}T00:00:00Z`,
  }));
}

// What the topic delivered to the subscribed queue (set once the deployment exists).
let topic: TopicCollector;
const waitFor = (done: (all: Delivered[]) => boolean, what: string, timeoutMs?: number) =>
  topic.waitFor(done, what, timeoutMs);
const drain = () => topic.drain();
const of = (eventType: string, digest?: string) => topic.of(eventType, digest);

/** Waits until the queue has nothing visible or in flight (the host finished its work). */
const settled = (queueUrl: string) => queueSettled(clients.sqs, queueUrl);

/** The digest a registry serves for `host/repository:tag` (what the push produced). */
async function pushedDigest(destination: string, authorization?: string): Promise<string> {
  const [hostPort, rest] = [
    destination.slice(0, destination.indexOf('/')),
    destination.slice(destination.indexOf('/') + 1),
  ];
  const [repository, tag] = rest.split(':') as [string, string];
  const response = await fetch(`http://${hostPort}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.oci.image.manifest.v1+json',
      ...(authorization === undefined ? {} : { authorization }),
    },
  });
  return response.headers.get('docker-content-digest') as string;
}

async function push(kind: TestImageKind, destination: string, creds?: string): Promise<string> {
  const dir = path.join(work, `${kind}-${destination.replace(/[^a-z0-9]/gi, '_')}`);
  await writeTestImage(dir, kind);
  pushLayout(dir, 'latest', destination, {
    format: 'oci',
    ...(creds === undefined ? {} : { creds }),
  });
  return pushedDigest(
    destination,
    creds === undefined ? undefined : `Basic ${Buffer.from(creds).toString('base64')}`,
  );
}

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'pipeline-e2e');
  ({ tables, queues, subscription, bucket } = deployment);
  topic = new TopicCollector(clients.sqs, subscription);
  feed = await OsvFeedServer.start();
  feed.publish('npm', npmRecords());
  // Pulls from the local registry go through a proxy that counts them.
  proxy = await startProxy(state.services.registry.endpoint, () => false);
  // The ECR stand-in asks for a password, which only GetAuthorizationToken's token gives.
  ecrRegistry = await startPasswordRegistry(path.join(work, 'ecr'), 'AWS', 'ecr-token-e2e');
  vi.spyOn(ECRClient.prototype, 'send').mockImplementation(async (command) => {
    if (!(command instanceof GetAuthorizationTokenCommand)) throw new Error('unexpected ECR call');
    ecrTokens.push(command.input.registryIds ?? []);
    return {
      authorizationData: [
        {
          authorizationToken: Buffer.from('AWS:ecr-token-e2e').toString('base64'),
          expiresAt: new Date(Date.now() + 12 * 3600_000),
        },
      ],
    };
  });

  host = await startFunctionsHost(state, {
    log: () => undefined,
    env: {
      ...deployment.env,
      BOSUN_FEED_ECOSYSTEMS: 'npm',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      BOSUN_OSV_BASE_URL: feed.baseUrl,
      BOSUN_WEBHOOK_REGISTRIES: registryHost,
      BOSUN_REGISTRY_ENDPOINTS: `${registryHost}=http://127.0.0.1:${proxy.port},${ECR_HOST}=${ecrRegistry.endpoint}`,
    },
  });

  // The first feed sync fills the advisory table (no image is tracked yet).
  await clients.sqs.send(
    new SendMessageCommand({ QueueUrl: queues.feedSync, MessageBody: '{"version":1}' }),
  );
  await settled(queues.feedSync);
}, 180_000);

afterAll(async () => {
  await host?.stop();
  await feed?.close();
  await proxy?.stop();
  await ecrRegistry?.stop();
  vi.restoreAllMocks();
  clients.destroy();
  ddb.destroy();
  s3.destroy();
  rmSync(work, { recursive: true, force: true });
});

const stores = () => ({
  images: new ImageStore(new DynamoDbItemTable(ddb.documents, tables.images)),
  inventories: new InventoryStore(new DynamoDbItemTable(ddb.documents, tables.inventories)),
  findings: new FindingsStore(new DynamoDbItemTable(ddb.documents, tables.findings)),
});

describe('the pipeline on the local stack', () => {
  it('a push to the registry produces SCAN_COMPLETED and FINDINGS_NEW, and records everything', async () => {
    const digest = await push('app-310', `${registryHost}/pipeline/app-a:1`);
    digests['app-310'] = digest;
    await waitFor(() => of('FINDINGS_NEW', digest).length === 1, 'FINDINGS_NEW for app-a');
    await settled(queues.scan);

    expect(of('SCAN_COMPLETED', digest)).toHaveLength(1);
    const [added] = of('FINDINGS_NEW', digest);
    expect(
      added?.body.findings.map((f) => [f.id, f.packageName, f.installedVersion, f.fixedVersion]),
    ).toEqual([[CONCAT_STREAM_ADVISORY, 'concat-stream', '1.5.0', '1.5.2']]);
    expect(added?.body.image).toMatchObject({
      registry: registryHost,
      repositories: ['pipeline/app-a'],
      tags: ['pipeline/app-a:1'],
    });
    expect(added?.attributes).toMatchObject({
      eventType: 'FINDINGS_NEW',
      maxSeverity: 'MEDIUM',
      fixAvailable: 'true',
      repository: '["pipeline/app-a"]',
    });

    const { images, inventories, findings } = stores();
    const image = await images.getImage(digest);
    expect(image).toMatchObject({
      status: 'COMPLETE',
      findingsGeneration: 1,
      announcedGeneration: 1,
    });
    expect(await images.tagDigest(`${registryHost}/pipeline/app-a`, '1')).toBe(digest);
    const inventory = await inventories.getInventory(digest, image?.scanId as string);
    expect(inventory?.packages).toHaveLength(14 + 106);
    expect((await inventories.imagesWithPackage('npm#concat-stream')).map((r) => r.digest)).toEqual(
      [digest],
    );
    expect((await findings.findings(digest, 1)).map((f) => f.vulnerabilityId)).toEqual([
      CONCAT_STREAM_ADVISORY,
    ]);

    // The report and the SBOM the message points at.
    const report = added?.body.report;
    expect(report?.bucket).toBe(bucket);
    const read = async (key: string) =>
      JSON.parse(
        (await (
          await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        ).Body?.transformToString()) ?? 'null',
      );
    expect((await read(report?.key as string)).findings).toHaveLength(1);
    const sbom = await read(report?.sbomKey as string);
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.vulnerabilities.map((v: { id: string }) => v.id)).toEqual([CONCAT_STREAM_ADVISORY]);
  });

  it('the documented ECR event on the scan queue scans the image (ECR token faked, pull real)', async () => {
    const digest = await push(
      'app-311',
      `${ecrRegistry.host}/my-repository-name:latest`,
      'AWS:ecr-token-e2e',
    );
    digests['app-311'] = digest;
    // skopeo needs the password to push; the scanner gets it from GetAuthorizationToken.
    const event = fixtureJson<{ detail: Record<string, string>; time: string }>(
      'events/ecr-image-action/push.json',
    );
    event.detail['image-digest'] = digest;
    event.time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    // The first attempt stops after writing part of its findings (as a function that ran out of
    // time or memory would); SQS delivers the message again.
    const batch = DynamoDbItemTable.prototype.batch;
    let stopped = 0;
    const spy = vi.spyOn(DynamoDbItemTable.prototype, 'batch').mockImplementation(async function (
      this: DynamoDbItemTable,
      writes,
    ) {
      if (stopped === 0 && this.table === tables.findings) {
        stopped++;
        await batch.call(this, writes.slice(0, 1));
        throw new Error('the function was stopped (test)');
      }
      return batch.call(this, writes);
    });
    await clients.sqs.send(
      new SendMessageCommand({ QueueUrl: queues.scan, MessageBody: JSON.stringify(event) }),
    );
    await waitFor(() => of('FINDINGS_NEW', digest).length === 1, 'FINDINGS_NEW for the ECR image');
    expect(of('SCAN_COMPLETED', digest)[0]?.body.image).toMatchObject({
      registry: ECR_HOST,
      repositories: ['my-repository-name'],
      tags: ['my-repository-name:latest'],
    });
    expect(ecrTokens).toEqual([['123456789012']]);
    expect(stopped).toBe(1);
    spy.mockRestore();

    // The same event 20 times more: nothing new is recorded or announced.
    for (let i = 0; i < 20; i++)
      await clients.sqs.send(
        new SendMessageCommand({ QueueUrl: queues.scan, MessageBody: JSON.stringify(event) }),
      );
    await settled(queues.scan);
    await drain();
    expect(of('SCAN_COMPLETED', digest)).toHaveLength(1);
    expect(of('FINDINGS_NEW', digest)).toHaveLength(1);
    const { images, findings } = stores();
    expect((await images.repositoriesOf(digest)).map((r) => r.repository)).toEqual([
      `${ECR_HOST}/my-repository-name`,
    ]);
    expect(
      await findings.findings(digest, (await images.getImage(digest))?.findingsGeneration ?? 0),
    ).toHaveLength(1);
  });

  it('a tag pushed again with a new digest announces TAG_MOVED with both digests', async () => {
    const first = digests['app-310'] as string;
    const second = await push('app-311', `${registryHost}/pipeline/app-a:1`);
    await waitFor(() => of('TAG_MOVED', second).length === 1, 'TAG_MOVED');
    expect(of('TAG_MOVED', second)[0]?.body.tagMove).toMatchObject({
      repository: 'pipeline/app-a',
      tag: '1',
      digest: second,
      previousDigest: first,
    });
  });

  it('a corrupt image announces SCAN_FAILED with the reason and records nothing else', async () => {
    const dir = path.join(work, 'corrupt');
    writeCorruptImage(dir);
    pushLayout(dir, 'latest', `${registryHost}/pipeline/broken:1`, { format: 'oci' });
    const digest = await pushedDigest(`${registryHost}/pipeline/broken:1`);
    await waitFor(() => of('SCAN_FAILED', digest).length === 1, 'SCAN_FAILED');
    const failure = of('SCAN_FAILED', digest)[0]?.body.failure?.reason;
    expect(failure).toMatch(/layer 0 could not be read/);
    const { images, findings } = stores();
    expect(await images.getImage(digest)).toMatchObject({
      status: 'FAILED',
      reason: failure,
    });
    expect((await images.getImage(digest))?.scanId).toBeUndefined();
    expect(
      await findings.findings(digest, (await images.getImage(digest))?.findingsGeneration ?? 0),
    ).toEqual([]);
    expect(of('SCAN_COMPLETED', digest)).toEqual([]);
  });

  it('an advisory withdrawn and published again: two FINDINGS_RESOLVED, then two FINDINGS_NEW, no registry request', async () => {
    const base = await push('base-310', `${registryHost}/pipeline/base:1`);
    await waitFor(
      () => of('SCAN_COMPLETED', base).length === 1,
      'SCAN_COMPLETED for the base image',
    );
    await settled(queues.scan);
    const affected = [digests['app-310'], digests['app-311']].sort();
    // Other test files push to the same registry, whose notifications reach this host too.
    // The images' hardening checks (CHECKS_NEW, sent after their scans) are not about advisories.
    const ours = (all: Delivered[]) =>
      all.filter(
        (r) =>
          [...affected, base].includes(r.body.image.digest) &&
          !r.body.eventType.startsWith('CHECKS_'),
      );
    const pulls = proxy.requests.length;
    /** Publishes a version of the advisory, syncs the feed, and returns our two messages. */
    const change = async (published: RawRecord, eventType: string) => {
      const before = topic.received.length;
      feed.publish('npm', [published]);
      await clients.sqs.send(
        new SendMessageCommand({ QueueUrl: queues.feedSync, MessageBody: '{"version":1}' }),
      );
      await waitFor(
        (all) => ours(all.slice(before)).filter((r) => r.body.eventType === eventType).length >= 2,
        `two ${eventType}`,
      );
      await settled(queues.rescan);
      return ours(topic.received.slice(before));
    };

    const record = feed.record('npm', CONCAT_STREAM_ADVISORY);
    const resolved = await change(
      { ...record, withdrawn: '2026-11-29T00:00:00Z', modified: '2026-11-29T00:00:00Z' },
      'FINDINGS_RESOLVED',
    );
    expect(resolved.map((r) => r.body.eventType)).toEqual([
      'FINDINGS_RESOLVED',
      'FINDINGS_RESOLVED',
    ]);
    expect(resolved.map((r) => r.body.image.digest).sort()).toEqual(affected);
    expect(resolved.map((r) => [r.body.trigger, r.body.findings[0]?.statusReason])).toEqual([
      ['rescan', 'withdrawn'],
      ['rescan', 'withdrawn'],
    ]);

    const added = await change({ ...record, modified: '2026-11-29T01:00:00Z' }, 'FINDINGS_NEW');
    expect(added.map((r) => r.body.eventType)).toEqual(['FINDINGS_NEW', 'FINDINGS_NEW']);
    expect(added.map((r) => r.body.image.digest).sort()).toEqual(affected);
    expect(proxy.requests.length).toBe(pulls);
  });
});
