/**
 * Task-definition checks in the synthesized template: the audit function receives successful
 * RegisterTaskDefinition calls through CloudTrail (the rule's pattern matches the documented
 * event and not the refused one, as EventBridge's TestEventPattern would: tested here with the
 * pattern's own semantics), reads them with ecs:DescribeTaskDefinition alone, and writes
 * checks in batches only in their own partitions; cdk-nag has nothing to say of any of it.
 */
import { describe, expect, it } from 'vitest';
import { AUDIT_CHECKS_KEYS } from '../../../infra/constructs/audit.js';
import { ENV_VARS } from '../../../shared/config/env.js';
import { synthScanner } from '../../infra/support.js';
import { fixtureJson } from '../../support/fixtures.js';

type Resource = { Properties: Record<string, unknown> };
const SYNTH = { timeout: 120_000 };

/**
 * EventBridge's matching for the pattern forms the rule uses: a list of values matches a
 * field equal to one of them; `{ exists: false }` matches a field that is absent
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
 */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, want]) => {
    const have = event[key];
    if (Array.isArray(want))
      return want.every((w) => typeof w === 'object' && w !== null)
        ? want.every((w) => (w as { exists: boolean }).exists === (have !== undefined))
        : want.includes(have);
    return (
      typeof have === 'object' &&
      have !== null &&
      matches(want as Record<string, unknown>, have as Record<string, unknown>)
    );
  });
}

describe('the RegisterTaskDefinition rule', () => {
  it(
    'targets the audit function with the documented CloudTrail event, not refused calls',
    SYNTH,
    () => {
      const { template } = synthScanner();
      const rules = Object.values(template.findResources('AWS::Events::Rule')) as Resource[];
      const mine = rules.filter(
        (r) =>
          JSON.stringify(r.Properties.EventPattern ?? {}).includes('RegisterTaskDefinition') &&
          JSON.stringify(r.Properties.Targets).includes('ScannerAuditFunction'),
      );
      expect(mine).toHaveLength(1);
      const pattern = mine[0]?.Properties.EventPattern as Record<string, unknown>;
      expect(pattern).toEqual({
        source: ['aws.ecs'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['ecs.amazonaws.com'],
          eventName: ['RegisterTaskDefinition'],
          errorCode: [{ exists: false }],
        },
      });
      const event = (name: string) =>
        fixtureJson<Record<string, unknown>>(`ecs/task-definitions/cloudtrail/${name}.json`);
      expect(matches(pattern, event('register-sleep360'))).toBe(true);
      expect(matches(pattern, event('register-without-response'))).toBe(true);
      expect(matches(pattern, event('register-refused'))).toBe(false);
    },
  );

  it('is not there with ecs: false', SYNTH, () => {
    const { template } = synthScanner({ audit: { ecs: false } });
    expect(JSON.stringify(template.findResources('AWS::Events::Rule'))).not.toContain(
      'RegisterTaskDefinition',
    );
  });
});

describe('the checks configuration', () => {
  it('reaches the audit function as it reaches the scan function', SYNTH, () => {
    const imageChecks = { rules: [{ repositories: ['team/*'], disable: ['ecs/user-unset'] }] };
    const { template } = synthScanner({ imageChecks });
    for (const service of ['bosun-audit', 'bosun-scan']) {
      const [fn] = Object.values(
        template.findResources('AWS::Lambda::Function', {
          Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } },
        }),
      ) as Resource[];
      const vars = (
        fn?.Properties.Environment as { Variables: Record<string, unknown> } | undefined
      )?.Variables;
      expect(vars, service).toBeDefined();
      expect(JSON.parse(String(vars?.[ENV_VARS.imageChecks])), service).toMatchObject(imageChecks);
    }
  });
});

describe("the audit role's permissions for the checks", () => {
  it(
    'reads revisions with ecs:DescribeTaskDefinition, and batch-writes only CHECKS# partitions',
    SYNTH,
    () => {
      const { template, app } = synthScanner();
      const statements = (
        Object.values(template.findResources('AWS::IAM::Policy')) as {
          Properties: {
            PolicyDocument: { Statement: Record<string, unknown>[] };
            Roles: { Ref: string }[];
          };
        }[]
      )
        .filter((p) => p.Properties.Roles.some((r) => /^ScannerAuditRole/.test(r.Ref)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
      const ecs = statements
        .flatMap((s) => [s.Action].flat())
        .filter((a) => String(a).startsWith('ecs:'));
      expect(ecs).toContain('ecs:DescribeTaskDefinition');
      expect(ecs.filter((a) => !/^ecs:(List|Describe)/.test(String(a)))).toEqual([]);
      const batch = statements.filter((s) => JSON.stringify(s.Action).includes('BatchWriteItem'));
      expect(batch).toEqual([
        {
          Action: 'dynamodb:BatchWriteItem',
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ScannerTablesFindings/), 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [AUDIT_CHECKS_KEYS] } },
        },
      ]);
      expect(AUDIT_CHECKS_KEYS).toBe('CHECKS#*');
      // cdk-nag runs as the stack's validations: an unacknowledged finding fails the synth.
      expect(() => app.synth()).not.toThrow();
    },
  );
});
