/**
 * The workload inventory in the construct: the audit function's variables (and the scan's and
 * rescan's, which judge after their commits), the ECS task state change rule and the reconcile
 * schedule, its least-privilege IAM, the EKS access entries, and the prop's checks.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { AUDIT_TABLE_ACTIONS } from '../../infra/constructs/audit.js';
import type { ImageScannerProps } from '../../infra/constructs/image-scanner.js';
import { ENV_VARS } from '../../shared/config/env.js';
import { AUDIT_CONFIG } from '../../shared/pipeline/aws.js';
import { synthScanner } from './support.js';

type Template = ReturnType<typeof synthScanner>['template'];
interface Statement {
  Action: string | string[];
  Resource: unknown;
}
type Resource = { Properties: Record<string, unknown> };

/** Renders `Fn::Join` / `Ref` / `Fn::GetAtt` with logical ids' hashes left out. */
function render(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(render);
  const obj = value as Record<string, unknown>;
  if (typeof obj.Ref === 'string') return `<${obj.Ref.replace(/[0-9A-F]{8}$/, '')}>`;
  const att = obj['Fn::GetAtt'] as [string, string] | undefined;
  if (att !== undefined) return `<${att[0].replace(/[0-9A-F]{8}$/, '')}.${att[1]}>`;
  const join = obj['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map((p) => render(p)).join(join[0]);
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, render(v)]));
}

const functions = (template: Template, service: string) =>
  Object.entries(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } },
    }),
  ) as [string, Resource][];

function env(template: Template, service: string): Record<string, unknown> {
  const [fn] = functions(template, service);
  if (fn === undefined) throw new Error(`no function ${service}`);
  return render(
    (fn[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables,
  ) as Record<string, unknown>;
}

/** The audit role's statements, rendered, logs left out. */
function statements(template: Template): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] };
  }[];
  return policies
    .filter((p) => p.Properties.Roles.some((r) => /^ScannerAuditRole/.test(r.Ref)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s) => !JSON.stringify(s.Action).includes('logs:'))
    .map((s) => ({ Action: s.Action, Resource: render(s.Resource) }));
}

const rules = (template: Template) =>
  Object.values(template.findResources('AWS::Events::Rule')) as Resource[];
const targetsAudit = (rule: Resource) =>
  JSON.stringify(rule.Properties.Targets).includes('ScannerAuditFunction');

const ECS = 'arn:<AWS::Partition>:ecs:eu-west-1:123456789012';
const LAMBDA = 'arn:<AWS::Partition>:lambda:eu-west-1:123456789012';

describe('the audit function', () => {
  it('is on by default: ECS and Lambda, HIGH, the push window, every variable its handler reads', () => {
    const { template } = synthScanner();
    const vars = env(template, 'bosun-audit');
    expect(vars).toMatchObject({
      [ENV_VARS.auditSources]: 'ecs,lambda',
      [ENV_VARS.auditSeverity]: 'HIGH',
      [ENV_VARS.scanQueueUrl]: '<ScannerScanQueue>',
      [ENV_VARS.imagesTable]: '<ScannerTablesImages>',
      [ENV_VARS.findingsTable]: '<ScannerTablesFindings>',
      [ENV_VARS.findingsTopicArn]: '<ScannerFindingsTopic>',
    });
    expect(vars).not.toHaveProperty(ENV_VARS.auditEksClusters);
    expect(vars).not.toHaveProperty(ENV_VARS.auditRegions);
    const optional = ['auditEksClusters', 'auditRegions', 'registryEndpoints', 'region'];
    for (const key of AUDIT_CONFIG.filter((k) => !k.endsWith('Endpoint') && !optional.includes(k)))
      expect(vars, key).toHaveProperty(ENV_VARS[key]);
    const [fn] = functions(template, 'bosun-audit');
    expect(fn?.[1].Properties).toMatchObject({ Timeout: 600 });
  });

  it('gives the scan and rescan the severity and the window mode: they judge after their commits', () => {
    const { template } = synthScanner({
      audit: { vulnerableSeverity: 'CRITICAL', rescanWindowFrom: 'use' },
    });
    for (const service of ['bosun-scan', 'bosun-rescan', 'bosun-audit'])
      expect(env(template, service), service).toMatchObject({
        [ENV_VARS.auditSeverity]: 'CRITICAL',
        [ENV_VARS.rescanWindowFrom]: 'use',
      });
  });

  it('names the EKS clusters and the regions the reconcile reads', () => {
    const { template } = synthScanner({
      audit: { eks: { clusters: ['prod', 'staging'] }, regions: ['eu-west-1', 'us-east-1'] },
    });
    expect(env(template, 'bosun-audit')).toMatchObject({
      [ENV_VARS.auditSources]: 'ecs,lambda,eks',
      [ENV_VARS.auditEksClusters]: 'prod,staging',
      [ENV_VARS.auditRegions]: 'eu-west-1,us-east-1',
    });
  });

  it('is not built with audit: false, and nothing judges', () => {
    const { template } = synthScanner({ audit: false });
    expect(functions(template, 'bosun-audit')).toEqual([]);
    expect(env(template, 'bosun-scan')).not.toHaveProperty(ENV_VARS.auditSeverity);
    expect(rules(template).filter(targetsAudit)).toEqual([]);
  });
});

