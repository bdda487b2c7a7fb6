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
  const obj = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (obj.Ref !== undefined) return `<${obj.Ref}>`;
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

  it('allows "*" only for ecr:GetAuthorizationToken, which AWS requires', () => {
    const { template } = synthScanner({ repositories: ['web'] });
    const all = Object.values(template.findResources('AWS::IAM::Policy') as Policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const star = all.filter(
      (s) => s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')),
    );
    expect(star.flatMap(actionsOf)).toEqual(['ecr:GetAuthorizationToken']);
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

  it('attaches no AWS managed policy to any function role', () => {
    const { template } = synthScanner();
    for (const role of Object.values(
      template.findResources('AWS::IAM::Role') as Record<string, { Properties: object }>,
    )) {
      expect(role.Properties).not.toHaveProperty('ManagedPolicyArns');
    }
  });
});
