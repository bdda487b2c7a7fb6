/**
 * Task-definition checks in the deployment on the embedded item table (the same suite runs on
 * DynamoDB Local: test/integration/dynamodb-taskdef-checks.test.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditTriggerEvent } from '../../../shared/events/audit-trigger.js';
import { parseJsonEvent } from '../../../shared/events/parse.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { taskDefinitionChecksSuite } from '../../contract/taskdef-checks.js';
import { fixtureText } from '../../support/fixtures.js';

taskDefinitionChecksSuite('the embedded table', async (kind) =>
  EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-taskdef-checks-')), kind),
);

describe('the audit function trigger', () => {
  it('takes the documented RegisterTaskDefinition event, beside task changes and the schedule', () => {
    const trigger = parseJsonEvent(
      auditTriggerEvent,
      'audit trigger',
      fixtureText('ecs/task-definitions/cloudtrail/register-sleep360.json'),
    );
    expect(trigger['detail-type']).toBe('AWS API Call via CloudTrail');
    const running = parseJsonEvent(
      auditTriggerEvent,
      'audit trigger',
      fixtureText('ecs/task-state-change/running.json'),
    );
    expect(running['detail-type']).toBe('ECS Task State Change');
  });
});
