/**
 * Findings per image with their lifecycle, the record of notifications already sent, and
 * suppressions (docs/data-model.md, findings table). Written once over the item-table port.
 */
import { createHash } from 'node:crypto';
import type { EpssFacts, KevFacts } from '../advisories/cve-facts.js';
import type { SeverityRating } from '../advisories/severity.js';
import type { Rating } from '../matcher/rating.js';
import type { Reachability } from '../matcher/reachability.js';
import type { FixState } from '../matcher/types.js';
import { expiryMarkerDelete, expiryMarkerWrites } from './decision-expiry.js';
import { TABLE_KEYS } from './dynamodb/keys.js';
import type { Item, ItemTable } from './item-table.js';

export type FindingStatus = 'ACTIVE' | 'SUPPRESSED' | 'CLOSED';

export interface FindingRecord {
  readonly digest: string;
  /** `<ecosystem>#<package>` as advisories name it. */
  readonly packageKey: string;
  readonly installedVersion: string;
  /** The id shown first (a CVE when one is known). */
  readonly vulnerabilityId: string;
  readonly ids: readonly string[];
  readonly advisoryIds: readonly string[];
  readonly status: FindingStatus;
  /** Why SUPPRESSED or CLOSED: `fixed`, `withdrawn`, `image-deleted`, `out-of-window`, a VEX statement… */
  readonly statusReason?: string;
  readonly severity: SeverityRating;
  readonly fixedVersion?: string;
  /** Where the fix is published when only a subscription has it (`Ubuntu Pro`). */
  readonly fixVia?: string;
  /** With no fix: the publisher will not fix it, or has deferred the fix. */
  readonly fixState?: FixState;
  /** Every source's rating (the effective one is `severity`). */
  readonly severities?: readonly Rating[];
  /** CISA lists the CVE as known exploited. */
  readonly kev?: KevFacts;
  /** FIRST's EPSS score when the finding was last written (it moves daily: not news). */
  readonly epss?: EpssFacts;
  /** Whether the vulnerable code is in the binary (matcher/reachability.ts), where judged. */
  readonly reachability?: Reachability;
  readonly packageName: string;
  readonly purl?: string;
  readonly location?: string;
  readonly layer?: string;
  readonly firstObservedAt: string;
  readonly lastObservedAt: string;
  readonly fixAvailableSince?: string;
  readonly closedAt?: string;
}

/**
 * A finding as stored: the generation that wrote it and, while that generation may still be
 * uncommitted, the record it replaces. Readers resolve it against the image's committed
 * generation (`visibleFinding`), so a scan that stops half-way shows nothing of its work.
 */
export interface StoredFinding extends FindingRecord {
  readonly generation?: number;
  readonly prior?: FindingRecord;
}

/**
 * What readers see of a stored finding when the image's committed findings generation is
 * `committed`: the item itself if its generation is committed, else the record it replaced
 * (nothing for a finding that an uncommitted generation added).
 */
export function visibleFinding(item: StoredFinding, committed: number): FindingRecord | undefined {
  const { generation, prior, ...record } = item;
  if (generation === undefined || generation <= committed) return record;
  return prior;
}

export interface Suppression {
  /** `*`, a repository, or an image digest. */
  readonly scope: string;
  readonly vulnerabilityId: string;
  /** One package key, or `*` for any. */
  readonly packageKey: string;
  readonly reason: string;
  readonly author: string;
  /** Epoch seconds after which it no longer applies. */
  readonly expiresAt?: number;
}

const INDEX = TABLE_KEYS.findings.byAdvisory;
/** How long CLOSED findings and notification records are kept. */
export const RETENTION_DAYS = 90;

/**
 * One finding per vulnerability, package and location: the same package version can be
 * installed twice (two node_modules trees), and each copy needs fixing; binary packages built
 * from one source (openssl, libssl3) share the key advisories name them by, the version and
 * the database they are listed in, so the package's own name is part of the key too.
 */
export function findingSortKey(
  f: Pick<
    FindingRecord,
    'packageKey' | 'installedVersion' | 'vulnerabilityId' | 'location' | 'packageName'
  >,
): string {
  const where = createHash('sha256')
    .update(`${f.packageName}\u0000${f.location ?? ''}`)
    .digest('hex')
    .slice(0, 12);
  return `FIND#${f.packageKey}#${f.installedVersion}#${f.vulnerabilityId}#${where}`;
}

function toItem(f: StoredFinding): Item {
  const closed = f.status === 'CLOSED';
  return {
    pk: `DIGEST#${f.digest}`,
    sk: findingSortKey(f),
    ...f,
    // Indexed under its first advisory id; the other ids are attributes (withdrawal finds the
    // findings of one advisory).
    [INDEX.partitionKey]: f.advisoryIds[0] ?? f.vulnerabilityId,
    [INDEX.sortKey]: `${f.digest}#${f.packageKey}`,
    ...(closed
      ? {
          [TABLE_KEYS.ttl]:
            Math.floor(Date.parse(f.closedAt ?? f.lastObservedAt) / 1000) + RETENTION_DAYS * 86_400,
        }
      : {}),
  };
}

