/**
 * One invocation of the backfill function (docs/audit.md, "Backfill"): the backfill of the
 * request is recorded (or found), worked on until the deadline, and, when work is left, handed
 * on to a next invocation with the same message, so a backfill larger than one invocation's 15
 * minutes finishes by itself.
 *
 * The continuation is an asynchronous invocation of the function itself (Lambda Invoke,
 * InvocationType Event), not a message on a queue of its own: the documented message is the
 * function's one input whoever sends it (a user, the deploy-time step, itself), a failed
 * invocation is retried twice by Lambda's asynchronous queue, and the IAM it needs is
 * lambda:InvokeFunction on the function's own ARN. Lambda's recursive loop detection counts
 * such chains (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html): the
 * construct allows the loop for this function only, and the guard rails are here: a run that
 * made no progress before its deadline is not continued, and a done or busy backfill never is.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { BosunError } from '../errors.js';
import { type BackfillRequest, backfillMessageBody } from '../events/backfill.js';
import type { BackfillCounts, BackfillStatus } from '../stores/backfill-store.js';
import {
  type BackfillDeps,
  type BackfillResult,
  continueBackfill,
  startBackfill,
} from './backfill.js';

/** Hands a backfill that has work left to a later invocation. */
export interface BackfillContinuation {
  continueWith(request: BackfillRequest): Promise<void>;
}

/** Lambda did not accept the continuation. */
export class ContinuationError extends BosunError {
  readonly fatal = true;
}

/**
 * Continues by invoking `functionName` asynchronously with the documented message. Invoke with
 * InvocationType Event answers 202 once Lambda has queued the event
 * (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
 */
export function lambdaContinuation(
  lambda: LambdaClient,
  functionName: string,
): BackfillContinuation {
  return {
    async continueWith(request) {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(backfillMessageBody(request)),
        }),
      );
      if (out.StatusCode !== 202)
        throw new ContinuationError(
          `Lambda answered ${out.StatusCode} to the continuation of backfill ${request.id}, not 202`,
        );
    },
  };
}

/** What this invocation added to the counts (metrics are per invocation, the status is total). */
export type BackfillDelta = Pick<BackfillCounts, 'queued' | 'skipped' | 'failed'>;

export interface BackfillRun {
  readonly result: BackfillResult;
  readonly delta: BackfillDelta;
  /** A next invocation was asked for. */
  readonly continued: boolean;
}

const ZERO_DELTA: BackfillDelta = { queued: 0, skipped: 0, failed: 0 };

/** Where the backfill is: what a run that made progress changed. */
const position = (s: BackfillStatus) =>
  JSON.stringify([s.phase, s.listing, s.cursor, s.counts, s.missing]);

/**
 * Starts (or finds) the backfill of `request`, works on it until `deadline` (epoch ms), and
 * continues it through `continuation` when it stopped at the deadline having moved on. The
 * request's scope is the backfill's: the continuation carries it, so it is the same backfill.
 */
export async function runBackfill(
  deps: BackfillDeps,
  continuation: BackfillContinuation,
  request: BackfillRequest,
  deadline: number,
): Promise<BackfillRun> {
  const before = await startBackfill(deps, request);
  const result = await continueBackfill(deps, request.id, deadline);
  if (result.stop === 'busy') return { result, delta: ZERO_DELTA, continued: false };
  const delta: BackfillDelta = {
    queued: result.counts.queued - before.counts.queued,
    skipped: result.counts.skipped - before.counts.skipped,
    failed: result.counts.failed - before.counts.failed,
  };
  if (result.stop !== 'deadline') return { result, delta, continued: false };
  if (position(result) === position(before)) {
    // Nothing moved (the deadline came before the first page): invoking again would loop.
    deps.log?.warn('backfill made no progress before its deadline; not continued', {
      backfillId: request.id,
      phase: result.phase,
    });
    return { result, delta, continued: false };
  }
  await continuation.continueWith({ id: request.id, ...result.scope });
  deps.log?.info('backfill continued', { backfillId: request.id, counts: result.counts });
  return { result, delta, continued: true };
}
