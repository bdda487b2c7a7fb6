import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fixtureJson, fixtureText } from '../../support/fixtures.js';
import { DEPLOYED_ENV, lambdaContext, sqsEvent } from '../../support/lambda.js';

beforeEach(() => {
  vi.resetModules();
  for (const [name, value] of Object.entries(DEPLOYED_ENV)) vi.stubEnv(name, value);
});
afterEach(() => vi.unstubAllEnvs());

describe('scan handler', () => {
  it('accepts push, delete and failed-push events and reports only the malformed record as failed', async () => {
    const { handler } = await import('../../../functions/scan/index.js');
    const event = sqsEvent([
      fixtureText('events/ecr-image-action/push.json'),
      fixtureText('events/ecr-image-action/bad-digest.json'),
      fixtureText('events/ecr-image-action/delete.json'),
      fixtureText('events/ecr-image-action/push-failed.json'),
      'not json',
    ]);
    const result = await handler(event, lambdaContext('scan'));
    expect(result).toEqual({
      batchItemFailures: [{ itemIdentifier: 'message-1' }, { itemIdentifier: 'message-4' }],
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
  it('accepts package-change messages and fails the malformed ones', async () => {
    const { handler } = await import('../../../functions/rescan/index.js');
    const bad = JSON.stringify({ version: 1, source: 'osv:Go', changes: [] });
    const result = await handler(
      sqsEvent([fixtureText('events/rescan/package-changes.json'), bad], 'RescanQueue'),
      lambdaContext('rescan'),
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-1' }] });
  });
});

describe('feed-sync handler', () => {
  it('accepts the scheduled event', async () => {
    const { handler } = await import('../../../functions/feed-sync/index.js');
    const result = await handler(
      fixtureJson('events/scheduled/hourly.json'),
      lambdaContext('feed-sync'),
    );
    expect(result).toEqual({ status: 'accepted', eventId: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa' });
  });

  it('rejects any other event with a message naming the bad field', async () => {
    const { handler } = await import('../../../functions/feed-sync/index.js');
    const notScheduled = {
      ...fixtureJson<Record<string, unknown>>('events/scheduled/hourly.json'),
      'detail-type': 'Object Created',
    };
    await expect(handler(notScheduled, lambdaContext('feed-sync'))).rejects.toThrow(
      /invalid Scheduled Event event: detail-type/,
    );
  });
});
