/**
 * The audit use case (issue 20): what runs, and what Bosun says of it. Observations of running
 * containers (shared/workloads/) are recorded in the workload inventory; a reconcile pass
 * removes the workloads of its source it did not see; and each workload is judged on the
 * digest it runs:
 *
 * - `RUNNING_UNSCANNED`: Bosun has no record of the digest; its scan is queued (a registry Bosun
 *   cannot read, or an image string with no repository, is judged so with the reason);
 * - `RUNNING_VULNERABLE`: active findings at or above a severity (HIGH by default) or known
 *   exploited (CISA KEV);
 * - `RUNNING_STALE`: the tag the workload names now points at another digest;
 * - `RUNNING_DELETED`: the digest was deleted from the repository the workload names;
 * - `RUNNING_UNVERIFIED`: its provenance verdict for the repository the workload names
 *   (pipeline/provenance.ts) is not VERIFIED under an `enforce` rule.
 *
 * A judgement is announced once, when it starts to hold, and its stop is recorded (not
 * announced). Its state is an item per workload and digest (stores/workload-store.ts), written
 * conditionally before the announcement, which sendOnce deduplicates on the judgement's start,
 * so a run stopped between the two is finished by the next. `judgeRunning` is the hook the scan,
 * the rescan, a tag move and a deletion call after they commit.
 */
import { SEVERITIES, type Severity } from '../advisories/severity.js';
import { mapLimit } from '../concurrency.js';
import type { ScanRequest } from '../events/scan-request.js';
import {
  buildMessage,
  dedupeKey,
  type NotificationImage,
  type NotifiedWorkload,
  type Trigger,
} from '../notifications/message.js';
import { ecrRegionOf } from '../registry/auth.js';
import type { FindingRecord } from '../stores/findings-store.js';
import type { ImageRecord, RepositoryRecord } from '../stores/image-store.js';
import type { JudgementEntry, WorkloadKey, WorkloadRecord } from '../stores/workload-store.js';
import type { Observation, WorkloadSource } from '../workloads/types.js';
import { sendOnce } from './announce.js';
import { type AuditSettings, imageContext, nowOf, type PipelineDeps } from './context.js';

export const JUDGEMENTS = [
  'RUNNING_UNSCANNED',
  'RUNNING_VULNERABLE',
  'RUNNING_STALE',
  'RUNNING_DELETED',
  'RUNNING_UNVERIFIED',
] as const;
export type Judgement = (typeof JUDGEMENTS)[number];

/** The audit's dependencies: the pipeline's, with the workload inventory. */
export type AuditDeps = PipelineDeps & { readonly audit: AuditSettings };

/**
 * Registries Bosun can pull from: private ECR hosts and the hosts given (those the registry
 * client is configured for). Returns why another cannot be read.
 */
export function readableRegistries(hosts: Iterable<string> = []) {
  const known = new Set(hosts);
  return (registry: string): string | undefined =>
    ecrRegionOf(registry) !== undefined || known.has(registry)
      ? undefined
      : `Bosun cannot read ${registry}: it pulls from Amazon ECR and the registries it is configured for`;
}

export interface AuditOutcome {
  /** Observations recorded (running or stopped). */
  readonly recorded: number;
  /** Workloads a reconcile did not see, now stopped. */
  readonly removed: number;
  /** Observations with no digest: nothing to judge (the source did not say what it runs). */
  readonly undigested: readonly { readonly workload: string; readonly image: string }[];
  readonly messages: number;
  /** The workloads that stopped: observed stopped, or removed by the reconcile. */
  readonly stopped: readonly WorkloadKey[];
}

/** Records observations, removes what a reconcile did not see, judges every digest touched. */
export async function observeWorkloads(
  deps: AuditDeps,
  observations: readonly Observation[],
  options: { reconcile?: { source: WorkloadSource; startedAt: string; region?: string } } = {},
): Promise<AuditOutcome> {
  const { workloads } = deps.audit;
  const touched = new Set<string>();
  const undigested: { workload: string; image: string }[] = [];
  await mapLimit(observations, 8, async (o) => {
    if (o.digest === undefined)
      return void undigested.push({ workload: o.workload, image: o.image });
    const key = { digest: o.digest, source: o.source, workload: o.workload };
    if (o.state === 'STOPPED') await workloads.stop(key, o.seenAt, true, o.image);
    else {
      // The task definition is not part of the inventory: its checks are (pipeline/taskdef-checks.ts).
      const { state: _s, seenAt, taskDefinition: _t, ...fields } = o;
      await workloads.record({ ...fields, ...key, seenAt });
    }
    touched.add(o.digest);
  });
  const stopped: WorkloadKey[] = observations.flatMap((o) =>
    o.state === 'STOPPED' && o.digest !== undefined
      ? [{ digest: o.digest, source: o.source, workload: o.workload }]
      : [],
  );
  let removed = 0;
  const reconcile = options.reconcile;
  if (reconcile !== undefined)
    for (const w of await workloads.runningSeenBefore(reconcile.source, reconcile.startedAt)) {
      if (reconcile.region !== undefined && w.region !== reconcile.region) continue;
      if (await workloads.stop(w, reconcile.startedAt, false)) {
        removed++;
        stopped.push(w);
      }
      touched.add(w.digest);
    }
  let messages = await clearStopped(deps, stopped);
  for (const sent of await mapLimit([...touched], 4, (d) => judgeRunning(deps, d, 'workload')))
    messages += sent;
  return {
    recorded: observations.length - undigested.length,
    removed,
    undigested,
    messages,
    stopped,
  };
}

