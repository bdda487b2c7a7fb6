/**
 * The scan use case: one ScanRequest (an ECR event or a registry notification) in; the image
 * pulled by digest, inventoried (layer results cached), matched, and recorded: image record,
 * tags and tag moves, inventory with its reverse index, findings with their lifecycle, report
 * and SBOM; then the changes announced.
 *
 * The scan is a list of named steps, one module each under scan/, run in order under the
 * digest's lease (claircore's indexer controller is the model). Each step reads what earlier
 * steps set on the run and either goes on or ends the scan with its outcome. A new step
 * (provenance, hardening, workload checks) is a module and a line in SCAN_STEPS.
 *
 * Crash safety and idempotency: work on a digest holds its lease; the inventory is written
 * under a scan id derived from the digest and the analyzer (a retry rewrites the same items);
 * findings are written as a new generation that the image record commits in one conditional
 * write (commit.ts, shared with rescans and closings); announcements follow the committed
 * state and are deduplicated per change. A run that stops anywhere is finished by the next
 * delivery; a duplicate of a completed scan does nothing.
 */
import type { ScanRequest } from '../events/scan-request.js';
import { pushedKind } from '../image/select.js';
import { announcePending } from './announce.js';
import { nowOf, withImageLease } from './context.js';
import { announceProvenance } from './provenance.js';
import { checkScanned } from './scan/check-scanned.js';
import { commitScan } from './scan/commit.js';
import { commitChecks, configureChecks } from './scan/commit-checks.js';
import { deleteImage } from './scan/delete.js';
import { markInProgress } from './scan/mark-in-progress.js';
import { matchInventory } from './scan/match.js';
import { planFindings } from './scan/plan-findings.js';
import { pullAndInventory } from './scan/pull-inventory.js';
import { recordPush } from './scan/record-push.js';
import { subjectOfPush, verifySubject } from './scan/referrer.js';
import { writeReports } from './scan/report.js';
import {
  ANALYZER_VERSION,
  type ScanAttempt,
  type ScanDeps,
  type ScanOutcome,
  type ScanRun,
  type ScanStep,
  scanIdOf,
} from './scan/run.js';
import { verifyProvenance } from './scan/verify-provenance.js';
import { writeInventory } from './scan/write-inventory.js';

export {
  ANALYZER_VERSION,
  type ScanAttempt,
  type ScanDeps,
  type ScanOutcome,
  type ScanStep,
  scanIdOf,
};

/** The scan's steps under the lease, in the order they run. */
export const SCAN_STEPS: readonly (readonly [name: string, step: ScanStep])[] = [
  ['check already scanned', checkScanned],
  ['mark in progress', markInProgress],
  ['pull and inventory', pullAndInventory],
  ['configure checks', configureChecks],
  ['verify provenance', verifyProvenance],
  ['match', matchInventory],
  ['write inventory', writeInventory],
  ['plan and write findings', planFindings],
  ['report and SBOM', writeReports],
  ['commit and announce', commitScan],
];

/**
 * The attempt an SQS delivery is: its ApproximateReceiveCount against the queue's
 * maxReceiveCount (after that delivery the message goes to the dead-letter queue).
 */
export function scanAttempt(
  receiveCount: string | undefined,
  maxReceives: number | undefined,
): ScanAttempt {
  const receives = Math.max(1, Number.parseInt(receiveCount ?? '', 10) || 1);
  return { receives, final: maxReceives !== undefined && receives >= maxReceives };
}

export async function scanImage(
  request: ScanRequest,
  deps: ScanDeps,
  attempt: ScanAttempt = { receives: 1, final: false },
): Promise<ScanOutcome> {
  if (request.action === 'DELETE') return deleteImage(request, deps);
  const moved = await recordPush(request, deps);
  // Indexes and artifacts are recorded (tags, moves) but not scanned. A signature or attestation
  // pushed after its image has the image's provenance decided again; an index (what a
  // multi-platform tag points at, and what cosign signs) gets its own verdict.
  const pushed = pushedKind(request);
  if (pushed.kind === 'artifact') {
    const subject = await subjectOfPush(request, deps);
    const sent = subject === undefined ? 0 : await verifySubject(request, subject, deps, attempt);
    return { status: 'skipped', messages: moved + sent };
  }
  if (pushed.kind === 'index') {
    const sent = await withImageLease(deps, request.digest, async () =>
      deps.provenance === undefined ? 0 : await verifyProvenanceAlone(request, deps, attempt),
    );
    return { status: 'index', messages: moved + sent };
  }
  const { outcome, notImage } = await withImageLease(deps, request.digest, async () => {
    const pending =
      (await announcePending(deps, request.digest)).sent + (await provenancePending(deps, request));
    const run = newRun(request, deps, attempt);
    const outcome = await runSteps(run);
    // The hardening checks' lifecycle, after the findings commit (scan/commit-checks.ts).
    let sent = await commitChecks(run, outcome);
    // An image record without layers is a manifest found to be no image (pull-inventory.ts).
    const image = run.target !== undefined || run.image?.layers !== undefined;
    // Already scanned (a new tag or repository): its verdicts are still decided.
    if (outcome.status === 'unchanged' && image) await verifyProvenance(run);
    sent += await provenancePending(deps, request);
    return {
      outcome: { ...outcome, messages: moved + pending + outcome.messages + sent },
      notImage: !image && (outcome.status === 'unsupported' || outcome.status === 'unchanged'),
    };
  });
  // A manifest that is no image may be a signature pushed by the referrers API (a webhook
  // cannot tell): its subject's provenance is decided again.
  if (notImage) {
    const subject = await subjectOfPush(request, deps);
    if (subject !== undefined)
      return {
        ...outcome,
        messages: outcome.messages + (await verifySubject(request, subject, deps, attempt)),
      };
  }
  return outcome;
}

async function provenancePending(deps: ScanDeps, request: ScanRequest): Promise<number> {
  return deps.provenance === undefined
    ? 0
    : announceProvenance(deps, deps.provenance.store, request.digest);
}

/** The provenance step alone, for a digest that is not scanned (an index). */
async function verifyProvenanceAlone(
  request: ScanRequest,
  deps: ScanDeps,
  attempt: ScanAttempt,
): Promise<number> {
  await verifyProvenance(newRun(request, deps, attempt));
  return provenancePending(deps, request);
}

function newRun(request: ScanRequest, deps: ScanDeps, attempt: ScanAttempt): ScanRun {
  const analyzerVersion = deps.analyzerVersion ?? ANALYZER_VERSION;
  return {
    request,
    deps,
    attempt,
    digest: request.digest,
    analyzerVersion,
    scanId: scanIdOf(request.digest, analyzerVersion),
    now: nowOf(deps).toISOString(),
  };
}

async function runSteps(run: ScanRun): Promise<ScanOutcome> {
  for (const [, step] of SCAN_STEPS) {
    const outcome = await step(run);
    if (outcome !== undefined) return outcome;
  }
  throw new Error('scan steps ended without an outcome');
}
