/**
 * The CI gate of `bosun scan` (`--fail-on`, `--fail-on-epss`): which findings fail a build.
 * Conditions add up: a finding fails the gate when any holds.
 * - a severity (`HIGH`): its effective severity is that or worse;
 * - `kev`: CISA lists one of its CVEs as known exploited;
 * - `unknown`: no source rates it (UNKNOWN never counts as any severity, so a gate on HIGH lets
 *   it through unless `unknown` is named too: a decision, never an accident);
 * - an EPSS threshold (0 to 1): the highest EPSS score of its CVEs is at least that.
 */
import { SEVERITIES, type Severity } from '../advisories/severity.js';
import type { CoverageGap } from '../matcher/coverage.js';
import type { AdvisoryQuery, Finding } from '../matcher/types.js';

export interface Gate {
  readonly severity?: Exclude<Severity, 'UNKNOWN'>;
  readonly kev: boolean;
  readonly unknown: boolean;
  readonly epss?: number;
}

export class GateSyntaxError extends Error {}

/** `HIGH,kev,unknown` and an EPSS threshold as a gate; a GateSyntaxError names a bad part. */
export function parseGate(failOn: string | undefined, epss: string | undefined): Gate {
  let severity: Gate['severity'];
  let kev = false;
  let unknown = false;
  for (const raw of (failOn ?? '').split(',').filter((p) => p.trim() !== '')) {
    const part = raw.trim().toUpperCase();
    if (part === 'KEV') kev = true;
    else if (part === 'UNKNOWN') unknown = true;
    else if ((SEVERITIES as readonly string[]).includes(part)) {
      // The lowest severity named is the threshold.
      const s = part as NonNullable<Gate['severity']>;
      if (severity === undefined || SEVERITIES.indexOf(s) > SEVERITIES.indexOf(severity))
        severity = s;
    } else
      throw new GateSyntaxError(
        `--fail-on ${JSON.stringify(raw)} is not a severity (${SEVERITIES.filter((s) => s !== 'UNKNOWN').join(', ')}), kev or unknown`,
      );
  }
  const threshold = epss === undefined ? undefined : Number(epss);
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 1))
    throw new GateSyntaxError(`--fail-on-epss ${JSON.stringify(epss)} is not a number from 0 to 1`);
  return {
    ...(severity === undefined ? {} : { severity }),
    kev,
    unknown,
    ...(threshold === undefined ? {} : { epss: threshold }),
  };
}

/** Why a finding fails the gate (`HIGH`, `kev`, `unknown`, `epss 0.97`), or [] when it passes. */
export function gateReasons(f: Finding, gate: Gate): string[] {
  const reasons: string[] = [];
  const rank = SEVERITIES.indexOf(f.severity.severity);
  if (
    gate.severity !== undefined &&
    f.severity.severity !== 'UNKNOWN' &&
    rank <= SEVERITIES.indexOf(gate.severity)
  )
    reasons.push(f.severity.severity);
  if (gate.kev && f.kev !== undefined) reasons.push('kev');
  if (gate.unknown && f.severity.severity === 'UNKNOWN') reasons.push('unknown');
  if (gate.epss !== undefined && f.epss !== undefined && f.epss.score >= gate.epss)
    reasons.push(`epss ${f.epss.score}`);
  return reasons;
}

/**
 * A gate on a signal no feed has filled (`kev` with no KEV catalog in the database, an EPSS
 * threshold with no EPSS scores) cannot fail: nothing was asked. Each such gate is a coverage gap
 * (exit 4 when nothing else fails), never a silent pass.
 */
export async function gateSignalGaps(
  gate: Gate,
  query: Pick<AdvisoryQuery, 'hasCveFacts'>,
): Promise<CoverageGap[]> {
  const wanted = [
    ...(gate.kev ? [['kev', '--fail-on kev', "CISA's KEV catalog"] as const] : []),
    ...(gate.epss === undefined
      ? []
      : [['epss', '--fail-on-epss', "FIRST's EPSS scores"] as const]),
  ];
  const gaps: CoverageGap[] = [];
  for (const [kind, flag, what] of wanted)
    if (!(await query.hasCveFacts(kind)))
      gaps.push({
        kind: 'not-synced',
        ecosystems: [kind],
        packages: 0,
        message: `${flag} could not be checked: the advisory database holds no ${what} (sync it: bosun db sync --from ${kind})`,
      });
  return gaps;
}

/** How the findings of an image add up, for the table and JSON summaries. */
export function summaryOf(findings: readonly Finding[]) {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) bySeverity[f.severity.severity]++;
  return {
    total: findings.length,
    bySeverity,
    kev: findings.filter((f) => f.kev !== undefined).length,
    /** Findings no source rates: UNKNOWN by decision, said out loud. */
    unrated: bySeverity.UNKNOWN,
  };
}
