import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';
import { acknowledgeIndexGrants, acknowledgePublishKey } from './nag.js';
import { QueueWithDlq } from './queue-with-dlq.js';
import type { BosunTables } from './tables.js';

export interface RescanProps {
  readonly timeout: Duration;
  /** Receives before a rescan message is dead-lettered. */
  readonly maxReceiveCount: number;
  readonly functionDefaults: BosunFunctionDefaults;
  /** Variables every data function gets: tables, topic, bucket, rescan window. */
  readonly environment: Readonly<Record<string, string>>;
  readonly tables: BosunTables;
  readonly findingsTopic: sns.ITopic;
  /** Where the sweep schedule's undeliverable events go. */
  readonly eventsDlq: sqs.IQueue;
  /**
   * How often suppressions and VEX documents that expired are swept (their findings re-open).
   * @default Duration.hours(1)
   */
  readonly decisionSweepInterval?: Duration;
}

export interface Rescan {
  /** Images to match again, sent by feed-sync when advisories change. */
  readonly queue: QueueWithDlq;
  readonly function: BosunFunction;
}

/**
 * Rescan queue (with DLQ) -> rescan function, which matches stored inventories against changed
 * advisories. Created in `scope` itself (`RescanQueue`, `Rescan`) to keep the logical ids of
 * deployed stacks.
 */
export function buildRescan(scope: Construct, props: RescanProps): Rescan {
  const queue = new QueueWithDlq(scope, 'RescanQueue', {
    // AWS asks for at least 6x the consumer's timeout.
    visibilityTimeout: Duration.seconds(props.timeout.toSeconds() * 6),
    maxReceiveCount: props.maxReceiveCount,
  });
  const fn = new BosunFunction(scope, 'Rescan', {
    ...props.functionDefaults,
    handlerDir: 'rescan',
    timeout: props.timeout,
    memorySize: 1024,
    environment: props.environment,
  });

  // Rescans commit findings generations on the image record and hold its lease.
  const { images, inventories, advisories, findings } = props.tables;
  images.grantReadWriteData(fn.function);
  inventories.grantReadData(fn.function);
  findings.grantReadWriteData(fn.function);
  advisories.grantReadData(fn.function);
  props.findingsTopic.grantPublish(fn.function);
  acknowledgeIndexGrants(fn, [images, inventories, findings, advisories]);
  acknowledgePublishKey(fn, props.findingsTopic);

  fn.function.addEventSource(
    new SqsEventSource(queue.queue, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(5),
      reportBatchItemFailures: true,
    }),
  );
  // Suppressions and VEX documents that expired since the last sweep re-open their findings
  // (shared/pipeline/decisions.ts); the same queue, so a sweep and a rescan never overlap on
  // one image (each holds the image's lease anyway).
  new events.Rule(scope, 'DecisionSweepSchedule', {
    description: 'Sweep of expired suppressions and VEX documents',
    schedule: events.Schedule.rate(props.decisionSweepInterval ?? Duration.hours(1)),
    targets: [
      new targets.SqsQueue(queue.queue, {
        message: events.RuleTargetInput.fromObject({
          version: 1,
          kind: 'sweep-expired-decisions',
        }),
        deadLetterQueue: props.eventsDlq,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    ],
  });
  return { queue, function: fn };
}
