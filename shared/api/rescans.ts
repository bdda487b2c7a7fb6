/**
 * A suppression or VEX document put or deleted through the API changes findings only when their
 * packages are matched again: the rescans of the packages its vulnerabilities were found in
 * (pipeline/decisions.ts rescansFor) go to the rescan queue at once. Without a queue (a test, a
 * read-only deployment) nothing is queued, and the next rescan of those packages applies it.
 */

import { rescansFor } from '../pipeline/decisions.js';
import type { Decision } from '../stores/decision-expiry.js';
import type { ApiDeps } from './deps.js';

/** Queues the rescans of what the decisions cover; how many messages went. */
export async function queueDecisionRescans(
  deps: ApiDeps,
  decisions: readonly Decision[],
): Promise<number> {
  if (deps.queueRescans === undefined) return 0;
  const messages = await rescansFor(decisions, deps, 'api');
  if (messages.length > 0) await deps.queueRescans(messages);
  return messages.length;
}
