/**
 * Creates the local tables, queues, topics and buckets from the synthesized CloudFormation
 * template, and gives each function the environment the template gives it in AWS with every
 * reference resolved to its local resource. Local and cloud therefore cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV_VARS, parseS3Uri } from '../../shared/config/env.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './services.js';

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** What a logical id of the template became locally. */
export interface LocalResource {
  readonly type: string;
  /** The value `Ref` resolves to (table name, queue URL, topic ARN, bucket name). */
  readonly ref: string;
  /** `Fn::GetAtt` values by attribute name. */
  readonly attributes: Record<string, string>;
}

export interface LocalResources {
  readonly resources: Record<string, LocalResource>;
  /** Environment of each function, keyed by its handler folder (`scan`, `rescan`, `feed-sync`). */
  readonly functions: Record<string, Record<string, string>>;
}

export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly fauxqs: string;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export function readTemplate(file: string): CfnTemplate {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (parsed === null || typeof parsed !== 'object' || !('Resources' in parsed)) {
    throw new TemplateError(`${file} is not a CloudFormation template (no Resources)`);
  }
  return parsed as CfnTemplate;
}

function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** Resolves `Ref` and `Fn::GetAtt` against resources already created; anything else is an error. */
function resolveValue(value: unknown, local: Record<string, LocalResource>, where: string): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.Ref === 'string') {
      const target = local[obj.Ref];
      if (target === undefined)
        throw new TemplateError(`${where}: Ref ${obj.Ref} has no local resource`);
      return target.ref;
    }
    const getAtt = obj['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && typeof getAtt[1] === 'string') {
      const attribute = local[getAtt[0]]?.attributes[getAtt[1]];
      if (attribute === undefined)
        throw new TemplateError(`${where}: Fn::GetAtt ${getAtt.join('.')} has no local value`);
      return attribute;
    }
    // `host=<secret ARN>` lists (the webhook's registries) are joins of strings and refs.
    const join = obj['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1]))
      return join[1].map((part: unknown) => resolveValue(part, local, where)).join(join[0]);
  }
  throw new TemplateError(`${where}: cannot resolve ${JSON.stringify(value)} locally`);
}

async function createTables(
  template: CfnTemplate,
  client: DynamoDBClient,
  local: Record<string, LocalResource>,
): Promise<void> {
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::DynamoDB::Table')) {
    const p = resource.Properties ?? {};
    const tableName = logicalId;
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          KeySchema: p.KeySchema as KeySchemaElement[],
          AttributeDefinitions: p.AttributeDefinitions as AttributeDefinition[],
          BillingMode: 'PAY_PER_REQUEST',
          ...(p.GlobalSecondaryIndexes === undefined
            ? {}
            : { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes as GlobalSecondaryIndex[] }),
        }),
      );
    } catch (error) {
      // Idempotent start: a table from an earlier run of the same stack is kept.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    const ttl = p.TimeToLiveSpecification as
      | { AttributeName?: string; Enabled?: boolean }
      | undefined;
    if (ttl?.Enabled === true && ttl.AttributeName !== undefined) {
      try {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
          }),
        );
      } catch (error) {
        // Enabling TTL twice is refused; that is the state we want.
        if (!(error instanceof Error && /already enabled/i.test(error.message))) throw error;
      }
    }
    const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const arn =
      described.Table?.TableArn ??
      `arn:aws:dynamodb:${LOCAL_REGION}:000000000000:table/${tableName}`;
    local[logicalId] = { type: resource.Type, ref: tableName, attributes: { Arn: arn } };
  }
}

/** Queues in dependency order: a dead-letter queue before the queues that redrive into it. */
function orderQueues(queues: [string, CfnResource][]): [string, CfnResource][] {
  const dlqOf = (r: CfnResource): string | undefined => {
    const redrive = r.Properties?.RedrivePolicy as
      | { deadLetterTargetArn?: { 'Fn::GetAtt'?: string[] } }
      | undefined;
    return redrive?.deadLetterTargetArn?.['Fn::GetAtt']?.[0];
  };
  return [...queues].sort(
    ([, a], [, b]) => Number(dlqOf(a) !== undefined) - Number(dlqOf(b) !== undefined),
  );
}

async function createQueues(
  template: CfnTemplate,
  client: SQSClient,
  local: Record<string, LocalResource>,
): Promise<void> {
  for (const [logicalId, resource] of orderQueues(resourcesOfType(template, 'AWS::SQS::Queue'))) {
    const p = resource.Properties ?? {};
    const attributes: Record<string, string> = {};
    for (const key of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'DelaySeconds',
      'ReceiveMessageWaitTimeSeconds',
    ]) {
      if (p[key] !== undefined) attributes[key] = String(p[key]);
    }
    const redrive = p.RedrivePolicy as
      | { deadLetterTargetArn?: unknown; maxReceiveCount?: number }
      | undefined;
    if (redrive !== undefined) {
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: resolveValue(
          redrive.deadLetterTargetArn,
          local,
          `${logicalId}.RedrivePolicy`,
        ),
        maxReceiveCount: String(redrive.maxReceiveCount),
      });
    }
    const created = await client.send(
      new CreateQueueCommand({ QueueName: logicalId, Attributes: attributes }),
    );
    const url = created.QueueUrl;
    if (url === undefined) throw new TemplateError(`CreateQueue ${logicalId} returned no URL`);
    const attrs = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    const arn = attrs.Attributes?.QueueArn;
    if (arn === undefined) throw new TemplateError(`queue ${logicalId} has no ARN`);
    local[logicalId] = {
      type: resource.Type,
      ref: url,
      attributes: { Arn: arn, QueueUrl: url, QueueName: logicalId },
    };
  }
}

