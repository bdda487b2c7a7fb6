import { Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../shared/config/env.js';
import { DEFAULT_OSV_ECOSYSTEMS, DEFAULT_VENDOR_SOURCES } from '../../shared/ecosystems.js';
import { synthScanner } from './support.js';

type Resources = Record<string, { Properties: Record<string, unknown> }>;

const REGISTRY = 'registry.example.com';

function onlyResource(template: Template, type: string, props: object = {}) {
  const found = Object.values(template.findResources(type, { Properties: props }) as Resources);
  expect(found).toHaveLength(1);
  return found[0]?.Properties ?? {};
}

describe('ECR event rules', () => {
  it('sends successful pushes and deletes of every repository to the scan queue', () => {
    const { template } = synthScanner();
    for (const action of ['PUSH', 'DELETE']) {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.ecr'],
          'detail-type': ['ECR Image Action'],
          detail: {
            'action-type': [action],
            result: ['SUCCESS'],
            'repository-name': Match.absent(),
          },
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScannerScanQueue[0-9A-F]{8}$'), 'Arn'] },
            DeadLetterConfig: {
              Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ScannerEventsDlq'), 'Arn'] },
            },
          }),
        ],
      });
    }
  });

  it('limits the rules to the configured repository names and prefixes', () => {
    const { template } = synthScanner({ repositories: ['web', 'team-a/*'] });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        detail: { 'action-type': ['PUSH'], 'repository-name': ['web', { prefix: 'team-a/' }] },
      },
    });
  });

  it('rejects an invalid repository entry, naming it', () => {
    expect(() => synthScanner({ repositories: ['Web App'] })).toThrow(
      'repository "Web App" is not a valid ECR repository name',
    );
    expect(() => synthScanner({ repositories: ['team-*/x*'] })).toThrow(
      'repository prefix "team-*/x*" is not valid',
    );
    expect(() => synthScanner({ repositories: [] })).toThrow(/at least one repository/);
  });
});

describe('queues', () => {
  it('gives the scan, rescan and feed-sync queues a DLQ with the configured maxReceiveCount', () => {
    const { template } = synthScanner({ maxReceiveCount: 4 });
    const queues = template.findResources('AWS::SQS::Queue', {
      Properties: { RedrivePolicy: { maxReceiveCount: 4 } },
    });
    expect(Object.keys(queues).sort()).toEqual([
      expect.stringMatching(/^ScannerFeedSyncQueue[0-9A-F]{8}$/),
      expect.stringMatching(/^ScannerRescanQueue[0-9A-F]{8}$/),
      expect.stringMatching(/^ScannerScanQueue[0-9A-F]{8}$/),
    ]);
    // The scan function knows which delivery is the last, to record a failure on it.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'bosun-scan',
          BOSUN_SCAN_MAX_RECEIVES: '4',
        }),
      },
    });
  });

  it("gives the scan function the registries' allowed hosts, and only when some are set", () => {
    const { template } = synthScanner({
      registryAllowedHosts: { 'harbor.example.com': ['harbor-blobs.s3.eu-west-1.amazonaws.com'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'bosun-scan',
          BOSUN_REGISTRY_ALLOWED_HOSTS:
            'harbor.example.com=harbor-blobs.s3.eu-west-1.amazonaws.com',
        }),
      },
    });
    const plain = JSON.stringify(synthScanner({}).template.toJSON());
    expect(plain).not.toContain('BOSUN_REGISTRY_ALLOWED_HOSTS');
  });

  it('sets each visibility timeout to at least 6 times its consumer timeout', () => {
    const { template } = synthScanner({
      scanTimeout: Duration.minutes(4),
      rescanTimeout: Duration.minutes(2),
    });
    const scanFn = onlyResource(template, 'AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'bosun-scan' }) },
    });
    expect(scanFn.Timeout).toBe(240);
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 1440,
      RedrivePolicy: Match.objectLike({
        deadLetterTargetArn: {
          'Fn::GetAtt': [Match.stringLikeRegexp('ScannerScanQueueDlq'), 'Arn'],
        },
      }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 720,
      RedrivePolicy: Match.objectLike({
        deadLetterTargetArn: {
          'Fn::GetAtt': [Match.stringLikeRegexp('ScannerRescanQueueDlq'), 'Arn'],
        },
      }),
    });
  });

  it('refuses a scan queue visibility timeout under 6 times the scan timeout', () => {
    expect(() =>
      synthScanner({
        scanTimeout: Duration.minutes(5),
        scanQueueVisibilityTimeout: Duration.minutes(10),
      }),
    ).toThrow('scanQueueVisibilityTimeout must be between 30 minutes and 12 hours, got 10 minutes');
  });

  it('encrypts every queue and denies non-TLS access to each', () => {
    const { template } = synthScanner();
    const queues = Object.values(template.findResources('AWS::SQS::Queue') as Resources);
    expect(queues).toHaveLength(7);
    for (const queue of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy') as Resources);
    const tlsDenied = policies.filter((p) =>
      JSON.stringify(p.Properties).includes('"aws:SecureTransport":"false"'),
    );
    expect(tlsDenied).toHaveLength(7);
  });
});

