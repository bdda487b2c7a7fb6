import type { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

export interface FindingsTopicProps {
  /** Applies to the topic's key. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The findings topic, KMS-encrypted with its own rotating key and TLS-only. Its resources are
 * created in `scope` itself (`FindingsTopicKey`, `FindingsTopic`), which keeps their logical ids.
 */
export function buildFindingsTopic(scope: Construct, props: FindingsTopicProps): sns.Topic {
  const key = new kms.Key(scope, 'FindingsTopicKey', {
    description: 'Encrypts Bosun findings notifications',
    enableKeyRotation: true,
    removalPolicy: props.removalPolicy,
  });
  // Subscribed SQS queues and other AWS services read through SNS, which must decrypt.
  key.grant(new iam.ServicePrincipal('sns.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
  return new sns.Topic(scope, 'FindingsTopic', {
    displayName: 'Bosun findings',
    masterKey: key,
    enforceSSL: true,
  });
}