describe('its rules', () => {
  it("receives ECS tasks' RUNNING and STOPPED state changes, and runs the reconcile every 15 minutes", () => {
    const { template } = synthScanner();
    const mine = rules(template).filter(targetsAudit);
    expect(mine.map((r) => r.Properties.EventPattern ?? r.Properties.ScheduleExpression)).toEqual(
      expect.arrayContaining([
        {
          source: ['aws.ecs'],
          'detail-type': ['ECS Task State Change'],
          detail: { lastStatus: ['RUNNING', 'STOPPED'] },
        },
        'rate(15 minutes)',
      ]),
    );
    // The third: new task-definition revisions (test/unit/infra/taskdef-checks.test.ts).
    expect(mine).toHaveLength(3);
    // Undeliverable events go to the events dead-letter queue, as the other rules'.
    for (const rule of mine)
      expect(render(rule.Properties.Targets)).toMatchObject([
        {
          DeadLetterConfig: { Arn: '<ScannerEventsDlq.Arn>' },
          RetryPolicy: { MaximumRetryAttempts: 2 },
        },
      ]);
  });

  it('has no ECS rule with ecs: false, and the schedule the prop gives', () => {
    const { template } = synthScanner({
      audit: { ecs: false, reconcileSchedule: events.Schedule.rate(Duration.hours(1)) },
    });
    const mine = rules(template).filter(targetsAudit);
    expect(mine.map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(1 hour)']);
    expect(env(template, 'bosun-audit')[ENV_VARS.auditSources]).toBe('lambda');
  });
});

describe('its IAM', () => {
  it('reads ECS and Lambda, scoped where the API allows; the tables as the use case needs; sends scans; publishes', () => {
    const { template } = synthScanner();
    expect(statements(template)).toEqual(
      expect.arrayContaining([
        {
          Action: [
            'ecs:ListClusters',
            'ecs:ListTasks',
            'ecs:DescribeTaskDefinition',
            'lambda:ListFunctions',
          ],
          Resource: '*',
        },
        { Action: 'ecs:DescribeTasks', Resource: `${ECS}:task/*` },
        { Action: 'lambda:GetFunction', Resource: `${LAMBDA}:function:*` },
        {
          Action: [...AUDIT_TABLE_ACTIONS.images],
          Resource: ['<ScannerTablesImages.Arn>', '<ScannerTablesImages.Arn>/index/*'],
        },
        { Action: [...AUDIT_TABLE_ACTIONS.findings], Resource: '<ScannerTablesFindings.Arn>' },
        { Action: 'sqs:SendMessage', Resource: '<ScannerScanQueue.Arn>' },
        { Action: 'sns:Publish', Resource: '<ScannerFindingsTopic>' },
      ]),
    );
    const actions = statements(template).flatMap((s) => s.Action);
    // Read-only control-plane calls, and nothing deleted from the tables.
    expect(actions.filter((a) => /^(ecs|lambda|eks):/.test(a)).sort()).toEqual([
      'ecs:DescribeTaskDefinition',
      'ecs:DescribeTasks',
      'ecs:ListClusters',
      'ecs:ListTasks',
      'lambda:GetFunction',
      'lambda:ListFunctions',
    ]);
    // BatchWriteItem only for the checks' own partitions (test/unit/infra/taskdef-checks.test.ts).
    expect(actions.filter((a) => /Delete|Update|Scan$|BatchWrite/.test(a))).toEqual([
      'dynamodb:BatchWriteItem',
    ]);
    expect(AUDIT_TABLE_ACTIONS).toEqual({
      images: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
      findings: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
    });
  });

  it('describes only the named EKS clusters, reads each region named, and nothing of a source turned off', () => {
    const { template } = synthScanner({
      audit: { lambda: false, eks: { clusters: ['prod'] }, regions: ['eu-west-1', 'us-east-1'] },
    });
    const all = statements(template);
    expect(all).toEqual(
      expect.arrayContaining([
        {
          Action: 'eks:DescribeCluster',
          Resource: 'arn:<AWS::Partition>:eks:eu-west-1:123456789012:cluster/prod',
        },
        {
          Action: 'ecs:DescribeTasks',
          Resource: [`${ECS}:task/*`, 'arn:<AWS::Partition>:ecs:us-east-1:123456789012:task/*'],
        },
      ]),
    );
    expect(JSON.stringify(all)).not.toContain('lambda:');
  });

  it("creates each named cluster's access entry with AmazonEKSViewPolicy on the cluster, unless told not to", () => {
    const { template } = synthScanner({ audit: { eks: { clusters: ['prod'] } } });
    const entries = Object.values(template.findResources('AWS::EKS::AccessEntry')) as Resource[];
    expect(entries.map((e) => render(e.Properties))).toEqual([
      {
        ClusterName: 'prod',
        PrincipalArn: '<ScannerAuditRole.Arn>',
        Type: 'STANDARD',
        AccessPolicies: [
          {
            PolicyArn: 'arn:<AWS::Partition>:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
            AccessScope: { Type: 'cluster' },
          },
        ],
      },
    ]);
    const manual = synthScanner({ audit: { eks: { clusters: ['prod'], accessEntry: false } } });
    manual.template.resourceCountIs('AWS::EKS::AccessEntry', 0);
  });

  it('passes cdk-nag with EKS and several regions', () => {
    const { app } = synthScanner({
      repositories: ['team-a/*'],
      audit: { eks: { clusters: ['prod'] }, regions: ['eu-west-1', 'us-east-1'] },
    });
    expect(() => app.synth()).not.toThrow();
  });
});

describe('the audit prop', () => {
  it.each<[ImageScannerProps['audit'], RegExp]>([
    [
      { eks: { clusters: ['not a name'] } },
      /audit\.eks\.clusters: "not a name" is not an EKS cluster name/,
    ],
    [{ eks: { clusters: [] } }, /name at least one cluster/],
    [
      { vulnerableSeverity: 'SEVERE' as 'HIGH' },
      /vulnerableSeverity must be one of CRITICAL, HIGH, MEDIUM, LOW, got "SEVERE"/,
    ],
    [{ rescanWindowFrom: 'pull' as 'use' }, /rescanWindowFrom must be 'push' or 'use', got "pull"/],
    [{ regions: ['Europe'] }, /audit\.regions: "Europe" is not an AWS region/],
    [{ ecs: false, lambda: false }, /no source left to read/],
  ])('refuses %j', (audit, message) => {
    expect(() => synthScanner({ audit })).toThrow(message);
  });
});
