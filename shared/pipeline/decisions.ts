/**
 * Decisions about findings (suppressions, VEX documents) apply in scans and rescans
 * (lifecycle.ts draftsOf). When one is put, deleted or expires, nothing else changes, so the
 * findings it can touch are rescanned from their stored inventories: these are the rescan
 * messages that do it, one package change for each package the decision's vulnerabilities were
 * found in (findings table `byAdvisory`, through the advisories that alias them), and the sweep
 * that sends them for the decisions that expired since its last pass.
 */
import { mapLimit } from '../concurrency.js';
import type { PackageChange, RescanMessage } from '../events/rescan.js';
import { packChanges } from '../feeds/rescan-publisher.js';
import { splitPackageKey } from '../stores/advisory-store.js';
import {
  type Decision,
  decisionsExpiring,
  markSwept,
  sweptUntil,
} from '../stores/decision-expiry.js';
import type { FindingsStore } from '../stores/findings-store.js';
import type { ItemTable } from '../stores/item-table.js';
import { type RescanDeps, rescanPackages } from './rescan.js';

export interface DecisionDeps {
  readonly findings: Pick<FindingsStore, 'byAdvisory'>;
  /** Advisory ids that name an alias (a CVE reaches the GHSA and distribution advisories). */
  readonly advisories: { idsByAlias(alias: string): Promise<string[]> };
}

/** A rescan change names at most this many advisories (events/rescan.ts). */
const MAX_ADVISORY_IDS = 1000;

/**
 * The rescan messages that re-evaluate every finding the decisions can touch: the packages
 * their vulnerabilities were found in (only the decision's package when it names one).
 */
export async function rescansFor(
  decisions: readonly Decision[],
  deps: DecisionDeps,
  source: string,
): Promise<RescanMessage[]> {
  // package key -> advisory ids its findings were matched by
  const packages = new Map<string, Set<string>>();
  const wanted = new Map<string, Set<string>>(); // vulnerability id -> package keys ('*': any)
  for (const d of decisions)
    for (const id of d.vulnerabilityIds)
      wanted.set(id, (wanted.get(id) ?? new Set()).add(d.packageKey));
  await mapLimit([...wanted], 8, async ([id, keys]) => {
    const advisories = [...new Set([id, ...(await deps.advisories.idsByAlias(id))])];
    for (const advisory of advisories)
      for (const f of await deps.findings.byAdvisory(advisory)) {
        if (!keys.has('*') && !keys.has(f.packageKey)) continue;
        const ids = packages.get(f.packageKey) ?? new Set();
        for (const a of f.advisoryIds) ids.add(a);
        packages.set(f.packageKey, ids);
      }
  });
  const changes: PackageChange[] = [...packages].map(([key, ids]) => ({
    ...splitPackageKey(key),
    change: 'modified',
    advisoryIds: [...ids].slice(0, MAX_ADVISORY_IDS),
  }));
  // Packed as the feed sync packs its own: under SQS's size limit.
  return packChanges(changes, source);
}

export interface SweepDeps extends DecisionDeps {
  /** The findings table, where decisions, their expiry markers and the checkpoint live. */
  readonly table: ItemTable;
  readonly now?: () => Date;
}

/** How far back the first sweep looks: a marker lives this long after its decision. */
const FIRST_SWEEP_SECONDS = 7 * 86_400;

/**
 * The rescans for the decisions that expired since the last sweep, and the checkpoint moved
 * past them once the caller has sent them (`commit`): a sweep that fails before commit is
 * repeated whole by the next one, so an expiry is never skipped, at worst rescanned twice
 * (which changes nothing the second time).
 */
export async function sweepExpiredDecisions(deps: SweepDeps): Promise<{
  readonly expired: number;
  readonly messages: RescanMessage[];
  commit(): Promise<boolean>;
}> {
  const until = Math.floor((deps.now?.() ?? new Date()).getTime() / 1000);
  const previous = await sweptUntil(deps.table);
  const after = previous ?? until - FIRST_SWEEP_SECONDS;
  const expired = await decisionsExpiring(deps.table, after, until);
  const messages = await rescansFor(expired, deps, 'decision-expiry');
  return {
    expired: expired.length,
    messages,
    commit: () => markSwept(deps.table, previous, until),
  };
}

/**
 * The scheduled sweep, run by the rescan function: the findings of decisions that expired since
 * the last pass re-matched from their stored inventories (re-opened, with one message each), then
 * the checkpoint moved.
 */
export async function rescanExpiredDecisions(
  deps: RescanDeps & SweepDeps,
): Promise<{ expired: number; images: number; messages: number }> {
  const sweep = await sweepExpiredDecisions(deps);
  let images = 0;
  let messages = 0;
  for (const message of sweep.messages) {
    const summary = await rescanPackages(message, deps);
    images += summary.images;
    messages += summary.messages;
  }
  await sweep.commit();
  return { expired: sweep.expired, images, messages };
}
