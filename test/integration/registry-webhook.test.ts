/**
 * The registry-webhook function, configured from the template, on the local stack: a real
 * notification envelope signed with the registry's secret (or carrying it as a bearer token,
 * as CNCF distribution does) puts one scan request per manifest on the scan queue once; a
 * replay, a wrong secret or a malformed envelope puts nothing. Event ids are recorded in the
 * local findings table. Secrets Manager has no local emulator, so its client is faked at the
 * SDK boundary.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { functionEnv } from '../../scripts/local/stack.js';
import { parseScanMessage } from '../../shared/events/scan-request.js';
import { SIGNATURE_HEADER, signWebhookBody } from '../../shared/ingest/registry-webhook.js';
import { drainQueue, localClients, resourceByPrefix } from '../support/aws.js';
import { fixtureText } from '../support/fixtures.js';
import { lambdaContext } from '../support/lambda.js';

const state = inject('localStack');
const clients = localClients(state);
const scanQueue = resourceByPrefix(state, 'ScannerScanQueue').ref;
const SECRET = 'b7Xq2mT9vLr4Kp8Zs1Wn6Yd3Hf5Gc0Ja7Ue2Ri9Oq4Vt8Bm';
const secretReads: string[] = [];

beforeAll(() => {
  for (const [name, value] of Object.entries(functionEnv(state, 'registry-webhook')))
    vi.stubEnv(name, value);
  vi.spyOn(SecretsManagerClient.prototype, 'send').mockImplementation(async (command) => {
    if (!(command instanceof GetSecretValueCommand)) throw new Error('unexpected command');
    secretReads.push(command.input.SecretId ?? '');
    return { SecretString: SECRET };
  });
  vi.resetModules();
});

afterAll(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  clients.destroy();
});

/** The recorded envelope with fresh event ids and times: the same images pushed again now. */
function freshEnvelope(): string {
  const envelope = JSON.parse(
    fixtureText('events/registry-notification/multi-platform-push.json'),
  ) as { events: { id: string; timestamp: string }[] };
  for (const e of envelope.events) {
    e.id = crypto.randomUUID();
    e.timestamp = new Date().toISOString();
  }
  return JSON.stringify(envelope);
}

function urlEvent(
  body: string,
  authorization?: string,
  method = 'POST',
  signature?: string,
): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: {
      'content-type': 'application/vnd.docker.distribution.events.v1+json',
      ...(authorization === undefined ? {} : { Authorization: authorization }),
      ...(signature === undefined ? {} : { [SIGNATURE_HEADER]: signature }),
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: 'local.lambda-url.us-east-1.on.aws',
      domainPrefix: 'local',
      http: {
        method,
        path: '/',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'docker-registry',
      },
      requestId: 'request-1',
      routeKey: '$default',
      stage: '$default',
      time: '29/Nov/2026:00:57:41 +0000',
      timeEpoch: 1795741061000,
    },
    body,
    isBase64Encoded: false,
  };
}

it('queues one scan request per manifest of a real notification, only with the registry secret, once', async () => {
  await drainQueue(clients.sqs, scanQueue);
  const { handler } = await import('../../functions/registry-webhook/index.js');
  const body = freshEnvelope();
  const context = lambdaContext('registry-webhook');

  expect(await handler(urlEvent(body, 'Bearer wrong'), context)).toMatchObject({ statusCode: 401 });
  expect(await handler(urlEvent(body), context)).toMatchObject({ statusCode: 401 });
  expect(await handler(urlEvent(body, `Bearer ${SECRET}`, 'GET'), context)).toMatchObject({
    statusCode: 405,
  });
  const bad = await handler(urlEvent('{"events":[{"id":1}]}', `Bearer ${SECRET}`), context);
  expect(bad).toMatchObject({ statusCode: 400 });
  // The recorded envelope as it was sent days ago: its events are outside the replay window.
  const recorded = fixtureText('events/registry-notification/multi-platform-push.json');
  const stale = await handler(urlEvent(recorded, `Bearer ${SECRET}`), context);
  expect(JSON.parse((stale as { body: string }).body)).toEqual({ requests: 0, skipped: 5 });
  expect(await drainQueue(clients.sqs, scanQueue)).toEqual([]);

  const ok = await handler(urlEvent(body, `Bearer ${SECRET}`), context);
  expect(ok).toMatchObject({ statusCode: 202 });
  expect(JSON.parse((ok as { body: string }).body)).toEqual({ requests: 4, skipped: 1 });
  const queued = (await drainQueue(clients.sqs, scanQueue)).map((b) => parseScanMessage(b));
  const envelope = JSON.parse(body) as {
    events: { target: { digest: string; mediaType: string } }[];
  };
  expect(queued.map((r) => r?.digest).sort()).toEqual(
    envelope.events
      .filter((e) => e.target.mediaType !== 'application/octet-stream')
      .map((e) => e.target.digest)
      .sort(),
  );

  // The same request again (a replay, or the registry's redelivery), now signed: nothing new.
  const signature = signWebhookBody(SECRET, Math.floor(Date.now() / 1000), body);
  const replay = await handler(urlEvent(body, undefined, 'POST', signature), context);
  expect(JSON.parse((replay as { body: string }).body)).toEqual({ requests: 0, skipped: 5 });
  expect(await drainQueue(clients.sqs, scanQueue)).toEqual([]);

  // Another push, signed: queued.
  const next = freshEnvelope();
  const signed = signWebhookBody(SECRET, Math.floor(Date.now() / 1000), next);
  const accepted = await handler(urlEvent(next, undefined, 'POST', signed), context);
  expect(JSON.parse((accepted as { body: string }).body)).toEqual({ requests: 4, skipped: 1 });
  expect(await drainQueue(clients.sqs, scanQueue)).toHaveLength(4);

  // The secret is read once per container (its current version only: it was never rotated);
  // the wrong secret above did not cost another read so soon after the first.
  const arn = functionEnv(state, 'registry-webhook').BOSUN_WEBHOOK_SECRETS?.split('=')[1];
  expect(new Set(secretReads)).toEqual(new Set([arn]));
  expect(secretReads).toHaveLength(1);
});
