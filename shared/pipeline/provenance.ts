/**
 * Provenance in the pipeline (issue 19): the verdict on a digest as pushed to each of its
 * repositories, decided by the provenance checker (discovery and verification, in the registry
 * alone), kept in the images table beside the image record, and announced when it changes.
 *
 * When a verdict is decided:
 * - on an image's or an index's push, as a step of the scan (no layer is read: signatures are
 *   small manifests and blobs beside the image); a stored verdict is reused while its policy and
 *   trust versions are current and it is younger than `maxAgeMs`;
 * - when a signature or attestation is pushed after its image (trigger `signature`): always
 *   decided again, for the repository it was pushed to;
 * - by the re-verification pass (reverifyProvenance): verdicts under another policy or trust
 *   version (`policy`), and those older than `maxAgeMs` (`reverify`: expiry, revocation).
 *
 * What is announced: PROVENANCE_VERIFIED, PROVENANCE_FAILED (INVALID, UNTRUSTED, POLICY_FAILED)
 * or PROVENANCE_UNSIGNED, when the status differs from the one last announced for the digest
 * and repository (every rule asks for something: no repository is unchecked by omission). A tag that moves from a verified
 * digest onto one that is not is PROVENANCE_FAILED whatever the new status: a look-alike pushed
 * under a trusted tag is the case provenance exists for. The decision is written with the
 * verdict (`pending`) before it is published, so a run that stops in between is finished by the
 * next run on the digest.
 */
import { buildMessage, dedupeKey, type EventType, type Trigger } from '../notifications/message.js';
import type { ProvenanceChecker } from '../provenance/check.js';
import { selectRule } from '../provenance/policy.js';
import { decideVerdict, type Verdict } from '../provenance/verdict.js';
import type { ProvenanceRecord, ProvenanceStore } from '../stores/provenance-store.js';

type ProvenanceEvent = NonNullable<ProvenanceRecord['pending']>['eventType'];

import { sendOnce } from './announce.js';
import { judgeRunning } from './audit.js';
import {
  ImageBusyError,
  imageContext,
  nowOf,
  type PipelineDeps,
  splitRepository,
  withImageLease,
} from './context.js';

/** A stored verdict is decided again after a day: certificates expire, keys are revoked. */
export const PROVENANCE_MAX_AGE_MS = 24 * 60 * 60 * 1000;

export interface ProvenanceDeps {
  readonly checker: ProvenanceChecker;
  readonly store: ProvenanceStore;
  /** @default PROVENANCE_MAX_AGE_MS */
  readonly maxAgeMs?: number;
}

export interface VerifyRequest {
  readonly digest: string;
  /** `<registry host>/<repository>` names to decide the verdict for. */
  readonly repositories: readonly string[];
  readonly trigger: Trigger;
  /** Decide again even when the stored verdict is current (a signature was pushed). */
  readonly force?: boolean;
  /** The push moved this tag of the repository onto the digest from `previousDigest`. */
  readonly tagMove?: {
    readonly repository: string;
    readonly tag: string;
    readonly previousDigest: string;
  };
  /**
   * Whether a failure to read the registry is rethrown (the request comes back) or decided as
   * signatures that could not be read.
   */
  readonly retry?: boolean;
}

/**
 * Decides (or reuses) the verdicts of a digest, one per repository, and writes those that
 * changed with their pending announcement. The caller holds the digest's lease and announces
 * with announceProvenance.
 */
