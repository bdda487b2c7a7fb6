import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, inject } from 'vitest';
import { documentClient } from '../../shared/stores/dynamodb/client.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { itemStoresContract } from '../contract/item-stores.js';
import { freshTableLike, localClientConfig } from '../support/aws.js';

const state = inject('localStack');
const documents = documentClient(localClientConfig(state));
const tables = new DynamoDBClient(localClientConfig(state));
afterAll(() => {
  documents.destroy();
  tables.destroy();
});

const PREFIX = {
  images: 'ScannerTablesImages',
  inventories: 'ScannerTablesInventories',
  findings: 'ScannerTablesFindings',
} as const;

itemStoresContract(
  'DynamoDB',
  async (kind) =>
    new DynamoDbItemTable(documents, await freshTableLike(state, PREFIX[kind], tables)),
);
