/**
 * Suppressions through the API: global (`*`), per repository, per digest, each for one
 * vulnerability id and one package key or any (`*`), with a reason, an optional expiry, and the
 * calling IAM principal as author. They are the items the scan and rescan already read
 * (pipeline/context.ts suppressionsFor, pipeline/lifecycle.ts draftsOf): a finding they cover is
 * written SUPPRESSED by the next scan or rescan of its package, and ACTIVE again by the first
 * one after the suppression expired or was deleted, each change announced once. Putting or
 * deleting one queues those rescans at once (api/rescans.ts); an expiry, the hourly sweep
 * (pipeline/decisions.ts).
 *
 * A repository-scoped suppression is stored under the repository's name without its registry
 * host, which is how the pipeline matches them (scan/match.ts, rescan.ts: splitRepository).
 */

import type * as z from 'zod';
import type { Decision } from '../stores/decision-expiry.js';
import type { Suppression } from '../stores/findings-store.js';
import { decodeCursor, type Page, pageOf, queryFingerprint } from './cursor.js';
import type { ApiDeps } from './deps.js';
import { BadRequestError, ForbiddenError, NotFoundError } from './errors.js';
import type { suppressionBody } from './params.js';
import { queueDecisionRescans } from './rescans.js';

export type SuppressionScope =
  | { readonly kind: 'global' }
  | { readonly kind: 'repository'; readonly repository: string }
  | { readonly kind: 'digest'; readonly digest: string };

/** The scope as stored (`SUPPRESS#<scope>`, docs/data-model.md). */
export function storedScope(scope: SuppressionScope): string {
  if (scope.kind === 'global') return '*';
  if (scope.kind === 'digest') return scope.digest;
  return scope.repository.slice(scope.repository.indexOf('/') + 1);
}

export interface SuppressionView {
  readonly scope: string;
  readonly vulnerabilityId: string;
  readonly packageKey: string;
  readonly reason: string;
  readonly author: string;
  readonly createdAt?: string;
  readonly expiresAt?: string;
}

const view = (s: Suppression & { createdAt?: string }): SuppressionView => ({
  scope: s.scope,
  vulnerabilityId: s.vulnerabilityId,
  packageKey: s.packageKey,
  reason: s.reason,
  author: s.author,
  ...(s.createdAt === undefined ? {} : { createdAt: s.createdAt }),
  ...(s.expiresAt === undefined ? {} : { expiresAt: new Date(s.expiresAt * 1000).toISOString() }),
});

const keyOf = (s: { vulnerabilityId: string; packageKey: string }) => [
  s.vulnerabilityId,
  s.packageKey,
];

/** Unexpired suppressions of a scope, by vulnerability id and package key. */
export async function listSuppressions(
  deps: ApiDeps,
  scope: SuppressionScope,
  limit: number,
  cursor: string | undefined,
): Promise<Page<SuppressionView>> {
  const stored = storedScope(scope);
  const q = queryFingerprint('suppressions', { scope: stored });
  const after = decodeCursor(cursor, q);
  const all = (await deps.findings.suppressions(stored))
    .map(view)
    .sort((a, b) => compare(keyOf(a), keyOf(b)))
    .filter((s) => after === undefined || compare(keyOf(s), after) > 0);
  return pageOf(all, limit, q, keyOf);
}

const compare = (a: readonly string[], b: readonly string[]) => {
  const x = a.join('\u0000');
  const y = b.join('\u0000');
  return x === y ? 0 : x < y ? -1 : 1;
};

/**
 * Writes (or replaces) the suppression of one vulnerability and package key in a scope.
 * `author` is the IAM principal API Gateway authenticated, never a field of the body.
 */
export async function putSuppression(
  deps: ApiDeps,
  scope: SuppressionScope,
  body: z.output<typeof suppressionBody>,
  author: string | undefined,
): Promise<SuppressionView> {
  if (author === undefined || author === '')
    throw new ForbiddenError(
      'the request carries no IAM principal (requestContext.identity.userArn)',
    );
  const now = (deps.now ?? (() => new Date()))();
  let expiresAt: number | undefined;
  if (body.expiresAt !== undefined) {
    expiresAt = Math.floor(Date.parse(body.expiresAt) / 1000);
    if (expiresAt <= now.getTime() / 1000)
      throw new BadRequestError([`body.expiresAt: ${body.expiresAt} is not in the future`]);
  }
  const suppression = {
    scope: storedScope(scope),
    vulnerabilityId: body.vulnerabilityId,
    packageKey: body.packageKey,
    reason: body.reason,
    author,
    createdAt: now.toISOString(),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
  await deps.findings.putSuppression(suppression);
  await queueDecisionRescans(deps, [decisionOf(suppression)]);
  return view(suppression);
}

export async function deleteSuppression(
  deps: ApiDeps,
  scope: SuppressionScope,
  vulnerabilityId: string,
  packageKey: string,
): Promise<void> {
  const stored = storedScope(scope);
  const existing = (await deps.findings.suppressions(stored)).find(
    (s) => s.vulnerabilityId === vulnerabilityId && s.packageKey === packageKey,
  );
  if (existing === undefined)
    throw new NotFoundError(
      `no suppression of ${vulnerabilityId} (${packageKey}) in scope ${stored}`,
    );
  await deps.findings.deleteSuppression({ scope: stored, vulnerabilityId, packageKey });
  await queueDecisionRescans(deps, [decisionOf(existing)]);
}

/** What a suppression covers, for the rescans it asks for when it is put or deleted. */
function decisionOf(s: Pick<Suppression, 'scope' | 'vulnerabilityId' | 'packageKey'>): Decision {
  return {
    kind: 'suppression',
    scope: s.scope,
    vulnerabilityIds: [s.vulnerabilityId],
    packageKey: s.packageKey,
  };
}
