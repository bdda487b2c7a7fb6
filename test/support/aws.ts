import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createTableLike } from '../../scripts/local/isolated.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services.js';
import type { LocalStackState } from '../../scripts/local/stack.js';
import { documentClient } from '../../shared/stores/dynamodb/client.js';

/** DynamoDB client configuration for the local stack. */
export function localClientConfig(state: LocalStackState) {
  return {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: state.services.dynamodb.endpoint,
  };
}

/** SDK clients pointed at the local stack, as a handler's environment would point them. */
export function localClients(state: LocalStackState) {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient(localClientConfig(state));
  return {
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb),
    // fauxqs's queue URLs name a host that does not resolve; send every call to its endpoint.
    sqs: new SQSClient({
      ...common,
      endpoint: state.services.fauxqs.endpoint,
      useQueueUrlAsEndpoint: false,
    }),
    sns: new SNSClient({ ...common, endpoint: state.services.fauxqs.endpoint }),
    destroy() {
      for (const c of [this.dynamodb, this.sqs, this.sns]) c.destroy();
    },
  };
}

export { resourceByPrefix } from '../../scripts/local/isolated.js';

/**
 * A new, empty table shaped like the stack's table `<prefix>*`, so that a test owns all of its
 * items.
 */
export async function freshTableLike(
  state: LocalStackState,
  prefix: string,
  client: DynamoDBClient,
  target: DynamoDBClient = client,
): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  await createTableLike(state, prefix, name, client, target);
  return name;
}

/** Receives and deletes every message on a queue; returns their bodies. */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (out.Messages === undefined || out.Messages.length === 0) return bodies;
    for (const m of out.Messages) {
      bodies.push(m.Body ?? '');
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
}

/** A document client and a plain client on the local stack's DynamoDB, destroyed together. */
export function localDynamoDb(state: LocalStackState) {
  const documents = documentClient(localClientConfig(state));
  const tables = new DynamoDBClient(localClientConfig(state));
  return {
    documents,
    tables,
    destroy() {
      documents.destroy();
      tables.destroy();
    },
  };
}

/** Waits until a queue has nothing visible or in flight: its consumer finished its work. */
export async function queueSettled(sqs: SQSClient, queueUrl: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const a = out.Attributes ?? {};
    if (a.ApproximateNumberOfMessages === '0' && a.ApproximateNumberOfMessagesNotVisible === '0')
      return;
    if (Date.now() > deadline) throw new Error(`queue ${queueUrl} did not drain`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
