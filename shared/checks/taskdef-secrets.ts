/**
 * The secret rules the task-definition checks apply to a container's `environment`. A minimal
 * set, written while the image checks' rules (issue 21, item 1) did not exist yet: the value
 * patterns are those of Trivy's built-in secret rules
 * (https://github.com/aquasecurity/trivy/blob/main/pkg/fanal/secret/builtin-rules.go) and
 * gitleaks' (https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml), the name
 * pattern that of AWS Config's `ecs-no-environment-secrets` (a variable whose name says it holds
 * a credential). A match gives the rule and a hash of the value, never the value.
 */
import { createHash } from 'node:crypto';

export interface EnvironmentSecretRule {
  /** Stable, in the anchors' style (`aws-access-key-id`). */
  readonly id: string;
  /** What the rule recognizes, for titles (never the value). */
  readonly description: string;
  readonly matches: (name: string, value: string) => boolean;
}

/** `AWS_SECRET_ACCESS_KEY`, `aws_secret_key`, `AWS_SECRET`…: Trivy's key context for secret keys. */
const AWS_SECRET_NAME = /aws_?(?:secret|sec)(?:_?access)?_?key|aws_?secret/i;

/**
 * Names that say the value is a credential: `*_KEY`, `*_SECRET`, `*_TOKEN`, `PASSWORD`,
 * `*_PASSWD`, `*_CREDENTIALS`, `*_API_KEY`. Names that only point at a credential
 * (`*_KEY_ID`, `*_SECRET_ARN`, `*_PASSWORD_FILE`) end in something else and do not match.
 */
const SECRET_NAME =
  /(?:^|_)(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|KEY|APIKEY|CREDENTIALS?|PRIVATE_?KEY)$/i;

/** Value rules first (most specific), the name rule last; the first match names the finding. */
export const ENVIRONMENT_SECRET_RULES: readonly EnvironmentSecretRule[] = [
  {
    // Trivy `aws-access-key-id`, gitleaks `aws-access-token`.
    id: 'aws-access-key-id',
    description: 'an AWS access key ID',
    matches: (_n, v) =>
      /(?:^|[^A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])/.test(v),
  },
  {
    // Trivy `aws-secret-access-key`: 40 base64 characters under a name that says so.
    id: 'aws-secret-access-key',
    description: 'an AWS secret access key',
    matches: (n, v) => AWS_SECRET_NAME.test(n) && /^[A-Za-z0-9/+=]{40}$/.test(v.trim()),
  },
  {
    // Trivy `github-pat`, `github-oauth`, `github-app-token`, `github-refresh-token`, `github-fine-grained-pat`.
    id: 'github-token',
    description: 'a GitHub token',
    matches: (_n, v) => /gh[pousr]_[0-9a-zA-Z]{36}|github_pat_[0-9a-zA-Z_]{82}/.test(v),
  },
  {
    // Trivy `gitlab-pat`.
    id: 'gitlab-token',
    description: 'a GitLab token',
    matches: (_n, v) => /glpat-[0-9a-zA-Z_-]{20}/.test(v),
  },
  {
    // Trivy `slack-access-token`.
    id: 'slack-token',
    description: 'a Slack token',
    matches: (_n, v) => /xox[baprs]-[0-9a-zA-Z]{10,48}/.test(v),
  },
  {
    // Trivy `private-key`.
    id: 'private-key',
    description: 'a private key',
    matches: (_n, v) => /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/.test(v),
  },
  {
    id: 'secret-name',
    description: 'a variable named as a credential',
    matches: (n) => SECRET_NAME.test(n),
  },
];

export interface EnvironmentSecretMatch {
  readonly rule: EnvironmentSecretRule;
  /** `sha256:<hex>` of the value: enough to suppress or compare it, never the value. */
  readonly valueHash: string;
}

/** The first rule a variable matches, or undefined; an empty value is no secret. */
export function matchEnvironmentSecret(
  name: string,
  value: string | undefined,
): EnvironmentSecretMatch | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const rule = ENVIRONMENT_SECRET_RULES.find((r) => r.matches(name, value));
  return rule === undefined ? undefined : { rule, valueHash: hashSecretValue(value) };
}

export const hashSecretValue = (value: string): string =>
  `sha256:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
