/**
 * ECR pull-time hygiene: Bosun pulls every image it scans, and ECR records the time of every
 * pull (`lastRecordedPullTime`), which lifecycle policies and people read as "still in use".
 * A pull-time update exclusion names an IAM principal whose pulls are not recorded
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-time-update-exclusions.html);
 * registering the scan function's role keeps Bosun's pulls from making images look used.
 *
 * - RegisterPullTimeUpdateExclusion takes `principalArn`: an IAM role or user ARN, matching
 *   `^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$`, at most 200
 *   characters (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_RegisterPullTimeUpdateExclusion.html).
 *   Not an STS assumed-role session ARN (what a Lambda function's identity looks like): the
 *   role's own ARN, which CloudFormation knows.
 * - At most 100 exclusions an account (LimitExceededException past that); the list is the
 *   registry's, so one an account and region.
 * - ListPullTimeUpdateExclusions pages 100 ARNs by default
 *   (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListPullTimeUpdateExclusions.html).
 * - IAM: ecr:ListPullTimeUpdateExclusions and ecr:RegisterPullTimeUpdateExclusion.
 *
 * ensurePullTimeExclusion is idempotent: it lists first and registers only what is missing (an
 * ExclusionAlreadyExistsException from a concurrent registration counts as present).
 */
import {
  type ECRClient,
  ListPullTimeUpdateExclusionsCommand,
  RegisterPullTimeUpdateExclusionCommand,
} from '@aws-sdk/client-ecr';
import { BosunError } from '../errors.js';

/** The principal ARN pattern of the API reference. */
export const EXCLUSION_PRINCIPAL =
  /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)\/[\w+=,.@-]+(\/[\w+=,.@-]+)*$/;

export type PullTimeExclusionProblem =
  /** The ARN is not a role or user ARN ECR accepts (checked before any call, and by ECR). */
  | 'INVALID_PRINCIPAL'
  /** The account has its 100 exclusions. */
  | 'LIMIT'
  /** The API is not offered where the client points, or the caller may not call it. */
  | 'UNAVAILABLE';

/** The exclusion could not be ensured; pulls by the principal still update pull times. */
export class PullTimeExclusionError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly problem: PullTimeExclusionProblem,
    readonly principalArn: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`pull-time exclusion of ${principalArn}: ${message}`, options);
  }
}

export type PullTimeExclusionOutcome =
  | { readonly status: 'present' | 'registered' }
  | { readonly status: 'failed'; readonly error: PullTimeExclusionError };

/** Where a refusal is logged (the handlers' Powertools logger fits). */
export interface WarningLog {
  warn(message: string, fields: Record<string, unknown>): void;
}

/** What ECR errors mean here; anything else (ServerException, network) is thrown as it is. */
const PROBLEMS: Readonly<Record<string, PullTimeExclusionProblem>> = {
  InvalidParameterException: 'INVALID_PRINCIPAL',
  ValidationException: 'INVALID_PRINCIPAL',
  LimitExceededException: 'LIMIT',
  AccessDeniedException: 'UNAVAILABLE',
  UnknownOperationException: 'UNAVAILABLE',
  UnrecognizedClientException: 'UNAVAILABLE',
};

function typed(error: unknown, principalArn: string): unknown {
  const name = error instanceof Error ? error.name : '';
  const problem = PROBLEMS[name];
  if (problem === undefined) return error;
  return new PullTimeExclusionError(problem, principalArn, `${name}: ${(error as Error).message}`, {
    cause: error,
  });
}

/** Every principal on the registry's exclusion list. */
export async function listPullTimeExclusions(ecr: ECRClient): Promise<string[]> {
  const all: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecr.send(
      new ListPullTimeUpdateExclusionsCommand({
        maxResults: 1000,
        ...(nextToken === undefined ? {} : { nextToken }),
      }),
    );
    all.push(...(out.pullTimeUpdateExclusions ?? []));
    nextToken = out.nextToken || undefined;
  } while (nextToken !== undefined);
  return all;
}

/**
 * Makes sure pulls by `principalArn` do not update ECR's pull times: lists the exclusions and
 * registers the principal when it is not there. When ECR refuses (an invalid principal, the
 * limit, an API not offered or not allowed) the outcome is `failed` with a
 * PullTimeExclusionError, logged as a warning: scans work without the exclusion, so a deploy or
 * a backfill does not fail for it. Other errors (ServerException, the network) are thrown, to
 * be retried.
 */
export async function ensurePullTimeExclusion(
  ecr: ECRClient,
  principalArn: string,
  log?: WarningLog,
): Promise<PullTimeExclusionOutcome> {
  const failed = (error: PullTimeExclusionError): PullTimeExclusionOutcome => {
    log?.warn('pull-time exclusion not registered', {
      principalArn,
      problem: error.problem,
      error: error.message,
    });
    return { status: 'failed', error };
  };
  if (principalArn.length > 200 || !EXCLUSION_PRINCIPAL.test(principalArn))
    return failed(
      new PullTimeExclusionError(
        'INVALID_PRINCIPAL',
        principalArn,
        'not an IAM role or user ARN (arn:<partition>:iam::<account>:role/<name>); an STS session ARN names no role ECR can exclude',
      ),
    );
  try {
    if ((await listPullTimeExclusions(ecr)).includes(principalArn)) return { status: 'present' };
    await ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn }));
    return { status: 'registered' };
  } catch (error) {
    // Registered by someone else between the list and the call: what was asked for holds.
    if (error instanceof Error && error.name === 'ExclusionAlreadyExistsException')
      return { status: 'present' };
    const refusal = typed(error, principalArn);
    if (refusal instanceof PullTimeExclusionError) return failed(refusal);
    throw refusal;
  }
}
