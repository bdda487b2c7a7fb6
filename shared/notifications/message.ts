/**
 * The findings topic's message, version 1 (docs/notifications.md, docs/notification.schema.json):
 * one message per image per event, with counts by severity, the worst findings first and a
 * pointer to the full report, always under SNS's size limit; and the message attributes that
 * subscription filter policies match on.
 */
import { createHash } from 'node:crypto';
import { SEVERITIES, type Severity } from '../advisories/severity.js';
import { CHECK_SEVERITIES, type CheckSeverity, type Evidence } from '../checks/types.js';
import { reachabilityCounts } from '../matcher/reachability.js';
import type { FixState } from '../matcher/types.js';
import type { StoredCheck } from '../stores/checks-store.js';
import type { FindingRecord } from '../stores/findings-store.js';

export const NOTIFICATION_VERSION = 1;

export const EVENT_TYPES = [
  'SCAN_COMPLETED',
  'FINDINGS_NEW',
  'FINDINGS_RESOLVED',
  'FIX_AVAILABLE',
  'SEVERITY_CHANGED',
  'SCAN_FAILED',
  'TAG_MOVED',
  'PROVENANCE_VERIFIED',
  'PROVENANCE_FAILED',
  'PROVENANCE_UNSIGNED',
  'RUNNING_UNSCANNED',
  'RUNNING_VULNERABLE',
  'RUNNING_STALE',
  'RUNNING_DELETED',
  'RUNNING_UNVERIFIED',
  'CHECKS_NEW',
  'CHECKS_RESOLVED',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * What caused the event: a push (scan), an advisory change (rescan), an image deletion, the
 * rescan window; for provenance, a signature or attestation pushed after its image
 * (`signature`), a change of the policy or trust material (`policy`), the daily pass for expiry
 * and revocation (`reverify`); for a judgement of a running workload, an observation or
 * reconcile of the workload inventory (`workload`).
 */
export type Trigger =
  | 'push'
  | 'rescan'
  | 'deleted'
  | 'out-of-window'
  | 'signature'
  | 'policy'
  | 'reverify'
  | 'workload';

export interface NotificationImage {
  readonly digest: string;
  readonly registry?: string;
  /** Repository names (without the registry host) the digest is pushed to. */
  readonly repositories: readonly string[];
  /** `repository:tag` pairs pointing at the digest. */
  readonly tags: readonly string[];
  /** How many repositories and tags are not listed (beyond MAX_LISTED_NAMES). */
  readonly repositoriesOmitted?: number;
  readonly tagsOmitted?: number;
  readonly platform?: string;
  readonly os?: string;
}

export interface NotifiedFinding {
  readonly id: string;
  readonly ids: readonly string[];
  readonly severity: Severity;
  readonly score?: number;
  readonly packageName: string;
  readonly packageKey: string;
  readonly installedVersion: string;
  readonly fixedVersion?: string;
  /** Where the fix is published when only a subscription has it (`Ubuntu Pro`). */
  readonly fixVia?: string;
  /** With no fix: `will-not-fix` or `fix-deferred`, as the publisher says. */
  readonly fixState?: FixState;
  /** Who rated it, and how (the effective rating is `severity`). */
  readonly severities?: readonly { by: string; severity: Severity; score?: number }[];
  /** CISA lists the CVE as known exploited: the day it was added. */
  readonly kev?: { dateAdded: string; dueDate?: string; ransomware?: string };
  readonly epss?: { score: number; percentile: number; date: string };
  readonly purl?: string;
  readonly location?: string;
  readonly status: FindingRecord['status'];
  readonly statusReason?: string;
}

export interface Notification {
  readonly version: typeof NOTIFICATION_VERSION;
  readonly eventType: EventType;
  /** Identifies the change announced; a redelivered message carries the same key. */
  readonly dedupeKey: string;
  readonly occurredAt: string;
  readonly trigger: Trigger;
  readonly image: NotificationImage;
  /** Counts of the findings this event is about (for SCAN_COMPLETED: every active finding). */
  readonly summary: {
    readonly total: number;
    readonly fixable: number;
    /** Findings of a CVE CISA lists as known exploited. */
    readonly kev: number;
    readonly bySeverity: Readonly<Record<Severity, number>>;
    /** Of the findings whose reachability was judged (Go: matcher/reachability.ts), how many. */
    readonly reachability?: { reachable: number; unreachable: number; unknown: number };
  };
  /** The worst of those findings, as many as fit; `findingsOmitted` counts the rest. */
  readonly findings: readonly NotifiedFinding[];
  readonly findingsOmitted: number;
  readonly report?: { readonly bucket: string; readonly key: string; readonly sbomKey?: string };
  readonly tagMove?: {
    readonly repository: string;
    readonly tag: string;
    readonly digest: string;
    readonly previousDigest: string;
    readonly movedAt: string;
  };
  readonly failure?: { readonly reason: string };
  /**
   * On SCAN_COMPLETED: whether every package was checked against advisories of its ecosystem,
   * and if not, why (matcher/coverage.ts). Findings of an incomplete scan are not the whole
   * story: never read `complete: false` with no findings as clean.
   */
  readonly coverage?: NotifiedCoverage;
  /** On PROVENANCE_* events: the verdict on the digest as pushed to one repository. */
  readonly provenance?: NotifiedProvenance;
  /** On RUNNING_* events: the workload that runs the digest, and why it is judged so. */
  readonly workload?: NotifiedWorkload;
  /** On CHECKS_* events: the hardening checks that opened or resolved, worst first. */
  readonly checks?: NotifiedChecks;
}

/**
 * A hardening check as CHECKS_* messages carry it (issue 21; pipeline/checks-lifecycle.ts). A
 * secret is named by its rule, location and value hash, never by its value.
 */
export interface NotifiedCheck {
  readonly id: string;
  /** The severity after the deployment's checks configuration. */
  readonly severity: CheckSeverity;
  readonly title: string;
  readonly status: StoredCheck['status'];
  readonly resolvedReason?: StoredCheck['resolvedReason'];
  readonly evidence: Evidence;
  readonly secret?: NonNullable<StoredCheck['result']['secret']>;
  readonly remediation: string;
  readonly firstObservedAt: string;
  readonly resolvedAt?: string;
}

export interface NotifiedChecks {
  /** What was checked: an image digest, `taskdef:<region>:<account>:<family>:<revision>`, `workload:<source>:<id>`. */
  readonly subject: string;
  /** How many checks the event is about, and of each severity. */
  readonly total: number;
  readonly bySeverity: Readonly<Record<CheckSeverity, number>>;
  /** The worst of them, as many as fit; `omitted` counts the rest. */
  readonly listed: readonly NotifiedCheck[];
  readonly omitted: number;
}

/** A running workload as RUNNING_* messages carry it (issue 20, pipeline/audit.ts). */
export interface NotifiedWorkload {
  readonly source: 'ecs' | 'lambda' | 'eks';
  /** `<task ARN>#<container>`, the function ARN, `<cluster ARN>/<namespace>/<pod>/<container>`. */
  readonly workload: string;
  /** The image as the workload names it. */
  readonly image: string;
  readonly reason: string;
  readonly account?: string;
  readonly region?: string;
  /** When the judgement started to hold. */
  readonly since: string;
}

/** A provenance verdict as messages carry it (bounded like the rest of the body). */
export interface NotifiedProvenance {
  readonly status: 'VERIFIED' | 'UNSIGNED' | 'INVALID' | 'UNTRUSTED' | 'POLICY_FAILED';
  /** The status announced before for this digest and repository, when there was one. */
  readonly previousStatus?: NotifiedProvenance['status'];
  /** `audit`: reported, not meant to block. */
  readonly mode: 'enforce' | 'audit';
  /** `<registry host>/<repository>` the rule was chosen for. */
  readonly repository: string;
  readonly rule: string;
  readonly policyVersion: string;
  readonly trustVersion: string;
  readonly checkedAt: string;
  readonly reasons: readonly string[];
  readonly requirements: readonly {
    readonly requirement: string;
    readonly met: boolean;
    readonly satisfiedBy: readonly { source: string; authority: string; trustRoot: string }[];
    readonly reason?: string;
  }[];
  /** A tag moved onto this digest from one whose provenance was verified. */
  readonly tagMove?: { readonly tag: string; readonly previousDigest: string };
}

export interface NotifiedCoverage {
  readonly complete: boolean;
  readonly gaps: readonly {
    readonly kind: string;
    readonly ecosystems: readonly string[];
    readonly packages: number;
    readonly message: string;
  }[];
}

export interface OutgoingMessage {
  readonly body: string;
  readonly attributes: {
    readonly eventType: EventType;
    readonly maxSeverity: Severity;
    readonly repository: readonly string[];
    readonly fixAvailable: 'true' | 'false';
    /** `true` when a listed finding is known exploited (CISA KEV). */
    readonly kev: 'true' | 'false';
    /** SCAN_COMPLETED only: `incomplete` when some packages could not be checked. */
    readonly coverage?: 'complete' | 'incomplete';
    /** PROVENANCE_* only: the verdict's status and the rule's mode. */
    readonly provenance?: NotifiedProvenance['status'];
    readonly provenanceMode?: NotifiedProvenance['mode'];
    /** RUNNING_* only: where the workload runs, `ecs`, `lambda` or `eks`. */
    readonly workloadSource?: NotifiedWorkload['source'];
    /** CHECKS_* only: the distinct check ids of the event (a String.Array, like repository). */
    readonly checkIds?: readonly string[];
    /**
     * With findings only: `false` when every finding of the event is known not to have its
     * vulnerable code in the binary (matcher/reachability.ts), else `true` (reachable, not
     * known, or not judged): a filter on `true` never hides what Bosun could not rule out.
     */
    readonly reachable?: 'true' | 'false';
  };
  readonly dedupeKey: string;
}

/**
 * SNS takes 262,144 bytes of message and attributes together:
 * https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
 * The body stays under 200 KiB, leaving room for the attributes (a few hundred repository
 * names at most).
 */
export const MAX_BODY_BYTES = 200 * 1024;
/** Findings listed in one message at most; the report has them all. */
export const MAX_LISTED_FINDINGS = 100;
/** Repositories and tags listed at most (a digest can be pushed to very many). */
export const MAX_LISTED_NAMES = 50;
const MAX_REASON_CHARS = 2_000;
/** A workload id or image string longer than this is cut (ARNs and references are far shorter). */
const MAX_WORKLOAD_TEXT = 2_000;
/** Coverage gaps listed at most, and the length of each message (a gap per ecosystem). */
const MAX_COVERAGE_GAPS = 20;
const MAX_GAP_CHARS = 500;

/** The repository attribute's share of SNS's 256 KiB (the body stays under 200 KiB). */
const MAX_REPOSITORY_ATTRIBUTE_BYTES = 32 * 1024;

function withinBytes(names: readonly string[], max: number): string[] {
  const out: string[] = [];
  let size = 2;
  for (const name of names) {
    size += Buffer.byteLength(JSON.stringify(name)) + 1;
    if (size > max) break;
    out.push(name);
  }
  return out;
}

/** The image with its lists cut to size, each with a count of what was left out. */
function listedImage(image: NotificationImage): NotificationImage {
  const cut = (names: readonly string[]) => names.slice(0, MAX_LISTED_NAMES);
  return {
    ...image,
    repositories: cut(image.repositories),
    tags: cut(image.tags),
    ...(image.repositories.length > MAX_LISTED_NAMES
      ? { repositoriesOmitted: image.repositories.length - MAX_LISTED_NAMES }
      : {}),
    ...(image.tags.length > MAX_LISTED_NAMES
      ? { tagsOmitted: image.tags.length - MAX_LISTED_NAMES }
      : {}),
  };
}

export function notifiedFinding(f: FindingRecord): NotifiedFinding {
  return {
    id: f.vulnerabilityId,
    ids: f.ids,
    severity: f.severity.severity,
    ...(f.severity.score === undefined ? {} : { score: f.severity.score }),
    packageName: f.packageName,
    packageKey: f.packageKey,
    installedVersion: f.installedVersion,
    ...(f.fixedVersion === undefined ? {} : { fixedVersion: f.fixedVersion }),
    ...(f.fixVia === undefined ? {} : { fixVia: f.fixVia }),
    ...(f.fixState === undefined ? {} : { fixState: f.fixState }),
    ...(f.severities === undefined || f.severities.length === 0
      ? {}
      : {
          severities: f.severities.map((r) => ({
            by: r.by,
            severity: r.severity,
            ...(r.score === undefined ? {} : { score: r.score }),
          })),
        }),
    ...(f.kev === undefined
      ? {}
      : {
          kev: {
            dateAdded: f.kev.dateAdded,
            ...(f.kev.dueDate === undefined ? {} : { dueDate: f.kev.dueDate }),
            ...(f.kev.ransomware === undefined ? {} : { ransomware: f.kev.ransomware }),
          },
        }),
    ...(f.epss === undefined ? {} : { epss: f.epss }),
    ...(f.purl === undefined ? {} : { purl: f.purl }),
    ...(f.location === undefined ? {} : { location: f.location }),
    status: f.status,
    ...(f.statusReason === undefined ? {} : { statusReason: f.statusReason }),
  };
}

/** Worst first: severity, then score, then id, so that the listed ones are the ones that matter. */
export function byConcern(a: FindingRecord, b: FindingRecord): number {
  return (
    SEVERITIES.indexOf(a.severity.severity) - SEVERITIES.indexOf(b.severity.severity) ||
    (b.severity.score ?? -1) - (a.severity.score ?? -1) ||
    a.vulnerabilityId.localeCompare(b.vulnerabilityId) ||
    a.packageName.localeCompare(b.packageName)
  );
}

/** A key for one announced change: the event, the image and exactly what changed. */
export function dedupeKey(eventType: EventType, digest: string, parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of [...parts].sort()) hash.update(part).update('\u0000');
  return `${eventType}#${digest}#${hash.digest('hex').slice(0, 32)}`;
}

