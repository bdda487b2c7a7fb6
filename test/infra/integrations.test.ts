/**
 * The integrations and operations of issue 22 in the synthesized template: EventBridge on by
 * default (the default bus, source `bosun`), another bus or none; Security Hub opt-in; each
 * permission on its one resource (PutEvents on the bus, BatchImportFindings on the account's
 * product ARN) and only for the scan and rescan functions; the dashboard over metrics the
 * functions emit; the stack outputs; the webhook only with webhookRegistries; cdk-nag clean.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SCAN_OUTCOMES } from '../../infra/constructs/dashboard.js';
import { ImageScanner } from '../../infra/constructs/image-scanner.js';
import { DEFAULT_EVENT_SOURCE as INFRA_SOURCE } from '../../infra/constructs/integrations.js';
import { DEFAULT_EVENT_SOURCE } from '../../shared/notifications/eventbridge-notifier.js';
import { PROJECT_ROOT } from '../support/fixtures.js';
import { SKIP_BUNDLING, synthScanner } from './support.js';

type Statement = { Action: string | string[]; Resource: unknown };
type Fn = { Properties: { Environment?: { Variables?: Record<string, unknown> }; Role: unknown } };

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Each function (by its service name) with its environment and its role's statements. */
function functions(template: Template) {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
  }[];
  return Object.values(template.findResources('AWS::Lambda::Function') as Record<string, Fn>)
    .filter((f) => typeof f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'string')
    .map((f) => {
      const env = f.Properties.Environment?.Variables ?? {};
      const role = (f.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const statements = policies
        .filter((p) => p.Properties.Roles.some((r) => r.Ref === role))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
      return { service: env.POWERTOOLS_SERVICE_NAME as string, env, statements };
    });
}
const withAction = (template: Template, action: string) =>
  functions(template)
    .filter((f) => f.statements.some((s) => actions(s).includes(action)))
    .map((f) => f.service)
    .sort();

describe('EventBridge', () => {
  it('is on by default: PutEvents on the default bus for the functions that announce, source bosun', () => {
    const { template } = synthScanner();
    // The audit's RUNNING_* and CHECKS_* messages too (the provenance pass's with a policy).
    expect(withAction(template, 'events:PutEvents')).toEqual([
      'bosun-audit',
      'bosun-rescan',
      'bosun-scan',
    ]);
    const defaultBus = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:123456789012:event-bus/default'],
      ],
    };
    for (const f of functions(template).filter((x) => x.service.match(/^bosun-(re)?scan|audit$/))) {
      const put = f.statements.filter((s) => actions(s).includes('events:PutEvents'));
      expect(put).toEqual([
        expect.objectContaining({ Action: 'events:PutEvents', Resource: defaultBus }),
      ]);
      expect(f.env.BOSUN_EVENT_BUS).toEqual(defaultBus);
      expect(f.env.BOSUN_EVENT_SOURCE).toBe('bosun');
      expect(f.env.BOSUN_SECURITY_HUB_PRODUCT_ARN).toBeUndefined();
    }
    expect(withAction(template, 'securityhub:BatchImportFindings')).toEqual([]);
    expect(INFRA_SOURCE).toBe(DEFAULT_EVENT_SOURCE);
  });

  it('is off with events: false: no permission, no variable, no output', () => {
    const { template } = synthScanner({ events: false });
    expect(withAction(template, 'events:PutEvents')).toEqual([]);
    for (const f of functions(template)) expect(f.env.BOSUN_EVENT_BUS).toBeUndefined();
    expect(Object.keys(template.findOutputs('EventBusName'))).toEqual([]);
  });

  it('refuses a source AWS reserves or PutEvents would refuse, naming it', () => {
    expect(() => synthScanner({ events: { source: 'aws.bosun' } })).toThrow(
      /events\.source "aws\.bosun"/,
    );
    expect(() => synthScanner({ events: { source: '' } })).toThrow(/events\.source ""/);
  });
});

describe('a given bus and Security Hub', () => {
  function build() {
    const app = new App({ context: SKIP_BUNDLING });
    const stack = new Stack(app, 'Team', { env: { account: '123456789012', region: 'eu-west-1' } });
    const bus = new events.EventBus(stack, 'SecurityBus');
    new ImageScanner(stack, 'Scanner', {
      events: { eventBus: bus, source: 'bosun.prod' },
      securityHub: { enabled: true },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return { app, stack, template: Template.fromStack(stack), bus };
  }

  it('grants PutEvents on that bus and BatchImportFindings on the account product ARN only', () => {
    const { template, stack, bus } = build();
    const busArn = stack.resolve(bus.eventBusArn);
    const product = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':securityhub:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':product/',
          { Ref: 'AWS::AccountId' },
          '/default',
        ],
      ],
    };
    expect(withAction(template, 'securityhub:BatchImportFindings')).toEqual([
      'bosun-rescan',
      'bosun-scan',
    ]);
    for (const f of functions(template).filter((x) => x.service.match(/^bosun-(re)?scan$/))) {
      expect(f.statements.filter((s) => actions(s).includes('events:PutEvents'))).toEqual([
        expect.objectContaining({ Resource: busArn }),
      ]);
      expect(
        f.statements.filter((s) => actions(s).includes('securityhub:BatchImportFindings')),
      ).toEqual([
        expect.objectContaining({ Action: 'securityhub:BatchImportFindings', Resource: product }),
      ]);
      expect(f.env).toMatchObject({
        BOSUN_EVENT_BUS: busArn,
        BOSUN_EVENT_SOURCE: 'bosun.prod',
        BOSUN_SECURITY_HUB_PRODUCT_ARN: product,
      });
    }
    // The audit puts events on the same bus and imports no findings; nothing else does either.
    const audit = functions(template).find((x) => x.service === 'bosun-audit');
    expect(audit?.statements.filter((s) => actions(s).includes('events:PutEvents'))).toEqual([
      expect.objectContaining({ Resource: busArn }),
    ]);
    expect(audit?.env.BOSUN_SECURITY_HUB_PRODUCT_ARN).toBeUndefined();
    for (const f of functions(template).filter((x) => !x.service.match(/^bosun-(re)?scan$/)))
      expect(
        f.statements
          .flatMap(actions)
          .filter((a) => /^(events:Put|securityhub:)/.test(a) && f.service !== 'bosun-audit'),
      ).toEqual([]);
    expect(audit?.statements.flatMap(actions).filter((a) => a.startsWith('securityhub:'))).toEqual(
      [],
    );
  });

  it('passes cdk-nag', () => {
    const { app } = build();
    expect(() => app.synth()).not.toThrow();
  });
});

