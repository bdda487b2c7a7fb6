/**
 * Images by digest, the repositories and tags they are known under, and every tag move
 * (docs/data-model.md, images table). Written once over the item-table port.
 */
import { isBefore, latestInstant } from '../instants.js';
import type { Coverage } from '../matcher/coverage.js';
import { TABLE_KEYS } from './dynamodb/keys.js';
import type { Condition, Item, ItemTable, Write } from './item-table.js';

export const SCAN_STATUSES = [
  'PENDING',
  'IN_PROGRESS',
  'COMPLETE',
  'FAILED',
  'UNSUPPORTED',
] as const;
export type ScanStatus = (typeof SCAN_STATUSES)[number];

export interface ImageRecord {
  readonly digest: string;
  readonly status: ScanStatus;
  /** Why a scan FAILED or is UNSUPPORTED. */
  readonly reason?: string;
  readonly configDigest?: string;
  readonly platform?: string;
  readonly os?: string;
  readonly layers?: readonly string[];
  readonly analyzerVersion?: string;
  /** The advisory state (e.g. a hash of feed checkpoints) the last complete scan matched against. */
  readonly advisoryState?: string;
  /** The inventory the image points at (inventory store), once a scan committed one. */
  readonly scanId?: string;
  readonly firstScannedAt?: string;
  readonly lastScannedAt?: string;
  /** The findings generation readers see (findings-store.ts, visibleFinding). */
  readonly findingsGeneration?: number;
  /** A generation a run started writing; above findingsGeneration while uncommitted. */
  readonly pendingGeneration?: number;
  /** The last findings generation whose changes were announced on SNS. */
  readonly announcedGeneration?: number;
  /** What wrote the committed generation. */
  readonly lastCommit?: {
    readonly generation: number;
    readonly kind: 'scan' | 'rescan' | 'deleted' | 'out-of-window';
    readonly at: string;
  };
  /** What the last complete scan could not check (matcher/coverage.ts); SCAN_COMPLETED says it. */
  readonly coverage?: Coverage;
  /** The full report and SBOM of the last complete scan (reports bucket keys). */
  readonly reportKey?: string;
  readonly sbomKey?: string;
  /** An inventory replaced by the committed one and not yet deleted. */
  readonly retiredScanId?: string;
  readonly lastRescannedAt?: string;
  /** Bumped by every write; conditional updates compare it. */
  readonly revision: number;
}

export interface RepositoryRecord {
  readonly digest: string;
  /** `<registry host>/<repository>` */
  readonly repository: string;
  readonly tags: readonly string[];
  readonly pushedAt: string;
  /** The latest push of the digest to the repository (the rescan window counts from it). */
  readonly lastPushedAt?: string;
  readonly deletedAt?: string;
}

export interface TagMove {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly previousDigest?: string;
  readonly movedAt: string;
}

const INDEX = TABLE_KEYS.images.byRepository;

/**
 * The condition that an item is still as it was read: repository items carry a revision that
 * every write bumps, so concurrent pushes of one digest cannot drop each other's tags.
 */
function revisionOf(item: Item): Condition {
  return typeof item.revision === 'number'
    ? { kind: 'equals', attribute: 'revision', value: item.revision }
    : { kind: 'missing', attribute: 'revision' };
}
const imageKey = (digest: string) => ({ pk: `DIGEST#${digest}`, sk: 'IMAGE' });

function strip<T>(item: Item, drop: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!drop.includes(k)) out[k] = v;
  return out as T;
}

export class ImageStore {
  constructor(private readonly table: ItemTable) {}

  async getImage(digest: string): Promise<ImageRecord | undefined> {
    const item = await this.table.get(imageKey(digest));
    return item === undefined ? undefined : strip<ImageRecord>(item, ['pk', 'sk']);
  }

