/**
 * A deployment of its own on the running local stack: fresh tables shaped like the template's,
 * fresh queues, a findings topic with a subscribed queue, and a reports bucket, with the
 * environment that points Bosun's handlers at them. Tests and benchmarks use it so that their
 * items and messages are theirs alone.
 */

import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { subscribeQueue } from './notifications.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './services.js';
import type { LocalStackState } from './stack.js';

const TABLES = {
  images: 'ScannerTablesImages',
  inventories: 'ScannerTablesInventories',
  findings: 'ScannerTablesFindings',
  advisories: 'ScannerTablesAdvisories',
} as const;

export interface IsolatedDeployment {
  readonly tables: Record<keyof typeof TABLES, string>;
  readonly queues: Record<'scan' | 'rescan' | 'feedSync', string>;
  readonly topicArn: string;
  /** A queue subscribed to the topic (SNS's JSON envelope, not raw delivery). */
  readonly subscription: string;
  readonly bucket: string;
  /** The handler environment that points at all of the above. */
  readonly env: Record<string, string>;
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
 * Creates the empty table `name` shaped like the stack's table `<prefix>*` (keys and indexes
 * as the template defines them), read through `client`, created through `target`.
 */
export async function createTableLike(
  state: LocalStackState,
  prefix: string,
  name: string,
  client: DynamoDBClient,
  target: DynamoDBClient = client,
): Promise<void> {
  const source = (
    await client.send(new DescribeTableCommand({ TableName: resourceByPrefix(state, prefix).ref }))
  ).Table;
  if (source === undefined) throw new Error(`table ${prefix} not found`);
  await target.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: source.KeySchema,
      AttributeDefinitions: source.AttributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: source.GlobalSecondaryIndexes?.map((g) => ({
        IndexName: g.IndexName,
        KeySchema: g.KeySchema,
        Projection: g.Projection,
      })),
    }),
  );
}

export async function createIsolatedDeployment(
  state: LocalStackState,
  name: string,
): Promise<IsolatedDeployment> {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const ddb = new DynamoDBClient({ ...common, endpoint: state.services.dynamodb.endpoint });
  const sqs = new SQSClient({
    ...common,
    endpoint: state.services.fauxqs.endpoint,
    useQueueUrlAsEndpoint: false,
  });
  const sns = new SNSClient({ ...common, endpoint: state.services.fauxqs.endpoint });
  const s3 = new S3Client({
    ...common,
    endpoint: state.services.fauxqs.endpoint,
    forcePathStyle: true,
  });
  const suffix = `${name}-${process.pid}-${Date.now().toString(36)}`;
  try {
    const tables = {} as Record<keyof typeof TABLES, string>;
    for (const [key, prefix] of Object.entries(TABLES) as [keyof typeof TABLES, string][]) {
      tables[key] = `${key}-${suffix}`;
      await createTableLike(state, prefix, tables[key], ddb);
    }
    const queue = async (q: string) =>
      (await sqs.send(new CreateQueueCommand({ QueueName: `${q}-${suffix}` }))).QueueUrl as string;
    const queues = {
      scan: await queue('scan'),
      rescan: await queue('rescan'),
      feedSync: await queue('feed-sync'),
    };
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: `findings-${suffix}` })))
      .TopicArn as string;
    const subscription = await subscribeQueue(sqs, sns, topicArn, `subscriber-${suffix}`);
    const bucket = `reports-${suffix}`.toLowerCase().slice(0, 63);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      tables,
      queues,
      topicArn,
      subscription,
      bucket,
      env: {
        BOSUN_IMAGES_TABLE: tables.images,
        BOSUN_INVENTORIES_TABLE: tables.inventories,
        BOSUN_FINDINGS_TABLE: tables.findings,
        BOSUN_ADVISORIES_TABLE: tables.advisories,
        BOSUN_SCAN_QUEUE_URL: queues.scan,
        BOSUN_RESCAN_QUEUE_URL: queues.rescan,
        BOSUN_FEED_SYNC_QUEUE_URL: queues.feedSync,
        BOSUN_FINDINGS_TOPIC_ARN: topicArn,
        BOSUN_REPORTS_BUCKET: bucket,
      },
    };
  } finally {
    for (const c of [ddb, sqs, sns, s3]) c.destroy();
  }
}
