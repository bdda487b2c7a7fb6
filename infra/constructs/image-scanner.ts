import { Arn, CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_RESCAN_WINDOW_DAYS, ENV_VARS } from '../../shared/config/env.js';
import { DEFAULT_OSV_ECOSYSTEMS } from '../../shared/feeds/registry.js';
import { LAYER_CACHE_PREFIX } from '../../shared/stores/s3.js';
import { BosunFunction } from './bosun-function.js';
import { QueueWithDlq } from './queue-with-dlq.js';
import { BosunTables } from './tables.js';

export interface ImageScannerProps {
  /**
   * ECR repositories to scan: exact names, or prefixes ending in `*` (`team-a/*`). Push and
   * delete events of other repositories are not delivered, and the scan role can pull only
   * from these.
   * @default every repository of the stack's account and region
   */
  readonly repositories?: readonly string[];
  /** @default Duration.minutes(5) */
  readonly scanTimeout?: Duration;
  /** @default 2048 */
  readonly scanMemoryMiB?: number;
  /** Messages per scan invocation. @default 1 */
  readonly scanBatchSize?: number;
  /**
   * Visibility timeout of the scan queue; AWS asks for at least 6x the function timeout.
   * @default 6 x scanTimeout
   */
  readonly scanQueueVisibilityTimeout?: Duration;
  /** Receives before a scan or rescan message is dead-lettered. @default 3 */
  readonly maxReceiveCount?: number;
  /** How often advisory feeds are synced. @default Duration.hours(1) */
  readonly feedSyncInterval?: Duration;
  /** @default Duration.minutes(10) */
  readonly feedSyncTimeout?: Duration;
  /**
   * OSV ecosystems to sync (folder names of OSV's export: `PyPI`, `Debian`, `crates.io`, ...).
   * @default DEFAULT_OSV_ECOSYSTEMS
   */
  readonly feedEcosystems?: readonly string[];
  /**
   * Registry hosts (`host[:port]`) whose push notifications the webhook accepts.
   * @default none: the webhook refuses every notification until registries are listed
   */
  readonly webhookRegistries?: readonly string[];
  /** Base URL of an OSV-layout export (a mirror). @default OSV's public bucket */
  readonly osvBaseUrl?: string;
  /**
   * Days since an image's last push during which advisory changes rescan it; older images are
   * not rescanned and their findings close. `'LIFETIME'`: no limit. @default 90
   */
  readonly rescanWindowDays?: number | 'LIFETIME';
  /** @default Duration.minutes(5) */
  readonly rescanTimeout?: Duration;
  /** Alarm when the oldest waiting scan is older than this. @default Duration.minutes(15) */
  readonly maxScanAge?: Duration;
  /**
   * Where findings are published. Its key policy must let Bosun's functions publish.
   * @default a new KMS-encrypted, TLS-only topic
   */
  readonly findingsTopic?: sns.ITopic;
  /** Receives alarm state changes. @default alarms have no action */
  readonly alarmTopic?: sns.ITopic;
  /** Destination of the reports bucket's access logs. @default a new bucket */
  readonly accessLogsBucket?: s3.IBucket;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Applies to tables, bucket, keys and log groups. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

// ECR repository names: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REPOSITORY_PREFIX = /^[a-z0-9][a-z0-9._/-]*$/;

interface RepositoryFilter {
  readonly exact: string[];
  readonly prefixes: string[];
}

function parseRepositories(repositories: readonly string[]): RepositoryFilter {
  if (repositories.length === 0) {
    throw new Error(
      'repositories must name at least one repository or prefix; omit it to scan all',
    );
  }
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const entry of repositories) {
    if (entry.endsWith('*')) {
      const prefix = entry.slice(0, -1);
      if (!REPOSITORY_PREFIX.test(prefix)) {
        throw new Error(
          `repository prefix "${entry}" is not valid: use a name start followed by one '*', e.g. "team-a/*"`,
        );
      }
      prefixes.push(prefix);
    } else if (REPOSITORY_NAME.test(entry) && entry.length >= 2 && entry.length <= 256) {
      exact.push(entry);
    } else {
      throw new Error(
        `repository "${entry}" is not a valid ECR repository name (lowercase, digits, ".", "_", "-", "/")`,
      );
    }
  }
  return { exact, prefixes };
}

/** The logical id cdk-nag prints for a resource's `Fn::GetAtt` ARN. */
function tableArnLogicalId(resource: dynamodb.Table | s3.Bucket): string {
  const element = resource.node.defaultChild;
  if (!(element instanceof CfnElement))
    throw new Error(`${resource.node.path} has no CloudFormation resource`);
  return Stack.of(resource).getLogicalId(element);
}

