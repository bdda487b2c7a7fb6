import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface QueueWithDlqProps {
  /** How long a received message stays invisible; at least 6x the consumer's timeout. */
  readonly visibilityTimeout: Duration;
  /**
   * Receives before a message moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long dead letters are kept for inspection and redrive.
   * @default 14 days (the SQS maximum)
   */
  readonly dlqRetention?: Duration;
}

/** Returns `value` if SQS accepts it as a redrive policy's `maxReceiveCount`, else throws. */
export function checkMaxReceiveCount(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw new Error(`maxReceiveCount must be an integer from 1 to 1000, got ${value}`);
  }
  return value;
}

/**
 * An SQS queue with its dead-letter queue, both SSE-encrypted and TLS-only, and an alarm that
 * fires as soon as one message is dead-lettered.
 */
export class QueueWithDlq extends Construct {
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
  readonly dlqAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    const maxReceiveCount = checkMaxReceiveCount(props.maxReceiveCount ?? 5);
    this.dlq = new sqs.Queue(this, 'Dlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.dlqRetention ?? Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: { queue: this.dlq, maxReceiveCount },
    });
    this.dlqAlarm = this.dlq
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) })
      .createAlarm(this, 'DlqDepthAlarm', {
        alarmDescription: `Messages reached the dead-letter queue of ${this.node.path}`,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }
}
