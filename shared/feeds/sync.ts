/**
 * One sync of one feed source into an advisory store.
 *
 * Records are read in batches (never the whole feed in memory), validated (an invalid record is
 * an issue and the sync goes on), hashed, and only those whose hash changed are written. Each
 * batch's changed package keys are handed to `deliver` (the rescan queue) before the checkpoint
 * moves past the batch.
 *
 * Crash safety, batch by batch: (1) checkpoint with the cursor at the batch start and the
 * batch's changes as `pending`; (2) write the records; (3) deliver; (4) checkpoint with the
 * cursor past the batch and nothing pending. A sync stopped anywhere resumes at the batch it
 * was in: records it had already written now hash equal and are not written again, and the
 * pending changes are delivered with whatever else that batch changes. Only a stop between (3)
 * and (4) delivers a batch's changes twice, which rescans tolerate (they are idempotent).
 */
import { type CveFact, changesFindings, cveFactHash, cveFactKey } from '../advisories/cve-facts.js';
import type { ImportIssue } from '../advisories/importers/decode.js';
import type { OsvRecord } from '../advisories/osv.js';
import { mapLimit } from '../concurrency.js';
import { BosunError } from '../errors.js';
import type { PackageChange } from '../events/rescan.js';
import {
  type AdvisoryStore,
  aliasesOf,
  contentHash,
  type FeedCheckpoint,
  packageKeysOf,
  type StoredAdvisory,
  splitPackageKey,
} from '../stores/advisory-store.js';
import type { FeedEntry, FeedSource, ParsedEntry } from './types.js';

/** Another sync of the same source holds the lease. */
export class SyncBusyError extends BosunError {
  readonly fatal = false;
  constructor(readonly source: string) {
    super(`a sync of ${source} is already running`);
  }
}

/** The caller's signal stopped the sync between batches; the checkpoint is saved. */
export class SyncAbortedError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly source: string,
    readonly position: number,
  ) {
    super(`sync of ${source} stopped after ${position} entries; the next run resumes there`);
  }
}

export interface SyncOptions {
  readonly source: FeedSource;
  readonly store: AdvisoryStore;
  /** Receives each batch's changed package keys; must resolve only once they are safe. */
  readonly deliver?: (changes: readonly PackageChange[]) => Promise<void>;
  /** Entries per batch. */
  readonly batchSize?: number;
  /** Entries read at once (HTTP fetches of incremental sources). */
  readonly readConcurrency?: number;
  /** Epoch ms after which the sync stops at the next batch boundary and reports `partial`. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** Lease holder id; a random one by default. */
  readonly holder?: string;
  readonly leaseMs?: number;
  /** Called after each batch (progress display). */
  readonly onBatch?: (progress: SyncProgress) => void;
}

export interface SyncProgress {
  readonly position: number;
  readonly written: number;
  readonly unchanged: number;
  readonly invalid: number;
}

export interface SyncResult extends SyncProgress {
  readonly source: string;
  /** `complete`, `unchanged` (nothing moved), or `partial` (deadline; continue later). */
  readonly status: 'complete' | 'unchanged' | 'partial';
  readonly mode?: 'full' | 'incremental';
  readonly changes: PackageChange[];
  readonly issues: ImportIssue[];
}

const MAX_KEPT_ISSUES = 50;

const sameIds = (a: readonly string[], b: readonly string[]) =>
  [...a].sort().join('\u0000') === [...b].sort().join('\u0000');

/** The facts of a batch (the last of each kind and CVE) whose content moved, and how many did not. */
async function changedFacts(
  parsed: readonly ParsedEntry[],
  store: AdvisoryStore,
): Promise<{ changed: CveFact[]; unchanged: number }> {
  const latest = new Map<string, CveFact>();
  for (const p of parsed) for (const f of p.facts ?? []) latest.set(cveFactKey(f.kind, f.cve), f);
  if (latest.size === 0) return { changed: [], unchanged: 0 };
  const stored = await store.cveFactHashes([...latest.values()]);
  const changed = [...latest].filter(([key, f]) => stored.get(key) !== cveFactHash(f));
  return { changed: changed.map(([, f]) => f), unchanged: latest.size - changed.length };
}

/**
 * A CVE whose rating or exploitation status moved changes the findings of every package an
 * advisory of that CVE names (through the alias index: aliases, upstream, related CVEs), so
 * those packages are rescanned like an advisory change. EPSS moves daily for most CVEs: it is
 * read at the next scan, never announced.
 */