/**
 * Renders a token string the way cdk-nag prints it in finding ids: pseudo parameters and
 * references in angle brackets (`arn:<AWS::Partition>:ecr:...`).
 */
function renderForNag(stack: Stack, value: string): string {
  const render = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (node !== null && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (typeof obj.Ref === 'string') return `<${obj.Ref}>`;
      const join = obj['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map(render).join(join[0]);
      }
    }
    throw new Error(`cannot render ${JSON.stringify(node)} for a cdk-nag finding id`);
  };
  return render(stack.resolve(value));
}

function checkDuration(name: string, value: Duration, min: Duration, max: Duration): void {
  if (Token.isUnresolved(value.toSeconds())) return;
  const seconds = value.toSeconds();
  if (seconds < min.toSeconds() || seconds > max.toSeconds()) {
    throw new Error(
      `${name} must be between ${min.toHumanString()} and ${max.toHumanString()}, got ${value.toHumanString()}`,
    );
  }
}

/**
 * Bosun's scanning service: ECR push/delete events to a scan queue, the scan, rescan and
 * feed-sync functions, their tables, the findings topic, the reports bucket and the alarms.
 */
export class ImageScanner extends Construct {
  readonly tables: BosunTables;
  readonly scanQueue: QueueWithDlq;
  readonly rescanQueue: QueueWithDlq;
  /** Sync requests: the schedule's, and continuations of syncs that ran out of time. */
  readonly feedSyncQueue: QueueWithDlq;
  /** Receives ECR events and schedule invocations EventBridge could not deliver. */
  readonly eventsDlq: sqs.Queue;
  readonly findingsTopic: sns.ITopic;
  readonly reportsBucket: s3.Bucket;
  readonly scanFunction: BosunFunction;
  readonly rescanFunction: BosunFunction;
  readonly feedSyncFunction: BosunFunction;
  readonly pushRule: events.Rule;
  readonly deleteRule: events.Rule;
  readonly feedSyncRule: events.Rule;
  /** Receives push notifications of other registries (CNCF distribution's envelope). */
  readonly webhookFunction: BosunFunction;
  readonly webhookUrl: lambda.FunctionUrl;
  /** The shared secret registries send as `Authorization: Bearer <secret>`. */
  readonly webhookSecret: secretsmanager.Secret;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ImageScannerProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const logLevel = props.logLevel ?? 'INFO';
    const maxReceiveCount = props.maxReceiveCount ?? 3;
    const filter =
      props.repositories === undefined ? undefined : parseRepositories(props.repositories);

    const scanTimeout = props.scanTimeout ?? Duration.minutes(5);
    const rescanTimeout = props.rescanTimeout ?? Duration.minutes(5);
    const feedSyncTimeout = props.feedSyncTimeout ?? Duration.minutes(10);
    for (const [name, value] of [
      ['scanTimeout', scanTimeout],
      ['rescanTimeout', rescanTimeout],
      ['feedSyncTimeout', feedSyncTimeout],
    ] as const) {
      checkDuration(name, value, Duration.seconds(10), Duration.minutes(15));
    }
    const scanVisibility =
      props.scanQueueVisibilityTimeout ?? Duration.seconds(scanTimeout.toSeconds() * 6);
    // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-queueconfig
    checkDuration(
      'scanQueueVisibilityTimeout',
      scanVisibility,
      Duration.seconds(scanTimeout.toSeconds() * 6),
      Duration.hours(12),
    );
    const scanMemory = props.scanMemoryMiB ?? 2048;
    if (!Number.isInteger(scanMemory) || scanMemory < 512 || scanMemory > 10240) {
      throw new Error(`scanMemoryMiB must be an integer from 512 to 10240, got ${scanMemory}`);
    }
    const scanBatchSize = props.scanBatchSize ?? 1;
    if (!Number.isInteger(scanBatchSize) || scanBatchSize < 1 || scanBatchSize > 10) {
      throw new Error(`scanBatchSize must be an integer from 1 to 10, got ${scanBatchSize}`);
    }
    const feedSyncInterval = props.feedSyncInterval ?? Duration.hours(1);
    checkDuration('feedSyncInterval', feedSyncInterval, Duration.minutes(5), Duration.days(7));

    const rescanWindow = props.rescanWindowDays ?? DEFAULT_RESCAN_WINDOW_DAYS;
    if (
      rescanWindow !== 'LIFETIME' &&
      (!Number.isInteger(rescanWindow) || rescanWindow < 1 || rescanWindow > 99_999)
    )
      throw new Error(
        `rescanWindowDays must be an integer from 1 to 99999 or 'LIFETIME', got ${rescanWindow}`,
      );

