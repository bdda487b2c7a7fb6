/**
 * The hardening checks in the scan (issue 21): configured before anything is written, so a
 * disabled check or a changed severity holds in the report, the SBOM, the stored checks and the
 * messages alike; then, after the findings commit, stored with their lifecycle and announced
 * (../checks-lifecycle.ts). A digest scanned before (a push of it to another repository or tag)
 * has its stored checks configured again: a changed configuration or an expired suppression
 * takes effect without a new pull.
 */
import { applyChecksConfig } from '../../checks/config.js';
import { reconcileChecks } from '../checks-lifecycle.js';
import { imageContext, splitRepository } from '../context.js';
import type { ScanOutcome, ScanRun, ScanStep } from './run.js';

/** The repository names (without the registry host) the digest is live in; else the pushed one. */
function repositoriesOf(run: ScanRun): string[] {
  const live = (run.repositories ?? [])
    .filter((r) => r.deletedAt === undefined)
    .map((r) => splitRepository(r.repository).name);
  return live.length > 0 ? [...new Set(live)] : [run.request.repository];
}

/**
 * Step: the run's checks as configured (disabled checks left out, severities changed, suppressed
 * secrets left out of the outputs); what the checks computed is kept for the lifecycle.
 */
export const configureChecks: ScanStep = async (run: ScanRun) => {
  const config = run.deps.checksConfig;
  if (run.checks === undefined || config === undefined) return undefined;
  run.observedChecks = run.checks;
  const configured = applyChecksConfig(
    config,
    run.checks.results,
    repositoriesOf(run),
    new Date(run.now),
  );
  run.checks = {
    results: configured.filter((c) => c.suppressed === undefined).map((c) => c.result),
    issues: run.checks.issues,
  };
  return undefined;
};

/**
 * After the findings commit: the checks stored with their lifecycle and CHECKS_NEW /
 * CHECKS_RESOLVED announced; returns the messages sent. A scanned digest stores what this run
 * observed; a digest already scanned has its stored checks configured again.
 */
export async function commitChecks(run: ScanRun, outcome: ScanOutcome): Promise<number> {
  const { deps } = run;
  const store = deps.checkStore;
  if (store === undefined) return 0;
  const observed = run.observedChecks ?? run.checks;
  const scanned = outcome.status === 'scanned' || outcome.status === 'unsupported';
  if (scanned && observed === undefined) return 0;
  if (
    !scanned &&
    (outcome.status !== 'unchanged' || (await store.header(run.digest)) === undefined)
  )
    return 0;
  run.repositories ??= await deps.images.repositoriesOf(run.digest);
  const image = await imageContext(deps, run.digest, run.image);
  const result = await reconcileChecks(
    {
      checks: store,
      findings: deps.findings,
      notifier: deps.notifier,
      now: () => new Date(run.now),
    },
    run.digest,
    scanned && observed !== undefined ? observed.results : 'stored',
    {
      // A reading that missed files (the checks' issues) resolves nothing it could not see.
      complete: observed === undefined || observed.issues.length === 0,
      repositories: repositoriesOf(run),
      image,
      trigger: 'push',
      ...(deps.checksConfig === undefined ? {} : { config: deps.checksConfig }),
      ...(run.imageUser === undefined ? {} : { imageUser: run.imageUser }),
      analyzerVersion: run.analyzerVersion,
    },
  );
  return result.messages;
}