export interface MessageInput {
  readonly eventType: EventType;
  readonly dedupeKey: string;
  readonly occurredAt: string;
  readonly trigger: Trigger;
  readonly image: NotificationImage;
  readonly findings: readonly FindingRecord[];
  readonly report?: Notification['report'];
  readonly tagMove?: Notification['tagMove'];
  readonly failure?: Notification['failure'];
  readonly coverage?: NotifiedCoverage;
  readonly provenance?: NotifiedProvenance;
  readonly workload?: NotifiedWorkload;
  /** CHECKS_* only: the checks of the event, any order (listed worst first). */
  readonly checks?: { readonly subject: string; readonly records: readonly StoredCheck[] };
}

/** Reasons and requirements listed in a provenance message at most, and their length. */
const MAX_PROVENANCE_ENTRIES = 20;
const MAX_PROVENANCE_TEXT = 1_000;

function boundedProvenance(p: NotifiedProvenance): NotifiedProvenance {
  const text = (s: string) => s.slice(0, MAX_PROVENANCE_TEXT);
  return {
    ...p,
    reasons: p.reasons.slice(0, MAX_PROVENANCE_ENTRIES).map(text),
    requirements: p.requirements.slice(0, MAX_PROVENANCE_ENTRIES).map((r) => ({
      requirement: text(r.requirement),
      met: r.met,
      satisfiedBy: r.satisfiedBy.slice(0, MAX_PROVENANCE_ENTRIES),
      ...(r.reason === undefined ? {} : { reason: text(r.reason) }),
    })),
  };
}

