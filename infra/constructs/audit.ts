import { Arn, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AUDIT_SEVERITIES, ENV_VARS, type RescanWindowFrom } from '../../shared/config/env.js';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';
import { acknowledgeOnRole, acknowledgePublishKey, arnLogicalId, renderForNag } from './nag.js';
import type { BosunTables } from './tables.js';

/**
 * The workload inventory (docs/audit.md, "Workload inventory"): what runs in ECS, Lambda and
 * EKS, and what Bosun says of it (RUNNING_UNSCANNED, RUNNING_VULNERABLE, RUNNING_STALE,
 * RUNNING_DELETED).
 */
export interface AuditProps {
  /** ECS tasks: their state change events, and the reconcile. @default true */
  readonly ecs?: boolean;
  /** Lambda container-image functions, read by the reconcile. @default true */
  readonly lambda?: boolean;
  /**
   * EKS clusters of the stack's account and region whose pods the reconcile lists.
   * `accessEntry` (default true) creates each cluster's EKS access entry for the audit role with
   * AmazonEKSViewPolicy on the cluster, which needs the cluster's authentication mode to be API
   * or API_AND_CONFIG_MAP; false: map the role yourself (docs/audit.md, "EKS access").
   * @default none: EKS is not read
   */
  readonly eks?: { readonly clusters: readonly string[]; readonly accessEntry?: boolean };
  /** How often every source is read again. @default Schedule.rate(Duration.minutes(15)) */
  readonly reconcileSchedule?: events.Schedule;
  /** RUNNING_VULNERABLE at or above this severity, or known exploited. @default 'HIGH' */
  readonly vulnerableSeverity?: (typeof AUDIT_SEVERITIES)[number];
  /**
   * What the rescan window counts from: the last push, or the later of the last push and the
   * last time a workload ran the image (Amazon Inspector's "last in use"). @default 'push'
   */
  readonly rescanWindowFrom?: RescanWindowFrom;
  /**
   * Regions whose ECS tasks and Lambda functions the reconcile reads (ECS events come from the
   * stack's region only: EventBridge rules are regional). @default the stack's region
   */
  readonly regions?: readonly string[];
}

/** AuditProps checked, defaults applied (`buildAudit`'s input). */
export interface AuditSettings {
  readonly ecs: boolean;
  readonly lambda: boolean;
  readonly eksClusters: readonly string[];
  readonly eksAccessEntry: boolean;
  readonly reconcileSchedule: events.Schedule;
  readonly vulnerableSeverity: (typeof AUDIT_SEVERITIES)[number];
  readonly rescanWindowFrom: RescanWindowFrom;
  readonly regions: readonly string[] | undefined;
}

// https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html (name)
const EKS_CLUSTER = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Checks the `audit` prop; `undefined` when it is `false`. Messages name the bad value. */
export function auditSettings(prop: AuditProps | false | undefined): AuditSettings | undefined {
  if (prop === false) return undefined;
  const p = prop ?? {};
  const clusters = p.eks?.clusters ?? [];
  for (const name of clusters)
    if (!EKS_CLUSTER.test(name))
      throw new Error(`audit.eks.clusters: ${JSON.stringify(name)} is not an EKS cluster name`);
  if (p.eks !== undefined && clusters.length === 0)
    throw new Error('audit.eks.clusters: name at least one cluster, or leave eks out');
  const severity = p.vulnerableSeverity ?? 'HIGH';
  if (!(AUDIT_SEVERITIES as readonly string[]).includes(severity))
    throw new Error(
      `audit.vulnerableSeverity must be one of ${AUDIT_SEVERITIES.join(', ')}, got ${JSON.stringify(severity)}`,
    );
  const from = p.rescanWindowFrom ?? 'push';
  if (from !== 'push' && from !== 'use')
    throw new Error(`audit.rescanWindowFrom must be 'push' or 'use', got ${JSON.stringify(from)}`);
  for (const region of p.regions ?? [])
    if (!REGION.test(region))
      throw new Error(`audit.regions: ${JSON.stringify(region)} is not an AWS region`);
  if (p.ecs === false && p.lambda === false && clusters.length === 0)
    throw new Error(
      'audit: no source left to read (ecs, lambda and eks are all off); use audit: false',
    );
  return {
    ecs: p.ecs ?? true,
    lambda: p.lambda ?? true,
    eksClusters: [...new Set(clusters)],
    eksAccessEntry: p.eks?.accessEntry ?? true,
    reconcileSchedule: p.reconcileSchedule ?? events.Schedule.rate(Duration.minutes(15)),
    vulnerableSeverity: severity,
    rescanWindowFrom: from,
    regions: p.regions === undefined ? undefined : [...new Set(p.regions)],
  };
}

/** The variables the scan and rescan read too: they judge the workloads of what they commit. */
export function auditEnvironment(settings: AuditSettings): Record<string, string> {
  return {
    [ENV_VARS.auditSeverity]: settings.vulnerableSeverity,
    [ENV_VARS.rescanWindowFrom]: settings.rescanWindowFrom,
  };
}

