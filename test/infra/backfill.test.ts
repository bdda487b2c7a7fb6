/**
 * The backfill in the construct: the function's variables, its least-privilege IAM, the
 * deploy-time custom resource (CloudFormation sends it to the function itself) and its
 * properties, which a stack update with the same props leaves unchanged, so CloudFormation
 * sends no Update and no new backfill starts.
 */
import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { ImageScannerProps } from '../../infra/constructs/image-scanner.js';
import { validateProps } from '../../infra/constructs/validate-props.js';
import { ENV_VARS } from '../../shared/config/env.js';
import { DEPLOY_TIME_RESOURCE_TYPE } from '../../shared/events/custom-resource.js';
import { BACKFILL_CONFIG } from '../../shared/pipeline/aws.js';
import { synthScanner } from './support.js';

type Template = ReturnType<typeof synthScanner>['template'];
interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
type Resource = { Properties: Record<string, unknown>; DependsOn?: string[] };

const one = (template: Template, type: string, props: Record<string, unknown> = {}) => {
  const found = Object.entries(template.findResources(type, { Properties: props }));
  expect(found, type).toHaveLength(1);
  return found[0] as [string, Resource];
};

const backfillFunction = (template: Template) =>
  one(template, 'AWS::Lambda::Function', {
    Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'bosun-backfill' } },
  });

const deployTime = (template: Template) => one(template, DEPLOY_TIME_RESOURCE_TYPE);

/** Renders `Fn::Join` / `Ref` / `Fn::GetAtt` with logical ids' hashes left out. */
function render(value: unknown): unknown {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(render);
  const obj = value as Record<string, unknown>;
  if (typeof obj.Ref === 'string') return `<${obj.Ref.replace(/[0-9A-F]{8}$/, '')}>`;
  const att = obj['Fn::GetAtt'] as [string, string] | undefined;
  if (att !== undefined) return `<${att[0].replace(/[0-9A-F]{8}$/, '')}.${att[1]}>`;
  const join = obj['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map((p) => render(p)).join(join[0]);
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, render(v)]));
}

/** The backfill role's statements, rendered, logs left out. */
function statements(template: Template): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] };
  }[];
  return policies
    .filter((p) => p.Properties.Roles.some((r) => /^ScannerBackfillRole/.test(r.Ref)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s) => !JSON.stringify(s.Action).includes('logs:'))
    .map((s) => ({
      Action: s.Action,
      Resource: render(s.Resource),
      ...(s.Condition === undefined ? {} : { Condition: s.Condition }),
    }));
}

const ECR = 'arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository';

describe('the backfill function', () => {
  it('gets the images table and the scan queue, runs 15 minutes and may invoke itself', () => {
    const { template } = synthScanner();
    const [, fn] = backfillFunction(template);
    const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(render(vars[ENV_VARS.imagesTable])).toBe('<ScannerTablesImages>');
    expect(render(vars[ENV_VARS.scanQueueUrl])).toBe('<ScannerScanQueue>');
    // Every variable its handler reads but the region, which Lambda sets.
    for (const key of BACKFILL_CONFIG.filter((k) => !k.endsWith('Endpoint') && k !== 'region'))
      expect(vars).toHaveProperty(ENV_VARS[key]);
    expect(fn.Properties).toMatchObject({ Timeout: 900, RecursiveLoop: 'Allow' });
    // The stack names it in its outputs, for `aws lambda invoke` (docs/audit.md).
    const [fnId] = backfillFunction(template);
    expect(template.findOutputs('BackfillFunctionName').BackfillFunctionName?.Value).toEqual({
      Ref: fnId,
    });
  });

  it('is given exactly the ECR, DynamoDB, SQS and Lambda actions it calls, scoped where the APIs allow', () => {
    const { template } = synthScanner({ repositories: ['web', 'team-a/*'] });
    const [fnId] = backfillFunction(template);
    expect(statements(template)).toEqual([
      { Action: 'ecr:DescribeRepositories', Resource: `${ECR}/*` },
      { Action: 'ecr:DescribeImages', Resource: [`${ECR}/web`, `${ECR}/team-a/*`] },
      {
        Action: ['ecr:ListPullTimeUpdateExclusions', 'ecr:RegisterPullTimeUpdateExclusion'],
        Resource: '*',
      },
      {
        Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
        Resource: '<ScannerTablesImages.Arn>',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['BACKFILL#*'] } },
      },
      { Action: 'sqs:SendMessage', Resource: '<ScannerScanQueue.Arn>' },
      // Itself, and nothing else.
      { Action: 'lambda:InvokeFunction', Resource: `<${fnId.replace(/[0-9A-F]{8}$/, '')}.Arn>` },
    ]);
    // Without configured repositories, the whole registry of the account and region.
    const all = statements(synthScanner().template);
    expect(all.find((s) => s.Action === 'ecr:DescribeImages')?.Resource).toBe(`${ECR}/*`);
  });

  it('is cdk-nag clean with provenance, a custom backfill scope and none', () => {
    for (const props of [
      { repositories: ['web', 'team-a/*'], backfill: { id: 'again', prefixes: ['team-a/x'] } },
      { backfill: false as const },
      { provenance: { policy: { ssmParameter: '/bosun/provenance-policy' } } },
    ] satisfies ImageScannerProps[]) {
      const { app } = synthScanner(props);
      expect(() => app.synth()).not.toThrow();
    }
  });
});

