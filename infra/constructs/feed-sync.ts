import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV_VARS } from '../../shared/config/env.js';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';
import { acknowledgeIndexGrants } from './nag.js';
import { QueueWithDlq } from './queue-with-dlq.js';
import type { BosunTables } from './tables.js';

export interface FeedSyncProps {
  /** How often the schedule asks for a sync. */
  readonly interval: Duration;
  readonly timeout: Duration;
  /** Receives before a sync request is dead-lettered. */
  readonly maxReceiveCount: number;
  /** OSV ecosystems to sync. */
  readonly ecosystems: readonly string[];
  /** Publishers' own feeds synced (VENDOR_SOURCES ids). */
  readonly vendorSources: readonly string[];
  /** NVD's API key, for the `nvd` feed (a plain string secret). @default none: NVD's lower rate */
  readonly nvdApiKeySecret?: secretsmanager.ISecret;
  /** Base URL of an OSV-layout export. @default OSV's public bucket */
  readonly osvBaseUrl?: string;
  readonly functionDefaults: BosunFunctionDefaults;
  /** Variables every data function gets: tables, topic, bucket, rescan window. */
  readonly environment: Readonly<Record<string, string>>;
  readonly tables: BosunTables;
  /** Where images affected by changed advisories are sent. */
  readonly rescanQueue: sqs.IQueue;
  /** Receives schedule invocations EventBridge could not deliver. */
  readonly eventsDlq: sqs.IQueue;
}

export interface FeedSync {
  /** Sync requests: the schedule's, and continuations of syncs that ran out of time. */
  readonly queue: QueueWithDlq;
  readonly function: BosunFunction;
  readonly schedule: events.Rule;
}

/**
 * Schedule -> feed-sync queue (with DLQ) -> feed-sync function, which writes advisories and
 * sends affected images to the rescan queue. Created in `scope` itself (`FeedSyncQueue`,
 * `FeedSync`, `FeedSyncSchedule`) to keep the logical ids of deployed stacks.
 */
export function buildFeedSync(scope: Construct, props: FeedSyncProps): FeedSync {
  const queue = new QueueWithDlq(scope, 'FeedSyncQueue', {
    // AWS asks for at least 6x the consumer's timeout.
    visibilityTimeout: Duration.seconds(props.timeout.toSeconds() * 6),
    maxReceiveCount: props.maxReceiveCount,
  });
  const fn = new BosunFunction(scope, 'FeedSync', {
    ...props.functionDefaults,
    handlerDir: 'feed-sync',
    timeout: props.timeout,
    memorySize: 1024,
    // all.zip of a large ecosystem is downloaded to /tmp before it is read.
    ephemeralStorageMiB: 2048,
    environment: {
      ...props.environment,
      [ENV_VARS.rescanQueueUrl]: props.rescanQueue.queueUrl,
      [ENV_VARS.feedSyncQueueUrl]: queue.queue.queueUrl,
      [ENV_VARS.feedEcosystems]: props.ecosystems.join(','),
      [ENV_VARS.feedVendorSources]: props.vendorSources.join(','),
      ...(props.osvBaseUrl === undefined ? {} : { [ENV_VARS.osvBaseUrl]: props.osvBaseUrl }),
      ...(props.nvdApiKeySecret === undefined
        ? {}
        : { [ENV_VARS.nvdApiKeySecretArn]: props.nvdApiKeySecret.secretArn }),
    },
  });
  props.nvdApiKeySecret?.grantRead(fn.function);

  props.tables.advisories.grantReadWriteData(fn.function);
  props.rescanQueue.grantSendMessages(fn.function);
  queue.queue.grantSendMessages(fn.function);
  acknowledgeIndexGrants(fn, [props.tables.advisories]);

  // One sync at a time per message; a long sync continues through this queue.
  fn.function.addEventSource(
    new SqsEventSource(queue.queue, { batchSize: 1, reportBatchItemFailures: true }),
  );
  const schedule = new events.Rule(scope, 'FeedSyncSchedule', {
    description: 'Advisory feed sync',
    schedule: events.Schedule.rate(props.interval),
    targets: [
      new targets.SqsQueue(queue.queue, {
        message: events.RuleTargetInput.fromObject({ version: 1 }),
        deadLetterQueue: props.eventsDlq,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    ],
  });
  return { queue, function: fn, schedule };
}
