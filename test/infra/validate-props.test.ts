import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import type { ImageScannerProps } from '../../infra/constructs/image-scanner.js';
import { validateProps } from '../../infra/constructs/validate-props.js';
import { DEFAULT_RESCAN_WINDOW_DAYS } from '../../shared/config/env.js';
import {
  DEFAULT_OSV_ECOSYSTEMS,
  DEFAULT_VENDOR_SOURCES,
  VENDOR_SOURCES,
} from '../../shared/ecosystems.js';

const seconds = (d: Duration) => d.toSeconds();

describe('validateProps', () => {
  it('applies the defaults', () => {
    const settings = validateProps();
    expect(settings).toMatchObject({
      removalPolicy: RemovalPolicy.RETAIN,
      logRetention: logs.RetentionDays.ONE_MONTH,
      logLevel: 'INFO',
      maxReceiveCount: 3,
      repositories: undefined,
      scanMemoryMiB: 1769,
      scanBatchSize: 1,
      rescanWindowDays: DEFAULT_RESCAN_WINDOW_DAYS,
      feedEcosystems: DEFAULT_OSV_ECOSYSTEMS,
      feedVendorSources: DEFAULT_VENDOR_SOURCES,
      osvBaseUrl: undefined,
      webhookRegistries: [],
      webhookReservedConcurrency: 5,
    });
    expect(seconds(settings.webhookReplayWindow)).toBe(300);
    expect(seconds(settings.webhookPreviousSecretGrace)).toBe(86_400);
    expect(seconds(settings.scanTimeout)).toBe(300);
    // 6x the scan timeout, the minimum AWS asks for.
    expect(seconds(settings.scanQueueVisibilityTimeout)).toBe(1800);
    expect(seconds(settings.rescanTimeout)).toBe(300);
    expect(seconds(settings.feedSyncTimeout)).toBe(600);
    expect(seconds(settings.feedSyncInterval)).toBe(3600);
    expect(seconds(settings.maxScanAge)).toBe(900);
  });

  it("syncs no publisher's feed by default when OSV is read from a mirror (no public internet)", () => {
    expect(validateProps({ osvBaseUrl: 'https://mirror.example/osv' }).feedVendorSources).toEqual(
      [],
    );
  });

  it('normalizes valid props', () => {
    const settings = validateProps({
      repositories: ['web', 'team-a/*', 'org/svc-1', 'base*'],
      scanTimeout: Duration.minutes(3),
      scanQueueVisibilityTimeout: Duration.hours(1),
      scanMemoryMiB: 4096,
      scanBatchSize: 10,
      maxReceiveCount: 1000,
      feedSyncInterval: Duration.minutes(5),
      feedSyncTimeout: Duration.minutes(15),
      feedEcosystems: ['PyPI', 'crates.io'],
      feedVendorSources: ['alas:2023', 'secdb:wolfi'],
      webhookRegistries: ['registry.example.com:5000'],
      osvBaseUrl: 'https://mirror.example/osv',
      rescanWindowDays: 'LIFETIME',
      rescanTimeout: Duration.seconds(10),
      maxScanAge: Duration.minutes(30),
      logRetention: logs.RetentionDays.ONE_WEEK,
      logLevel: 'DEBUG',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    expect(settings).toMatchObject({
      removalPolicy: RemovalPolicy.DESTROY,
      logRetention: logs.RetentionDays.ONE_WEEK,
      logLevel: 'DEBUG',
      maxReceiveCount: 1000,
      // Prefixes lose their '*': EventBridge and IAM each add their own form.
      repositories: { exact: ['web', 'org/svc-1'], prefixes: ['team-a/', 'base'] },
      scanMemoryMiB: 4096,
      scanBatchSize: 10,
      rescanWindowDays: 'LIFETIME',
      feedEcosystems: ['PyPI', 'crates.io'],
      feedVendorSources: ['alas:2023', 'secdb:wolfi'],
      osvBaseUrl: 'https://mirror.example/osv',
      webhookRegistries: ['registry.example.com:5000'],
    });
    expect(seconds(settings.scanTimeout)).toBe(180);
    expect(seconds(settings.scanQueueVisibilityTimeout)).toBe(3600);
    expect(seconds(settings.rescanTimeout)).toBe(10);
    expect(seconds(settings.feedSyncTimeout)).toBe(900);
    expect(seconds(settings.feedSyncInterval)).toBe(300);
    expect(seconds(settings.maxScanAge)).toBe(1800);
    expect(validateProps({ rescanWindowDays: 99_999 }).rescanWindowDays).toBe(99_999);
  });

  // Each message names the bad value and the allowed ones.
  it('writes the allowed registry hosts as the scan function reads them', () => {
    const settings = validateProps({
      registryAllowedHosts: {
        'harbor.example.com': ['harbor-blobs.s3.eu-west-1.amazonaws.com', '*.cloudfront.net'],
        'registry.internal:5000': ['blobs.internal:9000'],
      },
    });
    expect(settings.registryAllowedHosts).toBe(
      'harbor.example.com=harbor-blobs.s3.eu-west-1.amazonaws.com,harbor.example.com=*.cloudfront.net,registry.internal:5000=blobs.internal:9000',
    );
    expect(validateProps({}).registryAllowedHosts).toBeUndefined();
  });

  it.each<[string, ImageScannerProps, string]>([
    [
      'an allowed host that is not a host pattern',
      { registryAllowedHosts: { 'harbor.example.com': ['https://blobs.example.com/'] } },
      'registryAllowedHosts: invalid allowed host "harbor.example.com=https://blobs.example.com/": REGISTRY=HOST, HOST as host, host:port or *.suffix',
    ],
    [
      'no repositories',
      { repositories: [] },
      'repositories must name at least one repository or prefix; omit it to scan all',
    ],
    [
      'an invalid repository name',
      { repositories: ['web', 'Web App'] },
      'repository "Web App" is not a valid ECR repository name (lowercase, digits, ".", "_", "-", "/")',
    ],
    [
      'a one-character repository name',
      { repositories: ['a'] },
      'repository "a" is not a valid ECR repository name (lowercase, digits, ".", "_", "-", "/")',
    ],
    [
      'a repository name over 256 characters',
      { repositories: ['a'.repeat(257)] },
      `repository "${'a'.repeat(257)}" is not a valid ECR repository name (lowercase, digits, ".", "_", "-", "/")`,
    ],
    [
      'a prefix with a second *',
      { repositories: ['team-*/x*'] },
      `repository prefix "team-*/x*" is not valid: use a name start followed by one '*', e.g. "team-a/*"`,
    ],
    [
      'a bare *',
      { repositories: ['*'] },
      `repository prefix "*" is not valid: use a name start followed by one '*', e.g. "team-a/*"`,
    ],
    [
      'a short scan timeout',
      { scanTimeout: Duration.seconds(5) },
      'scanTimeout must be between 10 seconds and 15 minutes, got 5 seconds',
    ],
    [
      'a long rescan timeout',
      { rescanTimeout: Duration.minutes(16) },
      'rescanTimeout must be between 10 seconds and 15 minutes, got 16 minutes',
    ],
    [
      'a long feed-sync timeout',
      { feedSyncTimeout: Duration.hours(1) },
      'feedSyncTimeout must be between 10 seconds and 15 minutes, got 1 hour',
    ],
    [
      'a visibility timeout under 6x the scan timeout',
      { scanTimeout: Duration.minutes(5), scanQueueVisibilityTimeout: Duration.minutes(10) },
      'scanQueueVisibilityTimeout must be between 30 minutes and 12 hours, got 10 minutes',
    ],
    [
      'a visibility timeout over 12 hours',
      { scanQueueVisibilityTimeout: Duration.hours(13) },
      'scanQueueVisibilityTimeout must be between 30 minutes and 12 hours, got 13 hours',
    ],
    [
      'too little scan memory',
      { scanMemoryMiB: 256 },
      'scanMemoryMiB must be an integer from 512 to 10240, got 256',
    ],
    [
      'too much scan memory',
      { scanMemoryMiB: 10241 },
      'scanMemoryMiB must be an integer from 512 to 10240, got 10241',
    ],
    [
      'a fractional scan memory',
      { scanMemoryMiB: 1024.5 },
      'scanMemoryMiB must be an integer from 512 to 10240, got 1024.5',
    ],
    [
      'an empty scan batch',
      { scanBatchSize: 0 },
      'scanBatchSize must be an integer from 1 to 10, got 0',
    ],
    [
      'a scan batch over 10',
      { scanBatchSize: 11 },
      'scanBatchSize must be an integer from 1 to 10, got 11',
    ],
    [
      'a feed-sync interval under 5 minutes',
      { feedSyncInterval: Duration.minutes(1) },
      'feedSyncInterval must be between 5 minutes and 7 days, got 1 minute',
    ],
    [
      'a feed-sync interval over 7 days',
      { feedSyncInterval: Duration.days(8) },
      'feedSyncInterval must be between 5 minutes and 7 days, got 8 days',
    ],
    [
      'a rescan window of 0 days',
      { rescanWindowDays: 0 },
      "rescanWindowDays must be an integer from 1 to 99999 or 'LIFETIME', got 0",
    ],
    [
      'a fractional rescan window',
      { rescanWindowDays: 1.5 },
      "rescanWindowDays must be an integer from 1 to 99999 or 'LIFETIME', got 1.5",
    ],
    [
      'a rescan window over 99999 days',
      { rescanWindowDays: 100_000 },
      "rescanWindowDays must be an integer from 1 to 99999 or 'LIFETIME', got 100000",
    ],
    [
      'no receives before dead-lettering',
      { maxReceiveCount: 0 },
      'maxReceiveCount must be an integer from 1 to 1000, got 0',
    ],
    [
      'more receives than SQS allows',
      { maxReceiveCount: 1001 },
      'maxReceiveCount must be an integer from 1 to 1000, got 1001',
    ],
    [
      'no feed ecosystems',
      { feedEcosystems: [] },
      'feedEcosystems must be a non-empty list of OSV ecosystem names without commas, got []',
    ],
    [
      'a feed ecosystem with a comma',
      { feedEcosystems: ['PyPI,npm'] },
      'feedEcosystems must be a non-empty list of OSV ecosystem names without commas, got ["PyPI,npm"]',
    ],
    [
      'a blank feed ecosystem',
      { feedEcosystems: ['PyPI', ' '] },
      'feedEcosystems must be a non-empty list of OSV ecosystem names without commas, got ["PyPI"," "]',
    ],
    [
      'an Amazon Linux release without a known repository',
      { feedVendorSources: ['alas:2', 'alas:2018.03'] },
      `feedVendorSources must name vendor feeds Bosun reads (${VENDOR_SOURCES.join(', ')}), got "alas:2018.03"`,
    ],
    [
      'an OSV base URL that is not http(s)',
      { osvBaseUrl: 'ftp://mirror.example/osv' },
      'osvBaseUrl must be an http(s) URL, got "ftp://mirror.example/osv"',
    ],
    [
      'a webhook replay window over an hour (a replay stays possible that long)',
      { webhookReplayWindow: Duration.hours(2) },
      'webhookReplayWindow must be between 30 seconds and 1 hour, got 2 hours',
    ],
    [
      'a previous-secret grace over 30 days',
      { webhookPreviousSecretGrace: Duration.days(31) },
      'webhookPreviousSecretGrace must be between 0 seconds and 30 days, got 31 days',
    ],
    [
      'a webhook reserved concurrency of 0 (the webhook would never run)',
      { webhookReservedConcurrency: 0 },
      'webhookReservedConcurrency must be an integer from 1 to 100, got 0',
    ],
  ])('rejects %s', (_, props, message) => {
    expect(() => validateProps(props)).toThrow(new Error(message));
  });

  it('reports the first bad prop in a fixed order', () => {
    expect(() => validateProps({ osvBaseUrl: 'x', repositories: [] })).toThrow(
      /^repositories must name/,
    );
    expect(() => validateProps({ feedEcosystems: [], maxReceiveCount: 0 })).toThrow(
      /^maxReceiveCount must be/,
    );
  });
});
