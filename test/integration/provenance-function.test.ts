/**
 * The provenance function on the local stack (DynamoDB Local, fauxqs's S3 and SNS, the local
 * registry), invoked with EventBridge's events as AWS delivers them: the daily schedule decides
 * again the verdicts older than a day, an S3 "Object Created" on the policy object re-reads the
 * policy at once and decides again every verdict of the old one, and a Parameter Store change
 * does the same for a policy kept there (Parameter Store has no local emulator: its client is
 * faked at the SDK boundary with GetParameter's documented response).
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import { receiveNotifications } from '../../scripts/local/notifications.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services.js';
import { functionEnv } from '../../scripts/local/stack.js';
import { loadTrust } from '../../shared/provenance/check.js';
import { parseProvenancePolicy, selectRule } from '../../shared/provenance/policy.js';
import { decideVerdict } from '../../shared/provenance/verdict.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import { ProvenanceStore } from '../../shared/stores/provenance-store.js';
import { localDynamoDb } from '../support/aws.js';
import { lambdaContext } from '../support/lambda.js';

const state = inject('localStack');
const registry = `127.0.0.1:${state.services.registry.port}`;
const repository = `${registry}/provenance-fn/app`;

// A policy that asks every image for a signature by one key (docs/provenance-policy.md).
const POLICY = `apiVersion: provenance.bosun.dev/v1
authorities:
  release-key:
    key: |
      -----BEGIN PUBLIC KEY-----
      MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEusIAt6EJ3YrTHdg2qkWVS0KuotWQ
      wHDtyaXlq7Nhj8279+1u/l5pZhXJPW8PnGRRLdO5NbsuM6aT7pOcP100uw==
      -----END PUBLIC KEY-----
default:
  signatures: release-key
`;
const AUDIT_POLICY = POLICY.replace('authorities:', 'mode: audit\nauthorities:');

let deployment: IsolatedDeployment;
let s3: S3Client;
let sqs: SQSClient;
let dynamo: ReturnType<typeof localDynamoDb>;
let verdicts: ProvenanceStore;
let images: ImageStore;

/** EventBridge's envelope (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html). */
const envelope = (source: string, detailType: string, detail: unknown, resources: string[]) => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': detailType,
  source,
  account: '123456789012',
  time: new Date().toISOString(),
  region: LOCAL_REGION,
  resources,
  detail,
});
const scheduled = () =>
  envelope('aws.events', 'Scheduled Event', {}, [
    'arn:aws:events:us-east-1:123456789012:rule/Bosun-ScannerProvenanceSchedule',
  ]);
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
const objectCreated = (bucket: string, key: string) =>
  envelope(
    'aws.s3',
    'Object Created',
    {
      version: '0',
      bucket: { name: bucket },
      object: {
        key,
        size: 512,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        sequencer: '00617F08299329D189',
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '10.0.0.1',
      reason: 'PutObject',
    },
    [`arn:aws:s3:::${bucket}`],
  );

const withTime = (ms: number): Context => ({
  ...lambdaContext('provenance'),
  getRemainingTimeInMillis: () => ms,
});

/** A verdict decided under `policyText` `ageMs` ago, last announced as `announced`. */
async function seedVerdict(
  digest: string,
  policyText: string,
  ageMs: number,
  announced: 'VERIFIED' | 'UNSIGNED',
) {
  const policy = parseProvenancePolicy(policyText);
  const checkedAt = new Date(Date.now() - ageMs);
  const verdict = decideVerdict({
    subjectDigest: digest,
    repository,
    policy,
    rule: selectRule(policy, repository),
    outcomes: [],
    now: checkedAt,
  });
  await verdicts.put({
    digest,
    repository,
    status: verdict.status,
    policyVersion: policy.version,
    trustVersion: loadTrust({}).version,
    checkedAt: checkedAt.toISOString(),
    verdict,
    announcedStatus: announced,
  });
}

const DAY = 24 * 3_600_000;
const digestOf = (c: string) => `sha256:${c.repeat(64)}`;

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'provenance-fn');
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  s3 = new S3Client({ ...common, endpoint: state.services.fauxqs.endpoint, forcePathStyle: true });
  sqs = new SQSClient({
    ...common,
    endpoint: state.services.fauxqs.endpoint,
    useQueueUrlAsEndpoint: false,
  });
  dynamo = localDynamoDb(state);
  const table = new DynamoDbItemTable(dynamo.documents, deployment.tables.images);
  verdicts = new ProvenanceStore(table);
  images = new ImageStore(table);
  await s3.send(
    new PutObjectCommand({
      Bucket: deployment.bucket,
      Key: 'provenance/policy.yaml',
      Body: POLICY,
    }),
  );
  // The rescan function's local environment (region, endpoints, credentials), pointed at this
  // test's own tables, topic and bucket.
  for (const [name, value] of Object.entries({
    ...functionEnv(state, 'rescan'),
    ...deployment.env,
    BOSUN_PROVENANCE_POLICY_S3: `s3://${deployment.bucket}/provenance/policy.yaml`,
    POWERTOOLS_SERVICE_NAME: 'bosun-provenance',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  }))
    vi.stubEnv(name, value);
  vi.resetModules();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  s3.destroy();
  sqs.destroy();
  dynamo.destroy();
});