describe('functions', () => {
  it('runs seven arm64 functions on a current Node.js runtime with log retention and Powertools settings', () => {
    const { template } = synthScanner({ webhookRegistries: [REGISTRY] });
    const fns = Object.values(template.findResources('AWS::Lambda::Function') as Resources);
    expect(
      fns
        .map(
          (f) =>
            (f.Properties.Environment as { Variables: Record<string, string> }).Variables
              .POWERTOOLS_SERVICE_NAME,
        )
        .sort(),
    ).toEqual([
      'bosun-api',
      'bosun-audit',
      'bosun-backfill',
      'bosun-feed-sync',
      'bosun-registry-webhook',
      'bosun-rescan',
      'bosun-scan',
    ]);
    for (const fn of fns) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON' });
    }
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup') as Resources);
    // Seven functions' logs and the read API's access logs.
    expect(logGroups).toHaveLength(8);
    for (const group of logGroups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('reports partial batch failures from the three SQS consumers', () => {
    const { template } = synthScanner();
    const mappings = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping') as Resources,
    );
    expect(mappings).toHaveLength(3);
    for (const m of mappings)
      expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });

  it('schedules feed-sync at the configured rate (hourly by default), through its queue', () => {
    const { template } = synthScanner();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScannerFeedSyncQueue'), 'Arn'] },
          Input: '{"version":1}',
        }),
      ],
    });
    const feedSync = onlyResource(template, 'AWS::Lambda::Function', {
      Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'bosun-feed-sync' } },
    });
    expect(
      (feedSync as { Environment: { Variables: Record<string, string> } }).Environment.Variables
        .BOSUN_FEED_ECOSYSTEMS,
    ).toBe(DEFAULT_OSV_ECOSYSTEMS.join(','));
    // The publishers' own feeds (ALAS, Red Hat VEX, OVAL, Photon, secdb), by default.
    expect(
      (feedSync as { Environment: { Variables: Record<string, string> } }).Environment.Variables
        .BOSUN_FEED_VENDOR_SOURCES,
    ).toBe(DEFAULT_VENDOR_SOURCES.join(','));
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScannerFeedSyncQueue'), 'Arn'] },
    });
    synthScanner({ feedSyncInterval: Duration.minutes(30) }).template.hasResourceProperties(
      'AWS::Events::Rule',
      {
        ScheduleExpression: 'rate(30 minutes)',
      },
    );
  });

  it('sweeps expired suppressions and VEX documents hourly, through the rescan queue', () => {
    const { template } = synthScanner();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScannerRescanQueue'), 'Arn'] },
          Input: '{"version":1,"kind":"sweep-expired-decisions"}',
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ScannerEventsDlq'), 'Arn'] },
          },
        }),
      ],
    });
  });

  it('gives each function every configuration variable its handler reads', () => {
    const { template } = synthScanner({ webhookRegistries: [REGISTRY] });
    const fns = Object.values(template.findResources('AWS::Lambda::Function') as Resources);
    // What each handler passes to loadConfig (required keys).
    const reads: Record<string, (keyof typeof ENV_VARS)[]> = {
      'bosun-scan': ['imagesTable', 'inventoriesTable', 'findingsTable', 'findingsTopicArn'],
      'bosun-rescan': ['inventoriesTable', 'findingsTable', 'advisoriesTable', 'findingsTopicArn'],
      'bosun-feed-sync': [
        'advisoriesTable',
        'rescanQueueUrl',
        'feedSyncQueueUrl',
        'feedEcosystems',
      ],
      'bosun-registry-webhook': ['scanQueueUrl', 'findingsTable', 'webhookSecrets'],
      'bosun-backfill': ['imagesTable', 'scanQueueUrl'],
      'bosun-audit': ['imagesTable', 'findingsTable', 'scanQueueUrl', 'auditSources'],
      'bosun-api': ['imagesTable', 'findingsTable', 'advisoriesTable'],
    };
    expect(fns).toHaveLength(Object.keys(reads).length);
    for (const fn of fns) {
      const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const key of reads[vars.POWERTOOLS_SERVICE_NAME as string] ?? [])
        expect(vars).toHaveProperty(ENV_VARS[key]);
    }
  });
});

