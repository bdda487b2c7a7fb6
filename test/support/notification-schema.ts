import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { PROJECT_ROOT } from './fixtures.js';

// strictRequired would reject the if/then clauses that require properties declared at the top.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
addFormats.default(ajv);
const validate = ajv.compile(
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'docs/notification.schema.json'), 'utf8')),
);

/** Schema errors of a notification body (docs/notification.schema.json); empty when valid. */
export function notificationErrors(body: string): string[] {
  return validate(JSON.parse(body))
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
