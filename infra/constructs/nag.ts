import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import type { BosunFunction } from './bosun-function.js';

/** The logical id cdk-nag prints for a resource's `Fn::GetAtt` ARN. */
export function arnLogicalId(resource: IConstruct): string {
  const element = resource.node.defaultChild;
  if (!(element instanceof CfnElement))
    throw new Error(`${resource.node.path} has no CloudFormation resource`);
  return Stack.of(resource).getLogicalId(element);
}

/**
 * Renders a token string the way cdk-nag prints it in finding ids: pseudo parameters and
 * references in angle brackets (`arn:<AWS::Partition>:ecr:...`).
 */
export function renderForNag(stack: Stack, value: string): string {
  const render = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (node !== null && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (typeof obj.Ref === 'string') return `<${obj.Ref}>`;
      const att = obj['Fn::GetAtt'];
      if (Array.isArray(att)) return `<${att.join('.')}>`;
      const join = obj['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map(render).join(join[0]);
      }
    }
    throw new Error(`cannot render ${JSON.stringify(node)} for a cdk-nag finding id`);
  };
  return render(stack.resolve(value));
}

/**
 * Acknowledges findings on a function's role finding by finding, never by rule, so that a new
 * wildcard still fails the synth.
 */
export function acknowledgeOnRole(fn: BosunFunction, ids: readonly string[], reason: string): void {
  for (const id of ids) Validations.of(fn.function.role as iam.Role).acknowledge({ id, reason });
}

/** Table grants also cover `<table>/index/*`. */
export function acknowledgeIndexGrants(fn: BosunFunction, tables: readonly dynamodb.Table[]): void {
  acknowledgeOnRole(
    fn,
    tables.map((table) => `AwsSolutions-IAM5[Resource::<${arnLogicalId(table)}.Arn>/index/*]`),
    'Table grants cover "<table>/index/*" so a function can query its own table\'s indexes (docs/data-model.md).',
  );
}

/** `grantPublish` on a KMS-encrypted topic adds `kms:GenerateDataKey*`. */
export function acknowledgePublishKey(fn: BosunFunction, topic: sns.ITopic): void {
  if (topic.masterKey === undefined) return;
  acknowledgeOnRole(
    fn,
    ['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'],
    'Publishing to the KMS-encrypted findings topic needs kms:GenerateDataKey* on that one key.',
  );
}
