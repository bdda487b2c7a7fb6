/**
 * The lifecycle of hardening checks (issue 21): what a subject's checks were and what they are
 * now, as ACTIVE, SUPPRESSED or RESOLVED records (stores/checks-store.ts), with CHECKS_NEW and
 * CHECKS_RESOLVED announced once per change. One entry for every subject: an image's checks
 * after its scan (scan/commit-checks.ts), a task definition's or a workload's from theirs.
 *
 * - A result not stored yet, or stored RESOLVED, opens as ACTIVE and is announced new; so does a
 *   SUPPRESSED one whose suppression expired or was removed.
 * - A result the configuration disables is RESOLVED (`disabled`), still kept as observed, so
 *   re-enabling the check opens it again without a new pull.
 * - A stored check not found again is RESOLVED (`not-found`) only when the reading was complete:
 *   a reading that missed files resolves nothing (never look clean when we do not know).
 *
 * Crash safety: each change is written with its pending announcement on the item itself
 * (`announce`), the message is sent through the findings' dedupe record, then the marks are
 * cleared. A run that stops anywhere leaves marks the next reconcile of the subject sends first.
 */
import {
  type AppliedSuppression,
  applyChecksConfig,
  type ChecksConfig,
  checksConfigVersion,
  EMPTY_CHECKS_CONFIG,
} from '../checks/config.js';
import type { CheckResult } from '../checks/types.js';
import type { EffectiveUser } from '../checks/user.js';
import { deliverOnce } from '../notifications/fan-out.js';
import {
  buildMessage,
  dedupeKey,
  type EventType,
  type NotificationImage,
  type Notifier,
  type Trigger,
} from '../notifications/message.js';
import {
  type ChecksStore,
  checkSortKey,
  locationKeyOf,
  type PendingAnnouncement,
  type StoredCheck,
} from '../stores/checks-store.js';
import type { FindingsStore } from '../stores/findings-store.js';

export interface ChecksDeps {
  readonly checks: ChecksStore;
  /** Where CHECKS_* go; absent, changes are stored and not announced. */
  readonly notifier?: Notifier;
  /** The findings store holds the dedupe records every announcement shares. */
  readonly findings?: Pick<FindingsStore, 'notified' | 'markNotified'>;
  readonly now?: () => Date;
}

export interface ChecksContext {
  /**
   * False when some files could not be read (the checks' `issues`): stored checks not seen again
   * stay as they are.
   */
  readonly complete: boolean;
  readonly config?: ChecksConfig;
  /** Repository names (without the registry host) the config's rules are matched against. */
  readonly repositories: readonly string[];
  /** What announcements describe: the image (for a task definition, the image it runs). */
  readonly image?: NotificationImage;
  readonly trigger?: Trigger;
  /** An image subject's effective default user, stored for "task-definition user ?? image user". */
  readonly imageUser?: EffectiveUser;
  readonly analyzerVersion?: string;
  /**
   * The image left every repository: every open check resolves (`image-deleted`), kept so that
   * a push of the same digest again re-opens them from the store.
   */
  readonly deleted?: boolean;
}

export interface ReconcileResult {
  /** Opened by this reconcile (ACTIVE now, not before). */
  readonly new: StoredCheck[];
  /** Closed by this reconcile (RESOLVED now, ACTIVE or SUPPRESSED before). */
  readonly resolved: StoredCheck[];
  /** Suppressed by this reconcile. */
  readonly suppressed: StoredCheck[];
  /** Every check of the subject as now stored. */
  readonly checks: StoredCheck[];
  /** Messages published (those pending from a stopped run included). */
  readonly messages: number;
}

/**
 * `results` are the subject's checks as the checks computed them (before configuration), or
 * `'stored'` to apply the configuration again to what was last observed (a digest scanned
 * before, whose configuration or suppressions may have changed since).
 */
