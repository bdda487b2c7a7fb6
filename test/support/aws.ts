import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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

/** The local resource created for the logical id `<path><8 hex digits>` (CDK's naming). */
export function resourceByPrefix(state: LocalStackState, prefix: string) {
  const pattern = new RegExp(`^${prefix}[0-9A-F]{8}$`);
  const matches = Object.entries(state.local.resources).filter(([id]) => pattern.test(id));
  if (matches.length !== 1)
    throw new Error(
      `expected one local resource named ${prefix}*, found ${matches.map(([id]) => id).join(', ')}`,
    );
  const [logicalId, resource] = matches[0] as [string, (typeof matches)[number][1]];
  return { logicalId, ...resource };
}

/**
 * A new, empty table shaped like the stack's table `<prefix>*` (keys and indexes as the
 * template defines them), so that a test owns all of its items.
 */
export async function freshTableLike(
  state: LocalStackState,
  prefix: string,
  client: DynamoDBClient,
  target: DynamoDBClient = client,
): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const source = await client.send(
    new DescribeTableCommand({ TableName: resourceByPrefix(state, prefix).ref }),
  );
  const t = source.Table;
  if (t === undefined) throw new Error(`table ${prefix} not found`);
  await target.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: t.KeySchema,
      AttributeDefinitions: t.AttributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: t.GlobalSecondaryIndexes?.map((g) => ({
        IndexName: g.IndexName,
        KeySchema: g.KeySchema,
        Projection: g.Projection,
      })),
    }),
  );
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
