/**
 * The units DynamoDB reports with ReturnConsumedCapacity: which operations take it, and the read
 * and write units of one answer. bench:cost and bench:pipeline's scale mode count them.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ConsumedCapacity.html
 */

export const READS: ReadonlySet<string> = new Set([
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'TransactGetItems',
]);
export const WRITES: ReadonlySet<string> = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/** Read and write units of one answer's ConsumedCapacity (one entry, or one per table). */
export function unitsOf(operation: string, consumed: unknown): { reads: number; writes: number } {
  const list = (
    consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed]
  ) as Capacity[];
  let reads = 0;
  let writes = 0;
  for (const c of list) {
    // TOTAL gives CapacityUnits; the read/write split is by operation when it is not given.
    if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
      reads += c.ReadCapacityUnits ?? 0;
      writes += c.WriteCapacityUnits ?? 0;
    } else if (READS.has(operation)) reads += c.CapacityUnits ?? 0;
    else writes += c.CapacityUnits ?? 0;
  }
  return { reads, writes };
}