export async function reconcileChecks(
  deps: ChecksDeps,
  subject: string,
  results: readonly CheckResult[] | 'stored',
  context: ChecksContext,
): Promise<ReconcileResult> {
  const now = (deps.now ?? (() => new Date()))();
  const announcing = deps.notifier !== undefined && context.image !== undefined;
  let messages = await announcePendingChecks(deps, subject, context);
  const stored = new Map(
    (await deps.checks.checks(subject)).map((c) => [checkSortKey(c.checkId, c.locationKey), c]),
  );
  const header = await deps.checks.header(subject);
  const fromStore = results === 'stored';
  const observed = fromStore
    ? [...stored.values()].filter((c) => c.resolvedReason !== 'not-found').map((c) => c.result)
    : results;
  const config = context.config ?? EMPTY_CHECKS_CONFIG;
  const { out, writes } = planChanges(subject, stored, observed, {
    config,
    repositories: context.repositories,
    now,
    fromStore,
    complete: context.complete,
    deleted: context.deleted === true,
  });
  const marked = writes.map((c) => withMark(c, out, announcing));
  // The header first: a digest with a header is one whose next scan reconciles (and so sends
  // what a stop left marked), even when that scan finds it already scanned.
  await deps.checks.writeHeader({
    subject,
    reconciledAt: now.toISOString(),
    configVersion: checksConfigVersion(config),
    complete: fromStore ? (header?.complete ?? context.complete) : context.complete,
    ...optional('imageUser', context.imageUser ?? header?.imageUser),
    ...optional('analyzerVersion', context.analyzerVersion ?? header?.analyzerVersion),
  });
  await deps.checks.write(marked);
  if (announcing) messages += await announcePendingChecks(deps, subject, context);
  const after = new Map(stored);
  for (const c of marked) after.set(checkSortKey(c.checkId, c.locationKey), c);
  return { ...out, checks: [...after.values()].map(unmarked), messages };
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

type Changes = Record<'new' | 'resolved' | 'suppressed', StoredCheck[]>;

/** What the observed results make of the stored checks, and the records to write. */
function planChanges(
  subject: string,
  stored: ReadonlyMap<string, StoredCheck>,
  observed: readonly CheckResult[],
  o: {
    config: ChecksConfig;
    repositories: readonly string[];
    now: Date;
    fromStore: boolean;
    complete: boolean;
    deleted: boolean;
  },
): { out: Changes; writes: StoredCheck[] } {
  const at = o.now.toISOString();
  // One result per location: a check reporting the same place twice is one record.
  const byKey = new Map(observed.map((r) => [checkSortKey(r.id, locationKeyOf(r)), r]));
  const configured = new Map(
    applyChecksConfig(o.config, [...byKey.values()], o.repositories, o.now).map((c) => [
      checkSortKey(c.result.id, locationKeyOf(c.result)),
      c,
    ]),
  );
  const out: Changes = { new: [], resolved: [], suppressed: [] };
  const writes: StoredCheck[] = [];
  for (const [key, result] of byKey) {
    const c = configured.get(key);
    const before = stored.get(key);
    const next = observe(before, result, c?.result.severity, c?.suppressed, at, subject);
    if (next.status === 'ACTIVE' && before?.status !== 'ACTIVE') out.new.push(next);
    if (next.status === 'RESOLVED' && before !== undefined && before.status !== 'RESOLVED')
      out.resolved.push(next);
    if (next.status === 'SUPPRESSED' && before?.status !== 'SUPPRESSED') out.suppressed.push(next);
    // A re-application from the store moves only what changed; a scan records the observation.
    if (!o.fromStore || changed(before, next)) writes.push(next);
  }
  // Stored checks not seen again: resolved only by a complete reading.
  if (!o.fromStore && o.complete)
    for (const [key, before] of stored) {
      if (byKey.has(key) || before.status === 'RESOLVED') continue;
      const { announce: _a, ...rest } = before;
      const gone: StoredCheck = {
        ...rest,
        status: 'RESOLVED',
        resolvedReason: o.deleted ? 'image-deleted' : 'not-found',
        resolvedAt: at,
        changedAt: at,
      };
      out.resolved.push(gone);
      writes.push(gone);
    }
  return { out, writes };
}

/** The record of an observed result, from the record stored before (if any). */
function observe(
  before: StoredCheck | undefined,
  result: CheckResult,
  severity: CheckResult['severity'] | undefined,
  suppression: AppliedSuppression | undefined,
  at: string,
  subject: string,
): StoredCheck {
  const status =
    severity === undefined ? 'RESOLVED' : suppression !== undefined ? 'SUPPRESSED' : 'ACTIVE';
  const reason = status === 'RESOLVED' ? 'disabled' : undefined;
  const moved =
    before === undefined || before.status !== status || before.resolvedReason !== reason;
  return {
    subject,
    checkId: result.id,
    locationKey: locationKeyOf(result),
    status,
    ...(status === 'RESOLVED' ? { resolvedReason: 'disabled' as const } : {}),
    severity: severity ?? result.severity,
    result,
    ...(suppression === undefined ? {} : { suppression }),
    firstObservedAt: before?.firstObservedAt ?? at,
    lastObservedAt: at,
    changedAt: moved ? at : before.changedAt,
    ...(status === 'RESOLVED'
      ? { resolvedAt: before?.status === 'RESOLVED' ? (before.resolvedAt ?? at) : at }
      : {}),
    // An unsent announcement stays pending until it is sent.
    ...(before?.announce === undefined ? {} : { announce: before.announce }),
  };
}

function changed(before: StoredCheck | undefined, next: StoredCheck): boolean {
  return (
    before === undefined ||
    before.status !== next.status ||
    before.severity !== next.severity ||
    before.resolvedReason !== next.resolvedReason ||
    JSON.stringify(before.suppression) !== JSON.stringify(next.suppression)
  );
}

function withMark(c: StoredCheck, out: Changes, announcing: boolean): StoredCheck {
  if (!announcing) return c;
  const mark: PendingAnnouncement | undefined = out.new.includes(c)
    ? 'NEW'
    : out.resolved.includes(c)
      ? 'RESOLVED'
      : c.announce;
  return mark === undefined ? c : { ...c, announce: mark };
}

function unmarked(c: StoredCheck): StoredCheck {
  const { announce: _a, ...rest } = c;
  return rest;
}

const EVENTS: Record<PendingAnnouncement, EventType> = {
  NEW: 'CHECKS_NEW',
  RESOLVED: 'CHECKS_RESOLVED',
};

/**
 * Sends what is marked pending on a subject's checks (one CHECKS_NEW and one CHECKS_RESOLVED at
 * most), each once through the dedupe record, then clears the marks. A mark whose check moved
 * on before it was sent (new, then resolved) is announced as what it is now.
 */
export async function announcePendingChecks(
  deps: ChecksDeps,
  subject: string,
  context: Pick<ChecksContext, 'image' | 'trigger'>,
): Promise<number> {
  const { notifier, findings } = deps;
  if (notifier === undefined || context.image === undefined) return 0;
  const pending = (await deps.checks.checks(subject)).filter((c) => c.announce !== undefined);
  if (pending.length === 0) return 0;
  const now = (deps.now ?? (() => new Date()))().toISOString();
  let sent = 0;
  for (const mark of ['NEW', 'RESOLVED'] as const) {
    const records = pending.filter((c) =>
      mark === 'NEW' ? c.status === 'ACTIVE' : c.status === 'RESOLVED',
    );
    if (records.length === 0) continue;
    const eventType = EVENTS[mark];
    const key = dedupeKey(eventType, context.image.digest, [
      `subject:${subject}`,
      ...records.map((c) => `${checkSortKey(c.checkId, c.locationKey)}:${c.status}:${c.changedAt}`),
    ]);
    const message = buildMessage({
      eventType,
      dedupeKey: key,
      occurredAt: records.map((c) => c.changedAt).sort()[0] ?? now,
      trigger: context.trigger ?? 'push',
      image: context.image,
      findings: [],
      checks: { subject, records: records.map(unmarked) },
    });
    // Once per destination (the topic, EventBridge: notifications/fan-out.ts deliverOnce).
    if (findings === undefined) await notifier.publish(message);
    else if (!(await deliverOnce(notifier, findings, message, now))) continue;
    sent++;
  }
  await deps.checks.write(pending.map(unmarked));
  return sent;
}
