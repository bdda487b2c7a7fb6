import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { TABLE_KEYS } from '../../infra/constructs/tables.js';
import { functionEnv } from '../../scripts/local/stack.js';
import { drainQueue, localClients, resourceByPrefix } from '../support/aws.js';
import { dataDir, fixtureText } from '../support/fixtures.js';
import { lambdaContext } from '../support/lambda.js';

const state = inject('localStack');
const clients = localClients(state);
afterAll(() => clients.destroy());

async function receiveOne(
  queueUrl: string,
  visibilityTimeout?: number,
  waitMs = 10_000,
): Promise<Message | undefined> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const out = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        AttributeNames: ['All'],
        ...(visibilityTimeout === undefined ? {} : { VisibilityTimeout: visibilityTimeout }),
      }),
    );
    const message = out.Messages?.[0];
    if (message !== undefined) return message;
  }
  return undefined;
}

const drain = (queueUrl: string) => drainQueue(clients.sqs, queueUrl);

describe('tables created from the template', () => {
  const tables = [
    ['ScannerTablesImages', TABLE_KEYS.images.byRepository],
    ['ScannerTablesInventories', TABLE_KEYS.inventories.byPackage],
    ['ScannerTablesAdvisories', TABLE_KEYS.advisories.byPackage],
    ['ScannerTablesFindings', TABLE_KEYS.findings.byAdvisory],
  ] as const;

  it.each(tables)('%s takes a write, returns it by key and by its index', async (prefix, index) => {
    const table = resourceByPrefix(state, prefix).ref;
    const id = `test-${process.pid}-${Date.now()}`;
    const item = {
      pk: `T#${id}`,
      sk: 'META',
      [index.partitionKey]: `IDX#${id}`,
      [index.sortKey]: '2026-11-28T00:00:00Z',
      note: 'written by the local-stack test',
    };
    await clients.documents.send(new PutCommand({ TableName: table, Item: item }));
    const got = await clients.documents.send(
      new GetCommand({ TableName: table, Key: { pk: item.pk, sk: 'META' } }),
    );
    expect(got.Item).toEqual(item);
    const byIndex = await clients.documents.send(
      new QueryCommand({
        TableName: table,
        IndexName: index.name,
        KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': index.partitionKey },
        ExpressionAttributeValues: { ':v': `IDX#${id}` },
      }),
    );
    expect(byIndex.Items).toEqual([item]);
  });

  it('enables TTL on the tables whose records expire', async () => {
    const statuses: Record<string, string | undefined> = {};
    for (const [prefix] of tables) {
      const table = resourceByPrefix(state, prefix).ref;
      const ttl = await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: table }));
      statuses[prefix] = ttl.TimeToLiveDescription?.AttributeName;
    }
    expect(statuses).toEqual({
      ScannerTablesImages: undefined,
      ScannerTablesInventories: 'expiresAt',
      ScannerTablesAdvisories: 'expiresAt',
      ScannerTablesFindings: 'expiresAt',
    });
  });
});

describe('scan queue created from the template', () => {
  const scanQueue = resourceByPrefix(state, 'ScannerScanQueue').ref;
  const scanDlq = resourceByPrefix(state, 'ScannerScanQueueDlq').ref;

  // A delete of an image Bosun never saw needs the tables only (a push would pull from ECR;
  // test/integration/pipeline.test.ts pushes to a local registry instead).
  it('delivers an ECR delete event that the scan handler, configured from the template, handles', async () => {
    await drain(scanQueue);
    const body = fixtureText('events/ecr-image-action/delete.json');
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: scanQueue, MessageBody: body }));
    const message = await receiveOne(scanQueue);
    expect(message?.Body).toBe(body);

    for (const [name, value] of Object.entries(functionEnv(state, 'scan'))) vi.stubEnv(name, value);
    vi.resetModules();
    const { handler } = await import('../../functions/scan/index.js');
    const event: SQSEvent = {
      Records: [
        {
          messageId: message?.MessageId ?? '',
          receiptHandle: message?.ReceiptHandle ?? '',
          body: message?.Body ?? '',
          attributes: message?.Attributes as SQSEvent['Records'][number]['attributes'],
          messageAttributes: {},
          md5OfBody: message?.MD5OfBody ?? '',
          eventSource: 'aws:sqs',
          eventSourceARN: resourceByPrefix(state, 'ScannerScanQueue').attributes.Arn ?? '',
          awsRegion: 'us-east-1',
        },
      ],
    };
    expect(await handler(event, lambdaContext('scan'))).toEqual({ batchItemFailures: [] });
    vi.unstubAllEnvs();
    await clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: scanQueue, ReceiptHandle: message?.ReceiptHandle }),
    );
  });

  it('moves a message that keeps failing to the DLQ after maxReceiveCount receives', async () => {
    await drain(scanQueue);
    await drain(scanDlq);
    const attrs = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: scanQueue, AttributeNames: ['RedrivePolicy'] }),
    );
    const maxReceiveCount = Number(
      JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}').maxReceiveCount,
    );
    expect(maxReceiveCount).toBe(3);

    const body = fixtureText('events/ecr-image-action/bad-digest.json');
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: scanQueue, MessageBody: body }));
    // A consumer that fails lets the message become visible again; 0 makes that immediate.
    for (let i = 1; i <= maxReceiveCount; i++) {
      const m = await receiveOne(scanQueue, 0);
      expect(m?.Attributes?.ApproximateReceiveCount).toBe(String(i));
    }
    // As in SQS, the move happens on the next receive past maxReceiveCount, which gets nothing.
    expect(await receiveOne(scanQueue, 0, 1500)).toBeUndefined();
    const dead = await receiveOne(scanDlq);
    expect(dead?.Body).toBe(body);
  }, 60_000);
});