    this.tables = new BosunTables(this, 'Tables', { removalPolicy });
    this.scanQueue = new QueueWithDlq(this, 'ScanQueue', {
      visibilityTimeout: scanVisibility,
      maxReceiveCount,
    });
    this.rescanQueue = new QueueWithDlq(this, 'RescanQueue', {
      visibilityTimeout: Duration.seconds(rescanTimeout.toSeconds() * 6),
      maxReceiveCount,
    });
    this.feedSyncQueue = new QueueWithDlq(this, 'FeedSyncQueue', {
      visibilityTimeout: Duration.seconds(feedSyncTimeout.toSeconds() * 6),
      maxReceiveCount,
    });
    const feedEcosystems = props.feedEcosystems ?? DEFAULT_OSV_ECOSYSTEMS;
    if (
      feedEcosystems.length === 0 ||
      feedEcosystems.some((e) => e.trim() === '' || e.includes(','))
    )
      throw new Error(
        `feedEcosystems must be a non-empty list of OSV ecosystem names without commas, got ${JSON.stringify(feedEcosystems)}`,
      );
    if (props.osvBaseUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(props.osvBaseUrl))
      throw new Error(`osvBaseUrl must be an http(s) URL, got ${JSON.stringify(props.osvBaseUrl)}`);
    this.eventsDlq = new sqs.Queue(this, 'EventsDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.eventsDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of EventBridge rule targets, which cdk-nag does not recognise as DLQ use.',
    });

    this.findingsTopic = props.findingsTopic ?? this.createFindingsTopic(removalPolicy);
    this.reportsBucket = this.createReportsBucket(removalPolicy, props.accessLogsBucket);

    const env = {
      [ENV_VARS.imagesTable]: this.tables.images.tableName,
      [ENV_VARS.inventoriesTable]: this.tables.inventories.tableName,
      [ENV_VARS.advisoriesTable]: this.tables.advisories.tableName,
      [ENV_VARS.findingsTable]: this.tables.findings.tableName,
      [ENV_VARS.findingsTopicArn]: this.findingsTopic.topicArn,
      [ENV_VARS.reportsBucket]: this.reportsBucket.bucketName,
      [ENV_VARS.rescanWindow]: String(rescanWindow),
    };
    const common = { logRetention, logLevel, removalPolicy };

    this.scanFunction = new BosunFunction(this, 'Scan', {
      ...common,
      handlerDir: 'scan',
      timeout: scanTimeout,
      memorySize: scanMemory,
      ephemeralStorageMiB: 4096,
      // Its last delivery records a scan that keeps failing as FAILED instead of leaving it
      // IN_PROGRESS when the message goes to the dead-letter queue.
      environment: { ...env, [ENV_VARS.scanMaxReceives]: String(maxReceiveCount) },
    });
    this.rescanFunction = new BosunFunction(this, 'Rescan', {
      ...common,
      handlerDir: 'rescan',
      timeout: rescanTimeout,
      memorySize: 1024,
      environment: env,
    });
    this.feedSyncFunction = new BosunFunction(this, 'FeedSync', {
      ...common,
      handlerDir: 'feed-sync',
      timeout: feedSyncTimeout,
      memorySize: 1024,
      // all.zip of a large ecosystem is downloaded to /tmp before it is read.
      ephemeralStorageMiB: 2048,
      environment: {
        ...env,
        [ENV_VARS.rescanQueueUrl]: this.rescanQueue.queue.queueUrl,
        [ENV_VARS.feedSyncQueueUrl]: this.feedSyncQueue.queue.queueUrl,
        [ENV_VARS.feedEcosystems]: feedEcosystems.join(','),
        ...(props.osvBaseUrl === undefined ? {} : { [ENV_VARS.osvBaseUrl]: props.osvBaseUrl }),
      },
    });

    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description: 'Shared secret that registries send with their push notifications to Bosun',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      removalPolicy,
    });
    Validations.of(this.webhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret is also configured in each registry that notifies Bosun; rotating it is a coordinated change (docs: README, Registry webhook).',
    });
    this.webhookFunction = new BosunFunction(this, 'RegistryWebhook', {
      ...common,
      handlerDir: 'registry-webhook',
      timeout: Duration.seconds(30),
      memorySize: 512,
      environment: {
        [ENV_VARS.scanQueueUrl]: this.scanQueue.queue.queueUrl,
        [ENV_VARS.webhookSecretArn]: this.webhookSecret.secretArn,
        ...(props.webhookRegistries === undefined || props.webhookRegistries.length === 0
          ? {}
          : { [ENV_VARS.webhookRegistries]: props.webhookRegistries.join(',') }),
      },
    });
    // Registries cannot sign requests with SigV4: the function checks the shared secret itself.
    this.webhookUrl = this.webhookFunction.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
    });
    this.webhookSecret.grantRead(this.webhookFunction.function);
    this.scanQueue.queue.grantSendMessages(this.webhookFunction.function);

    this.grantAccess(filter);

    this.scanFunction.function.addEventSource(
      new SqsEventSource(this.scanQueue.queue, {
        batchSize: scanBatchSize,
        reportBatchItemFailures: true,
      }),
    );
    this.rescanFunction.function.addEventSource(
      new SqsEventSource(this.rescanQueue.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
      }),
    );

    // One sync at a time per message; a long sync continues through this queue.
    this.feedSyncFunction.function.addEventSource(
      new SqsEventSource(this.feedSyncQueue.queue, { batchSize: 1, reportBatchItemFailures: true }),
    );

    // https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
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
    const toScanQueue = new targets.SqsQueue(this.scanQueue.queue, {
      deadLetterQueue: this.eventsDlq,
      retryAttempts: 8,
      maxEventAge: Duration.hours(24),
    });
    this.pushRule = new events.Rule(this, 'EcrPushRule', {
      description: 'ECR image pushes to scan',
      eventPattern: ecrPattern('PUSH'),
      targets: [toScanQueue],
    });
    this.deleteRule = new events.Rule(this, 'EcrDeleteRule', {
      description: 'ECR image deletions whose findings close',
      eventPattern: ecrPattern('DELETE'),
      targets: [toScanQueue],
    });
    this.feedSyncRule = new events.Rule(this, 'FeedSyncSchedule', {
      description: 'Advisory feed sync',
      schedule: events.Schedule.rate(feedSyncInterval),
      targets: [
        new targets.SqsQueue(this.feedSyncQueue.queue, {
          message: events.RuleTargetInput.fromObject({ version: 1 }),
          deadLetterQueue: this.eventsDlq,
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    this.createAlarms(props.maxScanAge ?? Duration.minutes(15), props.alarmTopic);
  }

  private createFindingsTopic(removalPolicy: RemovalPolicy): sns.Topic {
    const key = new kms.Key(this, 'FindingsTopicKey', {
      description: 'Encrypts Bosun findings notifications',
      enableKeyRotation: true,
      removalPolicy,
    });
    // Subscribed SQS queues and other AWS services read through SNS, which must decrypt.
    key.grant(new iam.ServicePrincipal('sns.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    return new sns.Topic(this, 'FindingsTopic', {
      displayName: 'Bosun findings',
      masterKey: key,
      enforceSSL: true,
    });
  }

  private createReportsBucket(
    removalPolicy: RemovalPolicy,
    accessLogsBucket: s3.IBucket | undefined,
  ): s3.Bucket {
    const logsBucket =
      accessLogsBucket ??
      new s3.Bucket(this, 'AccessLogsBucket', {
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        lifecycleRules: [{ expiration: Duration.days(365) }],
        removalPolicy,
      });
    if (accessLogsBucket === undefined) {
      Validations.of(logsBucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'This bucket is the access-log destination; logging it into itself would loop.',
      });
    }
    return new s3.Bucket(this, 'ReportsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: logsBucket,
      serverAccessLogsPrefix: 'reports/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30) },
        // Per-layer results are a cache: a layer unseen for 30 days is read again if it returns.
        { prefix: LAYER_CACHE_PREFIX, expiration: Duration.days(30) },
      ],
      removalPolicy,
    });
  }

  private grantAccess(filter: RepositoryFilter | undefined): void {
    const stack = Stack.of(this);
    const { images, inventories, advisories, findings } = this.tables;
    const scan = this.scanFunction.function;
    const rescan = this.rescanFunction.function;
    const feedSync = this.feedSyncFunction.function;

    // Pull access, scoped to the configured repositories.
    // https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html
    const repositoryArn = (resourceName: string) =>
      Arn.format({ service: 'ecr', resource: 'repository', resourceName }, stack);
    const repositoryArns =
      filter === undefined
        ? [repositoryArn('*')]
        : [
            ...filter.exact.map(repositoryArn),
            ...filter.prefixes.map((p) => repositoryArn(`${p}*`)),
          ];
    const pullPolicy = new iam.Policy(this, 'EcrPullPolicy', {
      statements: [
        new iam.PolicyStatement({
          actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:DescribeImages'],
          resources: repositoryArns,
        }),
        // GetAuthorizationToken is registry-wide and supports no resource-level permissions.
        new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
      ],
    });
    pullPolicy.attachToRole(scan.role as iam.IRole);
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

    images.grantReadWriteData(scan);
    inventories.grantReadWriteData(scan);
    findings.grantReadWriteData(scan);
    advisories.grantReadData(scan);
    this.reportsBucket.grantPut(scan);
    // The layer cache is read back; nothing else in the bucket is. Listing that prefix lets S3
    // answer a missing key with 404 (a cache miss) rather than 403.
    scan.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.reportsBucket.arnForObjects(`${LAYER_CACHE_PREFIX}*`)],
      }),
    );
    scan.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.reportsBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${LAYER_CACHE_PREFIX}*`] } },
      }),
    );
    this.findingsTopic.grantPublish(scan);

    // Rescans commit findings generations on the image record and hold its lease.
    images.grantReadWriteData(rescan);
    inventories.grantReadData(rescan);
    findings.grantReadWriteData(rescan);
    advisories.grantReadData(rescan);
    this.findingsTopic.grantPublish(rescan);

    advisories.grantReadWriteData(feedSync);
    this.rescanQueue.queue.grantSendMessages(feedSync);
    this.feedSyncQueue.queue.grantSendMessages(feedSync);

    // Each wildcard is acknowledged finding by finding, so a new one still fails the synth.
    const indexes = (...tables: dynamodb.Table[]) =>
      tables.map(
        (table) => `AwsSolutions-IAM5[Resource::<${tableArnLogicalId(table)}.Arn>/index/*]`,
      );
    const publishKey =
      this.findingsTopic.masterKey === undefined
        ? []
        : ['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'];
    const acknowledge = (fn: BosunFunction, ids: string[], reason: string) => {
      for (const id of ids)
        Validations.of(fn.function.role as iam.Role).acknowledge({ id, reason });
    };
    const indexReason =
      'Table grants cover "<table>/index/*" so a function can query its own table\'s indexes (docs/data-model.md).';
    const keyReason =
      'Publishing to the KMS-encrypted findings topic needs kms:GenerateDataKey* on that one key.';
    acknowledge(this.scanFunction, indexes(images, inventories, findings, advisories), indexReason);
    acknowledge(
      this.rescanFunction,
      indexes(images, inventories, findings, advisories),
      indexReason,
    );
    acknowledge(this.feedSyncFunction, indexes(advisories), indexReason);
    acknowledge(this.scanFunction, publishKey, keyReason);
    acknowledge(this.rescanFunction, publishKey, keyReason);
    acknowledge(
      this.scanFunction,
      [
        'AwsSolutions-IAM5[Action::s3:Abort*]',
        `AwsSolutions-IAM5[Resource::<${tableArnLogicalId(this.reportsBucket)}.Arn>/*]`,
      ],
      'The scan function writes report and SBOM objects, of any key, into the one reports bucket (and may abort its own multipart uploads).',
    );
    acknowledge(
      this.scanFunction,
      [
        `AwsSolutions-IAM5[Resource::<${tableArnLogicalId(this.reportsBucket)}.Arn>/${LAYER_CACHE_PREFIX}*]`,
      ],
      'The scan function reads back per-layer results, keyed by layer digest, under the layer-cache prefix of the reports bucket.',
    );
  }

  private createAlarms(maxScanAge: Duration, alarmTopic: sns.ITopic | undefined): void {
    const eventsDlqAlarm = this.eventsDlq
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) })
      .createAlarm(this, 'EventsDlqDepthAlarm', {
        alarmDescription: 'EventBridge could not deliver ECR events or the feed-sync schedule',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const scanAgeAlarm = this.scanQueue.queue
      .metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' })
      .createAlarm(this, 'ScanAgeAlarm', {
        alarmDescription: `A pushed image has waited more than ${maxScanAge.toHumanString()} to be scanned`,
        threshold: maxScanAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.alarms.push(
      this.scanQueue.dlqAlarm,
      this.rescanQueue.dlqAlarm,
      this.feedSyncQueue.dlqAlarm,
      eventsDlqAlarm,
      scanAgeAlarm,
      this.scanFunction.errorsAlarm,
      this.rescanFunction.errorsAlarm,
      this.feedSyncFunction.errorsAlarm,
      this.webhookFunction.errorsAlarm,
    );
    if (alarmTopic !== undefined) {
      const action = new cwActions.SnsAction(alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}
