/**
 * The findings lifecycle, pure: from what a scan or rescan observed and what is stored, the
 * items of the next findings generation; and from a committed generation, the changes to
 * announce. A finding is ACTIVE, SUPPRESSED or CLOSED (fixed by a newer inventory, its advisory
 * withdrawn, the image deleted, the image out of the rescan window).
 *
 * Every item a generation writes keeps the record it replaces (`prior`) until the image record
 * commits the generation; readers resolve items against the committed generation, so a run that
 * stops half-way leaves the previous complete result in view, and the next run finishes it.
 */
import type { Finding } from '../matcher/types.js';
import {
  type FindingRecord,
  findingSortKey,
  type StoredFinding,
  type Suppression,
  visibleFinding,
} from '../stores/findings-store.js';
import { inventoryPackageKey } from '../stores/inventory-store.js';
import { vexReason, vexStatementFor, vexSuppresses } from '../vex/apply.js';
import type { VexStatement } from '../vex/types.js';

/** A finding as observed, before its lifecycle fields are known. */
export type FindingDraft = Omit<
  FindingRecord,
  'firstObservedAt' | 'lastObservedAt' | 'fixAvailableSince' | 'closedAt'
>;

/** Whether a suppression applies to a finding of an image known under these repositories. */
function suppresses(
  s: Suppression,
  f: FindingDraft,
  repositories: readonly string[],
  nowSeconds: number,
): boolean {
  if (s.expiresAt !== undefined && s.expiresAt <= nowSeconds) return false;
  if (s.scope !== '*' && s.scope !== f.digest && !repositories.includes(s.scope)) return false;
  if (s.packageKey !== '*' && s.packageKey !== f.packageKey) return false;
  return s.vulnerabilityId === f.vulnerabilityId || f.ids.includes(s.vulnerabilityId);
}

/**
 * Matcher findings as drafts: ACTIVE, or SUPPRESSED when a suppression covers them, or when the
 * VEX statement that speaks for them (the latest: shared/vex/apply.ts) says the image is not
 * affected or fixed. A suppression, a person's decision in this deployment, goes first.
 */
export function draftsOf(
  digest: string,
  findings: readonly Finding[],
  suppressions: readonly Suppression[],
  repositories: readonly string[],
  now: number,
  vex: readonly VexStatement[] = [],
): FindingDraft[] {
  return findings.map((f) => {
    const draft: FindingDraft = {
      digest,
      packageKey: inventoryPackageKey(f.package),
      installedVersion: f.installedVersion,
      vulnerabilityId: f.id,
      ids: f.ids,
      advisoryIds: f.advisoryIds,
      status: 'ACTIVE',
      severity: f.severity,
      ...(f.fixedVersion === undefined ? {} : { fixedVersion: f.fixedVersion }),
      ...(f.fixVia === undefined ? {} : { fixVia: f.fixVia }),
      ...(f.fixState === undefined ? {} : { fixState: f.fixState }),
      severities: f.severities,
      ...(f.kev === undefined ? {} : { kev: f.kev }),
      ...(f.epss === undefined ? {} : { epss: f.epss }),
      ...(f.reachability === undefined ? {} : { reachability: f.reachability }),
      packageName: f.package.name,
      ...(f.package.purl === undefined ? {} : { purl: f.package.purl }),
      ...(f.package.location === undefined ? {} : { location: f.package.location }),
      ...(f.package.layer === undefined ? {} : { layer: f.package.layer }),
    };
    const by = suppressions.find((s) => suppresses(s, draft, repositories, now / 1000));
    if (by !== undefined)
      return { ...draft, status: 'SUPPRESSED', statusReason: `suppressed: ${by.reason}` };
    const statement =
      vex.length === 0 ? undefined : vexStatementFor(vex, draft, { digest, repositories });
    return statement === undefined || !vexSuppresses(statement)
      ? draft
      : { ...draft, status: 'SUPPRESSED', statusReason: vexReason(statement) };
  });
}

export interface PlanInput {
  readonly digest: string;
  /** Stored items of the findings in scope (all of the image's, or those of some packages). */
  readonly stored: readonly StoredFinding[];
  readonly committed: number;
  readonly generation: number;
  /** What was observed; every finding in scope that is not here closes. */
  readonly observed: readonly FindingDraft[];
  /** Which stored findings the observation covers; the rest are left as they are. */
  readonly inScope?: (f: FindingRecord) => boolean;
  /** Why a finding no longer observed closes. */
  readonly closeReason: (f: FindingRecord) => string;
  /** Write unchanged findings too (a scan refreshes lastObservedAt; a rescan writes changes only). */
  readonly touchUnchanged: boolean;
  readonly now: string;
}

