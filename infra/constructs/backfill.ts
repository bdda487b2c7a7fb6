import { Arn, CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV_VARS } from '../../shared/config/env.js';
import {
  DEPLOY_TIME_PROPERTIES,
  DEPLOY_TIME_RESOURCE_TYPE,
} from '../../shared/events/custom-resource.js';
import { BACKFILL_PREFIX } from '../../shared/stores/backfill-store.js';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';
import { renderForNag } from './nag.js';
import type { RepositoryFilter } from './validate-props.js';

/**
 * The deploy-time backfill (docs/audit.md, "Backfill in the deployment"). Its id names it: a
 * stack update with the same id starts nothing; a new id starts a new backfill.
 */
export interface BackfillProps {
  /** @default 'initial' */
  readonly id?: string;
  /**
   * Exact repository names; with `prefixes`, a repository matching either is in scope. Each
   * must be among the construct's `repositories`.
   * @default the construct's `repositories` (its exact names, and its prefixes as `prefixes`)
   */
  readonly repositories?: readonly string[];
  /** Repository name prefixes (`team-a/`). @default the construct's prefixes */
  readonly prefixes?: readonly string[];
}

/** BackfillProps with the defaults applied and checked (validate-props.ts). */
export interface BackfillSettings {
  readonly id: string;
  readonly repositories?: readonly string[];
  readonly prefixes?: readonly string[];
}

export interface BackfillFunctionProps {
  /** `undefined`: no deploy-time backfill (the pull-time exclusions are still registered). */
  readonly backfill: BackfillSettings | undefined;
  /** The repositories the construct scans; the function describes only these. */
  readonly repositories: RepositoryFilter | undefined;
  readonly functionDefaults: BosunFunctionDefaults;
  readonly imagesTable: dynamodb.ITable;
  readonly scanQueue: sqs.IQueue;
  /** Roles that pull images for Bosun: their pulls must not update ECR's pull times. */
  readonly pullingRoles: readonly iam.IRole[];
}

export interface BackfillFunction {
  readonly function: BosunFunction;
  /** The deploy-time step: pull-time exclusions, then the deploy-time backfill. */
  readonly deployTime: CustomResource;
}

/**
 * The backfill function, its least-privilege IAM, and the deploy-time custom resource that
 * CloudFormation sends to it (no provider framework: the function answers CloudFormation
 * itself, so nothing else is deployed). Created in `scope` (`Backfill`, `Backfill*Policy`,
 * `DeployTime`), like the other patterns.
 */
export function buildBackfill(scope: Construct, props: BackfillFunctionProps): BackfillFunction {
  const fn = new BosunFunction(scope, 'Backfill', {
    ...props.functionDefaults,
    handlerDir: 'backfill',
    // The most one invocation may run: fewer continuations for a large registry.
    timeout: Duration.minutes(15),
    memorySize: 512,
    environment: {
      [ENV_VARS.imagesTable]: props.imagesTable.tableName,
      [ENV_VARS.scanQueueUrl]: props.scanQueue.queueUrl,
    },
    // It continues a long backfill by invoking itself (shared/pipeline/backfill-run.ts), which
    // Lambda's loop detection would stop after 16 invocations; the code stops the chain itself.
    recursiveLoop: lambda.RecursiveLoop.ALLOW,
  });
  const policies = [
    grantEcrRead(scope, fn, props.repositories),
    grantStores(scope, fn, props),
    grantSelfInvoke(scope, fn),
  ];

  const initial = props.backfill;
  const deployTime = new CustomResource(scope, 'DeployTime', {
    serviceToken: fn.function.functionArn,
    resourceType: DEPLOY_TIME_RESOURCE_TYPE,
    // The function answers at once (the backfill runs after the answer); a function that cannot
    // start fails the deployment in minutes, not CloudFormation's default hour.
    serviceTimeout: Duration.minutes(10),
    properties: {
      [DEPLOY_TIME_PROPERTIES.excludedPrincipals]: props.pullingRoles.map((r) => r.roleArn),
      ...(initial === undefined
        ? {}
        : {
            [DEPLOY_TIME_PROPERTIES.backfillId]: initial.id,
            ...(initial.repositories === undefined
              ? {}
              : { [DEPLOY_TIME_PROPERTIES.repositories]: [...initial.repositories] }),
            ...(initial.prefixes === undefined
              ? {}
              : { [DEPLOY_TIME_PROPERTIES.prefixes]: [...initial.prefixes] }),
          }),
    },
  });
  // The step calls ECR, DynamoDB, SQS and itself: only once every grant is in place.
  deployTime.node.addDependency(fn, ...policies);
  for (const role of props.pullingRoles) deployTime.node.addDependency(role);
  return { function: fn, deployTime };
}

