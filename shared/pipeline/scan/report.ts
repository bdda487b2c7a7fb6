/**
 * Step: the full report and the CycloneDX SBOM in the reports bucket, under the generation's
 * keys (a retry overwrites the same objects; the commit makes the record point at them).
 */

import { platformString } from '../../image/types.js';
import { checkLocation, sortChecks } from '../../report/checks.js';
import { toCycloneDx } from '../../sbom/cyclonedx.js';
import { generationOf, need, type ScanRun, type ScanStep } from './run.js';

export const writeReports: ScanStep = async (run: ScanRun) => {
  const { deps, digest, analyzerVersion, now } = run;
  if (deps.reports === undefined) return undefined;
  const target = need(run.target, 'the image');
  const inventory = need(run.inventory, 'the inventory');
  const match = need(run.match, 'the match result');
  const checks = sortedChecks(run);
  const generation = generationOf(run);
  const reportKey = `reports/${digest}/${generation}/report.json`;
  const sbomKey = `reports/${digest}/${generation}/sbom.cdx.json`;
  await deps.reports.put(reportKey, JSON.stringify(reportOf(run, checks)), 'application/json');
  await deps.reports.put(
    sbomKey,
    toCycloneDx(
      target,
      inventory,
      { name: 'bosun', version: analyzerVersion },
      new Date(now),
      match.findings,
      run.coverage,
      (run.provenance ?? []).map((r) => ({
        repository: r.repository,
        status: r.status,
        mode: r.verdict.mode,
        policyVersion: r.policyVersion,
      })),
      checks === undefined ? undefined : { ...checks, where: checkLocation },
    ),
    'application/vnd.cyclonedx+json',
  );
  run.reportKeys = { reportKey, sbomKey };
  return undefined;
};

/** report.json: what the scan found, with what it could not check. */
function reportOf(run: ScanRun, checks: ReturnType<typeof sortedChecks>) {
  const { digest, analyzerVersion, now } = run;
  const target = need(run.target, 'the image');
  const inventory = need(run.inventory, 'the inventory');
  const match = need(run.match, 'the match result');
  return {
    version: 1,
    digest,
    platform: platformString(target.platform),
    os: inventory.os?.prettyName ?? inventory.os?.ecosystem,
    analyzerVersion,
    scannedAt: now,
    packages: inventory.packages.length,
    coverage: run.coverage,
    // Present when a provenance policy is configured: the verdict per repository.
    ...(run.provenance === undefined
      ? {}
      : {
          provenance: run.provenance.map((r) => ({
            ...r.verdict,
            trustVersion: r.trustVersion,
            checkedAt: r.checkedAt,
          })),
        }),
    issues: [...inventory.issues, ...match.issues],
    // The hardening checks of the same walk: a secret by its rule, location and value hash.
    ...(checks === undefined ? {} : { checks: checks.results, checkIssues: checks.issues }),
    findings: need(run.plan, 'the plan')
      .writes.filter((f) => f.status !== 'CLOSED')
      .map(({ prior: _p, ...f }) => f),
  };
}

/** The run's check results in the order every output lists them, with their issues. */
function sortedChecks(run: ScanRun) {
  if (run.checks === undefined) return undefined;
  return { results: sortChecks(run.checks.results), issues: run.checks.issues };
}
