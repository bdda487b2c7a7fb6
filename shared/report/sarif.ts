/**
 * SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html) of scan
 * findings, the format code-scanning dashboards import: one rule per vulnerability id, one
 * result per finding, located at the file the package was found in (inside the image).
 * `security-severity` carries the CVSS score where there is one, as GitHub's code scanning reads it.
 */
import { IMAGE_CHECKS } from '../checks/definitions.js';
import { TASKDEF_CHECKS } from '../checks/taskdef.js';
import type { CheckDefinition, CheckIssue, CheckResult } from '../checks/types.js';
import type { Coverage } from '../matcher/coverage.js';
import type { Finding } from '../matcher/types.js';
import { CHECK_SECURITY_SEVERITY, checkLocation } from './checks.js';

export interface SarifImage {
  /** What was scanned, as the user named it. */
  readonly source: string;
  /** `os/arch[/variant]`: the platforms of one multi-platform image are separate alerts. */
  readonly platform?: string;
  readonly findings: readonly Finding[];
  /** What the advisory database could not say about the image (never a silent zero). */
  readonly coverage?: Coverage;
  /** The hardening checks' results (shared/checks), and what they could not check. */
  readonly checks?: readonly CheckResult[];
  readonly checkIssues?: readonly CheckIssue[];
  /**
   * Findings a decision suppressed (a VEX statement, an ignore entry: docs/vex.md), with why:
   * results carrying SARIF's `suppressions` (§3.27.23, kind `external`), so a dashboard shows
   * them as suppressed rather than never knowing them.
   */
  readonly suppressed?: readonly { readonly finding: Finding; readonly reason: string }[];
}

const LEVEL: Record<string, 'error' | 'warning' | 'note'> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  UNKNOWN: 'note',
};

/** A path inside an image as a relative URI reference (RFC 3986), for artifactLocation.uri. */
const uriOf = (location: string | undefined) =>
  (location ?? '').split('/').map(encodeURIComponent).join('/');

/**
 * GitHub code scanning ranks results by `security-severity`, a CVSS-like score: the effective
 * rating's score, or for a rating given as a word the middle of its CVSS band, so a HIGH from
 * Debian or GHSA's word sorts with HIGHs (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning#reportingdescriptor-object).
 */
function securitySeverity(f: Finding): string | undefined {
  if (f.severity.score !== undefined) return f.severity.score.toFixed(1);
  return {
    CRITICAL: '9.5',
    HIGH: '8.0',
    MEDIUM: '5.5',
    LOW: '2.0',
    NONE: '0.0',
    UNKNOWN: undefined,
  }[f.severity.severity];
}

/** What the publisher says of a vulnerability it has not fixed. */
const UNFIXED = {
  'will-not-fix': 'the publisher will not fix it',
  'fix-deferred': 'the publisher has deferred the fix',
} as const;

