import { Arn, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV_VARS } from '../../shared/config/env.js';
import { LAYER_CACHE_PREFIX } from '../../shared/stores/s3.js';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';
import {
  acknowledgeIndexGrants,
  acknowledgeOnRole,
  acknowledgePublishKey,
  arnLogicalId,
  renderForNag,
} from './nag.js';
import { grantSignerRevocation, type ProvenanceWiring } from './provenance.js';
import { QueueWithDlq } from './queue-with-dlq.js';
import type { BosunTables } from './tables.js';
import type { RepositoryFilter } from './validate-props.js';

export interface ScanIngestProps {
  /**
   * Repositories whose pushes and deletions are delivered, and the only ones the scan role can
   * pull from.
   * @default every repository of the stack's account and region
   */
  readonly repositories?: RepositoryFilter;
  readonly timeout: Duration;
  /** At least 6x `timeout`. */
  readonly visibilityTimeout: Duration;
  readonly memorySize: number;
  /** Messages per invocation. */
  readonly batchSize: number;
  /** Receives before a scan message is dead-lettered. */
  readonly maxReceiveCount: number;
  /** Alarm when the oldest waiting scan is older than this. */
  readonly maxScanAge: Duration;
  readonly functionDefaults: BosunFunctionDefaults;
  /** Variables every data function gets: tables, topic, bucket, rescan window. */
  readonly environment: Readonly<Record<string, string>>;
  readonly tables: BosunTables;
  readonly reportsBucket: s3.Bucket;
  readonly findingsTopic: sns.ITopic;
  /** Receives the events EventBridge could not deliver to the scan queue. */
  readonly eventsDlq: sqs.IQueue;
  /** BOSUN_REGISTRY_ALLOWED_HOSTS, already checked (`registry=host` pairs, comma-separated). */
  readonly registryAllowedHosts?: string;
  /** The provenance policy's variables and reads, when one is configured. */
  readonly provenance?: ProvenanceWiring;
  /** Notation signatures may be AWS Signer's: the scan checks their revocation. */
  readonly signerRevocation?: boolean;
}

export interface ScanIngest {
  readonly queue: QueueWithDlq;
  readonly function: BosunFunction;
  readonly pushRule: events.Rule;
  readonly deleteRule: events.Rule;
  /** Fires when the oldest waiting scan is older than `maxScanAge`. */
  readonly ageAlarm: cloudwatch.Alarm;
}

/**
 * ECR push and delete events -> EventBridge rules -> scan queue (with DLQ) -> scan function,
 * with the scan function's ECR pull, table, bucket and topic grants.
 *
 * Like aws-solutions-constructs' `build*` helpers, it creates its resources in the `scope` it is
 * given rather than in a construct of its own: `ScanQueue`, `Scan`, `EcrPullPolicy`,
 * `EcrPushRule`, `EcrDeleteRule` and `ScanAgeAlarm` keep the construct paths, and so the logical
 * ids, of deployed stacks.
 */
