import { afterAll, inject } from 'vitest';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { itemStoresContract } from '../contract/item-stores.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

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
