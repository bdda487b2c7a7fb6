/**
 * Hardening checks with their lifecycle (issue 21; docs/data-model.md, findings table "Checks"),
 * beside the findings: one item per check result of a subject, and one header per subject with
 * what the last reconcile saw (the image's effective default user among it). Written once over
 * the item-table port; the lifecycle itself is shared/pipeline/checks-lifecycle.ts.
 *
 * A subject is what was checked: an image (its manifest digest, `sha256:…`), a task definition
 * (`taskdef:<region>:<account>:<family>:<revision>`) or a workload (`workload:<source>:<id>`).
 * An image's checks sit in its digest's partition with its findings; other subjects have a
 * partition of their own. A stored check never holds a secret's value: a secret result carries
 * its rule, location and the SHA-256 of the value (shared/checks/types.ts), and nothing else.
 */
import { createHash } from 'node:crypto';
import type { AppliedSuppression } from '../checks/config.js';
import type { CheckResult, CheckSeverity } from '../checks/types.js';
import type { EffectiveUser } from '../checks/user.js';
import { TABLE_KEYS } from './dynamodb/keys.js';
import { RETENTION_DAYS } from './findings-store.js';
import type { Item, ItemTable } from './item-table.js';

export type CheckStatus = 'ACTIVE' | 'SUPPRESSED' | 'RESOLVED';

/**
 * Why a check is RESOLVED: `not-found`, a complete reading no longer saw it; `disabled`, the
 * configuration turned it off while still found (re-enabling opens it again); `image-deleted`,
 * the image left every repository (a push of it again re-opens it).
 */
export type ResolvedReason = 'not-found' | 'disabled' | 'image-deleted';

/** A change not yet announced: written with the change, cleared after the message is sent. */
export type PendingAnnouncement = 'NEW' | 'RESOLVED';

export interface StoredCheck {
  readonly subject: string;
  readonly checkId: string;
  /** A hash of where the result was found (locationKeyOf), stable across scans. */
  readonly locationKey: string;
  readonly status: CheckStatus;
  readonly resolvedReason?: ResolvedReason;
  /** The severity after configuration; `result.severity` is the check's own. */
  readonly severity: CheckSeverity;
  /** The result as the check reported it (without secret values, by construction). */
  readonly result: CheckResult;
  readonly suppression?: AppliedSuppression;
  readonly firstObservedAt: string;
  readonly lastObservedAt: string;
  /** When the status last changed: part of the announcement's dedupe key. */
  readonly changedAt: string;
  readonly resolvedAt?: string;
  readonly announce?: PendingAnnouncement;
}

/** What the last reconcile of a subject saw. */
export interface ChecksHeader {
  readonly subject: string;
  readonly reconciledAt: string;
  /** The configuration's version (checks/config.ts checksConfigVersion) last applied. */
  readonly configVersion: string;
  /** False when some files could not be read: nothing was resolved from that reading. */
  readonly complete: boolean;
  /** An image's effective default user, as its checks computed it (checks/user.ts). */
  readonly imageUser?: EffectiveUser;
  /** The analyzer whose results these are (an image subject). */
  readonly analyzerVersion?: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HEADER_SK = 'CHECKS';
const CHECK_PREFIX = 'CHECK#';

/** An image subject is its digest's partition, beside its image record and findings. */
export function subjectPartition(subject: string): string {
  return DIGEST.test(subject) ? `DIGEST#${subject}` : `CHECKS#${subject}`;
}

/**
 * A task definition revision's subject: `taskdef:<region>:<account>:<family>:<revision>` from its
 * ARN (one family and revision can exist in several regions and accounts the audit reads), or
 * `taskdef:<family>:<revision>` when no ARN is known.
 */
export function taskDefinitionSubject(family: string, revision: number, arn?: string): string {
  const where = /^arn:[^:]+:ecs:([^:]+):(\d+):task-definition\//.exec(arn ?? '');
  return where === null
    ? `taskdef:${family}:${revision}`
    : `taskdef:${where[1]}:${where[2]}:${family}:${revision}`;
}
export const workloadSubject = (source: string, id: string) => `workload:${source}:${id}`;

/**
 * Where a result was found, hashed: the layer, path, config field, task definition, container,
 * field and (non-secret) value, and for a secret its rule, line and value hash. The wording of
 * `detail` is left out, so rewording a message does not reopen a check.
 */
export function locationKeyOf(r: CheckResult): string {
  const e = r.evidence;
  const s = r.secret;
  const parts = [
    e.layer?.digest ?? (e.layer === undefined ? '' : `#${e.layer.index}`),
    e.path ?? '',
    e.configField ?? '',
    e.taskDefinition ?? '',
    e.container ?? '',
    e.field ?? '',
    e.value ?? '',
    s?.rule ?? '',
    s?.location.kind === 'file' ? String(s.location.line ?? '') : '',
    s?.valueHash ?? '',
  ];
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

export const checkSortKey = (checkId: string, locationKey: string) =>
  `${CHECK_PREFIX}${checkId}#${locationKey}`;

function toItem(c: StoredCheck): Item {
  const resolvedGone = c.status === 'RESOLVED' && c.resolvedReason === 'not-found';
  return {
    pk: subjectPartition(c.subject),
    sk: checkSortKey(c.checkId, c.locationKey),
    ...c,
    // A check gone from a subject is kept for the findings' retention, then expires; a disabled
    // one is still observed and stays, so re-enabling it finds it.
    ...(resolvedGone
      ? {
          [TABLE_KEYS.ttl]:
            Math.floor(Date.parse(c.resolvedAt ?? c.lastObservedAt) / 1000) +
            RETENTION_DAYS * 86_400,
        }
      : {}),
  };
}

function fromItem(i: Item): StoredCheck {
  const { pk: _pk, sk: _sk, [TABLE_KEYS.ttl]: _t, ...rest } = i;
  return rest as unknown as StoredCheck;
}

export class ChecksStore {
  constructor(private readonly table: ItemTable) {}

  /** Every stored check of a subject, resolved ones not yet expired included. */
  async checks(subject: string): Promise<StoredCheck[]> {
    return (await this.table.query(subjectPartition(subject), { prefix: CHECK_PREFIX })).map(
      fromItem,
    );
  }

  /** The checks of a subject as readers see them: ACTIVE and SUPPRESSED. */
  async open(subject: string): Promise<StoredCheck[]> {
    return (await this.checks(subject)).filter((c) => c.status !== 'RESOLVED');
  }

  async header(subject: string): Promise<ChecksHeader | undefined> {
    const item = await this.table.get({ pk: subjectPartition(subject), sk: HEADER_SK });
    if (item === undefined) return undefined;
    const { pk: _pk, sk: _sk, ...rest } = item;
    return rest as unknown as ChecksHeader;
  }

  /**
   * The image's effective default user as its checks computed it, for joining a task
   * definition's `user` with it ("task-definition user ?? image user"); undefined when the
   * digest's checks were never stored.
   */
  async imageUser(digest: string): Promise<EffectiveUser | undefined> {
    return (await this.header(digest))?.imageUser;
  }

  /** Writes (inserts or replaces) checks; unconditional, in batches. */
  async write(checks: readonly StoredCheck[]): Promise<void> {
    if (checks.length > 0) await this.table.batch(checks.map((c) => ({ put: toItem(c) })));
  }

  async writeHeader(header: ChecksHeader): Promise<void> {
    await this.table.batch([
      { put: { pk: subjectPartition(header.subject), sk: HEADER_SK, ...header } },
    ]);
  }
}