export function buildScanIngest(scope: Construct, props: ScanIngestProps): ScanIngest {
  const queue = new QueueWithDlq(scope, 'ScanQueue', {
    visibilityTimeout: props.visibilityTimeout,
    maxReceiveCount: props.maxReceiveCount,
  });
  const fn = new BosunFunction(scope, 'Scan', {
    ...props.functionDefaults,
    handlerDir: 'scan',
    timeout: props.timeout,
    memorySize: props.memorySize,
    ephemeralStorageMiB: 4096,
    // Its last delivery records a scan that keeps failing as FAILED instead of leaving it
    // IN_PROGRESS when the message goes to the dead-letter queue.
    environment: {
      ...props.environment,
      [ENV_VARS.scanMaxReceives]: String(props.maxReceiveCount),
      ...(props.registryAllowedHosts === undefined
        ? {}
        : { [ENV_VARS.registryAllowedHosts]: props.registryAllowedHosts }),
      ...props.provenance?.environment,
    },
  });
  grantEcrPull(scope, fn, props.repositories);
  grantStores(fn, props);
  props.provenance?.grantRead(fn);
  if (props.signerRevocation === true) grantSignerRevocation(fn);

  fn.function.addEventSource(
    new SqsEventSource(queue.queue, {
      batchSize: props.batchSize,
      reportBatchItemFailures: true,
    }),
  );

  // https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
  const filter = props.repositories;
  const repositoryName =
    filter === undefined
      ? undefined
      : [...filter.exact, ...filter.prefixes.map((prefix) => ({ prefix }))];
  const ecrPattern = (actionType: 'PUSH' | 'DELETE'): events.EventPattern => ({
    source: ['aws.ecr'],
    detailType: ['ECR Image Action'],
    detail: {
      'action-type': [actionType],
      result: ['SUCCESS'],
      ...(repositoryName === undefined ? {} : { 'repository-name': repositoryName }),
    },
  });
  const toScanQueue = new targets.SqsQueue(queue.queue, {
    deadLetterQueue: props.eventsDlq,
    retryAttempts: 8,
    maxEventAge: Duration.hours(24),
  });
  const pushRule = new events.Rule(scope, 'EcrPushRule', {
    description: 'ECR image pushes to scan',
    eventPattern: ecrPattern('PUSH'),
    targets: [toScanQueue],
  });
  const deleteRule = new events.Rule(scope, 'EcrDeleteRule', {
    description: 'ECR image deletions whose findings close',
    eventPattern: ecrPattern('DELETE'),
    targets: [toScanQueue],
  });

  const ageAlarm = queue.queue
    .metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' })
    .createAlarm(scope, 'ScanAgeAlarm', {
      alarmDescription: `A pushed image has waited more than ${props.maxScanAge.toHumanString()} to be scanned`,
      threshold: props.maxScanAge.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  return { queue, function: fn, pushRule, deleteRule, ageAlarm };
}

/**
 * Pull access, scoped to the configured repositories, in a policy of its own (`id`): the scan's,
 * and the provenance pass's, which reads signature manifests and blobs beside the images. ECR's
 * ListImageReferrers (provenance discovery) is authorized by ecr:BatchGetImage on the repository
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListImageReferrers.html), so it
 * needs no action of its own.
 */
export function grantEcrPull(
  scope: Construct,
  fn: BosunFunction,
  filter: RepositoryFilter | undefined,
  id = 'EcrPullPolicy',
): void {
  const stack = Stack.of(scope);
  // https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html
  const repositoryArn = (resourceName: string) =>
    Arn.format({ service: 'ecr', resource: 'repository', resourceName }, stack);
  const repositoryArns =
    filter === undefined
      ? [repositoryArn('*')]
      : [...filter.exact.map(repositoryArn), ...filter.prefixes.map((p) => repositoryArn(`${p}*`))];
  const pullPolicy = new iam.Policy(scope, id, {
    statements: [
      new iam.PolicyStatement({
        actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:DescribeImages'],
        resources: repositoryArns,
      }),
      // GetAuthorizationToken is registry-wide and supports no resource-level permissions.
      new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    ],
  });
  pullPolicy.attachToRole(fn.function.role as iam.IRole);
  Validations.of(pullPolicy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ecr:GetAuthorizationToken is registry-wide and supports only "*" (AWS requirement).',
  });
  const wildcardArns =
    filter === undefined
      ? [repositoryArn('*')]
      : filter.prefixes.map((p) => repositoryArn(`${p}*`));
  for (const arn of wildcardArns) {
    Validations.of(pullPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${renderForNag(stack, arn)}]`,
      reason:
        filter === undefined
          ? 'No repositories were configured, so Bosun scans every repository of this account and region.'
          : 'The deployer configured this repository prefix.',
    });
  }
}

/**
 * DynamoDB actions the scan function calls, table by table (what the stores in shared/stores
 * send for the scan use case; `grantReadWriteData` would add Scan, UpdateItem, DeleteItem where
 * unused and ConditionCheckItem, which nothing sends). A conditional Put or Delete and each item
 * of a TransactWriteItems are authorized as PutItem/DeleteItem
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
 * An action missing here fails the scan in AWS only: test/infra/iam.test.ts pins this table.
 */
export const SCAN_TABLE_ACTIONS = {
  // getImage, repositoriesOf; recordPush/putImage/acquireLease (conditional puts and
  // transactions); releaseLease and markDeleted delete the lease and tag items.
  images: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  // putInventory (batch, then a conditional header put); deleteInventory (header delete, then a
  // batch of deletes); getInventory and packagesWithKeys read.
  inventories: [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
  ],
  // stored, suppressions and notified read; write and remove are batches; markNotified is a
  // conditional put. Nothing in the scan deletes a single findings item.
  findings: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
  // candidates queries the byPackage index; heads, repository CPEs and CVE facts are batch gets.
  advisories: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
} as const;

/** The scan writes images, inventories and findings, reads advisories, and writes reports. */
function grantStores(fn: BosunFunction, props: ScanIngestProps): void {
  const { images, inventories, advisories, findings } = props.tables;
  const { reportsBucket, findingsTopic } = props;
  const scan = fn.function;
  // Only the advisories table is queried by index; the scan reads its other tables by key.
  const statements: [readonly string[], string[]][] = [
    [SCAN_TABLE_ACTIONS.images, [images.tableArn]],
    [SCAN_TABLE_ACTIONS.inventories, [inventories.tableArn]],
    [SCAN_TABLE_ACTIONS.findings, [findings.tableArn]],
    [SCAN_TABLE_ACTIONS.advisories, [advisories.tableArn, `${advisories.tableArn}/index/*`]],
  ];
  for (const [actions, resources] of statements)
    scan.addToRolePolicy(new iam.PolicyStatement({ actions: [...actions], resources }));
  reportsBucket.grantPut(scan);
  // The layer cache is read back; nothing else in the bucket is. Listing that prefix lets S3
  // answer a missing key with 404 (a cache miss) rather than 403.
  scan.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [reportsBucket.arnForObjects(`${LAYER_CACHE_PREFIX}*`)],
    }),
  );
  scan.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [reportsBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${LAYER_CACHE_PREFIX}*`] } },
    }),
  );
  findingsTopic.grantPublish(scan);

  acknowledgeIndexGrants(fn, [advisories]);
  acknowledgePublishKey(fn, findingsTopic);
  const bucket = arnLogicalId(reportsBucket);
  acknowledgeOnRole(
    fn,
    ['AwsSolutions-IAM5[Action::s3:Abort*]', `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/*]`],
    'The scan function writes report and SBOM objects, of any key, into the one reports bucket (and may abort its own multipart uploads).',
  );
  acknowledgeOnRole(
    fn,
    [`AwsSolutions-IAM5[Resource::<${bucket}.Arn>/${LAYER_CACHE_PREFIX}*]`],
    'The scan function reads back per-layer results, keyed by layer digest, under the layer-cache prefix of the reports bucket.',
  );
}