export async function decideProvenance(
  deps: PipelineDeps,
  provenance: ProvenanceDeps,
  request: VerifyRequest,
): Promise<ProvenanceRecord[]> {
  const { checker, store } = provenance;
  const now = nowOf(deps);
  const records: ProvenanceRecord[] = [];
  for (const repository of request.repositories) {
    const prior = await store.get(request.digest, repository);
    if (!request.force && prior !== undefined && current(prior, provenance, now)) {
      records.push(prior);
      continue;
    }
    const verdict = await check(checker, request.digest, repository, now, request.retry ?? false);
    const move = request.tagMove?.repository === repository ? request.tagMove : undefined;
    const regressed =
      move !== undefined &&
      verdict.status !== 'VERIFIED' &&
      (await store.get(move.previousDigest, repository))?.status === 'VERIFIED';
    const announce = regressed || prior?.announcedStatus !== verdict.status;
    const record: ProvenanceRecord = {
      digest: request.digest,
      repository,
      status: verdict.status,
      policyVersion: checker.policy.version,
      trustVersion: checker.trustVersion,
      checkedAt: now.toISOString(),
      verdict,
      ...(prior?.announcedStatus === undefined ? {} : { announcedStatus: prior.announcedStatus }),
      ...(announce
        ? {
            pending: {
              eventType: regressed ? 'PROVENANCE_FAILED' : eventTypeOf(verdict),
              trigger: request.trigger,
              ...(regressed && move !== undefined
                ? {
                    reason: `tag ${move.tag} moved from ${move.previousDigest}, whose provenance was verified, to this digest (${verdict.status})`,
                    tagMove: { tag: move.tag, previousDigest: move.previousDigest },
                  }
                : {}),
            },
          }
        : prior?.pending === undefined
          ? {}
          : { pending: prior.pending }),
    };
    await store.put(record);
    records.push(record);
  }
  return records;
}

/** Publishes the pending announcements of a digest's verdicts; returns how many were sent. */
export async function announceProvenance(
  deps: PipelineDeps,
  store: ProvenanceStore,
  digest: string,
): Promise<number> {
  const pending = (await store.ofDigest(digest)).filter((r) => r.pending !== undefined);
  if (pending.length === 0) return 0;
  const context = await imageContext(deps, digest, await deps.images.getImage(digest));
  let sent = 0;
  for (const record of pending) {
    const p = record.pending as NonNullable<ProvenanceRecord['pending']>;
    const { registry, name } = splitRepository(record.repository);
    const eventType: EventType = p.eventType;
    const message = buildMessage({
      eventType,
      dedupeKey: dedupeKey(eventType, digest, [
        record.repository,
        record.status,
        record.policyVersion,
        record.trustVersion,
        record.checkedAt,
      ]),
      occurredAt: record.checkedAt,
      trigger: p.trigger as Trigger,
      // One repository's verdict: the message names that repository and its tags alone.
      image: {
        ...context,
        registry,
        repositories: [name],
        tags: context.tags.filter((t) => t.startsWith(`${name}:`)),
      },
      findings: [],
      provenance: {
        status: record.status,
        ...(record.announcedStatus === undefined ? {} : { previousStatus: record.announcedStatus }),
        mode: record.verdict.mode,
        repository: record.repository,
        rule: record.verdict.rule,
        policyVersion: record.policyVersion,
        trustVersion: record.trustVersion,
        checkedAt: record.checkedAt,
        reasons:
          p.reason === undefined ? record.verdict.reasons : [p.reason, ...record.verdict.reasons],
        requirements: record.verdict.requirements,
        ...(p.tagMove === undefined ? {} : { tagMove: p.tagMove }),
      },
    });
    if (await sendOnce(deps, message)) sent++;
    const { pending: _sent, ...rest } = record;
    await store.put({ ...rest, announcedStatus: record.status });
  }
  return sent;
}

/** Decides, writes and announces: what a push, a signature push and the pass each do. */
export async function verifyAndAnnounce(
  deps: PipelineDeps,
  provenance: ProvenanceDeps,
  request: VerifyRequest,
): Promise<{ records: ProvenanceRecord[]; messages: number }> {
  const records = await decideProvenance(deps, provenance, request);
  const messages = await announceProvenance(deps, provenance.store, request.digest);
  // Workloads running the digest are judged on the new verdict (RUNNING_UNVERIFIED).
  return {
    records,
    messages: messages + (await judgeRunning(deps, request.digest, request.trigger)),
  };
}

