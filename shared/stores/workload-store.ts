/**
 * The workload inventory (issue 20, docs/data-model.md), in the images table beside the image
 * records: which workloads run which digest, since when, until when.
 *
 * - `DIGEST#<digest>` / `WORKLOAD#<source>#<workload>`: one item per workload and digest, with
 *   first seen, last seen and, once it stopped, `stoppedAt`. Nothing here expires: the images
 *   table has no TTL, and an expired item DynamoDB had not yet deleted would make every
 *   conditional write on it fail (reads hide it, the table does not). While it runs it is in the table's one index under `#workloads#<source>`
 *   (which no `host/name` repository can be, like provenance-store.ts's `#provenance`), sorted
 *   by last seen: a reconcile pass lists the ones it did not see with one Query.
 * - `DIGEST#<digest>` / `INUSE`: the digest's summary, `inUseCount` (workloads running it) and
 *   `lastInUseAt`, read in one GetItem by the rescan and the API. The count moves in the same
 *   transaction as the workload item that changes it, both conditional on what was read.
 * - `DIGEST#<digest>` / `JUDGEMENT#<source>#<workload>`: the audit's judgements of a running
 *   workload and digest (pipeline/audit.ts): which hold, since when, and whether announced.
 */
import { BosunError } from '../errors.js';
import { latestInstant } from '../instants.js';
import { TABLE_KEYS } from './dynamodb/keys.js';
import type { Condition, Item, ItemTable, Write } from './item-table.js';

const INDEX = TABLE_KEYS.images.byRepository;
/** The index partition of a source's running workloads. */
export const workloadIndexKey = (source: string) => `#workloads#${source}`;
/**
 * While a digest stays in use, its summary's `lastInUseAt` is moved at most this often (every
 * observation of every task would otherwise write the one summary item); it is exact when the
 * last workload stops.
 */
export const IN_USE_REFRESH_MS = 60 * 60_000;

/** A workload item kept changing under concurrent writers. */
export class WorkloadConflictError extends BosunError {
  readonly fatal = false;
}

export interface WorkloadKey {
  readonly digest: string;
  readonly source: string;
  readonly workload: string;
}

export interface WorkloadRecord extends WorkloadKey {
  readonly image: string;
  readonly registry?: string;
  readonly repository?: string;
  readonly tag?: string;
  readonly account?: string;
  readonly region?: string;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
  readonly stoppedAt?: string;
}

export interface InUse {
  readonly digest: string;
  /** Workloads running the digest now. */
  readonly inUseCount: number;
  /** When a workload was last seen running it (within IN_USE_REFRESH_MS while in use). */
  readonly lastInUseAt?: string;
  readonly firstInUseAt?: string;
}

/** One judgement of a workload and digest: since when it holds, why, and if it was announced. */
export interface JudgementEntry {
  readonly since: string;
  readonly reason: string;
  readonly announced: boolean;
}

export interface JudgementRecord extends WorkloadKey {
  /** Judgements that hold, by type. */
  readonly holding: Readonly<Record<string, JudgementEntry>>;
  /** When each judgement last stopped holding (a clearing is recorded, not announced). */
  readonly cleared: Readonly<Record<string, string>>;
  readonly revision: number;
}

const workloadKey = (k: WorkloadKey) => ({
  pk: `DIGEST#${k.digest}`,
  sk: `WORKLOAD#${k.source}#${k.workload}`,
});
const inUseKey = (digest: string) => ({ pk: `DIGEST#${digest}`, sk: 'INUSE' });
const judgementKey = (k: WorkloadKey) => ({
  pk: `DIGEST#${k.digest}`,
  sk: `JUDGEMENT#${k.source}#${k.workload}`,
});

/** The index compares strings: one instant form (provenance-store.ts says why). */
const canonical = (time: string) => new Date(Date.parse(time)).toISOString();
const revisionOf = (item: Item | undefined): Condition =>
  item === undefined
    ? { kind: 'absent' }
    : { kind: 'equals', attribute: 'revision', value: item.revision as number };