function fromItem(i: Item): StoredFinding {
  const {
    pk: _pk,
    sk: _sk,
    [INDEX.partitionKey]: _a,
    [INDEX.sortKey]: _k,
    [TABLE_KEYS.ttl]: _t,
    ...rest
  } = i;
  return rest as unknown as StoredFinding;
}

export class FindingsStore {
  constructor(private readonly table: ItemTable) {}

  /** Stored findings of an image as written, generations and priors included. */
  async stored(digest: string, packageKeys?: readonly string[]): Promise<StoredFinding[]> {
    const pk = `DIGEST#${digest}`;
    if (packageKeys === undefined)
      return (await this.table.query(pk, { prefix: 'FIND#' })).map(fromItem);
    const out: StoredFinding[] = [];
    for (const key of new Set(packageKeys))
      for (const item of await this.table.query(pk, { prefix: `FIND#${key}#` }))
        out.push(fromItem(item));
    return out;
  }

  /**
   * Stored findings of an image whose sort key is after `after` (all of them when undefined), by
   * sort key: what a page of the read API (shared/api) needs, without the partition before it.
   */
  async storedAfter(digest: string, after?: string): Promise<StoredFinding[]> {
    // `FIND$` sorts right after every `FIND#…` key; `from` is inclusive, so `after` is dropped.
    const items = await this.table.query(`DIGEST#${digest}`, {
      from: after ?? 'FIND#',
      to: 'FIND$',
    });
    return items.filter((i) => i.sk !== after).map(fromItem);
  }

  /**
   * The findings readers see when the image's committed findings generation is `committed` (the
   * image record's `findingsGeneration`, 0 before its first commit).
   */
  async findings(digest: string, committed: number): Promise<FindingRecord[]> {
    return (await this.stored(digest)).flatMap((f) => visibleFinding(f, committed) ?? []);
  }

  /** Writes (inserts or replaces) findings; unconditional, in batches. */
  async write(findings: readonly StoredFinding[]): Promise<void> {
    await this.table.batch(findings.map((f) => ({ put: toItem(f) })));
  }

  /** Removes findings (an uncommitted generation's additions, when a retry drops them). */
  async remove(findings: readonly FindingRecord[]): Promise<void> {
    await this.table.batch(
      findings.map((f) => ({ delete: { pk: `DIGEST#${f.digest}`, sk: findingSortKey(f) } })),
    );
  }

  /**
   * Findings of every image that an advisory matched, as stored: each is resolved with
   * `visibleFinding` against its own image's committed generation.
   */
  async byAdvisory(advisoryId: string): Promise<StoredFinding[]> {
    return (await this.table.queryIndex(INDEX, advisoryId)).map(fromItem);
  }

  /**
   * Records that the change identified by `dedupeKey` was announced. False when it already was:
   * the caller does not announce it again.
   */
  async markNotified(dedupeKey: string, messageId: string, sentAt: string): Promise<boolean> {
    return this.table.transact([
      {
        put: {
          pk: `NOTIFY#${dedupeKey}`,
          sk: 'SENT',
          messageId,
          sentAt,
          [TABLE_KEYS.ttl]: Math.floor(Date.parse(sentAt) / 1000) + RETENTION_DAYS * 86_400,
        },
        condition: { kind: 'absent' },
      },
    ]);
  }

  async notified(dedupeKey: string): Promise<boolean> {
    return (await this.table.get({ pk: `NOTIFY#${dedupeKey}`, sk: 'SENT' })) !== undefined;
  }

  async putSuppression(s: Suppression): Promise<void> {
    const sk = `${s.vulnerabilityId}#${s.packageKey}`;
    await this.table.transact([
      { put: { pk: `SUPPRESS#${s.scope}`, sk, ...s } },
      // Its expiry re-opens findings: the sweep finds it by this marker (decision-expiry.ts).
      ...expiryMarkerWrites(
        {
          kind: 'suppression',
          scope: s.scope,
          vulnerabilityIds: [s.vulnerabilityId],
          packageKey: s.packageKey,
        },
        sk,
        s.expiresAt,
      ),
    ]);
  }

  async deleteSuppression(
    s: Pick<Suppression, 'scope' | 'vulnerabilityId' | 'packageKey'>,
  ): Promise<void> {
    const sk = `${s.vulnerabilityId}#${s.packageKey}`;
    await this.table.transact([
      { delete: { pk: `SUPPRESS#${s.scope}`, sk } },
      expiryMarkerDelete('suppression', s.scope, sk),
    ]);
  }

  /** Unexpired suppressions of a scope. */
  async suppressions(scope: string): Promise<Suppression[]> {
    return (await this.table.query(`SUPPRESS#${scope}`)).map((i) => {
      const { pk: _pk, sk: _sk, ...rest } = i;
      return rest as unknown as Suppression;
    });
  }
}
