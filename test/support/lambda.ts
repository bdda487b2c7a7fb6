import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

/** The context object the Lambda runtime passes; only what Powertools reads is meaningful. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/28/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** An SQS event as Lambda's event source mapping delivers it, one record per body. */
export function sqsEvent(bodies: string[], queueName = 'ScanQueue'): SQSEvent {
  const records: SQSRecord[] = bodies.map((body, i) => ({
    messageId: `message-${i}`,
    receiptHandle: `receipt-${i}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1732795200000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1732795200001',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${queueName}`,
    awsRegion: 'us-east-1',
  }));
  return { Records: records };
}

/** Environment a deployed function would have; values are shaped like the real ones. */
export const DEPLOYED_ENV = {
  AWS_REGION: 'us-east-1',
  BOSUN_IMAGES_TABLE: 'Bosun-ScannerTablesImages-1A2B3C',
  BOSUN_INVENTORIES_TABLE: 'Bosun-ScannerTablesInventories-1A2B3C',
  BOSUN_ADVISORIES_TABLE: 'Bosun-ScannerTablesAdvisories-1A2B3C',
  BOSUN_FINDINGS_TABLE: 'Bosun-ScannerTablesFindings-1A2B3C',
  BOSUN_RESCAN_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/Bosun-RescanQueue',
  BOSUN_FEED_SYNC_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/Bosun-FeedSyncQueue',
  BOSUN_FEED_ECOSYSTEMS: 'Go,crates.io',
  BOSUN_SCAN_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/Bosun-ScanQueue',
  BOSUN_WEBHOOK_SECRETS:
    'registry.example.com=arn:aws:secretsmanager:us-east-1:123456789012:secret:BosunWebhookSecret-AbCdEf',
  BOSUN_FINDINGS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:Bosun-FindingsTopic',
  BOSUN_REPORTS_BUCKET: 'bosun-reportsbucket-1a2b3c',
} as const;
