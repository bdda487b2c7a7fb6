import { ArnFormat, type RemovalPolicy, Stack } from 'aws-cdk-lib';
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
  const topic = new sns.Topic(scope, 'FindingsTopic', {
    displayName: 'Bosun findings',
    masterKey: key,
    enforceSSL: true,
  });
  // Subscribed SQS queues and other AWS services read through SNS, which must decrypt; only on
  // behalf of this stack's topics, in this account (the confused-deputy conditions:
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). The key policy cannot
  // `Ref` the topic (the topic names the key: a cycle), so the ARN is matched by the name
  // CloudFormation gives it, `<stack name>-<logical id>-<suffix>`
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html),
  // by its stack-name prefix only, so a generated name whose logical-id part is shortened still
  // matches (stack names have at most 128 characters, topic names up to 256).
  const stack = Stack.of(scope);
  const topicArnPattern = stack.formatArn({
    service: 'sns',
    resource: `${stack.stackName}-*`,
    arnFormat: ArnFormat.NO_RESOURCE_NAME,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': topicArnPattern },
      },
    }),
  );
  return topic;
}
