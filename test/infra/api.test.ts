/**
 * The read API as synthesized: AWS_IAM on every method (no route reachable without IAM), the
 * methods exactly those of shared/api ROUTES and of docs/openapi.json, the function's writes
 * limited to SUPPRESS#, VEX# and EXPIRY# partitions, the stack outputs; and docs/api.md's example policy evaluated
 * (test/support/execute-api-policy.ts) against every method of the template.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../shared/api/routes.js';
import { allowsInvoke, executeApiArn, type PolicyDocument } from '../support/execute-api-policy.js';
import { PROJECT_ROOT } from '../support/fixtures.js';
import { synthScanner } from './support.js';

const { template } = synthScanner();
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, unknown> }
>;

/** Every method of the template as `METHOD /path`, the path rebuilt from its resources. */
function templateMethods(): { method: string; path: string; auth: unknown }[] {
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    if (id === undefined) return '';
    const r = resources[id];
    if (r === undefined) return '';
    return `${pathOf(r.Properties.ParentId)}/${r.Properties.PathPart as string}`;
  };
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::ApiGateway::Method')
    .map((r) => ({
      method: r.Properties.HttpMethod as string,
      path: pathOf(r.Properties.ResourceId) || '/',
      auth: r.Properties.AuthorizationType,
    }));
}

describe('the read API template', () => {
  it('has AWS_IAM on every method, and exactly the routes of ROUTES and docs/openapi.json', () => {
    const methods = templateMethods();
    expect(methods.length).toBe(ROUTES.length);
    for (const m of methods) expect(m.auth, `${m.method} ${m.path}`).toBe('AWS_IAM');
    const served = ROUTES.map((r) => `${r.method} ${r.path}`).sort();
    expect(methods.map((m) => `${m.method} ${m.path}`).sort()).toEqual(served);
    const openapi = JSON.parse(
      readFileSync(path.join(PROJECT_ROOT, 'docs/openapi.json'), 'utf8'),
    ) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(openapi.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    expect(documented).toEqual(served);
  });

  it('lets the function write only suppression, VEX and expiry-marker partitions, and outputs ApiUrl and FindingsTableName', () => {
    const writes = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap(
        (r) => (r.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
      )
      .filter(
        (s) =>
          JSON.stringify(s.Action).includes('dynamodb:PutItem') &&
          JSON.stringify(s.Condition ?? {}).includes('SUPPRESS#'),
      );
    expect(writes).toHaveLength(1);
    expect(writes[0]?.Action).toEqual(['dynamodb:PutItem', 'dynamodb:DeleteItem']);
    expect(writes[0]?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SUPPRESS#*', 'VEX#*', 'EXPIRY#*'] },
    });
    const outputs = Object.keys(template.toJSON().Outputs as Record<string, unknown>);
    expect(outputs).toEqual(expect.arrayContaining(['ApiUrl', 'FindingsTableName']));
    const stage = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Stage');
    expect(stage?.Properties.StageName).toBe('v1');
    expect(stage?.Properties.AccessLogSetting).toMatchObject({ DestinationArn: expect.anything() });
  });
});

describe("docs/api.md's per-repository policy", () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/api.md'), 'utf8');
  const at = doc.indexOf('<!-- test/infra/api.test.ts evaluates this policy');
  const policy = JSON.parse(
    /```json\n([\s\S]*?)```/.exec(doc.slice(at))?.[1] ?? '{}',
  ) as PolicyDocument;
  const host = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
  const arn = (method: string, p: string) =>
    executeApiArn({
      region: 'eu-west-1',
      account: '123456789012',
      apiId: 'a1b2c3d4e5',
      stage: 'v1',
      method,
      path: p,
    });
  const fill = (p: string, repository: string) =>
    p
      .replace('{repository}', encodeURIComponent(`${host}/${repository}`))
      .replace('{digest}', `sha256:${'a'.repeat(64)}`)
      .replace('{tag}', 'latest')
      .replace(/\{(vulnerabilityId|id)\}/, 'CVE-2024-3094');

  it('allows team-a its findings and denies team-b', () => {
    expect(
      allowsInvoke(
        policy,
        arn('GET', `/repositories/${encodeURIComponent(`${host}/team-a/app`)}/findings`),
      ),
    ).toBe(true);
    expect(
      allowsInvoke(
        policy,
        arn('GET', `/repositories/${encodeURIComponent(`${host}/team-b/app`)}/findings`),
      ),
    ).toBe(false);
  });

  it('over every method of the template: team-a routes allowed, team-b and cross-repository routes denied', () => {
    for (const m of templateMethods()) {
      const scoped = m.path.startsWith('/repositories/');
      expect(
        allowsInvoke(policy, arn(m.method, fill(m.path, 'team-a/app'))),
        `${m.method} ${m.path}`,
      ).toBe(scoped);
      expect(
        allowsInvoke(policy, arn(m.method, fill(m.path, 'team-b/app'))),
        `${m.method} ${m.path}`,
      ).toBe(false);
      // A name that only starts like team-a's is not team-a's.
      expect(allowsInvoke(policy, arn(m.method, fill(m.path, 'team-ab/app')))).toBe(false);
    }
  });
});