async function createTopics(
  template: CfnTemplate,
  client: SNSClient,
  local: Record<string, LocalResource>,
): Promise<void> {
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::SNS::Topic')) {
    const created = await client.send(new CreateTopicCommand({ Name: logicalId }));
    const arn = created.TopicArn;
    if (arn === undefined) throw new TemplateError(`CreateTopic ${logicalId} returned no ARN`);
    local[logicalId] = {
      type: resource.Type,
      ref: arn,
      attributes: { TopicArn: arn, TopicName: logicalId },
    };
  }
}

/** S3 bucket names are lowercase; logical ids are not. */
function localBucketName(logicalId: string): string {
  return logicalId.toLowerCase().slice(0, 63);
}

async function createBuckets(
  template: CfnTemplate,
  client: S3Client,
  local: Record<string, LocalResource>,
): Promise<void> {
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::S3::Bucket')) {
    const name = localBucketName(logicalId);
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } catch (error) {
      if (!(error instanceof Error && /BucketAlready(OwnedByYou|Exists)/.test(error.name)))
        throw error;
    }
    local[logicalId] = {
      type: resource.Type,
      ref: name,
      attributes: { Arn: `arn:aws:s3:::${name}` },
    };
  }
}

/**
 * EventBridge and Security Hub have no local emulator (docs/integrations.md): the local stack's
 * functions send to neither, whatever the template says.
 */
const NOT_LOCAL: ReadonlySet<string> = new Set([
  ENV_VARS.eventBus,
  ENV_VARS.eventSource,
  ENV_VARS.securityHubProductArn,
]);

function functionEnvironments(
  template: CfnTemplate,
  local: Record<string, LocalResource>,
  endpoints: LocalEndpoints,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const variables =
      (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables ?? {};
    const service = variables.POWERTOOLS_SERVICE_NAME;
    if (typeof service !== 'string' || !service.startsWith('bosun-')) continue;
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      if (NOT_LOCAL.has(name)) continue;
      env[name] = resolveValue(value, local, `${logicalId}.Environment.${name}`);
    }
    // The local stack reaches no public repository: Amazon Linux's are not synced (a test that
    // wants them points the function at a loopback repository itself).
    if (ENV_VARS.feedVendorSources in env) env[ENV_VARS.feedVendorSources] = '';
    env[ENV_VARS.region] = LOCAL_REGION;
    env[ENV_VARS.dynamodbEndpoint] = endpoints.dynamodb;
    env[ENV_VARS.sqsEndpoint] = endpoints.fauxqs;
    env[ENV_VARS.snsEndpoint] = endpoints.fauxqs;
    env[ENV_VARS.s3Endpoint] = endpoints.fauxqs;
    env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
    out[service.slice('bosun-'.length)] = env;
  }
  return out;
}

/**
 * The buckets the provenance variables name (the policy's, the trusted roots', the trust
 * store's): in AWS they exist before the stack; locally they are created empty, for a test to
 * put the policy and trust material in.
 */
async function createProvenanceBuckets(
  functions: Record<string, Record<string, string>>,
  client: S3Client,
): Promise<void> {
  const buckets = new Set<string>();
  for (const env of Object.values(functions)) {
    const uris = [
      env[ENV_VARS.provenancePolicyS3],
      env[ENV_VARS.provenanceNotationTrustStore],
      ...Object.values(
        JSON.parse(env[ENV_VARS.provenanceTrustedRoots] ?? '{}') as Record<string, string>,
      ),
    ];
    for (const uri of uris) {
      const bucket = uri === undefined ? undefined : parseS3Uri(uri)?.bucket;
      if (bucket !== undefined) buckets.add(bucket);
    }
  }
  for (const bucket of buckets) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      if (!(error instanceof Error && /BucketAlready(OwnedByYou|Exists)/.test(error.name)))
        throw error;
    }
  }
}

/** Creates every table, queue, topic and bucket of the template; safe to run again. */
/**
 * Secrets Manager has no local emulator: a secret gets an ARN of the local account so that the
 * functions' configuration validates; tests that read it fake the SDK client at its boundary.
 */
function nameSecrets(template: CfnTemplate, local: Record<string, LocalResource>): void {
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::SecretsManager::Secret')) {
    const arn = `arn:aws:secretsmanager:${LOCAL_REGION}:000000000000:secret:${logicalId}-local`;
    local[logicalId] = { type: resource.Type, ref: arn, attributes: {} };
  }
}

export async function createLocalResources(
  template: CfnTemplate,
  endpoints: LocalEndpoints,
): Promise<LocalResources> {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  // fauxqs answers with queue URLs on a made-up host; send every call to its endpoint instead.
  const sqs = new SQSClient({
    ...common,
    endpoint: endpoints.fauxqs,
    useQueueUrlAsEndpoint: false,
  });
  const sns = new SNSClient({ ...common, endpoint: endpoints.fauxqs });
  const s3 = new S3Client({ ...common, endpoint: endpoints.fauxqs, forcePathStyle: true });
  try {
    const local: Record<string, LocalResource> = {};
    await createTables(template, dynamodb, local);
    await createQueues(template, sqs, local);
    await createTopics(template, sns, local);
    await createBuckets(template, s3, local);
    nameSecrets(template, local);
    const functions = functionEnvironments(template, local, endpoints);
    await createProvenanceBuckets(functions, s3);
    return { resources: local, functions };
  } finally {
    for (const client of [dynamodb, sqs, sns, s3]) client.destroy();
  }
}