/**
 * DescribeImages on the configured repositories; DescribeRepositories, which lists the whole
 * registry when it names no repository, on every repository of this account and region (the
 * service authorization reference gives it the `repository` resource type only:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html,
 * and a listing is authorized on `repository/*`); it returns names and settings, never images.
 * The pull-time exclusion actions act on the registry and take no resource: "*".
 */
function grantEcrRead(
  scope: Construct,
  fn: BosunFunction,
  filter: RepositoryFilter | undefined,
): iam.Policy {
  const stack = Stack.of(scope);
  const repositoryArn = (resourceName: string) =>
    Arn.format({ service: 'ecr', resource: 'repository', resourceName }, stack);
  const everyRepository = repositoryArn('*');
  const scoped =
    filter === undefined
      ? [everyRepository]
      : [...filter.exact.map(repositoryArn), ...filter.prefixes.map((p) => repositoryArn(`${p}*`))];
  const policy = new iam.Policy(scope, 'BackfillEcrPolicy', {
    statements: [
      new iam.PolicyStatement({
        actions: ['ecr:DescribeRepositories'],
        resources: [everyRepository],
      }),
      new iam.PolicyStatement({ actions: ['ecr:DescribeImages'], resources: scoped }),
      new iam.PolicyStatement({
        actions: ['ecr:ListPullTimeUpdateExclusions', 'ecr:RegisterPullTimeUpdateExclusion'],
        resources: ['*'],
      }),
    ],
  });
  policy.attachToRole(fn.function.role as iam.IRole);
  const ack = (id: string, reason: string) => Validations.of(policy).acknowledge({ id, reason });
  ack(
    'AwsSolutions-IAM5[Resource::*]',
    'The pull-time update exclusion actions act on the registry and take no resource ARN (docs/audit.md, pull-time hygiene).',
  );
  ack(
    `AwsSolutions-IAM5[Resource::${renderForNag(stack, everyRepository)}]`,
    'DescribeRepositories without repository names lists the registry and is authorized on all its repositories; it returns names, not images.',
  );
  for (const prefix of filter?.prefixes ?? [])
    ack(
      `AwsSolutions-IAM5[Resource::${renderForNag(stack, repositoryArn(`${prefix}*`))}]`,
      'The deployer configured this repository prefix: the backfill describes its images.',
    );
  return policy;
}

/**
 * The images table, only the backfill's partitions (`BACKFILL#<id>`: status, pages, ledger):
 * GetItem, Query and PutItem (each Put of a TransactWriteItems is authorized as PutItem:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
 * The scan queue: SendMessage only.
 */
function grantStores(scope: Construct, fn: BosunFunction, props: BackfillFunctionProps) {
  const policy = new iam.Policy(scope, 'BackfillStorePolicy', {
    statements: [
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
        resources: [props.imagesTable.tableArn],
        // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${BACKFILL_PREFIX}*`] },
        },
      }),
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [props.scanQueue.queueArn],
      }),
    ],
  });
  policy.attachToRole(fn.function.role as iam.IRole);
  return policy;
}

/**
 * lambda:InvokeFunction on the function's own ARN, for its continuations. In a policy of its
 * own: the function depends on its role's default policy, which could not name the function.
 */
function grantSelfInvoke(scope: Construct, fn: BosunFunction): iam.Policy {
  const policy = new iam.Policy(scope, 'BackfillInvokePolicy', {
    statements: [
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [fn.function.functionArn],
      }),
    ],
  });
  policy.attachToRole(fn.function.role as iam.IRole);
  return policy;
}