function eventTypeOf(v: Verdict): ProvenanceEvent {
  return v.status === 'VERIFIED'
    ? 'PROVENANCE_VERIFIED'
    : v.status === 'UNSIGNED'
      ? 'PROVENANCE_UNSIGNED'
      : 'PROVENANCE_FAILED';
}

/** A stored verdict still stands: same policy and trust, and decided within `maxAgeMs`. */
export function current(record: ProvenanceRecord, provenance: ProvenanceDeps, now: Date): boolean {
  return (
    record.policyVersion === provenance.checker.policy.version &&
    record.trustVersion === provenance.checker.trustVersion &&
    now.getTime() - Date.parse(record.checkedAt) < (provenance.maxAgeMs ?? PROVENANCE_MAX_AGE_MS)
  );
}

/**
 * One check. The registry failing (not the signatures: those are in the verdict) is rethrown
 * when the request can come back; otherwise the verdict says what could not be read, so that
 * the image never reads as merely unsigned.
 */
async function check(
  checker: ProvenanceChecker,
  digest: string,
  repository: string,
  now: Date,
  retry: boolean,
): Promise<Verdict> {
  const { registry, name } = splitRepository(repository);
  try {
    return await checker.check(registry, name, digest, { now });
  } catch (error) {
    if (retry) throw error;
    const rule = selectRule(checker.policy, repository);
    return decideVerdict({
      subjectDigest: digest,
      repository,
      policy: checker.policy,
      rule,
      outcomes: [],
      unread: [{ where: repository, message: (error as Error).message }],
      now,
    });
  }
}

export interface ReverifySummary {
  /** Verdicts found stale (another policy or trust version, or older than `maxAgeMs`). */
  readonly stale: number;
  readonly reverified: number;
  /** Verdicts of digests since deleted from their repository: removed. */
  readonly removed: number;
  /** Left for the next pass: the budget ran out, or another run held the digest. */
  readonly left: number;
  readonly messages: number;
}

/**
 * The re-verification pass: every stored verdict decided under another policy or trust version
 * (trigger `policy`) or longer than `maxAgeMs` ago (`reverify`) is decided again, oldest first,
 * under its digest's lease, until `deadline`. What is left is counted, and the next pass takes
 * it (a verdict decided again is no longer stale).
 */
export async function reverifyProvenance(
  deps: PipelineDeps,
  provenance: ProvenanceDeps,
  options: { readonly deadline?: number } = {},
): Promise<ReverifySummary> {
  const now = nowOf(deps);
  const all = await provenance.store.checkedBefore(now.toISOString());
  const stale = all.filter((r) => !current(r, provenance, now));
  let reverified = 0;
  let removed = 0;
  let messages = 0;
  let done = 0;
  for (const record of stale) {
    if (options.deadline !== undefined && Date.now() >= options.deadline) break;
    done++;
    const changed =
      record.policyVersion !== provenance.checker.policy.version ||
      record.trustVersion !== provenance.checker.trustVersion;
    try {
      await withImageLease({ ...deps, leaseWaitMs: 0 }, record.digest, async () => {
        const repo = (await deps.images.repositoriesOf(record.digest)).find(
          (r) => r.repository === record.repository,
        );
        if (repo === undefined || repo.deletedAt !== undefined) {
          await provenance.store.delete(record.digest, record.repository);
          removed++;
          return;
        }
        const out = await verifyAndAnnounce(deps, provenance, {
          digest: record.digest,
          repositories: [record.repository],
          trigger: changed ? 'policy' : 'reverify',
          force: true,
        });
        reverified++;
        messages += out.messages;
      });
    } catch (error) {
      // Busy digests are taken by the next pass; anything else stops this one.
      if (!(error instanceof ImageBusyError)) throw error;
      done--;
    }
  }
  return { stale: stale.length, reverified, removed, left: stale.length - done, messages };
}
