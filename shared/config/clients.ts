/**
 * SDK clients built from the configuration. In AWS the endpoint overrides are unset and the
 * SDK finds the region and credentials itself; the local stack sets the endpoints.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../stores/dynamodb/client.js';
import type { Config } from './env.js';

type ClientConfig = Partial<Config<'region' | 'dynamodbEndpoint' | 'sqsEndpoint'>>;

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
