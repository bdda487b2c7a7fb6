/**
 * The read API's tests on a DynamoDB Local of their own (started here, stopped after; the
 * tables shaped by TABLE_KEYS as infra/constructs/tables.ts creates them), with images scanned
 * by the real scan use case from real files (test/support/pipeline.ts) and the npm advisories
 * stored in the DynamoDB advisory store. `event` builds API Gateway REST proxy events (payload
 * 1.0) as the function receives them, path parameters percent-encoded as clients send them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { startFauxqs } from 'fauxqs';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type ServiceState,
  startDynamoDb,
  stopService,
} from '../../../scripts/local/services.js';
import { DEFAULT_TOOLS_DIR } from '../../../scripts/local/stack.js';
import type { ApiDeps } from '../../../shared/api/deps.js';
import { ENV_VARS } from '../../../shared/config/env.js';
import { rescanMessage } from '../../../shared/events/rescan.js';
import { rescanExpiredDecisions } from '../../../shared/pipeline/decisions.js';
import { type RescanDeps, rescanPackages } from '../../../shared/pipeline/rescan.js';
import type { ScanDeps } from '../../../shared/pipeline/scan.js';
import { contentHash } from '../../../shared/stores/advisory-store.js';
import { DynamoDbAdvisoryStore } from '../../../shared/stores/dynamodb/advisory-store.js';
import { documentClient } from '../../../shared/stores/dynamodb/client.js';
import { DynamoDbItemTable } from '../../../shared/stores/dynamodb/item-table.js';
import { TABLE_KEYS } from '../../../shared/stores/dynamodb/keys.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { ProvenanceStore } from '../../../shared/stores/provenance-store.js';
import { VexStore } from '../../../shared/stores/vex-store.js';
import { WorkloadStore } from '../../../shared/stores/workload-store.js';
import { drainQueue } from '../../support/aws.js';
import { lambdaContext } from '../../support/lambda.js';
import { npmAdvisories, RecordingNotifier } from '../../support/pipeline.js';

export const REGISTRY = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
export const CALLER = 'arn:aws:sts::111122223333:assumed-role/SecurityTeam/alice';

const INDEXES = {
  images: TABLE_KEYS.images.byRepository,
  inventories: TABLE_KEYS.inventories.byPackage,
  findings: TABLE_KEYS.findings.byAdvisory,
  advisories: TABLE_KEYS.advisories.byPackage,
} as const;

export interface ApiWorld {
  readonly api: ApiDeps;
  readonly scan: ScanDeps & RescanDeps;
  readonly notifier: RecordingNotifier;
  readonly work: string;
  readonly endpoint: string;
  readonly tables: Record<'images' | 'inventories' | 'findings' | 'advisories', string>;
  /** The rescan queue (fauxqs, in process) the function sends decision rescans to. */
  readonly rescanQueue: { readonly url: string; readonly endpoint: string };
  /**
   * Runs, as the rescan function would, the rescans the API queued since the last call; the
   * number of messages it found.
   */
  runQueuedRescans(): Promise<number>;
  /** Runs the rescan function's hourly sweep of expired suppressions and VEX documents. */
  sweepExpired(): ReturnType<typeof rescanExpiredDecisions>;
  stop(): Promise<void>;
}

