/**
 * The message that starts (or goes on with) a backfill: every image already in ECR, in the
 * repositories in scope, queued for a scan (docs/audit.md, "Backfill"). A user sends it to the
 * backfill function as its invocation payload (or the deploy-time custom resource does):
 *
 *   {"version":1,"backfill":{"id":"initial","repositories":["team-a/api"],"prefixes":["team-b/"]}}
 *
 * - `id`: names the backfill; the same id goes on from where a stopped run left off, and never
 *   queues a digest twice. Omitted: a new id is made (and returned in the status).
 * - `repositories`: exact repository names; `prefixes`: repository name prefixes. Neither: every
 *   repository of the registry. Both: a repository matching either is in scope.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { parseEvent, parseJsonEvent } from './parse.js';

/**
 * ECR's repository name pattern and length
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html).
 */
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** A prefix is the start of such a name: the same characters, and it may end in a separator. */
const REPOSITORY_PREFIX = /^[a-z0-9][a-z0-9._/-]*$/;
/** Ids are a key part (`BACKFILL#<id>`) and a log field: short and plain. */
const BACKFILL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** More names than this is a list better written as prefixes; it also bounds the status item. */
export const MAX_SCOPE_ENTRIES = 100;

export const backfillScope = z
  .object({
    repositories: z
      .array(
        z
          .string()
          .min(2)
          .max(256)
          .regex(REPOSITORY_NAME, 'an ECR repository name (lower case, `/`-separated)'),
      )
      .min(1)
      .max(MAX_SCOPE_ENTRIES)
      .optional(),
    prefixes: z
      .array(
        z.string().min(1).max(256).regex(REPOSITORY_PREFIX, 'the start of an ECR repository name'),
      )
      .min(1)
      .max(MAX_SCOPE_ENTRIES)
      .optional(),
  })
  .strict();

export const backfillMessage = z
  .object({
    version: z.literal(1),
    backfill: backfillScope
      .extend({
        id: z
          .string()
          .regex(
            BACKFILL_ID,
            'letters, digits, `.`, `_` or `-`, at most 64, not starting with a sign',
          )
          .optional(),
      })
      .strict(),
  })
  .strict();

export type BackfillScope = z.infer<typeof backfillScope>;

export interface BackfillRequest extends BackfillScope {
  readonly id: string;
}

const requestOf = (m: z.infer<typeof backfillMessage>, newId: () => string): BackfillRequest => {
  const { id, repositories, prefixes } = m.backfill;
  return {
    id: id ?? newId(),
    ...(repositories === undefined ? {} : { repositories: [...new Set(repositories)].sort() }),
    ...(prefixes === undefined ? {} : { prefixes: [...new Set(prefixes)].sort() }),
  };
};

/** Validates an invocation payload (already decoded); throws InvalidEventError. */
export function parseBackfillEvent(
  value: unknown,
  newId: () => string = randomUUID,
): BackfillRequest {
  return requestOf(parseEvent(backfillMessage, 'backfill', value), newId);
}

/** Validates a JSON message body (a queue, the CLI); throws InvalidEventError. */
export function parseBackfillMessage(
  body: string,
  newId: () => string = randomUUID,
): BackfillRequest {
  return requestOf(parseJsonEvent(backfillMessage, 'backfill', body), newId);
}

/** The documented message for a request, as a user or the CLI sends it. */
export function backfillMessageBody(request: Partial<BackfillRequest>): string {
  const { id, repositories, prefixes } = request;
  return JSON.stringify({ version: 1, backfill: { id, repositories, prefixes } });
}

/** Whether a repository is in the scope: listed, under a prefix, or everything when neither. */
export function inScope(scope: BackfillScope, repository: string): boolean {
  if (scope.repositories === undefined && scope.prefixes === undefined) return true;
  return (
    (scope.repositories?.includes(repository) ?? false) ||
    (scope.prefixes?.some((p) => repository.startsWith(p)) ?? false)
  );
}
