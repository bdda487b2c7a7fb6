import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface EventsDlq {
  readonly queue: sqs.Queue;
  /** Fires as soon as one event is dead-lettered. */
  readonly alarm: cloudwatch.Alarm;
}

/**
 * The dead-letter queue of every EventBridge target (ECR events, the feed-sync schedule) and its
 * alarm, created in `scope` itself (`EventsDlq`, `EventsDlqDepthAlarm`) to keep their logical ids.
 */
export function buildEventsDlq(scope: Construct): EventsDlq {
  const queue = new sqs.Queue(scope, 'EventsDlq', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is the dead-letter queue of EventBridge rule targets, which cdk-nag does not recognise as DLQ use.',
  });
  const alarm = queue
    .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) })
    .createAlarm(scope, 'EventsDlqDepthAlarm', {
      alarmDescription: 'EventBridge could not deliver ECR events or the feed-sync schedule',
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  return { queue, alarm };
}
