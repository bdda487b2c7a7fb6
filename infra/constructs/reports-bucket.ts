import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { LAYER_CACHE_PREFIX } from '../../shared/stores/s3.js';

export interface ReportsBucketProps {
  /** Applies to the reports bucket and to the access-logs bucket created here. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Destination of the reports bucket's access logs. A bucket of this stack gets the bucket
   * policy statement that lets S3's log delivery write there; an imported bucket must already
   * have it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general).
   * @default a new bucket
   */
  readonly accessLogsBucket?: s3.IBucket;
}

/** Key prefix of the reports bucket's access logs in the log bucket. */
const ACCESS_LOG_PREFIX = 'reports/';

/**
 * The versioned, encrypted, private bucket of reports, SBOMs and the layer cache, with access
 * logging. Its resources are created in `scope` itself (`AccessLogsBucket`, `ReportsBucket`),
 * which keeps their logical ids.
 */
export function buildReportsBucket(scope: Construct, props: ReportsBucketProps): s3.Bucket {
  const { removalPolicy, accessLogsBucket } = props;
  // ACLs disabled (BucketOwnerEnforced): S3 server access logging is then granted by a bucket
  // policy for logging.s3.amazonaws.com, not by the legacy LogDeliveryWrite ACL.
  const logsBucket =
    accessLogsBucket ??
    new s3.Bucket(scope, 'AccessLogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
    });
  if (accessLogsBucket === undefined) {
    Validations.of(logsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the access-log destination; logging it into itself would loop.',
    });
  }
  const bucket = new s3.Bucket(scope, 'ReportsBucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    lifecycleRules: [
      { noncurrentVersionExpiration: Duration.days(30) },
      // Per-layer results are a cache: a layer unseen for 30 days is read again if it returns.
      { prefix: LAYER_CACHE_PREFIX, expiration: Duration.days(30) },
    ],
    removalPolicy,
  });
  // Set on the L1 rather than with `serverAccessLogsBucket`, which (without the
  // `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` flag, unset in apps that use the
  // construct) would put the LogDeliveryWrite ACL back on the log bucket.
  (bucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
    destinationBucketName: logsBucket.bucketName,
    logFilePrefix: ACCESS_LOG_PREFIX,
  };
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general
  // The policy names the reports bucket, so it is created after it (as CDK's own bucket-policy
  // log delivery, the `serverAccessLogsUseBucketPolicy` flag, does it).
  logsBucket.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [logsBucket.arnForObjects(`${ACCESS_LOG_PREFIX}*`)],
      conditions: {
        ArnLike: { 'aws:SourceArn': bucket.bucketArn },
        StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
      },
    }),
  );
  return bucket;
}