describe('storage', () => {
  it('creates four on-demand tables with PITR, KMS encryption and a GSI each', () => {
    const { template } = synthScanner();
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table') as Resources);
    expect(tables).toHaveLength(4);
    for (const t of tables) {
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
      expect(t.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(t.Properties.GlobalSecondaryIndexes).toHaveLength(1);
    }
    const withTtl = tables.filter((t) => t.Properties.TimeToLiveSpecification !== undefined);
    expect(withTtl).toHaveLength(3);
    for (const t of withTtl)
      expect(t.Properties.TimeToLiveSpecification).toEqual({
        AttributeName: 'expiresAt',
        Enabled: true,
      });
  });

  it('retains tables by default', () => {
    const { template } = synthScanner();
    for (const t of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect((t as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
    }
  });

  it('encrypts the reports bucket, blocks public access and denies non-TLS requests', () => {
    const { template } = synthScanner();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'reports/' }),
      VersioningConfiguration: { Status: 'Enabled' },
    });
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy') as Resources);
    expect(
      policies.every((p) => JSON.stringify(p.Properties).includes('"aws:SecureTransport":"false"')),
    ).toBe(true);
  });
});

describe('access logs', () => {
  it('go to a bucket with ACLs disabled, written by S3 log delivery for the reports bucket only', () => {
    const { template } = synthScanner();
    const logs = template.findResources('AWS::S3::Bucket', {
      Properties: {
        LifecycleConfiguration: { Rules: [{ ExpirationInDays: 365, Status: 'Enabled' }] },
      },
    }) as Resources;
    const [logsId, logsBucket] = Object.entries(logs)[0] ?? [];
    expect(Object.keys(logs)).toHaveLength(1);
    expect(logsBucket?.Properties.OwnershipControls).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
    expect(logsBucket?.Properties).not.toHaveProperty('AccessControl');
    const reports = onlyResource(template, 'AWS::S3::Bucket', {
      VersioningConfiguration: Match.anyValue(),
    });
    expect(reports.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId },
      LogFilePrefix: 'reports/',
    });
    const policy = onlyResource(template, 'AWS::S3::BucketPolicy', { Bucket: { Ref: logsId } });
    const statements = (policy.PolicyDocument as { Statement: Record<string, unknown>[] })
      .Statement;
    const delivery = statements.find((st) =>
      JSON.stringify(st.Principal).includes('logging.s3.amazonaws.com'),
    );
    expect(delivery).toMatchObject({
      Effect: 'Allow',
      Action: 's3:PutObject',
      Condition: {
        ArnLike: {
          'aws:SourceArn': {
            'Fn::GetAtt': [expect.stringMatching(/^ScannerReportsBucket/), 'Arn'],
          },
        },
        StringEquals: { 'aws:SourceAccount': '123456789012' },
      },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('LogDeliveryWrite');
  });
});

describe('findings topic', () => {
  it("grants the topic's key to no service principal: only the publishers' roles use it", () => {
    const { template } = synthScanner();
    const key = onlyResource(template, 'AWS::KMS::Key');
    const statements = (key.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
    // The account's own statement (IAM decides) and nothing else.
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: {
          AWS: {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::123456789012:root']],
          },
        },
        Action: 'kms:*',
      }),
    ]);
    const publishers = template.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('FindingsTopicKey'), 'Arn'] },
            }),
          ]),
        },
      },
    });
    expect(Object.keys(publishers).length).toBeGreaterThanOrEqual(2);
  });

  it('is KMS-encrypted with a rotating key and TLS-only', () => {
    const { template } = synthScanner();
    const topic = onlyResource(template, 'AWS::SNS::Topic');
    expect(topic.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/FindingsTopicKey/), 'Arn'],
    });
    onlyResource(template, 'AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('uses an existing topic when one is passed, creating none', () => {
    const { template } = synthScanner({
      findingsTopic: sns.Topic.fromTopicArn(
        new Stack(),
        'Existing',
        'arn:aws:sns:eu-west-1:123456789012:security-findings',
      ),
    });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          BOSUN_FINDINGS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:security-findings',
        }),
      },
    });
  });
});

