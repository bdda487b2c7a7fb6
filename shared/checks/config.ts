/**
 * A deployment's (or `bosun scan --checks-config`'s) configuration of the hardening checks
 * (issue 21, item 4; docs/checks.md "Configuration"): per repository, checks disabled or given
 * another severity; secret results suppressed by the SHA-256 of their value, with a reason, an
 * author and an expiry. One JSON document, validated here, read by the scan function (from
 * BOSUN_IMAGE_CHECKS, set from the construct's `imageChecks` prop) and by the CLI from a file.
 *
 * Applied before any output is written, so a severity change or a disabled check holds in the
 * table, JSON, SARIF, CycloneDX, stored checks, SNS messages and `--fail-on-check` alike.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { BosunError } from '../errors.js';
import { describeIssues } from '../zod-issues.js';
import { CHECK_SEVERITIES, type CheckResult, type CheckSeverity } from './types.js';

/** A checks configuration that does not have the documented shape. */
export class ChecksConfigError extends BosunError {
  readonly fatal = true;
}

/**
 * `team-a/app` (exact), `team-a/*` (a prefix: every repository under `team-a/`) or `*` (all).
 * Repository names are without the registry host, as ImageScannerProps' `repositories` are.
 */
const repositoryPattern = z
  .string()
  .min(1)
  .max(256)
  .regex(/^(\*|[a-z0-9][a-z0-9._\-/]*(\/\*)?)$/, 'a repository name, a prefix like team-a/*, or *');

/** A check id as IMAGE_CHECKS and the task-definition checks name them. */
const checkId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_./-]*$/, 'a check id like BOSUN-IMG-001');

/** `sha256:<hex>` as suppressions are written, or the bare lower-case hex results carry. */
const valueHash = z
  .string()
  .regex(/^(sha256:)?[a-f0-9]{64}$/, 'sha256:<64 lower-case hex digits>')
  .transform((h) => h.replace(/^sha256:/, ''));

const rule = z
  .object({
    repositories: z.array(repositoryPattern).min(1).max(500),
    disable: z.array(checkId).max(200).optional(),
    severity: z.record(checkId, z.enum(CHECK_SEVERITIES)).optional(),
  })
  .strict();

const suppression = z
  .object({
    valueHash,
    reason: z.string().min(1).max(1_000),
    author: z.string().min(1).max(256),
    /** ISO 8601; after it the suppression no longer applies and the check is open again. */
    expiresAt: z.iso.datetime({ offset: true }),
    /** Where it applies; every repository when absent. */
    repositories: z.array(repositoryPattern).min(1).max(500).optional(),
  })
  .strict();

export const checksConfigSchema = z
  .object({
    rules: z.array(rule).max(500).default([]),
    suppressions: z.array(suppression).max(5_000).default([]),
  })
  .strict();

export type ChecksConfig = z.output<typeof checksConfigSchema>;
/** The configuration as written (a construct prop, a file): `rules` and `suppressions` optional. */
export type ChecksConfigInput = z.input<typeof checksConfigSchema>;
export type ChecksRule = ChecksConfig['rules'][number];
export type SecretSuppression = ChecksConfig['suppressions'][number];

export const EMPTY_CHECKS_CONFIG: ChecksConfig = { rules: [], suppressions: [] };

