import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { LAYER_CACHE_PREFIX } from '../../shared/stores/s3.js';

export interface ReportsBucketProps {
  /** Applies to the reports bucket and to the access-logs bucket created here. */
  readonly removalPolicy: RemovalPolicy;
  /** Destination of the reports bucket's access logs. @default a new bucket */
  readonly accessLogsBucket?: s3.IBucket;
}

/**
 * The versioned, encrypted, private bucket of reports, SBOMs and the layer cache, with access
 * logging. Its resources are created in `scope` itself (`AccessLogsBucket`, `ReportsBucket`),
 * which keeps their logical ids.
 */
export function buildReportsBucket(scope: Construct, props: ReportsBucketProps): s3.Bucket {
  const { removalPolicy, accessLogsBucket } = props;
  const logsBucket =
    accessLogsBucket ??
    new s3.Bucket(scope, 'AccessLogsBucket', {
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
  return new s3.Bucket(scope, 'ReportsBucket', {
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
