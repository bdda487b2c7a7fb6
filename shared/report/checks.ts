/**
 * The hardening checks (shared/checks) in scan outputs: the gate of `bosun scan
 * --fail-on-check`, where a result is in words for a table row, and how results add up. A
 * secret result is shown by its rule and location; its value was never kept, and its hash is
 * left to the machine-readable outputs (JSON, SARIF fingerprints), where a suppression names it.
 */
import { CHECK_SEVERITIES, type CheckResult, type CheckSeverity } from '../checks/types.js';
import { GateSyntaxError } from './gate.js';

/** `--fail-on-check HIGH`: the lowest severity that fails; a GateSyntaxError names a bad value. */
export function parseCheckGate(value: string | undefined): CheckSeverity | undefined {
  if (value === undefined) return undefined;
  const wanted = value.trim().toUpperCase();
  if (!(CHECK_SEVERITIES as readonly string[]).includes(wanted))
    throw new GateSyntaxError(
      `--fail-on-check ${JSON.stringify(value)} is not a severity (${CHECK_SEVERITIES.join(', ')})`,
    );
  return wanted as CheckSeverity;
}

/** Whether a result is at or above the gate's severity (CRITICAL is the highest). */
export const failsCheckGate = (r: CheckResult, gate: CheckSeverity | undefined): boolean =>
  gate !== undefined && CHECK_SEVERITIES.indexOf(r.severity) <= CHECK_SEVERITIES.indexOf(gate);

/** Most severe first, then by id, then by where: the order every output lists them in. */
export function sortChecks(results: readonly CheckResult[]): CheckResult[] {
  return [...results].sort(
    (a, b) =>
      CHECK_SEVERITIES.indexOf(a.severity) - CHECK_SEVERITIES.indexOf(b.severity) ||
      a.id.localeCompare(b.id) ||
      checkLocation(a).localeCompare(checkLocation(b)),
  );
}

/**
 * Where a result was found, in one line: `etc/app/.env:3 (layer 1, deleted by layer 2)`,
 * `config.Env[0]`, `config.User`, or a task definition's container and field.
 */
export function checkLocation(r: CheckResult): string {
  const s = r.secret?.location;
  if (s?.kind === 'file')
    return `${s.path}${s.line === undefined ? '' : `:${s.line}`} (layer ${s.layer.index}${s.deletedBy === undefined ? '' : `, deleted by layer ${s.deletedBy}`})`;
  if (s?.kind === 'config') return s.field;
  const e = r.evidence;
  if (e.taskDefinition !== undefined)
    return [e.taskDefinition, e.container, e.field].filter((x) => x !== undefined).join(' ');
  const where = [
    ...(e.path === undefined ? [] : [e.path]),
    ...(e.configField === undefined ? [] : [e.configField]),
  ].join(' ');
  if (e.layer === undefined) return where === '' ? 'image' : where;
  return where === '' ? `layer ${e.layer.index}` : `${where} (layer ${e.layer.index})`;
}

/** How many results of each severity. */
export function checkSummary(results: readonly CheckResult[]) {
  const bySeverity = Object.fromEntries(CHECK_SEVERITIES.map((s) => [s, 0])) as Record<
    CheckSeverity,
    number
  >;
  for (const r of results) bySeverity[r.severity]++;
  return { total: results.length, bySeverity };
}

/**
 * A check's severity as the CVSS-like score GitHub code scanning ranks by (the middle of the
 * band, as sarif.ts gives a finding rated by a word).
 */
export const CHECK_SECURITY_SEVERITY: Readonly<Record<CheckSeverity, string>> = {
  CRITICAL: '9.5',
  HIGH: '8.0',
  MEDIUM: '5.5',
  LOW: '2.0',
};