const bump = (item: Item | undefined) => ((item?.revision as number | undefined) ?? 0) + 1;

function fromItem(item: Item): WorkloadRecord {
  const {
    pk: _pk,
    sk: _sk,
    revision: _r,
    expiresAt: _e,
    [INDEX.partitionKey]: _i,
    [INDEX.sortKey]: _s,
    ...rest
  } = item;
  return rest as unknown as WorkloadRecord;
}

export class WorkloadStore {
  constructor(private readonly table: ItemTable) {}

  /**
   * Records that `record.workload` runs `record.digest` as of `seenAt`. Returns whether it
   * started (was not running before); an observation older than the workload's stop is ignored.
   */
  async record(
    observed: Omit<WorkloadRecord, 'firstSeenAt' | 'lastSeenAt' | 'stoppedAt'> & {
      seenAt: string;
    },
  ): Promise<{ started: boolean; ignored: boolean }> {
    const { seenAt, ...fields } = observed;
    const { started, ignored } = await this.change(observed, (current) => {
      const stoppedAt = current?.stoppedAt as string | undefined;
      if (stoppedAt !== undefined && Date.parse(stoppedAt) >= Date.parse(seenAt)) return undefined;
      const lastSeenAt = latestInstant(seenAt, current?.lastSeenAt as string | undefined) ?? seenAt;
      const firstSeen = current?.firstSeenAt as string | undefined;
      return {
        item: {
          ...workloadKey(observed),
          ...fields,
          firstSeenAt:
            firstSeen === undefined || Date.parse(seenAt) < Date.parse(firstSeen)
              ? seenAt
              : firstSeen,
          lastSeenAt,
          [INDEX.partitionKey]: workloadIndexKey(observed.source),
          [INDEX.sortKey]: canonical(lastSeenAt),
        },
        delta: current === undefined || stoppedAt !== undefined ? 1 : 0,
        inUseAt: lastSeenAt,
      };
    });
    return { started, ignored };
  }

  /**
   * Records that the workload stopped running the digest at `stoppedAt` (`seen`: the source
   * said so, and it counts as last seen then; otherwise a reconcile did not see it). Returns
   * whether it was running.
   */
  async stop(key: WorkloadKey, stoppedAt: string, seen: boolean, image?: string): Promise<boolean> {
    const outcome = await this.change(key, (current) => {
      if (current?.stoppedAt !== undefined) return undefined;
      if (current === undefined && image === undefined) return undefined;
      const last = current?.lastSeenAt as string | undefined;
      const lastSeenAt = (seen ? latestInstant(stoppedAt, last) : last) ?? stoppedAt;
      const {
        [INDEX.partitionKey]: _i,
        [INDEX.sortKey]: _s,
        ...rest
      } = current ?? { ...workloadKey(key), ...key, image, firstSeenAt: stoppedAt };
      return {
        item: {
          ...(rest as Item),
          lastSeenAt,
          stoppedAt,
        },
        delta: current === undefined ? 0 : -1,
        inUseAt: lastSeenAt,
      };
    });
    return !outcome.ignored && outcome.wasRunning;
  }

