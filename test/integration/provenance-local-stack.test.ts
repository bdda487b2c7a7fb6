/**
 * Provenance end to end on the local stack (issue 19's "done when"): ECR's documented push
 * events on the scan queue, the scan function run by the functions host as Lambda would run it,
 * the policy read from an S3 object (fauxqs), verdicts in DynamoDB Local, messages delivered by
 * the topic to a subscribed queue. The ECR host is the local registry (Debian's docker-registry)
 * behind a counting proxy; only GetAuthorizationToken is faked, at the SDK boundary. Images are
 * pushed with skopeo and signed at test time with keys made here, laid out as `cosign sign
 * --key` lays them out.
 *
 * The cases: an image pushed unsigned is PROVENANCE_UNSIGNED; its signature pushed after it
 * makes it PROVENANCE_VERIFIED; an image signed by an untrusted key is PROVENANCE_FAILED; the
 * tag re-pushed onto an unsigned digest is TAG_MOVED and PROVENANCE_FAILED; no layer is pulled
 * twice, and the signature is never scanned as an image.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type FunctionsHost, startFunctionsHost } from '../../scripts/local/functions-host.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import { ProvenanceStore } from '../../shared/stores/provenance-store.js';
import { localClients, localDynamoDb, queueSettled } from '../support/aws.js';
import { pushCosignSignature } from '../support/cosign.js';
import { ecrPushEvent, pushAlpineApp } from '../support/local-ecr.js';
import { startProxy, type TestProxy } from '../support/registry.js';
import { TopicCollector } from '../support/topic.js';

const state = inject('localStack');
const clients = localClients(state);
const ddb = localDynamoDb(state);
const s3 = new S3Client({
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
  endpoint: state.services.fauxqs.endpoint,
  forcePathStyle: true,
});
const work = mkdtempSync(path.join(tmpdir(), 'bosun-provenance-e2e-'));
const registryHost = `127.0.0.1:${state.services.registry.port}`;
const registryEndpoint = `http://${registryHost}`;
/** The account and region of the fixture event: the ECR host the scanner reads from. */
const ECR_HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const run = `pe${process.pid}`;

const trusted = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const POLICY = `apiVersion: provenance.bosun.dev/v1
authorities:
  release-key:
    key: |
${trusted.publicKey
  .export({ type: 'spki', format: 'pem' })
  .toString()
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
default:
  signatures: release-key
`;

let host: FunctionsHost;
let proxy: TestProxy;
let deployment: IsolatedDeployment;
let topic: TopicCollector;
const waitFor = (done: () => boolean, what: string) => topic.waitFor(done, what, 60_000);
const of = (eventType: string, digest: string) => topic.of(eventType, digest);

const pushImage = (repository: string, tag: string, content: string) =>
  pushAlpineApp(work, registryHost, repository, tag, content);

/** ECR's documented push event for `repository@digest` (with its tag), on the scan queue. */
async function ecrPush(repository: string, digest: string, tag: string): Promise<void> {
  await clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: deployment.queues.scan,
      MessageBody: ecrPushEvent(repository, digest, tag),
    }),
  );
}

/** Blob reads of the registry, by digest, through the proxy the scanner reads from. */
const blobReads = (digest: string) =>
  proxy.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${digest}`)).length;

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'provenance-e2e');
  topic = new TopicCollector(clients.sqs, deployment.subscription);
  await s3.send(
    new PutObjectCommand({
      Bucket: deployment.bucket,
      Key: 'provenance/policy.yaml',
      Body: POLICY,
    }),
  );
  proxy = await startProxy(state.services.registry.endpoint, () => false);
  vi.spyOn(ECRClient.prototype, 'send').mockImplementation(async (command) => {
    if (!(command instanceof GetAuthorizationTokenCommand))
      throw new Error(`unexpected ECR call ${command.constructor.name}`);
    return {
      authorizationData: [
        {
          authorizationToken: Buffer.from('AWS:ecr-token-provenance').toString('base64'),
          expiresAt: new Date(Date.now() + 12 * 3600_000),
        },
      ],
    };
  });
  host = await startFunctionsHost(state, {
    log: () => undefined,
    // Pushes reach the scan as ECR's events only, under the ECR host's name.
    forwardRegistryNotifications: false,
    env: {
      ...deployment.env,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      BOSUN_PROVENANCE_POLICY_S3: `s3://${deployment.bucket}/provenance/policy.yaml`,
      BOSUN_REGISTRY_ENDPOINTS: `${ECR_HOST}=http://127.0.0.1:${proxy.port}`,
    },
  });
}, 180_000);