export interface AuditFunctionProps {
  readonly settings: AuditSettings;
  readonly functionDefaults: BosunFunctionDefaults;
  /** Tables, topic, bucket, window, and auditEnvironment's variables. */
  readonly environment: Readonly<Record<string, string>>;
  readonly tables: BosunTables;
  readonly findingsTopic: sns.ITopic;
  readonly scanQueue: sqs.IQueue;
  readonly eventsDlq: sqs.IQueue;
}

export interface AuditFunction {
  readonly function: BosunFunction;
  /** ECS task state changes (RUNNING, STOPPED); undefined with `ecs: false`. */
  readonly taskRule?: events.Rule;
  /** New task-definition revisions (CloudTrail RegisterTaskDefinition); undefined with `ecs: false`. */
  readonly taskDefinitionRule?: events.Rule;
  readonly schedule: events.Rule;
  readonly accessEntries: readonly eks.CfnAccessEntry[];
}

/** The CloudTrail record of a successful RegisterTaskDefinition call, as EventBridge delivers it. */
export const TASK_DEFINITION_PATTERN: events.EventPattern = {
  source: ['aws.ecs'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['ecs.amazonaws.com'],
    eventName: ['RegisterTaskDefinition'],
    errorCode: events.Match.doesNotExist(),
  },
};

/**
 * The audit function, its rules (ECS task state changes, the reconcile schedule), its
 * least-privilege IAM, and the EKS access entries of the named clusters. Created in `scope`
 * (`Audit`, `AuditTaskRule`, `AuditSchedule`, `Audit*Policy`), like the other patterns.
 */
export function buildAudit(scope: Construct, props: AuditFunctionProps): AuditFunction {
  const s = props.settings;
  const sources = [
    ...(s.ecs ? ['ecs'] : []),
    ...(s.lambda ? ['lambda'] : []),
    ...(s.eksClusters.length > 0 ? ['eks'] : []),
  ];
  const fn = new BosunFunction(scope, 'Audit', {
    ...props.functionDefaults,
    handlerDir: 'audit',
    // Below the default 15-minute schedule, so that passes do not pile up.
    timeout: Duration.minutes(10),
    memorySize: 512,
    environment: {
      ...props.environment,
      [ENV_VARS.scanQueueUrl]: props.scanQueue.queueUrl,
      [ENV_VARS.auditSources]: sources.join(','),
      ...(s.eksClusters.length === 0
        ? {}
        : { [ENV_VARS.auditEksClusters]: s.eksClusters.join(',') }),
      ...(s.regions === undefined ? {} : { [ENV_VARS.auditRegions]: s.regions.join(',') }),
    },
  });
  grantStores(fn, props);
  grantSources(scope, fn, s);

  const target = () =>
    new targets.LambdaFunction(fn.function, {
      deadLetterQueue: props.eventsDlq,
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });
  // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
  const taskRule = s.ecs
    ? new events.Rule(scope, 'AuditTaskRule', {
        description: 'ECS tasks running or stopped: the workload inventory',
        eventPattern: {
          source: ['aws.ecs'],
          detailType: ['ECS Task State Change'],
          detail: { lastStatus: ['RUNNING', 'STOPPED'] },
        },
        targets: [target()],
      })
    : undefined;
  // ECS sends no event of its own for a new revision: the RegisterTaskDefinition call reaches
  // EventBridge through CloudTrail, which needs a trail logging management events in the
  // region (https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html,
  // docs/audit.md). A refused call registered nothing: its record carries an errorCode.
  const taskDefinitionRule = s.ecs
    ? new events.Rule(scope, 'AuditTaskDefinitionRule', {
        description: 'New ECS task-definition revisions (CloudTrail): their checks',
        eventPattern: TASK_DEFINITION_PATTERN,
        targets: [target()],
      })
    : undefined;
  const schedule = new events.Rule(scope, 'AuditSchedule', {
    description: 'Workload inventory reconcile (ECS, Lambda, EKS)',
    schedule: s.reconcileSchedule,
    targets: [target()],
  });
  const accessEntries = s.eksAccessEntry
    ? s.eksClusters.map(
        (clusterName, i) =>
          new eks.CfnAccessEntry(scope, `AuditEksAccess${i}`, {
            clusterName,
            principalArn: (fn.function.role as iam.IRole).roleArn,
            type: 'STANDARD',
            // The Kubernetes `view` permissions on every namespace: list pods, never secrets
            // (https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html).
            accessPolicies: [
              {
                policyArn: `arn:${Stack.of(scope).partition}:eks::aws:cluster-access-policy/AmazonEKSViewPolicy`,
                accessScope: { type: 'cluster' },
              },
            ],
          }),
      )
    : [];
  return {
    function: fn,
    ...(taskRule === undefined ? {} : { taskRule }),
    ...(taskDefinitionRule === undefined ? {} : { taskDefinitionRule }),
    schedule,
    accessEntries,
  };
}

