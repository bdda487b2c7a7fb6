/**
 * Secrets in a container's `environment`: the image checks' rules (shared/checks/secrets.ts,
 * Trivy's built-in rules and gitleaks' generic one) over `NAME=value`, so the AWS secret-key
 * rule sees the name it needs, then the name rule of AWS Config's `ecs-no-environment-secrets`
 * (https://docs.aws.amazon.com/config/latest/developerguide/ecs-no-environment-secrets.html):
 * a variable whose name says it holds a credential is one, whatever its value. That is why the
 * ECS documentation's `MYSQL_ROOT_PASSWORD=password` is found here though the generic value rule
 * takes "password" for a placeholder: in a task definition the value is what runs. A match gives
 * the rule and the SHA-256 of the value (hex, as the image checks hash it), never the value.
 */
import { ruleInfo, scanText, sha256Hex } from './secrets.js';

/**
 * Names that say the value is a credential: `*_KEY`, `*_SECRET`, `*_TOKEN`, `PASSWORD`,
 * `*_PASSWD`, `*_CREDENTIALS`, `*_API_KEY`. Names that only point at a credential
 * (`*_KEY_ID`, `*_SECRET_ARN`, `*_PASSWORD_FILE`) end in something else and do not match.
 */
const SECRET_NAME =
  /(?:^|_)(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|KEY|APIKEY|CREDENTIALS?|PRIVATE_?KEY)$/i;

/** The name rule's id and title (the value rules' are secrets.ts's). */
export const SECRET_NAME_RULE = { id: 'secret-name', title: 'Variable named as a credential' };

export interface EnvironmentSecretMatch {
  /** The rule's id: a secrets.ts rule, or `secret-name`. */
  readonly rule: string;
  /** What the rule recognizes, for titles (never the value). */
  readonly title: string;
  /** SHA-256 of the value, lower-case hex (a private key's body without whitespace). */
  readonly valueHash: string;
}

/** The first rule a variable matches (value rules first), or undefined; empty is no secret. */
export function matchEnvironmentSecret(
  name: string,
  value: string | undefined,
): EnvironmentSecretMatch | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const [hit] = scanText(`${name}=${value}`);
  if (hit !== undefined)
    return { rule: hit.rule, title: ruleInfo(hit.rule).title, valueHash: hit.valueHash };
  if (!SECRET_NAME.test(name)) return undefined;
  return { rule: SECRET_NAME_RULE.id, title: SECRET_NAME_RULE.title, valueHash: sha256Hex(value) };
}