/** What held for workloads that stopped is recorded as cleared. */
async function clearStopped(deps: AuditDeps, stopped: readonly WorkloadKey[]): Promise<number> {
  let sent = 0;
  for (const key of stopped) {
    const w = await deps.audit.workloads.get(key);
    if (w !== undefined) sent += await settle(deps, w, undefined, new Map(), 'workload');
  }
  return sent;
}

/** What judgements of a digest's workloads read once: its record, repositories, findings. */
interface DigestFacts {
  readonly digest: string;
  readonly image: ImageRecord | undefined;
  readonly repositories: readonly RepositoryRecord[];
  /** Active findings at or above the severity, or known exploited. */
  readonly vulnerable: readonly FindingRecord[];
  readonly minSeverity: Severity;
}

/**
 * Closings that say nothing of the packages (the image was deleted from every repository, or
 * left the rescan window): a workload that still runs the image still runs those packages.
 */
const STILL_RUNNING = new Set(['image-deleted', 'out-of-window']);

async function factsOf(deps: AuditDeps, digest: string): Promise<DigestFacts> {
  const image = await deps.images.getImage(digest);
  const minSeverity = deps.audit.minSeverity ?? 'HIGH';
  const rank = SEVERITIES.indexOf(minSeverity);
  const findings =
    image?.findingsGeneration === undefined
      ? []
      : await deps.findings.findings(digest, image.findingsGeneration);
  return {
    digest,
    image,
    repositories: await deps.images.repositoriesOf(digest),
    vulnerable: findings.filter(
      (f) =>
        (f.status === 'ACTIVE' || STILL_RUNNING.has(f.statusReason ?? '')) &&
        (f.kev !== undefined ||
          (f.severity.severity !== 'UNKNOWN' && SEVERITIES.indexOf(f.severity.severity) <= rank)),
    ),
    minSeverity,
  };
}

/**
 * Judges every running workload of the digest and announces what started to hold (what a
 * stopped workload held is cleared when it stops). Returns the number of messages sent;
 * nothing without an inventory.
 */
export async function judgeRunning(
  deps: PipelineDeps,
  digest: string,
  trigger: Trigger,
): Promise<number> {
  if (deps.audit === undefined) return 0;
  const audit = { ...deps, audit: deps.audit };
  const workloads = await deps.audit.workloads.running(digest);
  if (workloads.length === 0) return 0;
  const facts = await factsOf(audit, digest);
  let sent = 0;
  for (const w of workloads)
    sent += await settle(audit, w, facts, await judge(audit, w, facts), trigger);
  return sent;
}

/** A judgement that holds: why, the findings it is about, the scan it asks for. */
interface Holding {
  readonly reason: string;
  readonly findings?: readonly FindingRecord[];
  readonly scan?: ScanRequest;
}

async function judge(
  deps: AuditDeps,
  w: WorkloadRecord,
  facts: DigestFacts,
): Promise<Map<Judgement, Holding>> {
  const out = new Map<Judgement, Holding>();
  if (facts.image === undefined) out.set('RUNNING_UNSCANNED', unscanned(deps, w));
  if (facts.vulnerable.length > 0)
    out.set('RUNNING_VULNERABLE', {
      reason: vulnerableReason(facts),
      findings: facts.vulnerable,
    });
  if (w.registry !== undefined && w.repository !== undefined) {
    const repository = `${w.registry}/${w.repository}`;
    if (w.tag !== undefined) {
      const current = await deps.images.tagDigest(repository, w.tag);
      if (current !== undefined && current !== w.digest) {
        const moved = (await deps.images.tagHistory(repository, w.tag)).at(-1);
        out.set('RUNNING_STALE', {
          reason: `tag ${w.repository}:${w.tag} now points to ${current}${moved?.digest === current ? ` (moved at ${moved.movedAt})` : ''}`,
        });
      }
    }
    const deleted = facts.repositories.find((r) => r.repository === repository)?.deletedAt;
    if (deleted !== undefined)
      out.set('RUNNING_DELETED', {
        reason: `deleted from ${w.repository} at ${deleted} while running`,
      });
    // Provenance is decided per repository: the one the workload pulled from. An audit rule's
    // verdict is reported where it is decided, not judged here.
    const verdict = await deps.audit.verdicts?.get(w.digest, repository);
    if (
      verdict !== undefined &&
      verdict.status !== 'VERIFIED' &&
      verdict.verdict.mode === 'enforce'
    )
      out.set('RUNNING_UNVERIFIED', {
        reason: `provenance ${verdict.status} in ${w.repository} (rule ${verdict.verdict.rule}): ${verdict.verdict.reasons[0] ?? 'no reason given'}`,
      });
  }
  return out;
}

