/**
 * bench:cost's Lambda stand-in: one process per function, as a Lambda execution environment
 * is, that imports the function's bundle (bench/cost.ts builds it with the deployed esbuild
 * settings, the AWS SDK left out so that it loads from node_modules, as this file does) and
 * invokes its handler with the events the parent sends over IPC.
 *
 * The handlers build their SDK clients inside shared/ with no way to pass one in, so what they
 * ask of AWS is counted at the SDK's own classes: before the handler is imported, `send` of
 * each client class adds two middlewares to the client's stack the first time it is called.
 * One (initialize step) asks DynamoDB for ReturnConsumedCapacity: 'TOTAL' and sums the
 * ConsumedCapacity it answers; the other (finalizeRequest, inside the retry loop) counts each
 * HTTP attempt, which is what AWS bills. Log output is counted (CloudWatch Logs ingestion) and
 * discarded.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { READS, unitsOf, WRITES } from './dynamodb-capacity.js';

export type Service = 'dynamodb' | 's3' | 'sns' | 'sqs';

/** What one invocation asked of AWS. */
export interface Usage {
  /** HTTP attempts by service and operation (`dynamodb:GetItem`, `s3:PutObject`). */
  readonly requests: Record<string, number>;
  /** Operations that answered an error, by `service:operation:ErrorName`. */
  readonly errors: Record<string, number>;
  /** ConsumedCapacity DynamoDB Local returned: read and write units. */
  readUnits: number;
  writeUnits: number;
  /**
   * The same with DynamoDB's minimum a request applied where DynamoDB Local answered less (it
   * answers 0 for a read that finds nothing): half a unit an eventually consistent read (one
   * strongly consistent, two transactional), one unit a write (two transactional), per item
   * of a batch. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
   */
  readUnitsBilled: number;
  writeUnitsBilled: number;
  /** Read and write units by operation, as DynamoDB Local returned them. */
  readonly unitsByOperation: Record<string, number>;
  /** Conditional writes refused: DynamoDB bills them but returns no ConsumedCapacity. */
  conditionalFailures: number;
  /** Bytes of each PUT to S3, by the key's first path segment (`layer-cache`, `reports`). */
  readonly s3PutBytes: Record<string, number>;
  /** SNS publishes and their 64 KB billing chunks (message, subject and attributes). */
  snsPublishes: number;
  snsChunks: number;
  snsBytes: number;
  /** SQS messages sent and their 64 KB chunks. */
  sqsChunks: number;
  /** Bytes the handler wrote to stdout and stderr: what CloudWatch Logs ingests. */
  logBytes: number;
}

export type WorkerMessage =
  | {
      readonly type: 'ready';
      readonly initMs: number;
      readonly initCpuMs: number;
      readonly maxRssKb: number;
    }
  | {
      readonly type: 'result';
      readonly wallMs: number;
      readonly cpuMs: number;
      readonly maxRssKb: number;
      readonly failures: number;
      readonly usage: Usage;
      readonly error?: string;
    };

export type ParentMessage =
  | { readonly type: 'invoke'; readonly event: SQSEvent; readonly memoryMb: number }
  | { readonly type: 'exit' };

export const emptyUsage = (): Usage => ({
  requests: {},
  errors: {},
  readUnits: 0,
  writeUnits: 0,
  readUnitsBilled: 0,
  writeUnitsBilled: 0,
  unitsByOperation: {},
  conditionalFailures: 0,
  s3PutBytes: {},
  snsPublishes: 0,
  snsChunks: 0,
  snsBytes: 0,
  sqsChunks: 0,
  logBytes: 0,
});

const CHUNK = 64 * 1024;

let usage = emptyUsage();
const bump = (map: Record<string, number>, key: string, by = 1) => {
  map[key] = (map[key] ?? 0) + by;
};

type Input = Record<string, unknown>;

/** The least DynamoDB bills a request: per item for batches and transactions. */
function minimumUnits(operation: string, input: Input): number {
  const consistent = input.ConsistentRead === true;
  const items = (key: string) =>
    Object.values((input[key] ?? {}) as Record<string, Input>).reduce(
      (n, table) => n + ((table.Keys ?? table) as unknown[]).length,
      0,
    );
  switch (operation) {
    case 'GetItem':
    case 'Query':
    case 'Scan':
      return consistent ? 1 : 0.5;
    case 'BatchGetItem':
      return 0.5 * items('RequestItems');
    case 'TransactGetItems':
      return 2 * ((input.TransactItems ?? []) as unknown[]).length;
    case 'BatchWriteItem':
      return items('RequestItems');
    case 'TransactWriteItems':
      return 2 * ((input.TransactItems ?? []) as unknown[]).length;
    default:
      return 1;
  }
}

function addCapacity(operation: string, input: Input, consumed: unknown): void {
  const { reads, writes } = unitsOf(operation, consumed);
  usage.readUnits += reads;
  usage.writeUnits += writes;
  bump(usage.unitsByOperation, operation, reads + writes);
  const floor = minimumUnits(operation, input);
  if (READS.has(operation)) usage.readUnitsBilled += Math.max(reads, floor);
  else usage.writeUnitsBilled += Math.max(writes, floor);
}

const utf8 = (s: unknown) => (typeof s === 'string' ? Buffer.byteLength(s) : 0);

/** SNS and SQS bill a message's body and attributes in 64 KB chunks. */
function messageBytes(input: Input): number {
  let bytes = utf8(input.Message) + utf8(input.MessageBody) + utf8(input.Subject);
  const attributes = (input.MessageAttributes ?? {}) as Record<string, Input>;
  for (const [name, a] of Object.entries(attributes))
    bytes += utf8(name) + utf8(a.DataType) + utf8(a.StringValue);
  return bytes;
}