describe('provenance function', () => {
  it('on schedule, decides again a verdict older than a day and announces its change; a digest no longer pushed loses its verdict', async () => {
    const { handler } = await import('../../functions/provenance/index.js');
    const kept = digestOf('a');
    const gone = digestOf('b');
    await images.recordPush(kept, repository, 'v1', new Date(Date.now() - 3 * DAY).toISOString());
    await seedVerdict(kept, POLICY, 2 * DAY, 'VERIFIED');
    await seedVerdict(gone, POLICY, 2 * DAY, 'UNSIGNED');
    // Decided an hour ago under the current policy: still stands.
    const fresh = digestOf('c');
    await images.recordPush(fresh, repository, 'v2', new Date().toISOString());
    await seedVerdict(fresh, POLICY, 3_600_000, 'UNSIGNED');

    const summary = await handler(scheduled(), withTime(60_000));
    expect(summary).toEqual({ stale: 2, reverified: 1, removed: 1, left: 0, messages: 1 });

    // No signature in the registry: UNSIGNED now, where VERIFIED was announced.
    const record = await verdicts.get(kept, repository);
    expect(record).toMatchObject({ status: 'UNSIGNED', announcedStatus: 'UNSIGNED' });
    expect(Date.now() - Date.parse(record?.checkedAt ?? '')).toBeLessThan(60_000);
    expect(await verdicts.get(gone, repository)).toBeUndefined();
    const received = await receiveNotifications(sqs, deployment.subscription);
    expect(received.map((r) => r.body)).toEqual([
      expect.objectContaining({
        eventType: 'PROVENANCE_UNSIGNED',
        trigger: 'reverify',
        image: expect.objectContaining({
          digest: kept,
          repositories: ['provenance-fn/app'],
          tags: ['provenance-fn/app:v1'],
        }),
        provenance: expect.objectContaining({
          status: 'UNSIGNED',
          previousStatus: 'VERIFIED',
          repository,
        }),
      }),
    ]);
  });

  it('on a change of the policy object, reads it at once and decides again every verdict of the old policy', async () => {
    const { handler } = await import('../../functions/provenance/index.js');
    // The schedule found nothing stale under the policy this container has read.
    expect(await handler(scheduled(), withTime(60_000))).toMatchObject({ stale: 0 });

    await s3.send(
      new PutObjectCommand({
        Bucket: deployment.bucket,
        Key: 'provenance/policy.yaml',
        Body: AUDIT_POLICY,
      }),
    );
    const summary = await handler(
      objectCreated(deployment.bucket, 'provenance/policy.yaml'),
      withTime(60_000),
    );
    // Both verdicts left by the first test, the UNSIGNED status announced already: no message.
    expect(summary).toEqual({ stale: 2, reverified: 2, removed: 0, left: 0, messages: 0 });
    const audit = parseProvenancePolicy(AUDIT_POLICY).version;
    for (const digest of [digestOf('a'), digestOf('c')])
      expect(await verdicts.get(digest, repository)).toMatchObject({
        policyVersion: audit,
        verdict: expect.objectContaining({ mode: 'audit', status: 'UNSIGNED' }),
      });
  });

  it('leaves what does not fit in the invocation to the next pass', async () => {
    const { handler } = await import('../../functions/provenance/index.js');
    await seedVerdict(digestOf('a'), POLICY, 2 * DAY, 'UNSIGNED');
    // 30 s is what the function keeps back: the deadline is now.
    expect(await handler(scheduled(), withTime(30_000))).toEqual({
      stale: 1,
      reverified: 0,
      removed: 0,
      left: 1,
      messages: 0,
    });
  });

  it('refuses an event it is not invoked with', async () => {
    const { handler } = await import('../../functions/provenance/index.js');
    await expect(
      handler(envelope('aws.ecr', 'ECR Image Action', {}, []), withTime(60_000)),
    ).rejects.toThrow(/^invalid provenance trigger event: /);
  });

  it('reads a policy kept in Parameter Store again when the parameter changes', async () => {
    vi.stubEnv('BOSUN_PROVENANCE_POLICY_S3', '');
    vi.stubEnv('BOSUN_PROVENANCE_POLICY_SSM', '/bosun/provenance-policy');
    vi.resetModules();
    let value = POLICY;
    let version = 1;
    const names: (string | undefined)[] = [];
    const send = vi.spyOn(SSMClient.prototype, 'send').mockImplementation((async (
      command: unknown,
    ) => {
      if (!(command instanceof GetParameterCommand)) throw new Error('unexpected SSM command');
      names.push(command.input.Name);
      // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html
      return {
        $metadata: { httpStatusCode: 200 },
        Parameter: {
          Name: '/bosun/provenance-policy',
          Type: 'SecureString',
          Value: value,
          Version: version,
          LastModifiedDate: new Date(),
          ARN: 'arn:aws:ssm:us-east-1:123456789012:parameter/bosun/provenance-policy',
          DataType: 'text',
        },
      };
    }) as never);
    try {
      const { handler } = await import('../../functions/provenance/index.js');
      // The verdicts were decided under the audit policy: all stale under this one.
      expect(await handler(scheduled(), withTime(60_000))).toMatchObject({
        stale: 2,
        reverified: 2,
      });
      value = AUDIT_POLICY;
      version = 2;
      // https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
      const changed = envelope(
        'aws.ssm',
        'Parameter Store Change',
        {
          operation: 'Update',
          name: '/bosun/provenance-policy',
          type: 'SecureString',
          description: '',
        },
        ['arn:aws:ssm:us-east-1:123456789012:parameter/bosun/provenance-policy'],
      );
      expect(await handler(changed, withTime(60_000))).toMatchObject({ stale: 2, reverified: 2 });
      expect(names).toEqual(['/bosun/provenance-policy', '/bosun/provenance-policy']);
    } finally {
      send.mockRestore();
    }
  });
});
