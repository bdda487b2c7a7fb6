/** The item-table port on a DynamoDB table. */
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { backoffMs, sleep } from '../../concurrency.js';
import {
  type Condition,
  expired,
  type IndexDef,
  type Item,
  type ItemKey,
  type ItemTable,
  MAX_TRANSACTION_WRITES,
  type RangeOptions,
  TransactionTooLargeError,
  type Write,
} from '../item-table.js';
import { batchWrite, type RetryOptions, type WriteRequest } from './batch.js';

function condition(c: Condition | undefined) {
  if (c === undefined) return {};
  if (c.kind === 'absent') return { ConditionExpression: 'attribute_not_exists(pk)' };
  if (c.kind === 'missing')
    return {
      ConditionExpression: 'attribute_not_exists(#c)',
      ExpressionAttributeNames: { '#c': c.attribute },
    };
  return {
    ConditionExpression: '#c = :c',
    ExpressionAttributeNames: { '#c': c.attribute },
    ExpressionAttributeValues: { ':c': c.value },
  };
}

function keyCondition(
  partitionAttr: string,
  sortAttr: string,
  value: string,
  range: RangeOptions = {},
): Pick<
  QueryCommandInput,
  'KeyConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
> {
  const names: Record<string, string> = { '#p': partitionAttr };
  const values: Record<string, unknown> = { ':p': value };
  let expression = '#p = :p';
  if (range.prefix !== undefined) {
    names['#s'] = sortAttr;
    values[':prefix'] = range.prefix;
    expression += ' AND begins_with(#s, :prefix)';
  } else if (range.from !== undefined && range.to !== undefined) {
    names['#s'] = sortAttr;
    values[':from'] = range.from;
    values[':to'] = range.to;
    expression += ' AND #s BETWEEN :from AND :to';
  } else if (range.from !== undefined || range.to !== undefined) {
    // One bound: DynamoDB refuses an empty string for an index key (no `'' BETWEEN`), and no
    // string stands above every other (UTF-8 sorts four-byte characters after U+FFFF).
    names['#s'] = sortAttr;
    if (range.from !== undefined) {
      values[':from'] = range.from;
      expression += ' AND #s >= :from';
    } else {
      values[':to'] = range.to;
      expression += ' AND #s <= :to';
    }
  }
  return {
    KeyConditionExpression: expression,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

export class DynamoDbItemTable implements ItemTable {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly table: string,
    private readonly retry: RetryOptions = {},
  ) {}

  async get(key: ItemKey): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: key.pk, sk: key.sk },
        ConsistentRead: true,
      }),
    );
    const item = out.Item as Item | undefined;
    return item === undefined || expired(item) ? undefined : item;
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      for (const item of (page.Items ?? []) as Item[]) if (!expired(item)) items.push(item);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  query(pk: string, range?: RangeOptions): Promise<Item[]> {
    return this.queryAll({
      TableName: this.table,
      ConsistentRead: true,
      ...keyCondition('pk', 'sk', pk, range),
    });
  }

  queryIndex(index: IndexDef, value: string, range?: RangeOptions): Promise<Item[]> {
    return this.queryAll({
      TableName: this.table,
      IndexName: index.name,
      ...keyCondition(index.partitionKey, index.sortKey, value, range),
    });
  }

  async transact(writes: readonly Write[]): Promise<boolean> {
    if (writes.length === 0) return true;
    if (writes.length > MAX_TRANSACTION_WRITES)
      throw new TransactionTooLargeError(
        `${writes.length} writes in one transaction; DynamoDB takes at most ${MAX_TRANSACTION_WRITES}`,
      );
    // One write needs no transaction: a conditional Put or Delete costs half the capacity.
    if (writes.length === 1) return this.writeOne(writes[0] as Write);
    const input = {
      TransactItems: writes.map((w) =>
        'put' in w
          ? { Put: { TableName: this.table, Item: w.put, ...condition(w.condition) } }
          : {
              Delete: {
                TableName: this.table,
                Key: { pk: w.delete.pk, sk: w.delete.sk },
                ...condition(w.condition),
              },
            },
      ),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand(input));
        return true;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const codes = (error.CancellationReasons ?? []).map((r) => r.Code);
        if (codes.includes('ConditionalCheckFailed')) return false;
        // Another transaction held one of the items: nothing was written; try again.
        if (!codes.includes('TransactionConflict') || attempt >= 8) throw error;
        await sleep(backoffMs(attempt, 20, 1000));
      }
    }
  }

  private async writeOne(w: Write): Promise<boolean> {
    try {
      if ('put' in w)
        await this.client.send(
          new PutCommand({ TableName: this.table, Item: w.put, ...condition(w.condition) }),
        );
      else
        await this.client.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { pk: w.delete.pk, sk: w.delete.sk },
            ...condition(w.condition),
          }),
        );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async batch(writes: readonly Write[]): Promise<void> {
    const requests: WriteRequest[] = writes.map((w) =>
      'put' in w
        ? { PutRequest: { Item: w.put } }
        : { DeleteRequest: { Key: { pk: w.delete.pk, sk: w.delete.sk } } },
    );
    await batchWrite(this.client, this.table, requests, this.retry);
  }
}
