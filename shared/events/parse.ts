import type { z } from 'zod';
import { InvalidEventError } from '../errors.js';
import { describeIssues } from '../zod-issues.js';

/** Validates an already-decoded value against a schema, or throws InvalidEventError. */
export function parseEvent<T extends z.ZodType>(
  schema: T,
  source: string,
  value: unknown,
): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidEventError(source, describeIssues(result.error));
  return result.data;
}

/** Decodes a JSON message body (SQS, SNS, webhook) and validates it. */
export function parseJsonEvent<T extends z.ZodType>(
  schema: T,
  source: string,
  body: string,
): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (cause) {
    const excerpt = body.length > 80 ? `${body.slice(0, 80)}…` : body;
    throw new InvalidEventError(source, [`body is not JSON: ${JSON.stringify(excerpt)}`], {
      cause,
    });
  }
  return parseEvent(schema, source, value);
}
