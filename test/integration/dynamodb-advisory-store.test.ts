import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, inject } from 'vitest';
import { DynamoDbAdvisoryStore } from '../../shared/stores/dynamodb/advisory-store.js';
import { documentClient } from '../../shared/stores/dynamodb/client.js';
import { advisoryStoreContract } from '../contract/advisory-store.js';
import { freshTableLike, localClientConfig } from '../support/aws.js';

const state = inject('localStack');
const documents = documentClient(localClientConfig(state));
const tables = new DynamoDBClient(localClientConfig(state));
afterAll(() => {
  documents.destroy();
  tables.destroy();
});

advisoryStoreContract('DynamoDB', async () => {
  const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
  return {
    store: new DynamoDbAdvisoryStore(documents, table),
    reopen: async () => new DynamoDbAdvisoryStore(documents, table),
  };
});
