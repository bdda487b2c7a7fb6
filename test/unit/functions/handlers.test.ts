import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fixtureText } from '../../support/fixtures.js';
import { DEPLOYED_ENV, lambdaContext, sqsEvent } from '../../support/lambda.js';

beforeEach(() => {
  vi.resetModules();
  for (const [name, value] of Object.entries(DEPLOYED_ENV)) vi.stubEnv(name, value);
});
afterEach(() => vi.unstubAllEnvs());

describe('scan handler', () => {
  // The scan itself runs on the local stack (test/integration/pipeline.test.ts); here, what is
  // decided from the message alone.
  it('skips a failed push and reports the malformed records as failed', async () => {
    const { handler } = await import('../../../functions/scan/index.js');
    const event = sqsEvent([
      fixtureText('events/ecr-image-action/push-failed.json'),
      fixtureText('events/ecr-image-action/bad-digest.json'),
      'not json',
      JSON.stringify({ version: 1, request: { action: 'PUSH' } }),
    ]);
    const result = await handler(event, lambdaContext('scan'));
    expect(result).toEqual({
      batchItemFailures: [
        { itemIdentifier: 'message-1' },
        { itemIdentifier: 'message-2' },
        { itemIdentifier: 'message-3' },
      ],
    });
  });

  it('fails at cold start, naming the missing variable, when configuration is incomplete', async () => {
    vi.stubEnv('BOSUN_FINDINGS_TOPIC_ARN', '');
    await expect(import('../../../functions/scan/index.js')).rejects.toThrow(
      'BOSUN_FINDINGS_TOPIC_ARN is not set',
    );
  });
});

describe('rescan handler', () => {
  it('fails malformed package-change messages', async () => {
    const { handler } = await import('../../../functions/rescan/index.js');
    const empty = JSON.stringify({ version: 1, source: 'osv:Go', changes: [] });
    // Every record failed: the batch processor fails the invocation, and SQS retries them all.
    await expect(
      handler(
        sqsEvent([empty, 'not json', JSON.stringify({ version: 2 })], 'RescanQueue'),
        lambdaContext('rescan'),
      ),
    ).rejects.toThrow(/All records failed processing/);
  });
});

describe('feed-sync handler', () => {
  it('ignores a continuation for a source it does not sync and fails malformed messages', async () => {
    const { handler } = await import('../../../functions/feed-sync/index.js');
    const result = await handler(
      sqsEvent(
        [
          fixtureText('events/feed-sync/continue-pypi.json'),
          JSON.stringify({ version: 2 }),
          JSON.stringify({ version: 1, source: 'osv:Go', extra: true }),
          'not json',
        ],
        'FeedSyncQueue',
      ),
      lambdaContext('feed-sync'),
    );
    expect(result).toEqual({
      batchItemFailures: [
        { itemIdentifier: 'message-1' },
        { itemIdentifier: 'message-2' },
        { itemIdentifier: 'message-3' },
      ],
    });
  });

  it("reads NVD's API key only to sync NVD", async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bosun/nvd-AbCdEf';
    vi.stubEnv('BOSUN_NVD_API_KEY_SECRET_ARN', arn);
    vi.stubEnv('BOSUN_FEED_VENDOR_SOURCES', 'nvd');
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const send = vi.spyOn(SecretsManagerClient.prototype, 'send');
    const { handler } = await import('../../../functions/feed-sync/index.js');
    // A continuation for a source this deployment does not sync: nothing to read the key for.
    const message = [JSON.stringify({ version: 1, source: 'alas:2' })];
    expect(await handler(sqsEvent(message, 'FeedSyncQueue'), lambdaContext('feed-sync'))).toEqual({
      batchItemFailures: [],
    });
    expect(send).not.toHaveBeenCalled();
    send.mockRestore();
  });

  it('fails at cold start when the ecosystems list is malformed', async () => {
    vi.stubEnv('BOSUN_FEED_ECOSYSTEMS', 'Go,,PyPI');
    await expect(import('../../../functions/feed-sync/index.js')).rejects.toThrow(
      /BOSUN_FEED_ECOSYSTEMS="Go,,PyPI" is not valid \(a comma-separated list of OSV ecosystems\)/,
    );
  });

  it("fails at cold start when a publisher's feed is not one Bosun reads", async () => {
    vi.stubEnv('BOSUN_FEED_VENDOR_SOURCES', 'alas:2023,al2');
    await expect(import('../../../functions/feed-sync/index.js')).rejects.toThrow(
      /BOSUN_FEED_VENDOR_SOURCES="alas:2023,al2" is not valid \(a comma-separated list of vendor feeds \(alas:2, alas:2023, /,
    );
  });
});

describe('registry-webhook handler', () => {
  it('fails at cold start when a registry is not given a secret ARN', async () => {
    vi.stubEnv('BOSUN_WEBHOOK_SECRETS', 'registry.example.com=my-secret');
    await expect(import('../../../functions/registry-webhook/index.js')).rejects.toThrow(
      /BOSUN_WEBHOOK_SECRETS="registry.example.com=my-secret" is not valid \(a comma-separated list of host\[:port\]=<Secrets Manager secret ARN>\)/,
    );
  });

  it('fails at cold start when the replay window is out of range', async () => {
    vi.stubEnv('BOSUN_WEBHOOK_REPLAY_WINDOW', '86400');
    await expect(import('../../../functions/registry-webhook/index.js')).rejects.toThrow(
      /BOSUN_WEBHOOK_REPLAY_WINDOW="86400" is not valid \(a whole number of seconds from 30 to 3600\)/,
    );
  });
});
