/**
 * One feed-sync run over several sources, as the feed-sync function does it: each source in
 * turn, until the deadline; a source that runs out of time, or is not reached, continues in a
 * later run (`continueLater`, the feed-sync queue). One failing source does not stop the others;
 * the run then fails as a whole, naming each, so that its message is retried.
 */
import { BosunError } from '../errors.js';
import type { PackageChange } from '../events/rescan.js';
import type { AdvisoryStore } from '../stores/advisory-store.js';
import { SyncBusyError, type SyncResult, syncFeed } from './sync.js';
import type { FeedSource } from './types.js';

export class FeedSyncFailedError extends BosunError {
  readonly fatal = false;
  constructor(readonly failures: readonly { source: string; error: Error }[]) {
    super(
      `feed sync failed for ${failures.map((f) => `${f.source} (${f.error.message})`).join('; ')}`,
    );
  }
}

export interface FeedRunOptions {
  readonly sources: readonly FeedSource[];
  readonly store: AdvisoryStore;
  /** Where a source's changed package keys go (the rescan queue). */
  readonly deliverFor: (source: string) => (changes: readonly PackageChange[]) => Promise<void>;
  /** Epoch ms by which the run must have stopped at a batch boundary. */
  readonly deadline: number;
  /** Lease holder: the same for a redelivery of the same request. */
  readonly holder: string;
  readonly continueLater: (source: string) => Promise<void>;
}

export type FeedRunSummary =
  | (Omit<SyncResult, 'changes' | 'issues'> & { readonly changes: number; readonly issues: number })
  | { readonly source: string; readonly status: 'busy' | 'deferred' };

export async function runFeedSync(opts: FeedRunOptions): Promise<FeedRunSummary[]> {
  const summaries: FeedRunSummary[] = [];
  const failures: { source: string; error: Error }[] = [];
  for (const source of opts.sources) {
    if (Date.now() >= opts.deadline) {
      await opts.continueLater(source.id);
      summaries.push({ source: source.id, status: 'deferred' });
      continue;
    }
    try {
      const result = await syncFeed({
        source,
        store: opts.store,
        deliver: opts.deliverFor(source.id),
        deadline: opts.deadline,
        holder: `${opts.holder}:${source.id}`,
      });
      if (result.status === 'partial') await opts.continueLater(source.id);
      summaries.push({ ...result, changes: result.changes.length, issues: result.issues.length });
    } catch (error) {
      if (error instanceof SyncBusyError) summaries.push({ source: source.id, status: 'busy' });
      else failures.push({ source: source.id, error: error as Error });
    }
  }
  if (failures.length > 0) throw new FeedSyncFailedError(failures);
  return summaries;
}