export interface GenerationPlan {
  readonly writes: StoredFinding[];
  /** Items an uncommitted earlier attempt added that this generation does not have. */
  readonly removes: FindingRecord[];
}

/** The parts of a finding whose change is news (besides its status). */
const stateOf = (f: FindingRecord) =>
  JSON.stringify([
    f.status,
    f.statusReason ?? '',
    f.fixedVersion ?? '',
    f.fixVia ?? '',
    f.fixState ?? '',
    f.kev?.dateAdded ?? '',
    f.severity.severity,
    f.severity.score ?? '',
    f.ids,
  ]);

/**
 * The stored items as the committed generation shows them (those in scope), and the items an
 * uncommitted attempt left above it.
 */
function resolveStored(input: PlanInput) {
  const inScope = input.inScope ?? (() => true);
  const base = new Map<string, FindingRecord>();
  const leftovers = new Map<string, StoredFinding>();
  for (const item of input.stored) {
    const key = findingSortKey(item);
    const visible = visibleFinding(item, input.committed);
    if (item.generation !== undefined && item.generation > input.committed)
      leftovers.set(key, item);
    if (visible !== undefined && inScope(visible)) base.set(key, visible);
  }
  return { base, leftovers };
}

export function planGeneration(input: PlanInput): GenerationPlan {
  const { base, leftovers } = resolveStored(input);
  const writes = new Map<string, StoredFinding>();
  const stage = (key: string, record: FindingRecord, prior: FindingRecord | undefined) =>
    writes.set(key, {
      ...record,
      generation: input.generation,
      ...(prior === undefined ? {} : { prior }),
    });

  const observed = new Set<string>();
  for (const draft of input.observed) {
    const key = findingSortKey(draft);
    if (observed.has(key)) continue;
    observed.add(key);
    const before = base.get(key);
    const reopened = before === undefined || before.status === 'CLOSED';
    const record: FindingRecord = {
      ...draft,
      firstObservedAt: reopened ? input.now : before.firstObservedAt,
      lastObservedAt: input.now,
      ...(draft.fixedVersion === undefined
        ? {}
        : {
            fixAvailableSince:
              !reopened && before.fixedVersion !== undefined
                ? (before.fixAvailableSince ?? input.now)
                : input.now,
          }),
    };
    if (
      input.touchUnchanged ||
      before === undefined ||
      stateOf(before) !== stateOf(record) ||
      leftovers.has(key)
    )
      stage(key, record, before);
  }
  for (const [key, before] of base) {
    if (observed.has(key) || before.status === 'CLOSED') continue;
    const { statusReason: _r, ...rest } = before;
    stage(
      key,
      { ...rest, status: 'CLOSED', statusReason: input.closeReason(before), closedAt: input.now },
      before,
    );
  }
  return {
    writes: [...writes.values()],
    removes: undoLeftovers(leftovers, writes, input.committed),
  };
}

/**
 * What an uncommitted attempt wrote and this one does not: the committed record is put back
 * (added to `writes`), or an addition removed (returned).
 */
function undoLeftovers(
  leftovers: ReadonlyMap<string, StoredFinding>,
  writes: Map<string, StoredFinding>,
  committed: number,
): FindingRecord[] {
  const removes: FindingRecord[] = [];
  for (const [key, item] of leftovers) {
    if (writes.has(key)) continue;
    const visible = visibleFinding(item, committed);
    if (visible === undefined) removes.push(item);
    else writes.set(key, { ...visible, generation: committed });
  }
  return removes;
}

export interface GenerationChanges {
  readonly added: FindingRecord[];
  readonly resolved: FindingRecord[];
  readonly fixAvailable: FindingRecord[];
  /** Still active, with another effective severity or newly known exploited (KEV). */
  readonly rerated: FindingRecord[];
}

/** The changes a committed generation made, from its items and the records they replaced. */
export function changesOf(items: readonly StoredFinding[], generation: number): GenerationChanges {
  const out: GenerationChanges = { added: [], resolved: [], fixAvailable: [], rerated: [] };
  for (const item of items) {
    if (item.generation !== generation) continue;
    const { generation: _g, prior, ...after } = item;
    const wasActive = prior?.status === 'ACTIVE';
    if (after.status === 'ACTIVE' && !wasActive) out.added.push(after);
    else if (after.status !== 'ACTIVE' && wasActive) out.resolved.push(after);
    else if (
      after.status === 'ACTIVE' &&
      prior?.fixedVersion === undefined &&
      after.fixedVersion !== undefined
    )
      out.fixAvailable.push(after);
    else if (
      after.status === 'ACTIVE' &&
      prior !== undefined &&
      (prior.severity.severity !== after.severity.severity ||
        (prior.kev === undefined && after.kev !== undefined))
    )
      out.rerated.push(after);
  }
  return out;
}
