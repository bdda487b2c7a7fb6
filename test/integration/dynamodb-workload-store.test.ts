/**
 * The workload store's contract on DynamoDB Local, in a fresh table shaped like the stack's
 * images table (its byRepository index included).
 */
import { afterAll, inject } from 'vitest';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { workloadStoreContract } from '../contract/workload-store.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

workloadStoreContract(
  'DynamoDB',
  async () =>
    new DynamoDbItemTable(documents, await freshTableLike(state, 'ScannerTablesImages', tables)),
);