function boundedCoverage(coverage: NotifiedCoverage): NotifiedCoverage {
  return {
    complete: coverage.complete,
    gaps: coverage.gaps.slice(0, MAX_COVERAGE_GAPS).map((g) => ({
      kind: g.kind,
      ecosystems: g.ecosystems.slice(0, 10),
      packages: g.packages,
      message: g.message.slice(0, MAX_GAP_CHARS),
    })),
  };
}

/** Checks listed in one message at most, and the length of each evidence text. */
export const MAX_LISTED_CHECKS = 100;
const MAX_EVIDENCE_TEXT = 1_000;
/** The checkIds attribute's share of SNS's 256 KiB. */
const MAX_CHECK_IDS_ATTRIBUTE_BYTES = 4 * 1024;

const checkRank = (s: CheckSeverity) => CHECK_SEVERITIES.indexOf(s);

/** Worst first: severity, then id, then where, so the listed checks are the ones that matter. */
export function byCheckConcern(a: StoredCheck, b: StoredCheck): number {
  return (
    checkRank(a.severity) - checkRank(b.severity) ||
    a.checkId.localeCompare(b.checkId) ||
    a.locationKey.localeCompare(b.locationKey)
  );
}

function boundedEvidence(e: Evidence): Evidence {
  const text = (s: string) => s.slice(0, MAX_EVIDENCE_TEXT);
  return {
    ...e,
    detail: text(e.detail),
    ...(e.path === undefined ? {} : { path: text(e.path) }),
    ...(e.configField === undefined ? {} : { configField: text(e.configField) }),
    ...(e.taskDefinition === undefined ? {} : { taskDefinition: text(e.taskDefinition) }),
    ...(e.container === undefined ? {} : { container: text(e.container) }),
    ...(e.field === undefined ? {} : { field: text(e.field) }),
    ...(e.value === undefined ? {} : { value: text(e.value) }),
  };
}

