import { afterAll, inject } from 'vitest';
import { DynamoDbAdvisoryStore } from '../../shared/stores/dynamodb/advisory-store.js';
import { advisoryStoreContract } from '../contract/advisory-store.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

advisoryStoreContract('DynamoDB', async () => {
  const table = await freshTableLike(state, 'ScannerTablesAdvisories', tables);
  return {
    store: new DynamoDbAdvisoryStore(documents, table),
    reopen: async () => new DynamoDbAdvisoryStore(documents, table),
  };
});
