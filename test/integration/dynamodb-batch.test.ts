/**
 * Batch writes against DynamoDB Local when DynamoDB leaves items unprocessed (as it does under
 * throttling): the remainder is retried until written, or the write fails with a typed error
 * after its attempts. The client in front of DynamoDB Local forwards one item per request and
 * hands the rest back as UnprocessedItems, as the API documents.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, expect, inject, it } from 'vitest';
import {
  batchWrite,
  StoreWriteError,
  type WriteRequest,
} from '../../shared/stores/dynamodb/batch.js';
import { freshTableLike, localDynamoDb } from '../support/aws.js';

const state = inject('localStack');
const { documents, tables, destroy } = localDynamoDb(state);
afterAll(destroy);

/** A client that lets `take` items of each BatchWriteItem through and returns the rest unprocessed. */
function throttled(take: number): { client: DynamoDBDocumentClient; calls: number[] } {
  const calls: number[] = [];
  const client = new Proxy(documents, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: unknown) => {
        if (!(command instanceof BatchWriteCommand)) return target.send(command as never);
        const [table, requests] = Object.entries(command.input.RequestItems ?? {})[0] ?? [];
        const all = (requests ?? []) as WriteRequest[];
        calls.push(all.length);
        const now = all.slice(0, take);
        if (now.length > 0)
          await target.send(new BatchWriteCommand({ RequestItems: { [table as string]: now } }));
        const rest = all.slice(take);
        return { UnprocessedItems: rest.length === 0 ? {} : { [table as string]: rest } };
      };
    },
  });
  return { client, calls };
}

it('retries unprocessed items until every item is written', async () => {
  const table = await freshTableLike(state, 'ScannerTablesFindings', tables);
  const items = Array.from({ length: 30 }, (_, i) => ({ pk: `T#${i}`, sk: 'ITEM', n: i }));
  const { client, calls } = throttled(1);
  await batchWrite(
    client,
    table,
    items.map((Item) => ({ PutRequest: { Item } })),
    { attempts: 30, baseDelayMs: 1, maxDelayMs: 5, concurrency: 1 },
  );
  // Two chunks (25 + 5), each shrinking by one item per request.
  expect(calls).toEqual([...Array.from({ length: 25 }, (_, i) => 25 - i), 5, 4, 3, 2, 1]);
  for (const item of items) {
    const got = await documents.send(
      new GetCommand({ TableName: table, Key: { pk: item.pk, sk: 'ITEM' } }),
    );
    expect(got.Item).toEqual(item);
  }
});

it('gives up with a typed error naming what is left when DynamoDB takes nothing', async () => {
  const table = await freshTableLike(state, 'ScannerTablesFindings', tables);
  const { client, calls } = throttled(0);
  await expect(
    batchWrite(client, table, [{ PutRequest: { Item: { pk: 'T#x', sk: 'ITEM' } } }], {
      attempts: 3,
      baseDelayMs: 1,
    }),
  ).rejects.toThrow(
    new StoreWriteError(`${table}: 1 of 1 writes still unprocessed after 3 attempts`),
  );
  expect(calls).toEqual([1, 1, 1]);
});