export function notifiedCheck(c: StoredCheck): NotifiedCheck {
  const secret = c.result.secret;
  return {
    id: c.checkId,
    severity: c.severity,
    title: c.result.title,
    status: c.status,
    ...(c.resolvedReason === undefined ? {} : { resolvedReason: c.resolvedReason }),
    evidence: boundedEvidence(c.result.evidence),
    // Rule, location and value hash: what a stored check keeps of a secret, and all of it.
    ...(secret === undefined
      ? {}
      : {
          secret: {
            rule: secret.rule,
            valueHash: secret.valueHash,
            location:
              secret.location.kind === 'file'
                ? { ...secret.location, path: secret.location.path.slice(0, MAX_EVIDENCE_TEXT) }
                : secret.location,
          },
        }),
    remediation: c.result.remediation,
    firstObservedAt: c.firstObservedAt,
    ...(c.resolvedAt === undefined ? {} : { resolvedAt: c.resolvedAt }),
  };
}

/** The checks part of a message, listing the worst while the body stays under `budget` bytes. */
function listedChecks(checks: NonNullable<MessageInput['checks']>, budget: number): NotifiedChecks {
  const bySeverity = Object.fromEntries(CHECK_SEVERITIES.map((s) => [s, 0])) as Record<
    CheckSeverity,
    number
  >;
  for (const c of checks.records) bySeverity[c.severity]++;
  const sorted = [...checks.records].sort(byCheckConcern);
  const listed: NotifiedCheck[] = [];
  let size = 0;
  for (const c of sorted) {
    if (listed.length >= MAX_LISTED_CHECKS) break;
    const entry = notifiedCheck(c);
    const bytes = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (size + bytes > budget) break;
    size += bytes;
    listed.push(entry);
  }
  return {
    subject: checks.subject.slice(0, MAX_EVIDENCE_TEXT),
    total: sorted.length,
    bySeverity,
    listed,
    omitted: sorted.length - listed.length,
  };
}

