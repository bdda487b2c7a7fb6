/**
 * Registry webhook: receives the push notifications of a CNCF distribution registry (or any
 * registry that sends the same envelope) on a Lambda function URL and puts one scan request
 * per pushed manifest on the scan queue. The work is in shared/ingest/registry-webhook.ts.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { dynamoDbFromConfig, sqsFromConfig } from '../../shared/config/clients.js';
import { loadConfig } from '../../shared/config/env.js';
import { rotatingSecret } from '../../shared/config/secrets.js';
import { ItemTableEventLedger } from '../../shared/ingest/event-ledger.js';
import {
  DEFAULT_REPLAY_WINDOW_SECONDS,
  handleRegistryWebhook,
  type RegistryCredentials,
} from '../../shared/ingest/registry-webhook.js';
import { logger } from '../../shared/observability.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';

const config = loadConfig([
  'scanQueueUrl',
  'findingsTable',
  'webhookSecrets',
  'webhookReplayWindow',
  'webhookPreviousSecretGrace',
  'region',
  'sqsEndpoint',
  'dynamodbEndpoint',
]);
const sqs = sqsFromConfig(config);
const ledger = new ItemTableEventLedger(
  new DynamoDbItemTable(dynamoDbFromConfig(config), config.findingsTable),
);
const secrets = new SecretsManagerClient(
  config.region === undefined ? {} : { region: config.region },
);
// Read once per container and again every few minutes, or sooner after a rotation.
const registries: RegistryCredentials[] = [...config.webhookSecrets].map(([host, arn]) => ({
  host,
  secrets: rotatingSecret(secrets, arn, {
    graceSeconds: config.webhookPreviousSecretGrace ?? 86_400,
  }),
}));

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
        registries,
        ledger,
        sqs,
        scanQueueUrl: config.scanQueueUrl,
        replayWindowSeconds: config.webhookReplayWindow ?? DEFAULT_REPLAY_WINDOW_SECONDS,
      },
    );
    logger.info('registry notification', {
      status: out.statusCode,
      registry: out.registry,
      auth: out.auth,
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
