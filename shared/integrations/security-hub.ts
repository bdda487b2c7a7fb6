/**
 * Findings to Security Hub with BatchImportFindings, within its limits
 * (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html):
 * 100 findings and 6 MB per request, 240 KB per finding, a request rate of 10 per second
 * (bursts of 30) answered with TooManyRequestsException beyond it. A call succeeds for some
 * findings and reports the others in FailedFindings: those are sent again, then reported.
 * An update is the same Id with a later UpdatedAt; an unchanged resend is harmless.
 */
import type {
  AwsSecurityFinding,
  BatchImportFindingsCommandOutput,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { backoffMs, sleep } from '../concurrency.js';
import { BosunError } from '../errors.js';

export const MAX_FINDINGS_PER_CALL = 100;
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
export const MAX_FINDING_BYTES = 240 * 1024;

/** Security Hub could not be reached after every retry (not throttling of single findings). */
export class SecurityHubImportError extends BosunError {
  readonly fatal = false;
}

/** A finding Security Hub did not take, with its reason. */
export interface FailedFinding {
  readonly id: string;
  readonly code: string;
  readonly message: string;
}

export interface ImportResult {
  readonly imported: number;
  readonly failed: readonly FailedFinding[];
  /** BatchImportFindings requests made (retries included). */
  readonly calls: number;
}

export interface ImportOptions {
  /** Requests per batch, the first included (throttling and failed findings). @default 5 */
  readonly maxAttempts?: number;
  /** @default 500 ms */
  readonly baseDelayMs?: number;
}

const bytesOf = (f: AwsSecurityFinding) => Buffer.byteLength(JSON.stringify(f), 'utf8');

/**
 * Findings in requests of at most 100 and 6 MB (with room for the request's own JSON), in
 * order; a finding over 240 KB goes in no request and is returned as failed.
 */
export function findingBatches(findings: readonly AwsSecurityFinding[]): {
  batches: AwsSecurityFinding[][];
  oversized: FailedFinding[];
} {
  const batches: AwsSecurityFinding[][] = [];
  const oversized: FailedFinding[] = [];
  let current: AwsSecurityFinding[] = [];
  let size = 0;
  const budget = MAX_REQUEST_BYTES - 1024;
  for (const f of findings) {
    const n = bytesOf(f) + 1;
    if (n > MAX_FINDING_BYTES) {
      oversized.push({
        id: f.Id ?? '',
        code: 'FindingTooLarge',
        message: `${n} bytes, over BatchImportFindings' ${MAX_FINDING_BYTES}-byte limit`,
      });
      continue;
    }
    if (current.length === MAX_FINDINGS_PER_CALL || size + n > budget) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(f);
    size += n;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}

const THROTTLED = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'LimitExceededException',
]);

function throttled(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return THROTTLED.has(e.name ?? '') || e.$metadata?.httpStatusCode === 429;
}

/**
 * Imports findings batch by batch. A throttled request is retried with exponential backoff;
 * FailedFindings are sent again (alone) the same way, and those still failing after the last
 * attempt are returned. Any other error of a request is thrown as SecurityHubImportError.
 */
export async function importFindings(
  client: Pick<SecurityHubClient, 'send'>,
  findings: readonly AwsSecurityFinding[],
  options: ImportOptions = {},
): Promise<ImportResult> {
  const attempts = options.maxAttempts ?? 5;
  const delay = (attempt: number) => sleep(backoffMs(attempt, options.baseDelayMs ?? 500, 10_000));
  const { batches, oversized } = findingBatches(findings);
  // Loaded on first use: a function that sends nothing to Security Hub never loads the SDK.
  const { BatchImportFindingsCommand } = await import('@aws-sdk/client-securityhub');
  const failed: FailedFinding[] = [...oversized];
  let imported = 0;
  let calls = 0;
  for (const batch of batches) {
    let pending = batch;
    let lastFailures: FailedFinding[] = [];
    for (let attempt = 0; pending.length > 0 && attempt < attempts; attempt++) {
      if (attempt > 0) await delay(attempt - 1);
      calls++;
      let out: BatchImportFindingsCommandOutput;
      try {
        out = await client.send(new BatchImportFindingsCommand({ Findings: pending }));
      } catch (error) {
        if (!throttled(error))
          throw new SecurityHubImportError(
            `BatchImportFindings failed for ${pending.length} findings: ${(error as Error).message}`,
            { cause: error },
          );
        lastFailures = pending.map((f) => ({
          id: f.Id ?? '',
          code: (error as Error).name,
          message: (error as Error).message,
        }));
        continue;
      }
      lastFailures = (out.FailedFindings ?? []).map((e) => ({
        id: e.Id ?? '',
        code: e.ErrorCode ?? 'Unknown',
        message: e.ErrorMessage ?? '',
      }));
      const again = new Set(lastFailures.map((e) => e.id));
      imported += pending.length - again.size;
      pending = pending.filter((f) => again.has(f.Id ?? ''));
    }
    if (pending.length > 0) failed.push(...lastFailures);
  }
  return { imported, failed, calls };
}

/** Security Hub as the scan and rescan functions use it (opt-in: `securityHub` prop). */
export interface SecurityHubSink {
  readonly client: Pick<SecurityHubClient, 'send'>;
  /** `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`. */
  readonly productArn: string;
  readonly options?: ImportOptions;
  /** Findings refused after every retry (the function logs and counts them). */
  readonly onFailed?: (digest: string, failed: readonly FailedFinding[]) => void;
}