/** The reachability counts, when any finding's reachability was judged. */
function reachabilitySummary(findings: readonly FindingRecord[]) {
  const counts = reachabilityCounts(findings);
  return counts.reachable + counts.unreachable + counts.unknown === 0
    ? {}
    : { reachability: counts };
}

/**
 * Builds the message. Findings are listed worst first while the body stays under
 * MAX_BODY_BYTES and MAX_LISTED_FINDINGS; the summary always counts all of them.
 */
export function buildMessage(input: MessageInput): OutgoingMessage {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of input.findings) bySeverity[f.severity.severity]++;
  const sorted = [...input.findings].sort(byConcern);
  const fixable = sorted.filter((f) => f.fixedVersion !== undefined).length;
  const kev = sorted.filter((f) => f.kev !== undefined).length;
  const image = listedImage(input.image);
  const base: Omit<Notification, 'findings' | 'findingsOmitted'> = {
    version: NOTIFICATION_VERSION,
    eventType: input.eventType,
    dedupeKey: input.dedupeKey,
    occurredAt: input.occurredAt,
    trigger: input.trigger,
    image,
    summary: { total: sorted.length, fixable, kev, bySeverity, ...reachabilitySummary(sorted) },
    ...(input.report === undefined ? {} : { report: input.report }),
    ...(input.tagMove === undefined ? {} : { tagMove: input.tagMove }),
    ...(input.failure === undefined
      ? {}
      : { failure: { reason: input.failure.reason.slice(0, MAX_REASON_CHARS) } }),
    ...(input.coverage === undefined ? {} : { coverage: boundedCoverage(input.coverage) }),
    ...(input.provenance === undefined ? {} : { provenance: boundedProvenance(input.provenance) }),
    ...(input.workload === undefined
      ? {}
      : {
          workload: {
            ...input.workload,
            workload: input.workload.workload.slice(0, MAX_WORKLOAD_TEXT),
            image: input.workload.image.slice(0, MAX_WORKLOAD_TEXT),
            reason: input.workload.reason.slice(0, MAX_REASON_CHARS),
          },
        }),
  };
  const listed: NotifiedFinding[] = [];
  // Size of the message without findings, with room for the omitted count's digits.
  let size = Buffer.byteLength(JSON.stringify({ ...base, findings: [], findingsOmitted: 0 })) + 16;
  const checks =
    input.checks === undefined
      ? undefined
      : listedChecks(input.checks, MAX_BODY_BYTES - size - 2 * MAX_EVIDENCE_TEXT);
  if (checks !== undefined) size += Buffer.byteLength(JSON.stringify(checks)) + 16;
  for (const f of sorted) {
    if (listed.length >= MAX_LISTED_FINDINGS) break;
    const entry = notifiedFinding(f);
    const bytes = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (size + bytes > MAX_BODY_BYTES) break;
    size += bytes;
    listed.push(entry);
  }
  const notification: Notification = {
    ...base,
    findings: listed,
    findingsOmitted: sorted.length - listed.length,
    ...(checks === undefined ? {} : { checks }),
  };
  // A CHECKS_* message has no findings: its maxSeverity is its worst check's.
  const worstCheck = input.checks?.records.reduce<CheckSeverity | undefined>(
    (w, c) => (w === undefined || checkRank(c.severity) < checkRank(w) ? c.severity : w),
    undefined,
  );
  const worst = worstCheck ?? sorted[0]?.severity.severity ?? 'NONE';
  return {
    body: JSON.stringify(notification),
    dedupeKey: input.dedupeKey,
    attributes: {
      eventType: input.eventType,
      maxSeverity: worst,
      // Filter policies match on any repository: the attribute lists them all, within reason.
      repository: withinBytes(input.image.repositories, MAX_REPOSITORY_ATTRIBUTE_BYTES),
      fixAvailable: fixable > 0 ? 'true' : 'false',
      kev: kev > 0 ? 'true' : 'false',
      ...(input.coverage === undefined
        ? {}
        : { coverage: input.coverage.complete ? 'complete' : 'incomplete' }),
      ...(input.provenance === undefined
        ? {}
        : { provenance: input.provenance.status, provenanceMode: input.provenance.mode }),
      ...(input.workload === undefined ? {} : { workloadSource: input.workload.source }),
      ...(sorted.length === 0
        ? {}
        : {
            reachable: sorted.every((f) => f.reachability?.reachable === false) ? 'false' : 'true',
          }),
      ...(input.checks === undefined
        ? {}
        : {
            checkIds: withinBytes(
              [...new Set(input.checks.records.map((c) => c.checkId))].sort(),
              MAX_CHECK_IDS_ATTRIBUTE_BYTES,
            ),
          }),
    },
  };
}

/** Where messages go: the SNS topic in AWS (sns-notifier.ts), a list in tests of the use cases. */
export interface Notifier {
  /** Publishes one message; resolves to the message id. */
  publish(message: OutgoingMessage): Promise<string>;
}
