/**
 * The checks store's contract (lifecycle, suppressions, incomplete readings, pending
 * announcements, no secret value stored) on DynamoDB Local, in a fresh table shaped like the
 * stack's findings table.
 */
import { afterAll, inject } from 'vitest';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { checksStoreContract } from '../contract/checks-store.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

checksStoreContract(
  'DynamoDB',
  async () =>
    new DynamoDbItemTable(documents, await freshTableLike(state, 'ScannerTablesFindings', tables)),
);