describe('alarms', () => {
  it('alarms on every DLQ, on each function error and on scan age', () => {
    const { template } = synthScanner({
      maxScanAge: Duration.minutes(20),
      webhookRegistries: [REGISTRY],
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources).map(
      (a) => a.Properties,
    );
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toHaveLength(4);
    expect(byMetric('Errors')).toHaveLength(7);
    expect(byMetric('ApproximateAgeOfOldestMessage')).toEqual([
      expect.objectContaining({ Threshold: 1200 }),
    ]);
    for (const a of byMetric('ApproximateNumberOfMessagesVisible')) {
      expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    }
  });

  it('sends alarm and OK transitions to the alarm topic when one is given', () => {
    const { template } = synthScanner({
      alarmTopic: sns.Topic.fromTopicArn(
        new Stack(),
        'Ops',
        'arn:aws:sns:eu-west-1:123456789012:ops',
      ),
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources);
    // Four DLQs, six functions (no webhook without registries), scan age.
    expect(alarms).toHaveLength(11);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops']);
      expect(a.Properties.OKActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops']);
    }
  });
});

describe('feed sync', () => {
  it("gives the feed-sync function NVD's API key secret, and read access to it only", () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bosun/nvd-AbCdEf';
    const { template } = synthScanner({
      nvdApiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(new Stack(), 'Nvd', arn),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ [ENV_VARS.nvdApiKeySecretArn]: arn }),
      },
    });
    const readers = Object.values(template.findResources('AWS::IAM::Policy') as Resources)
      .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(arn))
      .map((p) => JSON.stringify(p.Properties.Roles));
    expect(readers).toHaveLength(1);
    expect(readers[0]).toContain('FeedSync');
    // Without a secret there is no such variable: NVD is read at its lower rate.
    expect(JSON.stringify(synthScanner().template.toJSON())).not.toContain(
      ENV_VARS.nvdApiKeySecretArn,
    );
  });
});

describe('registry webhook', () => {
  it('is not built without webhookRegistries: no function, no URL, no secret', () => {
    const { template } = synthScanner();
    template.resourceCountIs('AWS::Lambda::Url', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('bosun-registry-webhook');
    expect(Object.keys(template.findOutputs('*'))).not.toContain('RegistryWebhookUrl');
  });

  it('gives each registry a secret of its own and the function each host with its secret', () => {
    const hosts = [REGISTRY, '10.0.0.5:5000'];
    const { template } = synthScanner({ webhookRegistries: hosts });
    const secrets = template.findResources('AWS::SecretsManager::Secret') as Resources;
    expect(Object.keys(secrets)).toHaveLength(2);
    for (const secret of Object.values(secrets))
      expect(secret.Properties.GenerateSecretString).toEqual({
        ExcludePunctuation: true,
        PasswordLength: 48,
      });
    const fn = onlyResource(template, 'AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'bosun-registry-webhook' }),
      },
    });
    const vars = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    const rendered = JSON.stringify(vars[ENV_VARS.webhookSecrets]);
    const ids = Object.keys(secrets);
    // `registry.example.com=<secret 1>,10.0.0.5:5000=<secret 2>`, each host with its own secret.
    expect(rendered).toMatch(
      new RegExp(
        `"registry\\.example\\.com=",\\{"Ref":"${ids[0]}"\\},",10\\.0\\.0\\.5:5000=",\\{"Ref":"${ids[1]}"\\}`,
      ),
    );
    expect(vars[ENV_VARS.webhookReplayWindow]).toBe('300');
    expect(vars[ENV_VARS.webhookPreviousSecretGrace]).toBe('86400');
  });

  it('caps the public URL with reserved concurrency', () => {
    const { template } = synthScanner({ webhookRegistries: [REGISTRY] });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    onlyResource(template, 'AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 });
    const custom = synthScanner({ webhookRegistries: [REGISTRY], webhookReservedConcurrency: 2 });
    onlyResource(custom.template, 'AWS::Lambda::Function', { ReservedConcurrentExecutions: 2 });
  });

  it('may send to the scan queue, read its secrets, and write only its own event-id items', () => {
    const { template } = synthScanner({ webhookRegistries: [REGISTRY] });
    const statements = Object.values(template.findResources('AWS::IAM::Policy') as Resources)
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('RegistryWebhook'))
      .flatMap(
        (p) =>
          (
            p.Properties.PolicyDocument as {
              Statement: { Action: string | string[]; Condition?: unknown; Resource: unknown }[];
            }
          ).Statement,
      );
    const actions = statements.flatMap((st) =>
      Array.isArray(st.Action) ? st.Action : [st.Action],
    );
    expect(actions).toContain('sqs:SendMessage');
    expect(actions).toContain('secretsmanager:GetSecretValue');
    const dynamo = statements.filter((st) => JSON.stringify(st.Action).includes('dynamodb:'));
    expect(dynamo).toEqual([
      {
        Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ScannerTablesFindings/), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['WEBHOOK#*'] } },
      },
    ]);
  });

  it('refuses a registry that is not a host[:port], or one named twice', () => {
    expect(() => synthScanner({ webhookRegistries: ['https://registry.example.com'] })).toThrow(
      /webhookRegistries entry "https:\/\/registry.example.com" is not a registry host\[:port\]/,
    );
    expect(() => synthScanner({ webhookRegistries: [REGISTRY, REGISTRY] })).toThrow(
      /names "registry.example.com" twice/,
    );
  });
});
