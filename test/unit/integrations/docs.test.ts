/**
 * docs/integrations.md against the code: every event type's detail-type in its table (a new
 * event type of message.ts fails here until it is documented), every required ASFF attribute
 * in the mapping table.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DETAIL_TYPES } from '../../../shared/notifications/eventbridge-notifier.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';

const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'integrations.md'), 'utf8');
/** Rows of the markdown tables: their cells, trimmed. */
const rows = doc
  .split('\n')
  .filter((l) => l.startsWith('|'))
  .map((l) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim()),
  );

describe('docs/integrations.md', () => {
  it('lists the detail-type of every event type, as sent', () => {
    const documented = new Map(
      rows
        .filter((r) => r.length === 2 && /^`[A-Z_]+`$/.test(r[0] ?? ''))
        .map((r) => [(r[0] ?? '').slice(1, -1), (r[1] ?? '').slice(1, -1)]),
    );
    expect(Object.fromEntries(documented)).toEqual(DETAIL_TYPES);
  });

  it('maps every required ASFF attribute', () => {
    const mapped = rows.map((r) => r[0] ?? '').join(' ');
    for (const field of [
      'AwsAccountId',
      'CreatedAt',
      'Description',
      'GeneratorId',
      'Id',
      'ProductArn',
      'Resources',
      'SchemaVersion',
      'Severity',
      'Title',
      'Types',
      'UpdatedAt',
    ])
      expect(mapped).toContain(`\`${field}\``);
  });
});
