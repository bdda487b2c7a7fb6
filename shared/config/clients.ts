/**
 * SDK clients built from the configuration. In AWS the endpoint overrides are unset and the
 * SDK finds the region and credentials itself; the local stack sets the endpoints.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../stores/dynamodb/client.js';
import type { Config } from './env.js';

type ClientConfig = Partial<
  Config<'region' | 'dynamodbEndpoint' | 'sqsEndpoint' | 'snsEndpoint' | 's3Endpoint'>
>;

// A request that hangs is an error after this long, not a stuck function.
const requestHandler = {
  requestTimeout: 30_000,
  connectionTimeout: 5_000,
  throwOnRequestTimeout: true,
};

export function dynamoDbFromConfig(config: ClientConfig): DynamoDBDocumentClient {
  return documentClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }),
    requestHandler,
  });
}

export function sqsFromConfig(config: ClientConfig): SQSClient {
  return new SQSClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    // Local SQS (fauxqs) names hosts in queue URLs that do not resolve: send to the endpoint.
    ...(config.sqsEndpoint === undefined
      ? {}
      : { endpoint: config.sqsEndpoint, useQueueUrlAsEndpoint: false }),
    requestHandler,
  });
}

export function snsFromConfig(config: ClientConfig): SNSClient {
  return new SNSClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.snsEndpoint === undefined ? {} : { endpoint: config.snsEndpoint }),
    requestHandler,
  });
}

export function s3FromConfig(config: ClientConfig): S3Client {
  return new S3Client({
    ...(config.region === undefined ? {} : { region: config.region }),
    // Local S3 (fauxqs) serves buckets as paths, not as host names.
    ...(config.s3Endpoint === undefined
      ? {}
      : { endpoint: config.s3Endpoint, forcePathStyle: true }),
    requestHandler,
  });
}

export function ecrFromConfig(config: ClientConfig): ECRClient {
  return new ECRClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    requestHandler,
  });
}

/**
 * EventBridge and Security Hub (issue 22): imported on first use, so a function that sends
 * neither does not load them at cold start.
 */
export async function eventBridgeFromConfig(
  config: ClientConfig,
): Promise<import('@aws-sdk/client-eventbridge').EventBridgeClient> {
  const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
  return new EventBridgeClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    requestHandler,
  });
}

export async function securityHubFromConfig(
  config: ClientConfig,
): Promise<import('@aws-sdk/client-securityhub').SecurityHubClient> {
  const { SecurityHubClient } = await import('@aws-sdk/client-securityhub');
  return new SecurityHubClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    requestHandler,
  });
}
