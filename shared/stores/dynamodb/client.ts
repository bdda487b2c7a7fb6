/** The document client every DynamoDB adapter uses. */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    // Optional fields of checkpoints and records are left out rather than stored as NULL.
    marshallOptions: { removeUndefinedValues: true },
  });
}