  /**
   * Writes the image record if it is still at `expectedRevision` (undefined: not stored yet),
   * with the revision bumped. False when another writer got there first.
   */
  async putImage(
    record: Omit<ImageRecord, 'revision'>,
    expectedRevision: number | undefined,
  ): Promise<boolean> {
    const revision = (expectedRevision ?? 0) + 1;
    return this.table.transact([
      {
        put: { ...imageKey(record.digest), ...record, revision },
        condition:
          expectedRevision === undefined
            ? { kind: 'absent' }
            : { kind: 'equals', attribute: 'revision', value: expectedRevision },
      },
    ]);
  }

  /**
   * Records a push of `digest` to `repository` (with `tag` when the push named one). When the
   * tag pointed at another digest, the move is returned (and kept in the tag's history).
   * Retries when a concurrent push moved the same tag in between.
   */
  async recordPush(
    digest: string,
    repository: string,
    tag: string | undefined,
    pushedAt: string,
  ): Promise<TagMove | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const repoKey = { pk: `DIGEST#${digest}`, sk: `REPO#${repository}` };
      const current = await this.table.get(repoKey);
      const tags = new Set((current?.tags as string[] | undefined) ?? []);
      const writes: Write[] = [];
      let move: TagMove | undefined;
      if (tag !== undefined) {
        tags.add(tag);
        const tagKey = { pk: `REPO#${repository}`, sk: `TAG#${tag}` };
        const tagItem = await this.table.get(tagKey);
        const previous = tagItem?.digest as string | undefined;
        // A redelivered older push does not take the tag back from a newer one.
        // A tie keeps the tag where it is.
        const movedAt = tagItem?.movedAt as string | undefined;
        const newer =
          previous !== undefined &&
          previous !== digest &&
          movedAt !== undefined &&
          !isBefore(movedAt, pushedAt);
        if (newer) tags.delete(tag);
        else if (previous !== digest) {
          move = {
            repository,
            tag,
            digest,
            ...(previous === undefined ? {} : { previousDigest: previous }),
            movedAt: pushedAt,
          };
          writes.push(
            {
              put: { ...tagKey, digest, movedAt: pushedAt },
              condition:
                previous === undefined
                  ? { kind: 'absent' }
                  : { kind: 'equals', attribute: 'digest', value: previous },
            },
            {
              put: {
                pk: `REPO#${repository}`,
                sk: `TAGHIST#${tag}#${pushedAt}#${digest}`,
                ...move,
              },
            },
          );
          // The digest the tag left no longer carries it.
          if (previous !== undefined) {
            const old = await this.table.get({
              pk: `DIGEST#${previous}`,
              sk: `REPO#${repository}`,
            });
            if (old !== undefined)
              writes.push({
                put: {
                  ...old,
                  tags: ((old.tags as string[]) ?? []).filter((t) => t !== tag),
                  revision: ((old.revision as number | undefined) ?? 0) + 1,
                },
                condition: revisionOf(old),
              });
          }
        }
      }
      writes.push({
        put: {
          ...repoKey,
          digest,
          repository,
          tags: [...tags].sort(),
          // pushedAt is also the byRepository index's sort key.
          pushedAt: (current?.pushedAt as string | undefined) ?? pushedAt,
          lastPushedAt: latestInstant(pushedAt, current?.lastPushedAt as string | undefined),
          [INDEX.partitionKey]: repository,
          // A push after a deletion brings the digest back; a redelivered older push does not.
          ...(current?.deletedAt === undefined || isBefore(current.deletedAt as string, pushedAt)
            ? {}
            : { deletedAt: current.deletedAt }),
          revision: ((current?.revision as number | undefined) ?? 0) + 1,
        },
        condition: current === undefined ? { kind: 'absent' } : revisionOf(current),
      });
      if (await this.table.transact(writes)) return move;
    }
    throw new Error(`tag ${repository}:${tag} kept moving under concurrent pushes; gave up`);
  }

  /** The move a push recorded for `tag` at `movedAt`, if it recorded one (a redelivered push). */
  async moveOf(
    repository: string,
    tag: string,
    digest: string,
    movedAt: string,
  ): Promise<TagMove | undefined> {
    const item = await this.table.get({
      pk: `REPO#${repository}`,
      sk: `TAGHIST#${tag}#${movedAt}#${digest}`,
    });
    return item === undefined ? undefined : strip<TagMove>(item, ['pk', 'sk']);
  }

  /**
   * Takes the digest's lease (one scan or rescan of an image at a time) unless another holder
   * has an unexpired one. The lease is an ordinary item with its own deadline attribute: an
   * expired one stays readable, so taking it over is a conditional write on what was read.
   */
  async acquireLease(digest: string, holder: string, ttlMs: number, now = Date.now()) {
    const key = { pk: `DIGEST#${digest}`, sk: 'LEASE' };
    const current = await this.table.get(key);
    if (current !== undefined && current.holder !== holder && (current.leaseUntil as number) > now)
      return false;
    return this.table.transact([
      {
        put: { ...key, holder, leaseUntil: now + ttlMs },
        condition:
          current === undefined
            ? { kind: 'absent' }
            : { kind: 'equals', attribute: 'leaseUntil', value: current.leaseUntil as number },
      },
    ]);
  }

  async releaseLease(digest: string, holder: string): Promise<void> {
    await this.table.transact([
      {
        delete: { pk: `DIGEST#${digest}`, sk: 'LEASE' },
        condition: { kind: 'equals', attribute: 'holder', value: holder },
      },
    ]);
  }

  async repositoriesOf(digest: string): Promise<RepositoryRecord[]> {
    const items = await this.table.query(`DIGEST#${digest}`, { prefix: 'REPO#' });
    return items.map((i) =>
      strip<RepositoryRecord>(i, ['pk', 'sk', INDEX.partitionKey, 'revision']),
    );
  }

  async tagDigest(repository: string, tag: string): Promise<string | undefined> {
    return (await this.table.get({ pk: `REPO#${repository}`, sk: `TAG#${tag}` }))?.digest as
      | string
      | undefined;
  }

  async tags(repository: string): Promise<{ tag: string; digest: string }[]> {
    const items = await this.table.query(`REPO#${repository}`, { prefix: 'TAG#' });
    return items.map((i) => ({ tag: i.sk.slice(4), digest: i.digest as string }));
  }

  /** Every move of a tag, oldest first. */
  async tagHistory(repository: string, tag: string): Promise<TagMove[]> {
    const items = await this.table.query(`REPO#${repository}`, { prefix: `TAGHIST#${tag}#` });
    return items.map((i) => strip<TagMove>(i, ['pk', 'sk']));
  }

  /** Images pushed to a repository, by push time (the rescan window, audits). */
  async imagesInRepository(
    repository: string,
    from?: string,
    to?: string,
  ): Promise<RepositoryRecord[]> {
    const items = await this.table.queryIndex(INDEX, repository, {
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    return items.map((i) =>
      strip<RepositoryRecord>(i, ['pk', 'sk', INDEX.partitionKey, 'revision']),
    );
  }

  /** Marks a digest deleted from a repository; its tags there are released. */
  async markDeleted(digest: string, repository: string, deletedAt: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const item = await this.table.get({ pk: `DIGEST#${digest}`, sk: `REPO#${repository}` });
      if (item === undefined) return;
      const writes: Write[] = [
        {
          put: {
            ...item,
            deletedAt,
            tags: [],
            revision: ((item.revision as number | undefined) ?? 0) + 1,
          },
          condition: revisionOf(item),
        },
      ];
      for (const tag of (item.tags as string[]) ?? [])
        if ((await this.tagDigest(repository, tag)) === digest)
          writes.push({
            delete: { pk: `REPO#${repository}`, sk: `TAG#${tag}` },
            condition: { kind: 'equals', attribute: 'digest', value: digest },
          });
      // A tag moved away in between: read again.
      if (await this.table.transact(writes)) return;
    }
  }
}
