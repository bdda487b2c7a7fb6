/**
 * BatchWriteItem and BatchGetItem with what the API leaves to callers: at most 25 writes and
 * 100 keys per request, and the unprocessed remainder retried with full-jitter backoff
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { backoffMs, mapLimit, sleep } from '../../concurrency.js';
import { BosunError } from '../../errors.js';

/** DynamoDB did not take every item after all retries. Nothing reports them as written. */
export class StoreWriteError extends BosunError {
  readonly fatal = true;
}

export type WriteRequest =
  | { readonly PutRequest: { readonly Item: Record<string, unknown> } }
  | { readonly DeleteRequest: { readonly Key: Record<string, unknown> } };

export interface RetryOptions {
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Requests sent at once. */
  readonly concurrency?: number;
}

const backoff = (attempt: number, opts: RetryOptions) =>
  backoffMs(attempt, opts.baseDelayMs ?? 50, opts.maxDelayMs ?? 2000);

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function batchWrite(
  client: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
  opts: RetryOptions = {},
): Promise<void> {
  const attempts = opts.attempts ?? 8;
  await mapLimit(chunks(requests, 25), opts.concurrency ?? 4, async (chunk) => {
    let pending: readonly WriteRequest[] = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= attempts)
        throw new StoreWriteError(
          `${table}: ${pending.length} of ${chunk.length} writes still unprocessed after ${attempts} attempts`,
        );
      if (attempt > 0) await sleep(backoff(attempt, opts));
      const out = await client.send(
        new BatchWriteCommand({ RequestItems: { [table]: pending as WriteRequest[] } }),
      );
      pending = (out.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    }
  });
}

export async function batchGet(
  client: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  projection: string,
  opts: RetryOptions = {},
): Promise<Record<string, unknown>[]> {
  const attempts = opts.attempts ?? 8;
  const items: Record<string, unknown>[] = [];
  await mapLimit(chunks(keys, 100), opts.concurrency ?? 4, async (chunk) => {
    let pending: readonly Record<string, unknown>[] = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= attempts)
        throw new StoreWriteError(
          `${table}: ${pending.length} keys still unprocessed after ${attempts} attempts`,
        );
      if (attempt > 0) await sleep(backoff(attempt, opts));
      const out = await client.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: {
              Keys: pending as Record<string, unknown>[],
              ProjectionExpression: projection,
            },
          },
        }),
      );
      items.push(...((out.Responses?.[table] ?? []) as Record<string, unknown>[]));
      pending = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
    }
  });
  return items;
}