async function factChanges(
  store: AdvisoryStore,
  facts: readonly CveFact[],
  pending: ChangeSet,
): Promise<void> {
  // Which packages a fact can re-rate: NVD and KEV any package of the CVE; Debian's urgency
  // only the Debian source packages it names.
  const scope = new Map<string, (key: string) => boolean>();
  for (const f of facts.filter((x) => changesFindings(x.kind))) {
    const previous = scope.get(f.cve);
    const mine =
      f.kind === 'debian'
        ? (key: string) => {
            const { ecosystem, name } = splitPackageKey(key);
            return ecosystem.startsWith('Debian') && Object.hasOwn(f.facts.packages, name);
          }
        : () => true;
    scope.set(f.cve, previous === undefined ? mine : (k) => previous(k) || mine(k));
  }
  const cves = [...scope.keys()];
  const ids = await mapLimit(cves, 8, async (cve) => [
    ...new Set([...(await store.idsByAlias(cve)), cve]),
  ]);
  const heads = await store.heads([...new Set(ids.flat())]);
  cves.forEach((cve, i) => {
    const inScope = scope.get(cve) as (key: string) => boolean;
    for (const id of ids[i] ?? []) {
      const head = heads.get(id);
      if (head === undefined || head.withdrawn) continue;
      for (const k of head.packageKeys) if (inScope(k)) pending.add(k, 'modified', [id]);
    }
  });
}

/** Accumulates package changes, one per (package, kind), advisory ids merged. */
class ChangeSet {
  private readonly byKey = new Map<string, { change: PackageChange; ids: Set<string> }>();

  add(pkgkey: string, change: PackageChange['change'], advisoryIds: readonly string[]): void {
    const key = `${change}\u0000${pkgkey}`;
    const hit = this.byKey.get(key);
    if (hit !== undefined) {
      for (const id of advisoryIds) hit.ids.add(id);
      return;
    }
    const { ecosystem, name } = splitPackageKey(pkgkey);
    this.byKey.set(key, {
      change: { ecosystem, name, change, advisoryIds: [] },
      ids: new Set(advisoryIds),
    });
  }

  addAll(changes: readonly PackageChange[]): void {
    for (const c of changes) this.add(`${c.ecosystem}#${c.name}`, c.change, c.advisoryIds);
  }

  get size(): number {
    return this.byKey.size;
  }

  list(): PackageChange[] {
    return [...this.byKey.values()]
      .map(({ change, ids }) => ({ ...change, advisoryIds: [...ids].sort() }))
      .sort((a, b) =>
        a.ecosystem !== b.ecosystem
          ? a.ecosystem < b.ecosystem
            ? -1
            : 1
          : a.name !== b.name
            ? a.name < b.name
              ? -1
              : 1
            : a.change < b.change
              ? -1
              : a.change > b.change
                ? 1
                : 0,
      );
  }
}

