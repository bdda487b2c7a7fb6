/**
 * Task-definition checks in the deployment on DynamoDB Local (test/contract/taskdef-checks.ts),
 * each case in fresh tables shaped like the stack's images, inventories and findings tables.
 */
import { afterAll, inject } from 'vitest';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { taskDefinitionChecksSuite } from '../contract/taskdef-checks.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

const PREFIX = {
  images: 'ScannerTablesImages',
  inventories: 'ScannerTablesInventories',
  findings: 'ScannerTablesFindings',
} as const;

taskDefinitionChecksSuite(
  'DynamoDB Local',
  async (kind) =>
    new DynamoDbItemTable(documents, await freshTableLike(state, PREFIX[kind], tables)),
);
