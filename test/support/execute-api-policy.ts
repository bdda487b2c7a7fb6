/**
 * A small evaluator of IAM identity policies for `execute-api:Invoke`, for tests only (not a
 * model of IAM): explicit Deny beats Allow, otherwise an Allow whose Action and Resource match,
 * otherwise the implicit deny; no conditions, principals or NotResource. Matching follows the
 * IAM reference: `*` matches any run of characters (`/` and `%` included) and `?` any one,
 * case-sensitively, across the whole ARN
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 * The request ARN is `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`
 * with the path as the client sent it (docs/api.md).
 */
export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

const list = (v: string | readonly string[]) => (typeof v === 'string' ? [v] : v);

export function wildcardMatches(pattern: string, value: string, caseSensitive = true): boolean {
  const source = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, caseSensitive ? 's' : 'si').test(value);
}

export function executeApiArn(api: {
  region: string;
  account: string;
  apiId: string;
  stage: string;
  method: string;
  path: string;
}): string {
  return `arn:aws:execute-api:${api.region}:${api.account}:${api.apiId}/${api.stage}/${api.method}${api.path}`;
}

/** Whether the policy allows `execute-api:Invoke` on `resource`. */
export function allowsInvoke(policy: PolicyDocument, resource: string): boolean {
  const applies = (s: PolicyStatement) =>
    list(s.Action).some((a) => wildcardMatches(a, 'execute-api:Invoke', false)) &&
    list(s.Resource).some((r) => wildcardMatches(r, resource));
  if (policy.Statement.some((s) => s.Effect === 'Deny' && applies(s))) return false;
  return policy.Statement.some((s) => s.Effect === 'Allow' && applies(s));
}