/** Parses and validates a configuration; `source` names where it came from in the error. */
export function parseChecksConfig(text: string, source: string): ChecksConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ChecksConfigError(`${source}: not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return validateChecksConfig(json, source);
}

export function validateChecksConfig(value: unknown, source: string): ChecksConfig {
  const parsed = checksConfigSchema.safeParse(value);
  if (!parsed.success)
    throw new ChecksConfigError(
      `${source}: invalid checks configuration: ${describeIssues(parsed.error).join('; ')}`,
    );
  return parsed.data;
}

/**
 * Lambda allows 4 KB for all of a function's environment variables together
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html); the tables,
 * topic, bucket and feature variables take about 1.5 KB of it, so the configuration gets half.
 */
export const MAX_CHECKS_CONFIG_ENV_BYTES = 2_048;

/**
 * The configuration as BOSUN_IMAGE_CHECKS carries it: validated, as compact JSON, within
 * MAX_CHECKS_CONFIG_ENV_BYTES (checked at synth, so a deployment never fails at cold start).
 */
export function checksConfigEnvValue(value: unknown, source: string): string {
  const config = validateChecksConfig(value, source);
  const text = JSON.stringify(config);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CHECKS_CONFIG_ENV_BYTES)
    throw new ChecksConfigError(
      `${source}: the checks configuration is ${bytes} bytes as JSON; at most ${MAX_CHECKS_CONFIG_ENV_BYTES} fit in the scan function's environment (Lambda's 4 KB for all variables): use repository prefixes and fewer suppressions`,
    );
  return text;
}

/**
 * A short, stable version of a configuration: stored with a subject's checks, so a changed
 * configuration is applied again to the stored results without a new pull.
 */
export function checksConfigVersion(config: ChecksConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

export function repositoryMatches(pattern: string, repository: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('/*')) return repository.startsWith(pattern.slice(0, -1));
  return pattern === repository;
}

/** A secret result's suppression, as stored checks carry it. */
export interface AppliedSuppression {
  readonly reason: string;
  readonly author: string;
  readonly expiresAt: string;
}

export interface ConfiguredCheck {
  /** The result with its configured severity. */
  readonly result: CheckResult;
  /** Set when an unexpired suppression names the secret's value hash. */
  readonly suppressed?: AppliedSuppression;
}

const rank = (s: CheckSeverity) => CHECK_SEVERITIES.indexOf(s);

/** What one repository's rules make of a result: undefined when they disable it. */
function forRepository(
  config: ChecksConfig,
  result: CheckResult,
  repository: string | undefined,
): CheckSeverity | undefined {
  let severity = result.severity;
  for (const r of config.rules) {
    // With no repository known (a local archive), only rules for every repository apply.
    if (
      !r.repositories.some((p) =>
        repository === undefined ? p === '*' : repositoryMatches(p, repository),
      )
    )
      continue;
    if (r.disable?.includes(result.id)) return undefined;
    severity = r.severity?.[result.id] ?? severity;
  }
  return severity;
}

function suppressionOf(
  config: ChecksConfig,
  result: CheckResult,
  repositories: readonly (string | undefined)[],
  now: Date,
): AppliedSuppression | undefined {
  const hash = result.secret?.valueHash;
  if (hash === undefined) return undefined;
  const s = config.suppressions.find(
    (s) =>
      s.valueHash === hash &&
      Date.parse(s.expiresAt) > now.getTime() &&
      // A digest pushed to several repositories is suppressed only where every one allows it.
      repositories.every(
        (repo) =>
          s.repositories === undefined ||
          s.repositories.some((p) => (repo === undefined ? p === '*' : repositoryMatches(p, repo))),
      ),
  );
  return s === undefined
    ? undefined
    : { reason: s.reason, author: s.author, expiresAt: new Date(s.expiresAt).toISOString() };
}

/**
 * The results as configured for an image known under `repositories` (names without the
 * registry host; none for a local archive). A digest pushed to several repositories is the
 * same image: a check is left out only when every repository's rules disable it, and takes the
 * highest severity any repository gives it, so no repository sees less than its rules ask for.
 */
export function applyChecksConfig(
  config: ChecksConfig,
  results: readonly CheckResult[],
  repositories: readonly string[],
  now: Date,
): ConfiguredCheck[] {
  const repos: (string | undefined)[] = repositories.length === 0 ? [undefined] : [...repositories];
  const out: ConfiguredCheck[] = [];
  for (const result of results) {
    const severities = repos.flatMap((r) => forRepository(config, result, r) ?? []);
    if (severities.length === 0) continue;
    const severity = severities.reduce((a, b) => (rank(b) < rank(a) ? b : a));
    const suppressed = suppressionOf(config, result, repos, now);
    out.push({
      result: severity === result.severity ? result : { ...result, severity },
      ...(suppressed === undefined ? {} : { suppressed }),
    });
  }
  return out;
}