describe('operations', () => {
  it('has a dashboard of the metrics the functions emit, and the queues and functions AWS measures', () => {
    const { template } = synthScanner();
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as {
      Properties: { DashboardBody: { 'Fn::Join': [string, unknown[]] } };
    };
    // The body is JSON with tokens (region, queue and function names) joined in.
    const text = dashboard.Properties.DashboardBody['Fn::Join'][1]
      .map((part) => (typeof part === 'string' ? part : 'TOKEN'))
      .join('');
    const widgets = (
      JSON.parse(text) as { widgets: { properties: { title: string; metrics: unknown[][] } }[] }
    ).widgets;
    const metrics = widgets.flatMap((w) => w.properties.metrics);
    const bosun = new Set(metrics.filter((m) => m[0] === 'Bosun').map((m) => `${m[1]} ${m[3]}`));
    const aws = new Set(metrics.filter((m) => m[0] !== 'Bosun').map((m) => `${m[0]} ${m[1]}`));
    const emitted = [
      readFileSync(path.join(PROJECT_ROOT, 'shared', 'observability.ts'), 'utf8'),
      readFileSync(path.join(PROJECT_ROOT, 'functions', 'scan', 'index.ts'), 'utf8'),
    ].join('\n');
    // Names written out where they are emitted; Scans<Outcome> and Findings<Severity> are built.
    for (const name of [
      'ScanErrors',
      'RescanErrors',
      'FeedErrors',
      'FeedChanges',
      'ImagesRescanned',
      'SecurityHubFindingsRefused',
    ]) {
      expect(emitted).toContain(`'${name}'`);
      expect(
        [...bosun].some((m) => m.startsWith(`${name} `)),
        name,
      ).toBe(true);
    }
    expect(emitted).toMatch(/`Scans\$\{capitalized\(outcome\.status\)\}`/);
    expect(emitted).toMatch(/`Findings\$\{capitalized\(severity\)\}`/);
    for (const outcome of SCAN_OUTCOMES)
      expect(bosun).toContain(
        `Scans${outcome.charAt(0).toUpperCase()}${outcome.slice(1)} bosun-scan`,
      );
    for (const severity of ['Critical', 'High', 'Medium', 'Low', 'None', 'Unknown'])
      expect(bosun).toContain(`Findings${severity} bosun-scan`);
    expect(bosun).toContain('FeedChanges bosun-feed-sync');
    expect(bosun).toContain('RescanErrors bosun-rescan');
    expect([...aws].sort()).toEqual([
      'AWS/Lambda Errors',
      'AWS/SQS ApproximateAgeOfOldestMessage',
      'AWS/SQS ApproximateNumberOfMessagesVisible',
    ]);
    expect(widgets.map((w) => w.properties.title)).toEqual([
      'Scans per hour, by outcome',
      'Failures per hour',
      'Queue ages (oldest message, seconds)',
      'Active findings of completed scans, by severity',
      'Feed freshness: feed sources synced per hour (none: advisories grow stale)',
    ]);
  });

  it('outputs the topic ARN, the event bus name and the dashboard name', () => {
    const { template } = synthScanner();
    expect(template.findOutputs('FindingsTopicArn')).toHaveProperty('FindingsTopicArn');
    expect(template.findOutputs('EventBusName')).toEqual({ EventBusName: { Value: 'default' } });
    template.hasOutput('DashboardName', { Value: { Ref: Match.stringLikeRegexp('Dashboard') } });
  });

  it('builds the registry webhook, its function URL and output only with webhookRegistries', () => {
    const without = synthScanner().template;
    without.resourceCountIs('AWS::Lambda::Url', 0);
    expect(Object.keys(without.findOutputs('RegistryWebhookUrl'))).toEqual([]);
    const withHook = synthScanner({ webhookRegistries: ['registry.example.com'] }).template;
    withHook.resourceCountIs('AWS::Lambda::Url', 1);
    expect(Object.keys(withHook.findOutputs('RegistryWebhookUrl'))).toEqual(['RegistryWebhookUrl']);
  });
});