function unscanned(deps: AuditDeps, w: WorkloadRecord): Holding {
  if (w.registry === undefined || w.repository === undefined)
    return { reason: `never scanned: the image ${w.image} names no repository to pull it from` };
  const why = deps.audit.unreadable?.(w.registry);
  if (why !== undefined) return { reason: `never scanned: ${why}` };
  // A scan or rescan judging after its commit has no queue: it says what holds, nothing more.
  if (deps.audit.queueScans === undefined) return { reason: 'never scanned by Bosun' };
  return {
    reason: 'never scanned by Bosun; its scan is queued',
    scan: {
      action: 'PUSH',
      registry: w.registry,
      repository: w.repository,
      digest: w.digest,
      // The push time is not known: the first sight of it running is the earliest Bosun has.
      eventTime: w.firstSeenAt,
      eventId: `audit:${w.source}:${w.digest}`,
      ...(w.account === undefined ? {} : { account: w.account }),
      ...(w.region === undefined ? {} : { region: w.region }),
    },
  };
}

function vulnerableReason(facts: DigestFacts): string {
  const kev = facts.vulnerable.filter((f) => f.kev !== undefined).length;
  const counts = SEVERITIES.flatMap((s) => {
    const n = facts.vulnerable.filter((f) => f.severity.severity === s).length;
    return n === 0 ? [] : [`${n} ${s}`];
  });
  return `${facts.vulnerable.length} active findings at or above ${facts.minSeverity} or known exploited (${counts.join(', ')}${kev > 0 ? `; ${kev} known exploited` : ''})`;
}

/**
 * Writes what holds (a start keeps its first `since`) and what stopped holding (cleared), then
 * announces each holding judgement not yet announced. Returns the number of messages sent.
 */
async function settle(
  deps: AuditDeps,
  w: WorkloadRecord,
  facts: DigestFacts | undefined,
  judged: ReadonlyMap<Judgement, Holding>,
  trigger: Trigger,
): Promise<number> {
  const store = deps.audit.workloads;
  const now = nowOf(deps).toISOString();
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await store.judgements(w);
    const before = stored?.holding ?? {};
    const holding: Record<string, JudgementEntry> = {};
    for (const [type, h] of judged)
      holding[type] = before[type] ?? { since: now, reason: h.reason, announced: false };
    const cleared = { ...(stored?.cleared ?? {}) };
    for (const type of Object.keys(before)) if (!judged.has(type as Judgement)) cleared[type] = now;
    let record = { ...w, holding, cleared };
    const same = JSON.stringify(before) === JSON.stringify(holding);
    if (!same && !(await store.putJudgements(record, stored?.revision))) continue;
    let revision = same ? stored?.revision : (stored?.revision ?? 0) + 1;
    let sent = 0;
    for (const [type, entry] of Object.entries(holding)) {
      const h = judged.get(type as Judgement);
      if (entry.announced || h === undefined || facts === undefined) continue;
      if (await announce(deps, w, facts, type as Judgement, entry, h, trigger)) sent++;
      record = { ...record, holding: { ...record.holding, [type]: { ...entry, announced: true } } };
      // Another run wrote in between: its own announce went through sendOnce too.
      if (!(await store.putJudgements(record, revision))) return sent;
      revision = (revision ?? 0) + 1;
    }
    return sent;
  }
  return 0;
}

async function announce(
  deps: AuditDeps,
  w: WorkloadRecord,
  facts: DigestFacts,
  type: Judgement,
  entry: JudgementEntry,
  holding: Holding,
  trigger: Trigger,
): Promise<boolean> {
  const key = dedupeKey(type, w.digest, [w.source, w.workload, entry.since]);
  if (holding.scan !== undefined && deps.audit.queueScans !== undefined)
    if (!(await deps.findings.notified(key))) await deps.audit.queueScans([holding.scan]);
  const workload: NotifiedWorkload = {
    source: w.source as NotifiedWorkload['source'],
    workload: w.workload,
    image: w.image,
    reason: entry.reason,
    ...(w.account === undefined ? {} : { account: w.account }),
    ...(w.region === undefined ? {} : { region: w.region }),
    since: entry.since,
  };
  return sendOnce(
    deps,
    buildMessage({
      eventType: type,
      dedupeKey: key,
      occurredAt: entry.since,
      trigger,
      image: withWorkloadRepository(await imageContext(deps, w.digest, facts.image), w),
      findings: holding.findings ?? [],
      workload,
    }),
  );
}

/** The image as Bosun knows it; for a digest it has no record of, as the workload names it. */
function withWorkloadRepository(image: NotificationImage, w: WorkloadRecord): NotificationImage {
  if (image.repositories.length > 0 || w.repository === undefined) return image;
  return {
    ...image,
    ...(w.registry === undefined ? {} : { registry: w.registry }),
    repositories: [w.repository],
  };
}
