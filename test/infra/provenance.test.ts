/**
 * Provenance in the construct: the variables the scan and provenance functions get, their
 * least-privilege reads, the schedule and the change rules, cdk-nag clean, and an inline policy
 * checked at synth.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import type { ProvenanceProps } from '../../infra/constructs/provenance.js';
import { validateProps } from '../../infra/constructs/validate-props.js';
import { dataDir } from '../support/fixtures.js';
import { synthScanner } from './support.js';

const data = (...parts: string[]) => path.join(dataDir(), 'provenance', ...parts);
const ROOT_FILE = data('sigstore-go', 'examples', 'trusted-root-public-good.json');
const NOTATION_STORES = data('notation-go', 'verifier', 'testdata', 'truststore');
// Notation's test trust store also holds stores that are broken on purpose (symlinks, a file
// with no certificate): the valid two, laid out as a deployer's folder would be.
const STORE_DIR = mkdtempSync(path.join(tmpdir(), 'bosun-truststore-'));
for (const store of ['ca/valid-trust-store', 'signingAuthority/valid-trust-store'])
  cpSync(path.join(NOTATION_STORES, 'x509', store), path.join(STORE_DIR, 'x509', store), {
    recursive: true,
  });

const POLICY = `apiVersion: provenance.bosun.dev/v1
authorities:
  github-release:
    keyless:
      trustedRoot: public-good
      identities:
        - issuer: https://token.actions.githubusercontent.com
          subject: https://github.com/my-org/app/.github/workflows/release.yml@refs/tags/v1
default:
  signatures: github-release
`;

type Template = ReturnType<typeof synthScanner>['template'];
interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

function functionEnv(template: Template, service: string): Record<string, unknown> {
  const fns = Object.values(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } },
    }),
  ) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  expect(fns).toHaveLength(1);
  return (fns[0] as (typeof fns)[number]).Properties.Environment.Variables;
}

function roleStatements(template: Template, rolePattern: RegExp): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] };
  }[];
  return policies
    .filter((p) => p.Properties.Roles.some((r) => rolePattern.test(r.Ref)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const withAction = (statements: Statement[], action: string) =>
  statements.filter((s) => actions(s).includes(action));

// Each case synthesizes the stack: seconds on a loaded machine.
describe('provenance in the construct', { timeout: 60_000 }, () => {
  it('builds nothing for provenance without the prop', () => {
    const { template } = synthScanner();
    expect(JSON.stringify(template.toJSON())).not.toContain('BOSUN_PROVENANCE');
    // ECR push and delete, feed sync, the sweep of expired decisions; the audit's ECS task
    // rule, its schedule and its task-definition (CloudTrail) rule.
    template.resourceCountIs('AWS::Events::Rule', 7);
  });

  it('gives an S3 policy, S3 trusted roots and the maximum age to the scan and provenance functions', () => {
    const { template, stack } = synthScanner({
      repositories: ['web'],
      provenance: {
        policy: { s3: { bucket: 'acme-policies', key: 'bosun/policy.yaml' } },
        trustedRoots: { 'public-good': { s3: { bucket: 'acme-policies', key: 'roots/pg.json' } } },
        maxAgeHours: 6,
      },
    });
    for (const service of ['bosun-scan', 'bosun-provenance']) {
      const env = functionEnv(template, service);
      expect(env.BOSUN_PROVENANCE_POLICY_S3).toBe('s3://acme-policies/bosun/policy.yaml');
      expect(stack.resolve(env.BOSUN_PROVENANCE_TRUSTED_ROOTS)).toBe(
        JSON.stringify({ 'public-good': 's3://acme-policies/roots/pg.json' }),
      );
      expect(env.BOSUN_PROVENANCE_MAX_AGE_HOURS).toBe('6');
    }
    // Exactly the two objects, for each function; nothing else of that bucket.
    for (const role of [/ScannerScanRole/, /ScannerProvenanceRole/]) {
      const reads = withAction(roleStatements(template, role), 's3:GetObject').filter((s) =>
        JSON.stringify(s.Resource).includes('acme-policies'),
      );
      expect(reads.map((s) => stack.resolve(s.Resource))).toEqual([
        [
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':s3:::acme-policies/bosun/policy.yaml'],
            ],
          },
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':s3:::acme-policies/roots/pg.json'],
            ],
          },
        ],
      ]);
    }
    // The policy object or the root changing re-verifies.
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: ['acme-policies'] },
          object: { key: ['bosun/policy.yaml', 'roots/pg.json'] },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScannerProvenanceFunction'), 'Arn'] },
        }),
      ],
    });
  });

  it('runs the pass daily by default, or on the schedule given, with the events dead-letter queue', () => {
    const daily = synthScanner({ provenance: { policy: { ssmParameter: '/bosun/policy' } } });
    daily.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 day)',
      Targets: [
        Match.objectLike({
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScannerEventsDlq'), 'Arn'] },
          },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
    const custom = synthScanner({
      provenance: {
        policy: { ssmParameter: '/bosun/policy' },
        reverifySchedule: events.Schedule.cron({ hour: '3', minute: '0' }),
      },
    });
    custom.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
    });
  });

  it('reads a Parameter Store policy with ssm:GetParameter on that parameter, and decrypts only with the key given', () => {
    const plain = synthScanner({ provenance: { policy: { ssmParameter: '/bosun/policy' } } });
    const get = withAction(
      roleStatements(plain.template, /ScannerProvenanceRole/),
      'ssm:GetParameter',
    );
    expect(get.map((s) => plain.stack.resolve(s.Resource))).toEqual([
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:123456789012:parameter/bosun/policy'],
        ],
      },
    ]);
    // The only key either function may use is the findings topic's (publishing).
    const keyUse = roleStatements(plain.template, /ScannerProvenanceRole/).filter((s) =>
      actions(s).some((a) => a.startsWith('kms:')),
    );
    expect(keyUse.map((s) => s.Resource)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^ScannerFindingsTopicKey/), 'Arn'] },
    ]);
    expect(functionEnv(plain.template, 'bosun-scan').BOSUN_PROVENANCE_POLICY_SSM).toBe(
      '/bosun/policy',
    );
    plain.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['Parameter Store Change'],
        detail: { name: ['/bosun/policy'] },
      },
    });

    const { template } = synthScanner({
      provenance: {
        policy: {
          ssmParameter: '/bosun/policy',
          encryptionKey: kms.Key.fromKeyArn(
            new Stack(),
            'Key',
            'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          ),
        },
      },
    });
    const decrypt = withAction(roleStatements(template, /ScannerScanRole/), 'kms:Decrypt');
    expect(decrypt.map((s) => s.Resource)).toContain(
      'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
  });

  it('ships a local trusted root and trust store folder as assets, read object by object, and checks AWS Signer revocation', () => {
    const { template, stack } = synthScanner({
      provenance: {
        policy: { inline: POLICY },
        trustedRoots: { 'public-good': { file: ROOT_FILE } },
        notationTrustStore: { directory: STORE_DIR },
      },
    });
    const env = functionEnv(template, 'bosun-provenance');
    expect(env.BOSUN_PROVENANCE_POLICY).toBe(POLICY);
    const store = JSON.stringify(stack.resolve(env.BOSUN_PROVENANCE_NOTATION_TRUST_STORE));
    expect(store).toMatch(/cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.zip/);
    const roots = JSON.stringify(stack.resolve(env.BOSUN_PROVENANCE_TRUSTED_ROOTS));
    expect(roots).toMatch(/public-good.*[0-9a-f]{64}\.json/);
    for (const role of [/ScannerScanRole/, /ScannerProvenanceRole/]) {
      const statements = roleStatements(template, role);
      const reads = JSON.stringify(withAction(statements, 's3:GetObject').map((s) => s.Resource));
      expect(reads).toMatch(/[0-9a-f]{64}\.zip/);
      expect(reads).toMatch(/[0-9a-f]{64}\.json/);
      expect(withAction(statements, 'signer:GetRevocationStatus').map((s) => s.Resource)).toEqual([
        '*',
      ]);
    }
    // Assets never change in place: no S3 change rule, only the schedule's.
    expect(JSON.stringify(template.findResources('AWS::Events::Rule'))).not.toContain('aws.s3');
  });

  it('lists a trust store prefix under that prefix only, and watches it for changes', () => {
    const { template } = synthScanner({
      provenance: {
        policy: { ssmParameter: '/bosun/policy' },
        notationTrustStore: { s3: { bucket: 'acme-trust', prefix: 'notation/' } },
      },
    });
    const list = withAction(roleStatements(template, /ScannerProvenanceRole/), 's3:ListBucket');
    expect(list.map((s) => s.Condition)).toEqual([{ StringLike: { 's3:prefix': ['notation/*'] } }]);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        detail: { bucket: { name: ['acme-trust'] }, object: { key: [{ prefix: 'notation/' }] } },
      },
    });
  });

  it('gives the pass the images table and its index, the sent markers of findings, the topic, and ECR pulls of the configured repositories', () => {
    const { template } = synthScanner({
      repositories: ['web'],
      provenance: { policy: { ssmParameter: '/bosun/policy' } },
    });
    const statements = roleStatements(template, /ScannerProvenanceRole/);
    const tables = JSON.stringify(
      statements.filter((s) => actions(s).some((a) => a.startsWith('dynamodb:'))),
    );
    expect(tables).toContain('ScannerTablesImages');
    expect(tables).toContain('/index/*');
    expect(tables).toContain('ScannerTablesFindings');
    expect(tables).not.toContain('ScannerTablesInventories');
    expect(tables).not.toContain('ScannerTablesAdvisories');
    const pull = withAction(statements, 'ecr:BatchGetImage');
    expect(JSON.stringify(pull.map((s) => s.Resource))).toContain(':repository/web');
    expect(statements.flatMap(actions)).toContain('sns:Publish');
  });

  it('keeps a refreshed trusted root fresh: its own function, reading and writing that object alone, daily', () => {
    const { template, stack, app } = synthScanner({
      provenance: {
        policy: { s3: { bucket: 'acme-policies', key: 'policy.yaml' } },
        trustedRoots: {
          'public-good': {
            s3: { bucket: 'acme-trust', key: 'roots/public-good.json' },
            refresh: { mirror: 'https://tuf-repo-cdn.sigstore.dev' },
          },
          corp: {
            s3: { bucket: 'acme-trust', key: 'roots/corp.json' },
            refresh: {
              mirror: 'https://tuf.corp.example',
              tufRoot: { bucket: 'acme-trust', key: 'tuf/corp-root.json' },
            },
          },
          pinned: { s3: { bucket: 'acme-trust', key: 'roots/pinned.json' } },
        },
      },
    });
    const env = functionEnv(template, 'bosun-trust-refresh');
    expect(JSON.parse(stack.resolve(env.BOSUN_PROVENANCE_TRUST_REFRESH))).toEqual({
      'public-good': { mirror: 'https://tuf-repo-cdn.sigstore.dev' },
      corp: { mirror: 'https://tuf.corp.example', tufRoot: 's3://acme-trust/tuf/corp-root.json' },
    });
    expect(JSON.parse(stack.resolve(env.BOSUN_PROVENANCE_TRUSTED_ROOTS))).toMatchObject({
      'public-good': 's3://acme-trust/roots/public-good.json',
      pinned: 's3://acme-trust/roots/pinned.json',
    });
    const statements = roleStatements(template, /ScannerTrustRefreshRole/);
    const arn = (key: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::acme-trust/${key}`]],
    });
    // Written: the two refreshed roots, never the pinned one; read: their TUF root.
    expect(withAction(statements, 's3:PutObject').map((s) => stack.resolve(s.Resource))).toEqual([
      [arn('roots/public-good.json'), arn('roots/corp.json')],
    ]);
    expect(
      withAction(statements, 's3:GetObject').flatMap((s) => stack.resolve(s.Resource)),
    ).toEqual([arn('roots/public-good.json'), arn('roots/corp.json'), arn('tuf/corp-root.json')]);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 day)',
      Description: 'Sigstore trusted roots fetched again through TUF',
    });
    // A written root is an S3 change the re-verification already watches.
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: {
          bucket: { name: ['acme-trust'] },
          object: { key: ['roots/public-good.json', 'roots/corp.json', 'roots/pinned.json'] },
        },
      }),
    });
    expect(() => app.synth()).not.toThrow();
  });

  it('builds no trust-refresh function when no root asks for one', () => {
    const { template } = synthScanner({
      provenance: {
        policy: { s3: { bucket: 'acme-policies', key: 'policy.yaml' } },
        trustedRoots: { 'public-good': { s3: { bucket: 'acme-trust', key: 'pg.json' } } },
      },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('bosun-trust-refresh');
  });

  it('passes cdk-nag with every kind of source', () => {
    const bucketStack = new Stack();
    for (const provenance of [
      { policy: { inline: POLICY }, trustedRoots: { 'public-good': { file: ROOT_FILE } } },
      {
        policy: { s3: { bucket: 'acme-policies', key: 'policy.yaml' } },
        notationTrustStore: { s3: { bucket: 'acme-trust', prefix: 'notation/' } },
      },
      {
        policy: {
          s3: { bucket: s3.Bucket.fromBucketName(bucketStack, 'B', 'acme-b'), key: 'p.yaml' },
        },
        notationTrustStore: { directory: STORE_DIR },
      },
    ] satisfies ProvenanceProps[]) {
      const { app } = synthScanner({ provenance });
      expect(() => app.synth()).not.toThrow();
    }
  });
});

describe('provenance props', () => {
  const check = (provenance: ProvenanceProps) => () => validateProps({ provenance });

  it("fail the synth with the parser's message on a bad inline policy", () => {
    expect(check({ policy: { inline: 'apiVersion: provenance.bosun.dev/v1\n' } })).toThrow(
      /^provenance\.policy\.inline: /,
    );
  });

  it('fail when an authority names a root or trust store that is not given', () => {
    expect(check({ policy: { inline: POLICY } })).toThrow(
      'provenance.policy.inline: authority github-release names the trusted root "public-good", which provenance.trustedRoots does not give (none)',
    );
  });

  it('fail on local trust material that does not parse', () => {
    expect(
      check({
        policy: { inline: POLICY },
        trustedRoots: {
          'public-good': {
            file: path.join(NOTATION_STORES, 'x509', 'ca', 'valid-trust-store', 'GlobalSign.der'),
          },
        },
      }),
    ).toThrow(/^provenance: .*trusted root public-good/);
    expect(
      check({
        policy: { ssmParameter: '/bosun/policy' },
        notationTrustStore: { directory: path.join(STORE_DIR, 'x509') },
      }),
    ).toThrow(/has no x509 folder/);
    expect(
      check({
        policy: { ssmParameter: '/bosun/policy' },
        notationTrustStore: { directory: NOTATION_STORES },
      }),
    ).toThrow(
      /trust-store-with-cert-symlinks is not x509\/ca, x509\/signingAuthority or x509\/tsa/,
    );
  });

  it('refuse a refresh the function could not run', () => {
    const root = (refresh: { mirror: string }) => ({
      policy: { ssmParameter: '/bosun/policy' },
      trustedRoots: { corp: { s3: { bucket: 'b', key: 'corp.json' }, refresh } },
    });
    expect(check(root({ mirror: 'ftp://tuf.corp.example' }))).toThrow(
      'provenance.trustedRoots.corp.refresh.mirror must be an http(s) URL, got "ftp://tuf.corp.example"',
    );
    expect(check(root({ mirror: 'https://tuf.corp.example' }))).toThrow(
      'provenance.trustedRoots.corp.refresh: no TUF root ships for https://tuf.corp.example; give its root.json as tufRoot',
    );
  });

  it('name the bad value of the other props', () => {
    expect(check({ policy: { ssmParameter: 'bosun policy' } })).toThrow(
      'provenance.policy.ssmParameter must be a Parameter Store name (/bosun/provenance-policy), got "bosun policy"',
    );
    expect(check({ policy: { s3: { bucket: 'b', key: 'folder/' } } })).toThrow(
      'provenance.policy.s3.key must name an object, got "folder/"',
    );
    expect(
      check({
        policy: { ssmParameter: '/p' },
        notationTrustStore: { s3: { bucket: 'b', prefix: 'notation' } },
      }),
    ).toThrow('provenance.notationTrustStore.s3.prefix must end in "/", got "notation"');
    expect(check({ policy: { ssmParameter: '/p' }, maxAgeHours: 0 })).toThrow(
      'provenance.maxAgeHours must be an integer from 1 to 8760, got 0',
    );
    expect(check({ policy: { ssmParameter: '/p' }, timeout: Duration.minutes(20) })).toThrow(
      'provenance.timeout must be between 30 seconds and 15 minutes, got 20 minutes',
    );
    expect(check({ policy: { inline: `${POLICY}#${'x'.repeat(2100)}\n` } })).toThrow(
      /keep a policy over 2048 bytes in S3 or Parameter Store/,
    );
  });
});
