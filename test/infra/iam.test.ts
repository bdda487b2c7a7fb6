import { describe, expect, it } from 'vitest';
import { synthScanner } from './support.js';

interface Statement {
  Action: string | string[];
  Resource: unknown;
}
type Policies = Record<
  string,
  { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] } }
>;

function statements(
  template: ReturnType<typeof synthScanner>['template'],
  rolePattern: RegExp,
): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy') as Policies);
  return policies
    .filter((p) => p.Properties.Roles.some((r) => rolePattern.test(r.Ref)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** Renders `Fn::Join` ARNs with pseudo parameters in angle brackets. */
function renderArn(value: unknown): string {
  if (typeof value === 'string') return value;
  const obj = value as {
    Ref?: string;
    'Fn::Join'?: [string, unknown[]];
    'Fn::GetAtt'?: [string, string];
  };
  if (obj.Ref !== undefined) return `<${obj.Ref}>`;
  if (obj['Fn::GetAtt'] !== undefined) return `<${obj['Fn::GetAtt'].join('.')}>`;
  const join = obj['Fn::Join'];
  if (join !== undefined) return join[1].map(renderArn).join(join[0]);
  throw new Error(`unexpected ARN ${JSON.stringify(value)}`);
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('least-privilege IAM', () => {
  it('scopes ECR pull actions to the configured repositories', () => {
    const { template } = synthScanner({ repositories: ['web', 'team-a/*'] });
    const pull = statements(template, /ScannerScanRole/).find((s) =>
      actionsOf(s).includes('ecr:BatchGetImage'),
    );
    const resources = ((pull?.Resource ?? []) as unknown[]).map(renderArn);
    expect(resources).toEqual([
      'arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/web',
      'arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/team-a/*',
    ]);
  });

  it('allows "*" only for ecr:GetAuthorizationToken, the pull-time exclusions and the audit\'s listings, which AWS requires', () => {
    const { template } = synthScanner({ repositories: ['web'] });
    const all = Object.values(template.findResources('AWS::IAM::Policy') as Policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const star = all.filter(
      (s) => s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')),
    );
    // The backfill function's deploy-time step registers the pull-time update exclusions.
    // The audit lists clusters and functions and reads task definitions (infra/constructs/audit.ts).
    expect(star.flatMap(actionsOf).sort()).toEqual([
      'ecr:GetAuthorizationToken',
      'ecr:ListPullTimeUpdateExclusions',
      'ecr:RegisterPullTimeUpdateExclusion',
      'ecs:DescribeTaskDefinition',
      'ecs:ListClusters',
      'ecs:ListTasks',
      'lambda:ListFunctions',
    ]);
  });

  it('gives only the scan function ECR access', () => {
    const { template } = synthScanner();
    for (const role of [/ScannerRescanRole/, /ScannerFeedSyncRole/]) {
      expect(
        statements(template, role)
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('ecr:')),
      ).toEqual([]);
    }
  });

  it('lets feed-sync write advisories and send to the rescan queue, and nothing of the other tables', () => {
    const { template } = synthScanner();
    const feed = statements(template, /ScannerFeedSyncRole/);
    const resources = JSON.stringify(feed.map((s) => s.Resource));
    expect(resources).toContain('ScannerTablesAdvisories');
    expect(resources).toMatch(/"ScannerRescanQueue[0-9A-F]{8}"/);
    for (const other of [
      'ScannerTablesImages',
      'ScannerTablesInventories',
      'ScannerTablesFindings',
      'ReportsBucket',
    ]) {
      expect(resources).not.toContain(other);
    }
  });

  // Rescans re-match stored inventories (never write them) and commit findings generations on
  // the image record, under the image's lease.
  it('gives the rescan function read-only access to inventories, and writes to findings and images', () => {
    const { template } = synthScanner();
    const rescan = statements(template, /ScannerRescanRole/);
    const writes = rescan.filter((s) =>
      actionsOf(s).some((a) => a === 'dynamodb:PutItem' || a === 'dynamodb:BatchWriteItem'),
    );
    const written = JSON.stringify(writes.map((s) => s.Resource));
    expect(written).toContain('ScannerTablesFindings');
    expect(written).toContain('ScannerTablesImages');
    expect(written).not.toContain('ScannerTablesInventories');
    expect(written).not.toContain('ScannerTablesAdvisories');
  });

  it('lets the scan function read back the layer cache, and list only its prefix (a miss is then a 404)', () => {
    const { template } = synthScanner();
    const scan = statements(template, /ScannerScanRole/);
    const get = scan.find((s) => actionsOf(s).includes('s3:GetObject'));
    expect(JSON.stringify(get?.Resource)).toContain('/layer-cache/*');
    const list = scan.find((s) => actionsOf(s).includes('s3:ListBucket')) as Statement & {
      Condition?: unknown;
    };
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['layer-cache/*'] } });
    expect(scan.some((s) => actionsOf(s).some((a) => a === 's3:*' || a === 's3:GetObject*'))).toBe(
      false,
    );
  });

  // What the stores send for a scan (infra/constructs/scan-ingest.ts, SCAN_TABLE_ACTIONS): no
  // Scan or UpdateItem anywhere, no DeleteItem on findings, no index but the advisories'.
  it('gives the scan function, table by table, only the DynamoDB actions the scan sends', () => {
    const { template } = synthScanner();
    const byTable = new Map<string, string[]>();
    for (const st of statements(template, /ScannerScanRole/)) {
      const actions = actionsOf(st).filter((a) => a.startsWith('dynamodb:'));
      if (actions.length === 0) continue;
      const resources = (Array.isArray(st.Resource) ? st.Resource : [st.Resource]).map(renderArn);
      for (const r of resources) byTable.set(r, [...(byTable.get(r) ?? []), ...actions].sort());
    }
    const table = (name: string) => `<Scanner${name}.Arn>`;
    expect(
      Object.fromEntries([...byTable].map(([r, a]) => [r.replace(/[0-9A-F]{8}\./, '.'), a])),
    ).toEqual({
      [table('TablesImages')]: [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ],
      [table('TablesInventories')]: [
        'dynamodb:BatchWriteItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ],
      [table('TablesFindings')]: [
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ],
      [table('TablesAdvisories')]: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      [`${table('TablesAdvisories')}/index/*`]: [
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
      ],
    });
  });

  it('attaches no AWS managed policy to any function role', () => {
    const { template } = synthScanner();
    for (const role of Object.values(
      template.findResources('AWS::IAM::Role') as Record<string, { Properties: object }>,
    )) {
      expect(role.Properties).not.toHaveProperty('ManagedPolicyArns');
    }
  });
});
