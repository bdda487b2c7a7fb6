/**
 * Registry webhook: receives the push notifications of a CNCF distribution registry (or any
 * registry that sends the same envelope) on a Lambda function URL and puts one scan request
 * per pushed manifest on the scan queue. The work is in shared/ingest/registry-webhook.ts.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { sqsFromConfig } from '../../shared/config/clients.js';
import { loadConfig } from '../../shared/config/env.js';
import { cachedSecret } from '../../shared/config/secrets.js';
import { handleRegistryWebhook } from '../../shared/ingest/registry-webhook.js';
import { logger } from '../../shared/observability.js';

const config = loadConfig([
  'scanQueueUrl',
  'webhookSecretArn',
  'webhookRegistries',
  'region',
  'sqsEndpoint',
]);
const sqs = sqsFromConfig(config);
const secrets = new SecretsManagerClient(
  config.region === undefined ? {} : { region: config.region },
);

// Read once per container; a failed read is retried by the next request.
const sharedSecret = cachedSecret(secrets, config.webhookSecretArn);

export const handler = middy(
  async (event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> => {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
    const body =
      event.body === undefined
        ? ''
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body;
    const out = await handleRegistryWebhook(
      { method: event.requestContext.http.method, headers, body },
      {
        secret: await sharedSecret(),
        sqs,
        scanQueueUrl: config.scanQueueUrl,
        // None configured: every notification is refused (logged as skipped).
        registries: config.webhookRegistries ?? new Set(),
      },
    );
    logger.info('registry notification', {
      status: out.statusCode,
      requests: out.requests,
      skipped: out.skipped,
      sourceIp: event.requestContext.http.sourceIp,
    });
    return {
      statusCode: out.statusCode,
      headers: { 'content-type': 'application/json' },
      body: out.body,
    };
  },
).use(injectLambdaContext(logger));