describe('findings topic created from the template', () => {
  it('delivers to a subscribed queue only the messages its filter policy selects', async () => {
    const topicArn = resourceByPrefix(state, 'ScannerFindingsTopic').ref;
    const queueName = `findings-subscriber-${process.pid}-${Date.now()}`;
    const created = await clients.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    const queueUrl = created.QueueUrl ?? '';
    const queueArn = (
      await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    await clients.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queueArn,
        Attributes: {
          FilterPolicy: JSON.stringify({ eventType: ['FINDINGS_NEW'] }),
          RawMessageDelivery: 'true',
        },
      }),
    );
    const publish = (eventType: string, n: number) =>
      clients.sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: JSON.stringify({ eventType, n }),
          MessageAttributes: { eventType: { DataType: 'String', StringValue: eventType } },
        }),
      );
    await publish('SCAN_COMPLETED', 1);
    await publish('FINDINGS_NEW', 2);
    await publish('SCAN_COMPLETED', 3);
    const received: unknown[] = [];
    for (;;) {
      const m = await receiveOne(queueUrl, undefined, received.length === 0 ? 10_000 : 2_000);
      if (m === undefined) break;
      received.push(JSON.parse(m.Body ?? 'null'));
      await clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
      if (received.length > 3) break;
      await sleep(10);
    }
    expect(received).toEqual([{ eventType: 'FINDINGS_NEW', n: 2 }]);
  }, 60_000);
});

describe('local registry', () => {
  it('stores a pushed real image and notifies the push with repository, tag and digest', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'bosun-push-'));
    try {
      // A real Alpine 3.10 image, `docker save`d and gzipped; skopeo reads the plain tar.
      const archive = path.join(work, 'alpine-310.tar');
      const source = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');
      await pipeline(createReadStream(source), createGunzip(), createWriteStream(archive));
      const repository = `test/alpine-${process.pid}`;
      const destination = `docker://127.0.0.1:${state.services.registry.port}/${repository}:3.10`;
      execFileSync('skopeo', [
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        `docker-archive:${archive}`,
        destination,
      ]);

      const head = await fetch(
        `${state.services.registry.endpoint}/v2/${repository}/manifests/3.10`,
        {
          method: 'HEAD',
          headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
        },
      );
      expect(head.status).toBe(200);
      const digest = head.headers.get('docker-content-digest');
      expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);

      let manifestPush:
        | { target?: { repository?: string; tag?: string; digest?: string } }
        | undefined;
      const deadline = Date.now() + 15_000;
      while (manifestPush === undefined && Date.now() < deadline) {
        if (existsSync(state.registryEventsFile)) {
          const events = readFileSync(state.registryEventsFile, 'utf8')
            .split('\n')
            .filter((line) => line.length > 0)
            .map(
              (line) =>
                JSON.parse(line) as {
                  action: string;
                  target?: {
                    repository?: string;
                    tag?: string;
                    digest?: string;
                    mediaType?: string;
                  };
                },
            );
          manifestPush = events.find(
            (e) =>
              e.action === 'push' && e.target?.repository === repository && e.target.tag === '3.10',
          );
        }
        if (manifestPush === undefined) await sleep(200);
      }
      expect(manifestPush?.target?.digest).toBe(digest);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
