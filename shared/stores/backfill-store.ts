/**
 * A backfill's state in the images table (docs/data-model.md, "Backfills"), all in the
 * partition `BACKFILL#<id>`:
 * - `STATUS`: scope, phase, where the run is (the repository page being listed, or the
 *   repository and DescribeImages token being read), counts, times, the lease of the one run
 *   that may work on it, and `revision` (every write is conditional on it);
 * - `REPOS#<page>`: the names in scope of one DescribeRepositories page, so the list of
 *   repositories is never bounded by one item's 400 KB;
 * - `IMAGE#<repository>#<digest>`: the ledger, one item per image: CLAIMED before its scan
 *   request is sent, then QUEUED (or SKIPPED, FAILED) in the same transaction that counts it in
 *   the status, so a count is never lost nor made twice.
 * Nothing here expires: the images table has no TTL, and the ledger is the record of what a
 * backfill queued.
 */
import type { BackfillScope } from '../events/backfill.js';
import type { Item, ItemTable, Write } from './item-table.js';

export const BACKFILL_PREFIX = 'BACKFILL#';

export type BackfillPhase = 'LISTING' | 'IMAGES' | 'DONE';

export interface BackfillCounts {
  /** Repositories in scope (known once listing is done). */
  readonly repositories: number;
  readonly repositoriesDone: number;
  /** Images given an outcome: queued + skipped + failed. */
  readonly imagesSeen: number;
  readonly queued: number;
  readonly skipped: number;
  readonly failed: number;
}

export interface BackfillStatus {
  readonly id: string;
  readonly scope: BackfillScope;
  readonly phase: BackfillPhase;
  /** DescribeRepositories pages listed, and the token of the next one. */
  readonly listing: { readonly pages: number; readonly token?: string };
  /** The repository being read (`REPOS#<page>`, index in it) and its DescribeImages token. */
  readonly cursor: { readonly page: number; readonly index: number; readonly token?: string };
  readonly counts: BackfillCounts;
  /** Repositories the request named that the registry does not have. */
  readonly missing: readonly string[];
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** The run that holds the lease, until `leaseUntil` (epoch ms). */
  readonly holder?: string;
  readonly leaseUntil: number;
  readonly revision: number;
}

export type LedgerState = 'CLAIMED' | 'QUEUED' | 'SKIPPED' | 'FAILED';

export interface LedgerEntry {
  readonly repository: string;
  readonly digest: string;
  readonly state: LedgerState;
  readonly holder: string;
  readonly at: string;
  readonly reason?: string;
}

export const ZERO_COUNTS: BackfillCounts = {
  repositories: 0,
  repositoriesDone: 0,
  imagesSeen: 0,
  queued: 0,
  skipped: 0,
  failed: 0,
};

const pk = (id: string) => `${BACKFILL_PREFIX}${id}`;
const STATUS = 'STATUS';
const pageKey = (page: number) => `REPOS#${String(page).padStart(6, '0')}`;
const ledgerKey = (repository: string, digest: string) => `IMAGE#${repository}#${digest}`;

function statusOf(item: Item): BackfillStatus {
  const { pk: _pk, sk: _sk, ...status } = item;
  return status as unknown as BackfillStatus;
}

export class BackfillStore {
  constructor(private readonly table: ItemTable) {}

  async status(id: string): Promise<BackfillStatus | undefined> {
    const item = await this.table.get({ pk: pk(id), sk: STATUS });
    return item === undefined ? undefined : statusOf(item);
  }

  /** Writes a new status; false when the id is already taken. */
  create(status: BackfillStatus): Promise<boolean> {
    return this.table.transact([
      { put: { pk: pk(status.id), sk: STATUS, ...status }, condition: { kind: 'absent' } },
    ]);
  }

  /**
   * Replaces the status read at `previous.revision` with `next` (its revision one more), with
   * other writes in the same transaction; false when the status changed meanwhile or a
   * condition of `writes` failed (nothing written).
   */
  save(previous: BackfillStatus, next: BackfillStatus, writes: readonly Write[] = []) {
    const put: Write = {
      put: { pk: pk(next.id), sk: STATUS, ...next, revision: previous.revision + 1 },
      condition: { kind: 'equals', attribute: 'revision', value: previous.revision },
    };
    return this.table.transact([...writes, put]);
  }

  /** The write of one listed page of repository names. */
  pageWrite(id: string, page: number, names: readonly string[]): Write {
    return { put: { pk: pk(id), sk: pageKey(page), names: [...names] } };
  }

  async page(id: string, page: number): Promise<readonly string[] | undefined> {
    const item = await this.table.get({ pk: pk(id), sk: pageKey(page) });
    return item === undefined ? undefined : (item.names as string[]);
  }

  /** Every listed repository name, in listing order. */
  async repositories(id: string): Promise<string[]> {
    const pages = await this.table.query(pk(id), { prefix: 'REPOS#' });
    return pages.flatMap((p) => p.names as string[]);
  }

  /** Records the image as CLAIMED by `holder`; false when the ledger already has it. */
  claim(id: string, entry: Omit<LedgerEntry, 'state'>): Promise<boolean> {
    return this.table.transact([
      {
        put: {
          pk: pk(id),
          sk: ledgerKey(entry.repository, entry.digest),
          ...entry,
          state: 'CLAIMED',
        },
        condition: { kind: 'absent' },
      },
    ]);
  }

  async entry(id: string, repository: string, digest: string): Promise<LedgerEntry | undefined> {
    const item = await this.table.get({ pk: pk(id), sk: ledgerKey(repository, digest) });
    if (item === undefined) return undefined;
    const { pk: _pk, sk: _sk, ...entry } = item;
    return entry as unknown as LedgerEntry;
  }

  /** The ledger entries of a backfill (the whole partition's IMAGE# items). */
  async entries(id: string): Promise<LedgerEntry[]> {
    const items = await this.table.query(pk(id), { prefix: 'IMAGE#' });
    return items.map(({ pk: _pk, sk: _sk, ...entry }) => entry as unknown as LedgerEntry);
  }

  /** The write that gives a CLAIMED image its outcome; fails if it is no longer CLAIMED. */
  outcomeWrite(id: string, entry: LedgerEntry): Write {
    return {
      put: { pk: pk(id), sk: ledgerKey(entry.repository, entry.digest), ...entry },
      condition: { kind: 'equals', attribute: 'state', value: 'CLAIMED' },
    };
  }
}