export function toSarif(images: readonly SarifImage[], tool: { name: string; version: string }) {
  const rules = new Map<string, Record<string, unknown>>();
  const results: Record<string, unknown>[] = [];
  for (const image of images) {
    const where =
      image.platform === undefined ? image.source : `${image.source} (${image.platform})`;
    const decided = (image.suppressed ?? []).map((x) => ({ f: x.finding, reason: x.reason }));
    for (const { f, reason } of [
      ...image.findings.map((f) => ({ f, reason: undefined })),
      ...decided,
    ]) {
      const advisory = f.advisoryIds[0] ?? f.id;
      if (!rules.has(f.id))
        rules.set(f.id, {
          id: f.id,
          shortDescription: { text: f.summary ?? f.id },
          helpUri: `https://osv.dev/vulnerability/${advisory}`,
          help: { text: `${f.ids.join(', ')}: see https://osv.dev/vulnerability/${advisory}` },
          properties: {
            tags: [
              'vulnerability',
              'security',
              f.severity.severity,
              ...(f.kev === undefined ? [] : ['kev']),
            ],
            ...(securitySeverity(f) === undefined
              ? {}
              : { 'security-severity': securitySeverity(f) }),
            ...(f.epss === undefined ? {} : { epss: f.epss.score }),
          },
        });
      const fix =
        f.fixedVersion !== undefined
          ? `fixed in ${f.fixedVersion}${f.fixVia === undefined ? '' : ` (${f.fixVia})`}`
          : f.fixState === undefined
            ? 'no fixed version known'
            : UNFIXED[f.fixState];
      results.push({
        ruleId: f.id,
        level: LEVEL[f.severity.severity] ?? 'note',
        message: {
          text: `${f.package.name} ${f.installedVersion} in ${where} is affected by ${f.id} (${f.severity.severity}); ${fix}.`,
        },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: uriOf(f.package.location) } },
            logicalLocations: [{ name: where, kind: 'module' }],
          },
        ],
        partialFingerprints: {
          // Stable across scans of the same image: the dashboard tracks one alert per finding.
          vulnerabilityPackage: `${f.id}/${f.package.purl ?? f.package.name}/${f.package.location ?? ''}/${image.platform ?? ''}`,
        },
        // Whether the vulnerable code is linked (matcher/reachability.ts), where it was judged.
        ...(f.reachability === undefined ? {} : { properties: { reachability: f.reachability } }),
        ...(reason === undefined
          ? {}
          : { suppressions: [{ kind: 'external', status: 'accepted', justification: reason }] }),
      });
    }
    // The hardening checks after the findings: the findings' rules and results keep their places.
    for (const c of image.checks ?? []) {
      if (!rules.has(c.id)) rules.set(c.id, checkRule(c));
      results.push(checkResult(c, where, image.platform));
    }
  }
  return {
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            rules: [...rules.values()],
          },
        },
        results,
        // A coverage gap is a run that could not do all it should: SARIF's place for that is a
        // tool execution notification (§3.20.21), with executionSuccessful still true.
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: images.flatMap((image) => [
              ...(image.coverage?.gaps ?? []).map((gap) => ({
                level: 'warning',
                descriptor: { id: `coverage/${gap.kind}` },
                message: { text: `${image.source}: ${gap.message}` },
                properties: { ecosystems: gap.ecosystems, packages: gap.packages },
              })),
              // What a check could not read (a layer's secret budget spent): said, as a gap is.
              ...(image.checkIssues ?? []).map((issue) => ({
                level: 'warning',
                descriptor: { id: 'checks/incomplete' },
                message: { text: `${image.source}: ${issue.location}: ${issue.message}` },
              })),
            ]),
          },
        ],
        properties: { coverageComplete: images.every((i) => i.coverage?.complete !== false) },
      },
    ],
  };
}

/** The checks' own tables, by id: a rule says what the check is, a result what it found. */
const CHECK_DEFINITIONS: ReadonlyMap<string, CheckDefinition> = new Map(
  [...Object.values(IMAGE_CHECKS), ...Object.values(TASKDEF_CHECKS)].map((d) => [d.id, d]),
);

/**
 * A hardening check as a rule: its id (`BOSUN-IMG-001`), the check's title from its table (a
 * secret result's own title names the secret rule), the remediation as help, and the anchors
 * that have the same check.
 */
function checkRule(c: CheckResult): Record<string, unknown> {
  return {
    id: c.id,
    shortDescription: { text: CHECK_DEFINITIONS.get(c.id)?.title ?? c.title },
    help: { text: c.remediation },
    properties: {
      tags: ['security', 'hardening', ...(c.secret === undefined ? [] : ['secret']), c.severity],
      'security-severity': CHECK_SECURITY_SEVERITY[c.severity],
      ...(c.anchors.length === 0 ? {} : { anchors: c.anchors.map((a) => `${a.tool} ${a.id}`) }),
    },
  };
}

/**
 * One result per check result, at the file inside the image when there is one (a config field
 * is a logical location). A secret's fingerprint is its rule, location and value hash: the
 * dashboard keeps one alert per secret, and the value itself is never in the log.
 */
function checkResult(c: CheckResult, where: string, platform: string | undefined) {
  const path = c.secret?.location.kind === 'file' ? c.secret.location.path : c.evidence.path;
  const line = c.secret?.location.kind === 'file' ? c.secret.location.line : undefined;
  const location = checkLocation(c);
  return {
    ruleId: c.id,
    level: LEVEL[c.severity] ?? 'note',
    message: { text: `${c.title} in ${where} at ${location}: ${c.evidence.detail}` },
    locations: [
      {
        ...(path === undefined
          ? {}
          : {
              physicalLocation: {
                artifactLocation: { uri: uriOf(path) },
                ...(line === undefined ? {} : { region: { startLine: line } }),
              },
            }),
        logicalLocations: [{ name: where, kind: 'module' }],
      },
    ],
    partialFingerprints: {
      hardeningCheck: `${c.id}/${location}/${c.secret === undefined ? '' : `${c.secret.rule}/${c.secret.valueHash}`}/${platform ?? ''}`,
    },
    properties: {
      severity: c.severity,
      ...(c.secret === undefined ? {} : { rule: c.secret.rule, valueHash: c.secret.valueHash }),
    },
  };
}
