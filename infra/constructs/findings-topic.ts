import type { RemovalPolicy } from 'aws-cdk-lib';
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
  const topic = new sns.Topic(scope, 'FindingsTopic', {
    displayName: 'Bosun findings',
    masterKey: key,
    enforceSSL: true,
  });
  // No statement for a service principal: SNS uses the key on behalf of whoever publishes,
  // with that principal's own permissions (the publishers' roles get them from `grantPublish`),
  // and subscribers need none (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
  // An AWS service that should publish here (an alarm, an EventBridge rule) needs its own
  // statement, with `aws:SourceArn` naming that source, added by whoever wires it.
  return topic;
}