  /** One conditional transaction of the workload item and, when it changes, the summary. */
  private async change(
    key: WorkloadKey,
    plan: (current: Item | undefined) => { item: Item; delta: number; inUseAt: string } | undefined,
  ): Promise<{ started: boolean; ignored: boolean; wasRunning: boolean }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.table.get(workloadKey(key));
      const next = plan(current);
      const wasRunning = current !== undefined && current.stoppedAt === undefined;
      if (next === undefined) return { started: false, ignored: true, wasRunning };
      const writes: Write[] = [
        { put: { ...next.item, revision: bump(current) }, condition: revisionOf(current) },
      ];
      const summary = await this.table.get(inUseKey(key.digest));
      const last = summary?.lastInUseAt as string | undefined;
      const stale =
        last === undefined || Date.parse(next.inUseAt) - Date.parse(last) > IN_USE_REFRESH_MS;
      if (next.delta !== 0 || stale || next.item.stoppedAt !== undefined)
        writes.push({
          put: {
            ...inUseKey(key.digest),
            digest: key.digest,
            inUseCount: Math.max(
              0,
              ((summary?.inUseCount as number | undefined) ?? 0) + next.delta,
            ),
            lastInUseAt: latestInstant(next.inUseAt, last) ?? next.inUseAt,
            firstInUseAt: (summary?.firstInUseAt as string | undefined) ?? next.inUseAt,
            revision: bump(summary),
          },
          condition: revisionOf(summary),
        });
      if (await this.table.transact(writes))
        return { started: next.delta > 0, ignored: false, wasRunning };
    }
    throw new WorkloadConflictError(
      `workload ${key.source} ${key.workload} on ${key.digest} kept changing under concurrent writers`,
    );
  }

  async get(key: WorkloadKey): Promise<WorkloadRecord | undefined> {
    const item = await this.table.get(workloadKey(key));
    return item === undefined ? undefined : fromItem(item);
  }

  /** The workloads running a digest now. */
  async running(digest: string): Promise<WorkloadRecord[]> {
    return (await this.table.query(`DIGEST#${digest}`, { prefix: 'WORKLOAD#' }))
      .filter((i) => i.stoppedAt === undefined)
      .map(fromItem);
  }

  /** Every workload item of a digest, stopped ones included (until they expire). */
  async history(digest: string): Promise<WorkloadRecord[]> {
    return (await this.table.query(`DIGEST#${digest}`, { prefix: 'WORKLOAD#' })).map(fromItem);
  }

  /** A source's running workloads last seen before `before`, oldest first (a reconcile's leftovers). */
  async runningSeenBefore(source: string, before: string): Promise<WorkloadRecord[]> {
    const to = new Date(Date.parse(before) - 1).toISOString();
    return (await this.table.queryIndex(INDEX, workloadIndexKey(source), { to })).map(fromItem);
  }

  async inUse(digest: string): Promise<InUse> {
    const item = await this.table.get(inUseKey(digest));
    return {
      digest,
      inUseCount: (item?.inUseCount as number | undefined) ?? 0,
      ...(item?.lastInUseAt === undefined ? {} : { lastInUseAt: item.lastInUseAt as string }),
      ...(item?.firstInUseAt === undefined ? {} : { firstInUseAt: item.firstInUseAt as string }),
    };
  }

  async judgements(key: WorkloadKey): Promise<JudgementRecord | undefined> {
    const item = await this.table.get(judgementKey(key));
    if (item === undefined) return undefined;
    return {
      digest: key.digest,
      source: key.source,
      workload: key.workload,
      holding: JSON.parse(item.holding as string) as JudgementRecord['holding'],
      cleared: JSON.parse(item.cleared as string) as JudgementRecord['cleared'],
      revision: item.revision as number,
    };
  }

  /**
   * Writes the judgements if they are still at the revision read (undefined: none stored);
   * false when another run wrote them first.
   */
  async putJudgements(
    record: Omit<JudgementRecord, 'revision'>,
    expectedRevision: number | undefined,
  ): Promise<boolean> {
    return this.table.transact([
      {
        put: {
          ...judgementKey(record),
          digest: record.digest,
          source: record.source,
          workload: record.workload,
          holding: JSON.stringify(record.holding),
          cleared: JSON.stringify(record.cleared),
          revision: (expectedRevision ?? 0) + 1,
        },
        condition:
          expectedRevision === undefined
            ? { kind: 'absent' }
            : { kind: 'equals', attribute: 'revision', value: expectedRevision },
      },
    ]);
  }
}