function recordSent(service: Service, operation: string, input: Input): void {
  if (service === 'sns' && operation === 'Publish') {
    const bytes = messageBytes(input);
    usage.snsPublishes += 1;
    usage.snsBytes += bytes;
    usage.snsChunks += Math.max(1, Math.ceil(bytes / CHUNK));
  } else if (service === 'sns' && operation === 'PublishBatch') {
    for (const entry of (input.PublishBatchRequestEntries ?? []) as Input[]) {
      const bytes = messageBytes(entry);
      usage.snsPublishes += 1;
      usage.snsBytes += bytes;
      usage.snsChunks += Math.max(1, Math.ceil(bytes / CHUNK));
    }
  } else if (service === 'sqs' && operation === 'SendMessage') {
    usage.sqsChunks += Math.max(1, Math.ceil(messageBytes(input) / CHUNK));
  } else if (service === 'sqs' && operation === 'SendMessageBatch') {
    // A batch is one request billed by its total size.
    const entries = (input.Entries ?? []) as Input[];
    const bytes = entries.reduce((sum, e) => sum + messageBytes(e), 0);
    usage.sqsChunks += Math.max(1, Math.ceil(bytes / CHUNK));
  }
}

type Next = (args: { input: Input; request?: unknown }) => Promise<{ output: Input }>;
interface Stack {
  add(
    middleware: (next: Next, context: { commandName?: string }) => Next,
    options: { step: string; name: string; priority?: string },
  ): void;
}

function instrument(stack: Stack, service: Service): void {
  stack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const capacity = service === 'dynamodb' && (READS.has(operation) || WRITES.has(operation));
      const input = capacity ? { ...args.input, ReturnConsumedCapacity: 'TOTAL' } : args.input;
      recordSent(service, operation, input);
      try {
        const out = await next({ ...args, input });
        if (capacity) addCapacity(operation, input, out.output.ConsumedCapacity);
        return out;
      } catch (error) {
        const name = (error as Error).name;
        bump(usage.errors, `${service}:${operation}:${name}`);
        if (name === 'ConditionalCheckFailedException') {
          // Billed as a write, though the refusal carries no ConsumedCapacity.
          usage.conditionalFailures += 1;
          usage.writeUnitsBilled += minimumUnits(operation, input);
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'bosunCostUsage', priority: 'high' },
  );
  stack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      bump(usage.requests, `${service}:${operation}`);
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if (service === 's3' && operation === 'PutObject') {
        const key = String(args.input.Key ?? '');
        const prefix = key.includes('/') ? key.slice(0, key.indexOf('/')) : '(root)';
        bump(usage.s3PutBytes, prefix, Number(request?.headers?.['content-length'] ?? 0));
      }
      return next(args);
    },
    // Below the retry middleware (also finalizeRequest, high priority): once per attempt.
    { step: 'finalizeRequest', name: 'bosunCostRequests', priority: 'low' },
  );
}

const instrumented = new WeakSet<object>();
function hookSend(prototype: { send: unknown }, service: Service): void {
  const original = prototype.send as (this: { middlewareStack: Stack }, ...a: unknown[]) => unknown;
  prototype.send = function send(this: { middlewareStack: Stack }, ...args: unknown[]) {
    // The document client shares its DynamoDBClient's stack: instrument each stack once.
    if (!instrumented.has(this.middlewareStack)) {
      instrumented.add(this.middlewareStack);
      instrument(this.middlewareStack, service);
    }
    return original.apply(this, args);
  };
}

function countLogs(stream: NodeJS.WriteStream): void {
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    usage.logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
}

/**
 * The process's peak resident set (VmHWM). Not getrusage's maxrss: a spawned child starts with
 * its parent's, which fork copies and exec keeps.
 */
export function peakRssKb(): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(match?.[1] ?? 0);
}

function context(name: string, memoryMb: number, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function main(): Promise<void> {
  const bundle = process.argv[2];
  if (bundle === undefined || process.send === undefined)
    throw new Error('usage: node cost-worker.mjs <handler bundle> (with an IPC channel)');
  const send = (m: WorkerMessage) => process.send?.(m);
  hookSend(DynamoDBClient.prototype, 'dynamodb');
  hookSend(DynamoDBDocumentClient.prototype, 'dynamodb');
  hookSend(S3Client.prototype, 's3');
  hookSend(SNSClient.prototype, 'sns');
  hookSend(SQSClient.prototype, 'sqs');
  countLogs(process.stdout);
  countLogs(process.stderr);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { handler } = (await import(bundle)) as {
    handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  };
  const initCpu = process.cpuUsage(cpu0);
  send({
    type: 'ready',
    initMs: performance.now() - t0,
    initCpuMs: (initCpu.user + initCpu.system) / 1000,
    maxRssKb: peakRssKb(),
  });

  process.on('message', async (message: ParentMessage) => {
    if (message.type === 'exit') process.exit(0);
    usage = emptyUsage();
    const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bosun';
    const cpu = process.cpuUsage();
    const started = performance.now();
    let failures = 0;
    let error: string | undefined;
    try {
      const response = await handler(message.event, context(name, message.memoryMb, 300_000));
      failures = response.batchItemFailures.length;
    } catch (e) {
      error = (e as Error).message;
    }
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    send({
      type: 'result',
      wallMs,
      cpuMs: (used.user + used.system) / 1000,
      maxRssKb: peakRssKb(),
      failures,
      usage,
      ...(error === undefined ? {} : { error }),
    });
  });
}

await main();