describe('the deploy-time step', () => {
  it("is a custom resource CloudFormation sends to the backfill function, with the 'initial' backfill of the construct's repositories and the pulling roles", () => {
    const { template } = synthScanner({ repositories: ['web', 'team-a/*'] });
    const [fnId] = backfillFunction(template);
    const [, resource] = deployTime(template);
    expect(render(resource.Properties)).toEqual({
      ServiceToken: `<${fnId.replace(/[0-9A-F]{8}$/, '')}.Arn>`,
      ServiceTimeout: '600',
      BackfillId: 'initial',
      Repositories: ['web'],
      Prefixes: ['team-a/'],
      ExcludedPrincipals: ['<ScannerScanRole.Arn>'],
    });
    // Sent once every grant of the function is in place.
    const dependsOn = resource.DependsOn ?? [];
    for (const policy of ['BackfillEcrPolicy', 'BackfillStorePolicy', 'BackfillInvokePolicy'])
      expect(
        dependsOn.some((d) => d.startsWith(`Scanner${policy}`)),
        policy,
      ).toBe(true);
  });

  it('excludes the provenance role too when provenance pulls, and scans every repository without a filter', () => {
    const { template } = synthScanner({
      provenance: { policy: { ssmParameter: '/bosun/provenance-policy' } },
    });
    const props = render(deployTime(template)[1].Properties) as Record<string, unknown>;
    expect(props.ExcludedPrincipals).toEqual([
      '<ScannerScanRole.Arn>',
      '<ScannerProvenanceRole.Arn>',
    ]);
    expect(props).not.toHaveProperty('Repositories');
    expect(props).not.toHaveProperty('Prefixes');
  });

  it('keeps its properties when the stack is updated with the same backfill prop: CloudFormation sends no Update', () => {
    const props: ImageScannerProps = { repositories: ['web', 'team-a/*'] };
    const first = deployTime(synthScanner(props).template);
    const same = deployTime(synthScanner(props).template);
    // Other props changed: still the same resource, the same properties.
    const other = deployTime(
      synthScanner({ ...props, scanTimeout: Duration.minutes(10), rescanWindowDays: 30 }).template,
    );
    // The id written out is the default's.
    const explicit = deployTime(synthScanner({ ...props, backfill: { id: 'initial' } }).template);
    for (const next of [same, other, explicit]) {
      expect(next[0]).toBe(first[0]);
      expect(next[1].Properties).toEqual(first[1].Properties);
    }
    // A new id is a changed property: CloudFormation sends an Update, which starts it.
    const again = deployTime(synthScanner({ ...props, backfill: { id: 'again' } }).template);
    expect(again[0]).toBe(first[0]);
    expect(again[1].Properties.BackfillId).toBe('again');
  });

  it('with backfill: false still registers the exclusions, and starts no backfill', () => {
    const { template } = synthScanner({ backfill: false });
    const props = render(deployTime(template)[1].Properties) as Record<string, unknown>;
    expect(props.ExcludedPrincipals).toEqual(['<ScannerScanRole.Arn>']);
    expect(props).not.toHaveProperty('BackfillId');
    backfillFunction(template);
  });
});

describe('the backfill prop', () => {
  const settings = (props: ImageScannerProps) => validateProps(props).backfill;

  it("defaults to 'initial' over the construct's repositories, sorted and once", () => {
    expect(settings({})).toEqual({ id: 'initial' });
    expect(settings({ repositories: ['web', 'api', 'team-b/*', 'team-a/*'] })).toEqual({
      id: 'initial',
      repositories: ['api', 'web'],
      prefixes: ['team-a/', 'team-b/'],
    });
    expect(settings({ backfill: { prefixes: ['b/', 'a/', 'b/'] } })).toEqual({
      id: 'initial',
      prefixes: ['a/', 'b/'],
    });
    expect(settings({ backfill: false })).toBeUndefined();
  });

  it('refuses an id or a name the backfill message refuses, and a scope outside the repositories', () => {
    expect(() => settings({ backfill: { id: '-x' } })).toThrow(/^backfill: id: /);
    expect(() => settings({ backfill: { repositories: ['Team-A/Api'] } })).toThrow(
      /^backfill: repositories\.0: /,
    );
    expect(() =>
      settings({ repositories: ['web', 'team-a/*'], backfill: { repositories: ['api'] } }),
    ).toThrow(`backfill scope ["api"] is outside the construct's repositories (web, team-a/*)`);
    expect(() =>
      settings({ repositories: ['team-a/*'], backfill: { prefixes: ['team-'] } }),
    ).toThrow(/\["team-"\] is outside/);
    expect(
      settings({ repositories: ['team-a/*'], backfill: { repositories: ['team-a/api'] } }),
    ).toEqual({ id: 'initial', repositories: ['team-a/api'] });
  });
});
