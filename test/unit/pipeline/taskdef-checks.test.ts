/**
 * Task-definition checks in the deployment on the embedded item table (the same suite runs on
 * DynamoDB Local: test/integration/dynamodb-taskdef-checks.test.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { taskDefinitionChecksSuite } from '../../contract/taskdef-checks.js';

taskDefinitionChecksSuite('the embedded table', async (kind) =>
  EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-taskdef-checks-')), kind),
);