async function createTables(client: DynamoDBClient, suffix: string) {
  const names = {} as Record<keyof typeof INDEXES, string>;
  for (const [table, index] of Object.entries(INDEXES) as [
    keyof typeof INDEXES,
    (typeof INDEXES)[keyof typeof INDEXES],
  ][]) {
    names[table] = `${table}-${suffix}`;
    await client.send(
      new CreateTableCommand({
        TableName: names[table],
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [...new Set(['pk', 'sk', index.partitionKey, index.sortKey])].map(
          (n) => ({
            AttributeName: n,
            AttributeType: 'S',
          }),
        ),
        GlobalSecondaryIndexes: [
          {
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  }
  return names;
}

/** DynamoDB Local, its tables, the npm advisories stored, and the stores over them. */
export async function startWorld(openImage: ScanDeps['openImage']): Promise<ApiWorld> {
  const work = mkdtempSync(path.join(tmpdir(), 'bosun-api-'));
  const ddb: ServiceState = await startDynamoDb({ dir: work, toolsDir: DEFAULT_TOOLS_DIR });
  const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: ddb.endpoint };
  const plain = new DynamoDBClient(config);
  const documents = documentClient(config);
  const names = await createTables(plain, Date.now().toString(36));
  const advisories = new DynamoDbAdvisoryStore(documents, names.advisories);
  await advisories.put(
    npmAdvisories().map((record) => ({
      id: record.id,
      hash: contentHash(record),
      source: 'test',
      record,
    })),
  );
  const imagesTable = new DynamoDbItemTable(documents, names.images);
  const notifier = new RecordingNotifier();
  const images = new ImageStore(imagesTable);
  const findingsTable = new DynamoDbItemTable(documents, names.findings);
  const findings = new FindingsStore(findingsTable);
  const workloads = new WorkloadStore(imagesTable);
  const scan: ScanDeps & RescanDeps = {
    images,
    findings,
    inventories: new InventoryStore(new DynamoDbItemTable(documents, names.inventories)),
    advisories,
    notifier,
    openImage,
    audit: { workloads },
    vex: new VexStore(findingsTable),
    windowDays: 'LIFETIME',
  };
  const api: ApiDeps = {
    images,
    findings,
    provenance: new ProvenanceStore(imagesTable),
    workloads,
    advisories,
    vex: new VexStore(findingsTable),
    reportsBucket: 'reports-bucket',
  };
  const fauxqs = await startFauxqs({
    port: 0,
    // Loopback only; under this name fauxqs's queue URLs (sqs.<region>.localhost) are URLs.
    host: 'localhost',
    logger: false,
    defaultRegion: LOCAL_REGION,
  });
  const sqsEndpoint = `http://localhost:${fauxqs.port}`;
  const sqs = new SQSClient({ ...config, endpoint: sqsEndpoint, useQueueUrlAsEndpoint: false });
  // Created as the local stack creates its queues: the URL then names the endpoint's host.
  const rescanQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'rescan' })))
    .QueueUrl as string;
  return {
    api,
    scan,
    notifier,
    work,
    endpoint: ddb.endpoint,
    tables: names,
    rescanQueue: { url: rescanQueueUrl, endpoint: sqsEndpoint },
    sweepExpired: () => rescanExpiredDecisions({ ...scan, advisories, table: findingsTable }),
    async runQueuedRescans() {
      const bodies = await drainQueue(sqs, rescanQueueUrl);
      for (const body of bodies) await rescanPackages(rescanMessage.parse(JSON.parse(body)), scan);
      return bodies.length;
    },
    async stop() {
      sqs.destroy();
      await fauxqs.stop();
      documents.destroy();
      plain.destroy();
      await stopService(ddb);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/**
 * A REST API proxy event for a route of ROUTES, its path parameters filled in and encoded with
 * encodeURIComponent (a repository's `/` as `%2F`, as API Gateway hands it over).
 */
export function event(
  method: string,
  resource: string,
  params: Record<string, string> = {},
  options: { query?: Record<string, string>; body?: unknown; userArn?: string | null } = {},
): APIGatewayProxyEvent {
  const encoded = Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, encodeURIComponent(v)]),
  );
  const pathOf = resource.replace(/\{(\w+)\}/g, (_m, name: string) => encoded[name] ?? '');
  const userArn = options.userArn === undefined ? CALLER : options.userArn;
  return {
    resource,
    path: pathOf,
    httpMethod: method,
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(encoded).length === 0 ? null : encoded,
    stageVariables: null,
    body:
      options.body === undefined
        ? null
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '111122223333',
      apiId: 'a1b2c3d4e5',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: `/v1${pathOf}`,
      stage: 'v1',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTimeEpoch: Date.now(),
      resourceId: 'abc123',
      resourcePath: resource,
      identity: {
        accessKey: 'ASIAEXAMPLE',
        accountId: '111122223333',
        apiKey: null,
        apiKeyId: null,
        caller: 'AROAEXAMPLE:alice',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: 'AROAEXAMPLE:alice',
        userAgent: 'bosun-test',
        userArn,
      },
    },
  };
}

type Handler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;
let handler: Handler | undefined;

/**
 * Loads functions/api/index.ts as Lambda would, its environment naming this world's tables on
 * DynamoDB Local (the function builds its own clients and stores from it at cold start).
 */
export async function loadHandler(world: ApiWorld): Promise<Handler> {
  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    [ENV_VARS.dynamodbEndpoint]: world.endpoint,
    [ENV_VARS.imagesTable]: world.tables.images,
    [ENV_VARS.findingsTable]: world.tables.findings,
    [ENV_VARS.advisoriesTable]: world.tables.advisories,
    [ENV_VARS.reportsBucket]: 'reports-bucket',
    [ENV_VARS.rescanQueueUrl]: world.rescanQueue.url,
    [ENV_VARS.sqsEndpoint]: world.rescanQueue.endpoint,
  });
  ({ handler } = (await import('../../../functions/api/index.js')) as unknown as {
    handler: Handler;
  });
  return handler;
}

/** Invokes the function with an event; the status, the parsed body and the raw body. */
export async function call(e: APIGatewayProxyEvent) {
  if (handler === undefined) throw new Error('loadHandler first');
  const response = await handler(e, lambdaContext('api'));
  return {
    status: response.statusCode,
    json: (response.body === '' ? {} : JSON.parse(response.body)) as Record<string, unknown>,
    raw: response.body,
  };
}