/**
 * DynamoDB actions of the audit (pipeline/audit.ts, stores/workload-store.ts): in the images
 * table, workload, in-use and judgement items (GetItem; conditional puts and transactions,
 * authorized item by item as PutItem:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html),
 * a digest's partition (Query) and the running workloads of a source on the index (Query), image
 * and tag records read; in the findings table, a digest's findings (Query) and the sent-message
 * markers (GetItem, PutItem). Nothing is deleted, but for the checks of task definitions and
 * workloads in their own partitions (BatchWriteItem under a LeadingKeys condition, grantStores).
 */
export const AUDIT_TABLE_ACTIONS = {
  images: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
  findings: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
} as const;

/** The findings-table partitions of checks whose subject is not an image (checks-store.ts). */
export const AUDIT_CHECKS_KEYS = 'CHECKS#*';

function grantStores(fn: BosunFunction, props: AuditFunctionProps): void {
  const { images, findings } = props.tables;
  const role = fn.function;
  role.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [...AUDIT_TABLE_ACTIONS.images],
      resources: [images.tableArn, `${images.tableArn}/index/*`],
    }),
  );
  role.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [...AUDIT_TABLE_ACTIONS.findings],
      resources: [findings.tableArn],
    }),
  );
  // The checks of task definitions and workloads (stores/checks-store.ts) are written in
  // batches; BatchWriteItem can delete too, so it is held to their own partitions
  // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
  role.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:BatchWriteItem'],
      resources: [findings.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [AUDIT_CHECKS_KEYS] } },
    }),
  );
  role.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['sqs:SendMessage'],
      resources: [props.scanQueue.queueArn],
    }),
  );
  props.findingsTopic.grantPublish(role);
  acknowledgePublishKey(fn, props.findingsTopic);
  acknowledgeOnRole(
    fn,
    [`AwsSolutions-IAM5[Resource::<${arnLogicalId(images)}.Arn>/index/*]`],
    "The reconcile lists a source's running workloads through the images table's index (docs/data-model.md, Workloads).",
  );
}

/**
 * The read-only control-plane calls of each source, scoped where the service authorization
 * reference allows:
 * - ECS (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html):
 *   ListClusters and DescribeTaskDefinition have no resource type ("*"); DescribeTasks is on
 *   `task/*`. ListTasks is listed there on container instances (with an ecs:cluster
 *   condition), but a policy scoped so is reported not to allow it, tasks on Fargate having no
 *   container instance (https://github.com/awsdocs/amazon-ecs-developer-guide/issues/211): it
 *   is given on "*"; it returns task ARNs only.
 * - Lambda (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html):
 *   ListFunctions has no resource type ("*"); GetFunction is on `function:*`.
 * - EKS (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelastickubernetesservice.html):
 *   DescribeCluster on each named cluster. Listing pods is Kubernetes RBAC (the access entry),
 *   not IAM; the token is a presigned sts:GetCallerIdentity, which needs no permission.
 */
function grantSources(scope: Construct, fn: BosunFunction, s: AuditSettings): void {
  const stack = Stack.of(scope);
  const regions = s.regions ?? [stack.region];
  const arn = (
    service: string,
    region: string,
    resource: string,
    resourceName: string,
    sep = ArnFormat.SLASH_RESOURCE_NAME,
  ) => Arn.format({ service, region, resource, resourceName, arnFormat: sep }, stack);
  const statements: iam.PolicyStatement[] = [];
  const anyResource: string[] = [];
  const wildcards: string[] = [];
  if (s.ecs) {
    anyResource.push('ecs:ListClusters', 'ecs:ListTasks', 'ecs:DescribeTaskDefinition');
    const tasks = regions.map((r) => arn('ecs', r, 'task', '*'));
    statements.push(new iam.PolicyStatement({ actions: ['ecs:DescribeTasks'], resources: tasks }));
    wildcards.push(...tasks);
  }
  if (s.lambda) {
    anyResource.push('lambda:ListFunctions');
    const functions = regions.map((r) =>
      arn('lambda', r, 'function', '*', ArnFormat.COLON_RESOURCE_NAME),
    );
    statements.push(
      new iam.PolicyStatement({ actions: ['lambda:GetFunction'], resources: functions }),
    );
    wildcards.push(...functions);
  }
  if (s.eksClusters.length > 0)
    statements.push(
      new iam.PolicyStatement({
        actions: ['eks:DescribeCluster'],
        resources: s.eksClusters.map((c) => arn('eks', stack.region, 'cluster', c)),
      }),
    );
  if (anyResource.length > 0)
    statements.push(new iam.PolicyStatement({ actions: anyResource, resources: ['*'] }));
  const policy = new iam.Policy(scope, 'AuditSourcesPolicy', { statements });
  policy.attachToRole(fn.function.role as iam.IRole);
  const ack = (id: string, reason: string) => Validations.of(policy).acknowledge({ id, reason });
  if (anyResource.length > 0)
    ack(
      'AwsSolutions-IAM5[Resource::*]',
      `${anyResource.join(', ')} support no resource-level permission (service authorization reference); they list clusters and functions and read task definitions, nothing else.`,
    );
  for (const w of wildcards)
    ack(
      `AwsSolutions-IAM5[Resource::${renderForNag(stack, w)}]`,
      'The reconcile reads every task and container-image function of the account in this region: what runs is not known before it is read.',
    );
}