afterAll(async () => {
  await host?.stop();
  await proxy?.stop();
  vi.restoreAllMocks();
  clients.destroy();
  ddb.destroy();
  s3.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('provenance on the local stack', () => {
  const repository = `${run}/app`;
  let app: string;

  it('an image pushed unsigned is PROVENANCE_UNSIGNED; its signature pushed after it makes it PROVENANCE_VERIFIED', async () => {
    app = await pushImage(repository, 'v1', 'release 1\n');
    await ecrPush(repository, app, 'v1');
    await waitFor(() => of('PROVENANCE_UNSIGNED', app).length === 1, 'PROVENANCE_UNSIGNED');
    const [unsigned] = of('PROVENANCE_UNSIGNED', app);
    expect(unsigned?.attributes).toMatchObject({
      eventType: 'PROVENANCE_UNSIGNED',
      provenance: 'UNSIGNED',
      provenanceMode: 'enforce',
      repository: JSON.stringify([repository]),
    });
    expect(unsigned?.body.provenance?.repository).toBe(`${ECR_HOST}/${repository}`);

    // cosign sign --key, then ECR's push event of the `.sig` tag.
    const signature = await pushCosignSignature(
      registryEndpoint,
      ECR_HOST,
      repository,
      app,
      trusted.privateKey,
    );
    await ecrPush(repository, signature.digest, signature.tag);
    await waitFor(() => of('PROVENANCE_VERIFIED', app).length === 1, 'PROVENANCE_VERIFIED');
    const [verified] = of('PROVENANCE_VERIFIED', app);
    expect(verified?.body).toMatchObject({
      trigger: 'signature',
      provenance: { status: 'VERIFIED', previousStatus: 'UNSIGNED', rule: 'default' },
    });
    expect(verified?.body.provenance?.requirements[0]?.satisfiedBy[0]).toMatchObject({
      authority: 'release-key',
      source: `${signature.digest}#0`,
    });

    // Stored beside the image record; the signature is recorded as pushed, never scanned.
    await queueSettled(clients.sqs, deployment.queues.scan);
    const table = new DynamoDbItemTable(ddb.documents, deployment.tables.images);
    expect(await new ProvenanceStore(table).get(app, `${ECR_HOST}/${repository}`)).toMatchObject({
      status: 'VERIFIED',
      announcedStatus: 'VERIFIED',
    });
    expect(await new ImageStore(table).getImage(signature.digest)).toBeUndefined();
    expect((await new ImageStore(table).getImage(app))?.status).toBe('COMPLETE');
    // Each layer of the image was read once, by its one scan.
    const manifest = (await (
      await fetch(`${registryEndpoint}/v2/${repository}/manifests/${app}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { layers: { digest: string }[] };
    for (const layer of manifest.layers) expect(blobReads(layer.digest), layer.digest).toBe(1);
  });

  it('an image signed by a key the policy does not trust is PROVENANCE_FAILED', async () => {
    const rogue = await pushImage(`${run}/rogue`, 'v1', 'signed by a stranger\n');
    await pushCosignSignature(
      registryEndpoint,
      ECR_HOST,
      `${run}/rogue`,
      rogue,
      stranger.privateKey,
    );
    await ecrPush(`${run}/rogue`, rogue, 'v1');
    await waitFor(() => of('PROVENANCE_FAILED', rogue).length === 1, 'PROVENANCE_FAILED');
    const [failed] = of('PROVENANCE_FAILED', rogue);
    expect(failed?.attributes.provenance).toBe('UNTRUSTED');
    expect(failed?.body.provenance?.reasons.join('\n')).toMatch(/not signed by this key/);
  });

  it('the verified tag re-pushed onto an unsigned digest is TAG_MOVED and PROVENANCE_FAILED', async () => {
    const lookalike = await pushImage(repository, 'v1', 'a look-alike under the same tag\n');
    expect(lookalike).not.toBe(app);
    await ecrPush(repository, lookalike, 'v1');
    await waitFor(
      () =>
        of('TAG_MOVED', lookalike).length === 1 && of('PROVENANCE_FAILED', lookalike).length === 1,
      'TAG_MOVED and PROVENANCE_FAILED',
    );
    const [failed] = of('PROVENANCE_FAILED', lookalike);
    expect(failed?.body.provenance).toMatchObject({
      status: 'UNSIGNED',
      tagMove: { tag: 'v1', previousDigest: app },
    });
    expect(of('TAG_MOVED', lookalike)[0]?.body.tagMove).toMatchObject({
      tag: 'v1',
      previousDigest: app,
    });
    expect(of('PROVENANCE_UNSIGNED', lookalike)).toEqual([]);
  });
});
