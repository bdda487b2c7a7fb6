/**
 * bench:cost's arithmetic: billed duration per Lambda memory size from what a local process
 * measured, and dollars at list prices. Prices are us-east-1 on-demand list prices as read
 * for docs/cost.md (which cites each page and the date it was read); change them there and
 * here together.
 */

/** "At 1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits per
 * second)": https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html */
export const ONE_VCPU_MB = 1769;

export const PRICES = {
  /** Lambda duration, per GB-second (first tier), and requests, per invocation. */
  lambdaArmGbSecond: 0.0000133334,
  lambdaX86GbSecond: 0.0000166667,
  lambdaRequest: 0.2 / 1e6,
  /** DynamoDB on-demand, Standard table class. */
  dynamoReadUnit: 0.125 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
  /** S3 Standard: PUT, COPY, POST, LIST; and GET, SELECT and every other request (HEAD). */
  s3PutOrList: 0.005 / 1000,
  s3GetOrHead: 0.0004 / 1000,
  /** SNS standard topic publishes, per 64 KB chunk; SQS standard requests, per 64 KB chunk. */
  snsPublishChunk: 0.5 / 1e6,
  sqsRequest: 0.4 / 1e6,
  /** KMS: a customer managed key per month, and requests. */
  kmsKeyMonth: 1,
  kmsRequest: 0.03 / 10_000,
  /** CloudWatch Logs ingestion (Standard class, first tier), per GB. */
  logsIngestGb: 0.5,
  /** Amazon Inspector, Amazon ECR enhanced scanning. */
  inspectorInitialScan: 0.09,
  inspectorRescan: 0.01,
} as const;

/** One measured invocation: wall and CPU time of the function's process. */
export interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/**
 * The duration Lambda would bill at `memoryMb`, from the median invocation pinned to one core
 * (`one`) and run on two (`two`). Lambda gives CPU in proportion to memory, one vCPU at 1,769
 * MB. Below that, the CPU time stretches by the share and the waits (DynamoDB, S3, the
 * registry) do not. Above it, only work off the main thread (zlib's thread pool, the garbage
 * collector's helpers) gains, up to what the two-core run gained at two vCPUs (3,538 MB).
 * Graviton (arm64) and this machine's cores do not run at one speed: a model, not a measure.
 */
export function estimatedMs(memoryMb: number, one: Timing, two: Timing): number {
  const vcpus = memoryMb / ONE_VCPU_MB;
  if (vcpus <= 1) {
    const waiting = Math.max(0, one.wallMs - one.cpuMs);
    return Math.ceil(Math.min(one.cpuMs, one.wallMs) / vcpus + waiting);
  }
  const gain = Math.max(0, one.wallMs - two.wallMs);
  return Math.ceil(one.wallMs - gain * Math.min(1, vcpus - 1));
}

/** Lambda's GB is 1,024 MB; duration is billed by the millisecond. */
export const gbSeconds = (ms: number, memoryMb: number) => (ms / 1000) * (memoryMb / 1024);

/** Requests by billing class, from `service:Operation` counts. */
export interface Requests {
  readonly dynamoRead: number;
  readonly dynamoWrite: number;
  readonly s3PutOrList: number;
  readonly s3GetOrHead: number;
  readonly snsChunks: number;
  readonly sqs: number;
}

export interface Bill {
  readonly lambda: number;
  readonly dynamodb: number;
  readonly s3: number;
  readonly sns: number;
  readonly sqs: number;
  readonly logs: number;
  readonly total: number;
}

/** Dollars for one invocation's usage at `memoryMb` on arm64 (the construct's architecture). */
export function bill(
  billedMs: number,
  memoryMb: number,
  invocations: number,
  r: Requests,
  logBytes: number,
): Bill {
  const lambda =
    gbSeconds(billedMs, memoryMb) * PRICES.lambdaArmGbSecond + invocations * PRICES.lambdaRequest;
  const dynamodb = r.dynamoRead * PRICES.dynamoReadUnit + r.dynamoWrite * PRICES.dynamoWriteUnit;
  const s3 = r.s3PutOrList * PRICES.s3PutOrList + r.s3GetOrHead * PRICES.s3GetOrHead;
  const sns = r.snsChunks * PRICES.snsPublishChunk;
  const sqs = r.sqs * PRICES.sqsRequest;
  const logs = (logBytes / 1024 ** 3) * PRICES.logsIngestGb;
  return { lambda, dynamodb, s3, sns, sqs, logs, total: lambda + dynamodb + s3 + sns + sqs + logs };
}