export async function syncFeed(opts: SyncOptions): Promise<SyncResult> {
  const { source, store } = opts;
  const holder = opts.holder ?? `sync-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const leaseMs = opts.leaseMs ?? 15 * 60_000;
  if (!(await store.acquireLease(source.id, holder, leaseMs))) throw new SyncBusyError(source.id);
  let result: SyncResult;
  try {
    result = await run(opts, holder, leaseMs);
  } catch (error) {
    // The sync's own error is the one to report; a lease that cannot be released now expires.
    await store.releaseLease(source.id, holder).catch(() => {});
    throw error;
  }
  await store.releaseLease(source.id, holder);
  return result;
}

async function run(opts: SyncOptions, holder: string, leaseMs: number): Promise<SyncResult> {
  const { source, store } = opts;
  const batchSize = opts.batchSize ?? source.batchSize ?? 200;
  const deliver = opts.deliver ?? (async () => {});
  let checkpoint: FeedCheckpoint = (await store.checkpoint(source.id)) ?? { source: source.id };
  const issues: ImportIssue[] = [];
  const all = new ChangeSet();
  const progress = { position: 0, written: 0, unchanged: 0, invalid: 0 };
  const result = (status: SyncResult['status'], mode?: SyncResult['mode']): SyncResult => ({
    source: source.id,
    status,
    ...(mode === undefined ? {} : { mode }),
    ...progress,
    changes: all.list(),
    issues,
  });

  // A source completed before ecosystems were recorded is read whole once, so that the
  // ecosystems of its unchanged advisories are recorded too (coverage asks for them).
  // Likewise once for a source completed before records were indexed by upstream and related
  // CVEs, so a CVE feed's change reaches them.
  const remark =
    checkpoint.completedAt !== undefined &&
    (checkpoint.ecosystemsMarked !== true || checkpoint.aliasesIndexed !== true) &&
    checkpoint.cursor === undefined;
  const fetched = await source.fetch(remark ? { source: source.id } : checkpoint, opts.signal);
  let pending = new ChangeSet();
  pending.addAll(checkpoint.pending ?? []);
  if (fetched.kind === 'unchanged') {
    if (pending.size > 0) {
      await deliver(pending.list());
      all.addAll(pending.list());
    }
    const { pending: _p, cursor: _c, ...rest } = checkpoint;
    await store.saveCheckpoint({ ...rest, fingerprint: fetched.fingerprint });
    return result('unchanged');
  }
  try {
    const resume = checkpoint.cursor?.fingerprint === fetched.fingerprint;
    if (!resume && pending.size > 0) {
      // The feed moved since the interrupted batch: deliver what it had changed, start over.
      await deliver(pending.list());
      all.addAll(pending.list());
      pending = new ChangeSet();
    }
    const start = resume ? (checkpoint.cursor?.position ?? 0) : 0;
    // A resumed sync keeps the watermark of the run that started reading this content: records
    // modified after it are in neither the content nor (yet) the checkpoint.
    const watermark = resume ? checkpoint.cursor?.watermark : fetched.watermark;
    const save = async (next: Partial<FeedCheckpoint>) => {
      const { pending: _p, cursor: _c, ...rest } = checkpoint;
      checkpoint = { ...rest, ...next, issues: keptIssues(issues) };
      await store.saveCheckpoint(checkpoint);
    };
    const cursor = (position: number) => ({
      fingerprint: fetched.fingerprint,
      position,
      ...(watermark === undefined ? {} : { watermark }),
    });

    let batch: FeedEntry[] = [];
    let index = 0;
    const flush = async () => {
      const batchStart = progress.position;
      const parsed = await mapLimit(batch, opts.readConcurrency ?? 8, (e) => source.parse(e));
      const records = new Map<string, OsvRecord>();
      for (const p of parsed) {
        issues.push(...p.issues);
        progress.invalid += p.issues.length;
        for (const r of p.records) records.set(r.id, r);
      }
      const heads = await store.heads([...records.keys()]);
      const writes: StoredAdvisory[] = [];
      const unchangedEcosystems = new Set<string>();
      for (const record of records.values()) {
        const hash = contentHash(record);
        const head = heads.get(record.id);
        if (head?.hash === hash && sameIds(head.aliases, aliasesOf(record))) {
          progress.unchanged++;
          for (const k of head.packageKeys) unchangedEcosystems.add(splitPackageKey(k).ecosystem);
          continue;
        }
        writes.push({ id: record.id, hash, source: source.id, record });
        // The same content indexed otherwise (before upstream and related CVEs were indexed):
        // rewritten for the index, no package changed.
        if (head?.hash === hash) continue;
        const keys = packageKeysOf(record);
        if (record.withdrawn !== undefined) {
          // Only the withdrawal of a record that could match changes findings; a record first
          // seen withdrawn, or edited after its withdrawal, never matched anything.
          if (head !== undefined && !head.withdrawn)
            for (const k of new Set([...keys, ...head.packageKeys]))
              pending.add(k, 'withdrawn', [record.id]);
        } else if (head === undefined) {
          for (const k of keys) pending.add(k, 'added', [record.id]);
        } else {
          // A package the record no longer names changed too: its findings may close.
          for (const k of new Set([...keys, ...head.packageKeys]))
            pending.add(k, 'modified', [record.id]);
        }
      }
      const facts = await changedFacts(parsed, store);
      progress.unchanged += facts.unchanged;
      await factChanges(store, facts.changed, pending);
      const end = batchStart + batch.length;
      if (pending.size > 0) await save({ cursor: cursor(batchStart), pending: pending.list() });
      // Records can change without changing any package (one first seen withdrawn, one that
      // names no package): they are written all the same.
      await store.put(writes);
      await store.putCveFacts(facts.changed);
      if (unchangedEcosystems.size > 0) await store.markEcosystems([...unchangedEcosystems]);
      if (pending.size > 0) {
        await deliver(pending.list());
        all.addAll(pending.list());
        pending = new ChangeSet();
      }
      progress.written += writes.length + facts.changed.length;
      progress.position = end;
      await save({ cursor: cursor(end) });
      // Renew the lease; if another sync took it over (ours expired), stop here.
      if (!(await store.acquireLease(source.id, holder, leaseMs)))
        throw new SyncBusyError(source.id);
      batch = [];
      opts.onBatch?.({ ...progress });
    };

    progress.position = start;
    for await (const entry of fetched.entries()) {
      if (index++ < start) continue;
      batch.push(entry);
      if (batch.length < batchSize) continue;
      await flush();
      if (opts.signal?.aborted === true) throw new SyncAbortedError(source.id, progress.position);
      if (opts.deadline !== undefined && Date.now() >= opts.deadline)
        return result('partial', fetched.mode);
    }
    if (batch.length > 0 || pending.size > 0) await flush();
    await fetched.storeData?.(store);
    const { pending: _p, cursor: _c, ...rest } = checkpoint;
    checkpoint = {
      ...rest,
      fingerprint: fetched.fingerprint,
      ...(watermark === undefined ? {} : { watermark }),
      completedAt: new Date().toISOString(),
      records: progress.position,
      ecosystemsMarked: true,
      aliasesIndexed: true,
      issues: keptIssues(issues),
    };
    await store.saveCheckpoint(checkpoint);
    return result('complete', fetched.mode);
  } finally {
    await fetched.close();
  }
}

/** This run's newest issues, kept in the checkpoint for `db status`. */
function keptIssues(issues: readonly ImportIssue[]): string[] {
  return issues.slice(-MAX_KEPT_ISSUES).map((i) => i.message);
}
