/**
 * Secret rules over text: what a match is, and the SHA-256 of its value, which is all a finding
 * keeps. Patterns follow Trivy's built-in secret rules (pkg/fanal/secret/builtin-rules.go, ids
 * kept where they exist) and gitleaks' generic rule with its entropy floor (config/gitleaks.toml,
 * `generic-api-key`, entropy 3.5); credential files are read by their own format.
 */
import { createHash } from 'node:crypto';
import type { CheckSeverity } from './types.js';

export interface SecretHit {
  readonly rule: string;
  readonly valueHash: string;
  /** 1-based line in the text, where the text has lines. */
  readonly line?: number;
}

export interface SecretRule {
  readonly id: string;
  readonly title: string;
  readonly severity: CheckSeverity;
  /** Any of these must occur in the text before the pattern runs (Trivy's `keywords`). */
  readonly keywords: readonly string[];
  /** Global; the secret is the `secret` group. */
  readonly pattern: RegExp;
  /** A further test on the value: the generic rule's entropy and placeholders. */
  readonly accept?: (value: string) => boolean;
}

export const sha256Hex = (value: string): string =>
  createHash('sha256').update(value, 'utf8').digest('hex');

/** Shannon entropy in bits per character (gitleaks' `entropy`). */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Values that name a secret rather than hold one: `${DB_PASSWORD}`, `<token>`, `changeme`. */
const PLACEHOLDER =
  /^(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^>]*>|\{\{.*\}\}|%\(?[A-Za-z_]+\)?s?|\*+|x+|changeme|password|secret|token|example|null|none|true|false|undefined)$/i;

export const notPlaceholder = (value: string): boolean => !PLACEHOLDER.test(value);

/** gitleaks' floor for its generic rule: below 3.5 bits a character it is words, not a key. */
const GENERIC_MIN_ENTROPY = 3.5;

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'aws-access-key-id',
    title: 'AWS access key ID',
    severity: 'CRITICAL',
    keywords: ['AKIA', 'ASIA', 'AGPA', 'AIDA', 'AROA', 'AIPA', 'ANPA', 'ANVA', 'A3T'],
    pattern:
      /(?:^|[^0-9A-Za-z])(?<secret>(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])/g,
  },
  {
    id: 'aws-secret-access-key',
    title: 'AWS secret access key',
    severity: 'CRITICAL',
    keywords: ['key', 'KEY', 'Key'],
    pattern:
      /["']?aws_?(?:sec(?:ret)?)?_?(?:access)?_?key["']?\s*(?::|=>|=)?\s*["']?(?<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
  },
  {
    id: 'github-pat',
    title: 'GitHub token',
    severity: 'CRITICAL',
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    pattern:
      /(?<secret>gh[pousr]_[0-9A-Za-z]{36,76}|github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59})(?![0-9A-Za-z])/g,
  },
  {
    id: 'gitlab-pat',
    title: 'GitLab personal access token',
    severity: 'CRITICAL',
    keywords: ['glpat-'],
    pattern: /(?<secret>glpat-[0-9A-Za-z_-]{20,})/g,
  },
  {
    id: 'slack-access-token',
    title: 'Slack token',
    severity: 'HIGH',
    keywords: ['xoxb-', 'xoxa-', 'xoxp-', 'xoxr-', 'xoxs-'],
    pattern: /(?<secret>xox[baprs]-[0-9A-Za-z][0-9A-Za-z-]{9,})/g,
  },
  {
    id: 'slack-web-hook',
    title: 'Slack webhook URL',
    severity: 'MEDIUM',
    keywords: ['hooks.slack.com'],
    pattern: /(?<secret>https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9+/]{44,48})/g,
  },
  {
    // The key's body, so the same key in PEM files with other line ends hashes the same.
    id: 'private-key',
    title: 'Private key',
    severity: 'HIGH',
    keywords: ['PRIVATE KEY'],
    pattern:
      /-----BEGIN[ A-Z0-9_-]*PRIVATE KEY(?: BLOCK)?-----\s*(?<secret>[A-Za-z0-9=+/\\\s:,-]{32,}?)\s*-----END[ A-Z0-9_-]*PRIVATE KEY(?: BLOCK)?-----/g,
  },
  {
    id: 'generic-password',
    title: 'Password or token assignment',
    severity: 'HIGH',
    keywords: [
      'pass',
      'PASS',
      'Pass',
      'pwd',
      'PWD',
      'token',
      'TOKEN',
      'Token',
      'secret',
      'SECRET',
      'Secret',
      'api_key',
      'API_KEY',
      'apikey',
      'APIKEY',
    ],
    pattern:
      /(?:^|[^A-Za-z0-9])(?:[A-Za-z0-9_.-]*?)(?:passw(?:or)?d|passwd|pwd|token|secret|api[_-]?key)["']?\s*(?::=|=>|=|:)\s*["']?(?<secret>[^\s"'`;,]{8,})/gi,
    accept: (v) => notPlaceholder(v) && entropy(v) >= GENERIC_MIN_ENTROPY,
  },
];

/** The body of a private key with whitespace removed, so line ends do not change its hash. */
const normalized = (rule: string, value: string) =>
  rule === 'private-key' ? value.replace(/\s+/g, '') : value;

/**
 * Every rule's matches in `text`, once per rule and value hash and line. The line of a match is
 * counted only for the matches found.
 */
export function scanText(text: string, rules: readonly SecretRule[] = SECRET_RULES): SecretHit[] {
  const hits: SecretHit[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (!rule.keywords.some((k) => text.includes(k))) continue;
    rule.pattern.lastIndex = 0;
    for (const m of text.matchAll(rule.pattern)) {
      const value = m.groups?.secret;
      if (value === undefined || (rule.accept !== undefined && !rule.accept(value))) continue;
      const valueHash = sha256Hex(normalized(rule.id, value));
      const at = (m.index ?? 0) + m[0].indexOf(value);
      const line = lineAt(text, at);
      const key = `${rule.id}\u0000${valueHash}\u0000${line}`;
      if (seen.has(key)) continue;
      seen.add(key);
      hits.push({ rule: rule.id, valueHash, line });
    }
  }
  return hits;
}

function lineAt(text: string, at: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Keys of `.env` files and `KEY=value` environment entries that name a credential. */
const SECRET_NAME =
  /(passw(or)?d|passwd|pwd|secret|token|api[_-]?key|credential|auth|private[_-]?key)/i;

/**
 * `NAME=value` (an `Env` entry or a `.env` line): a credential-named variable with a value that is
 * not a placeholder. Dockle's CIS-DI-0010 flags such names whatever the value; a placeholder or
 * an empty value holds nothing to leak.
 */
export function secretAssignment(name: string, value: string): boolean {
  const v = value.trim().replace(/^["']|["']$/g, '');
  return SECRET_NAME.test(name) && v.length >= 4 && notPlaceholder(v) && !v.startsWith('/');
}

/** `id_rsa` and its kind, without `.pub`. */
const SSH_KEY_FILE = /(^|\/)id_(rsa|dsa|ecdsa|ed25519|ecdsa_sk|ed25519_sk)$/;

/** The credential files read by their own format, by path. */
export function credentialFileKind(path: string): string | undefined {
  if (/(^|\/)\.aws\/credentials$/.test(path)) return 'aws-credentials-file';
  if (/(^|\/)\.docker\/config\.json$/.test(path)) return 'docker-config-auth';
  if (SSH_KEY_FILE.test(path)) return 'ssh-private-key-file';
  if (
    /(^|\/)\.env(\.[A-Za-z0-9_-]+)?$/.test(path) &&
    !/\.(example|sample|template|dist)$/.test(path)
  )
    return 'dotenv-secret';
  if (/(^|\/)\.npmrc$/.test(path)) return 'npmrc-auth';
  if (/(^|\/)\.pypirc$/.test(path)) return 'pypirc-password';
  if (/(^|\/)\.git-credentials$/.test(path)) return 'git-credentials';
  return undefined;
}

const lines = (text: string) => text.split(/\r?\n/);

/** `key = value` lines (INI, .npmrc, .env): the hits of those `wanted` names and values. */
function assignments(
  text: string,
  rule: string,
  wanted: (key: string, value: string) => boolean,
): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const [i, raw] of lines(text).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // `key = value`, else `key: value` (a `.npmrc` key holds colons: `//host/:_authToken=…`).
    const m =
      /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line) ??
      /^(?:export\s+)?([^:\s]+)\s*:\s*(.*)$/.exec(line);
    if (m === null) continue;
    const key = m[1] as string;
    const value = (m[2] as string).trim().replace(/^["']|["']$/g, '');
    if (value !== '' && wanted(key, value))
      hits.push({ rule, valueHash: sha256Hex(value), line: i + 1 });
  }
  return hits;
}

/** What a credential file holds, read by its format; [] when it holds no credential. */
export function scanCredentialFile(kind: string, text: string): SecretHit[] {
  switch (kind) {
    case 'aws-credentials-file':
      return assignments(text, kind, (k) => /^aws_(secret_access_key|session_token)$/i.test(k));
    case 'docker-config-auth':
      return dockerConfigAuths(text);
    case 'ssh-private-key-file':
      // A PEM or OpenSSH key is the private-key rule's (its body hashed); a key in another
      // format (PuTTY, a broken one) is still a key file.
      return text.trim() === '' || /PRIVATE KEY-----/.test(text)
        ? []
        : [{ rule: kind, valueHash: sha256Hex(text.trim()) }];
    case 'dotenv-secret':
      return assignments(text, kind, secretAssignment);
    case 'npmrc-auth':
      // `//registry/:_authToken=…`, `_auth=…`, `_password=…` (npm's .npmrc auth settings).
      return assignments(
        text,
        kind,
        (k, v) => /(^|:)_(authToken|auth|password)$/.test(k) && notPlaceholder(v),
      );
    case 'pypirc-password':
      return assignments(text, kind, (k, v) => /^password$/i.test(k) && notPlaceholder(v));
    case 'git-credentials':
      return lines(text).flatMap((l, i) => {
        const m = /^[a-z]+:\/\/[^:/@\s]+:(?<secret>[^@\s]+)@/.exec(l.trim());
        const value = m?.groups?.secret;
        return value === undefined
          ? []
          : [{ rule: kind, valueHash: sha256Hex(value), line: i + 1 }];
      });
    default:
      return [];
  }
}

/**
 * `.docker/config.json`'s `auths`: an entry with `auth` (base64 of user:password) or an
 * `identitytoken` is a stored credential; `credsStore`/`credHelpers` point elsewhere and are not.
 * https://github.com/docker/cli/blob/master/cli/config/configfile/file.go
 */
function dockerConfigAuths(text: string): SecretHit[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const auths = (parsed as { auths?: unknown } | null)?.auths;
  if (typeof auths !== 'object' || auths === null) return [];
  const hits: SecretHit[] = [];
  for (const entry of Object.values(auths as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) continue;
    for (const field of ['auth', 'identitytoken', 'password', 'registrytoken']) {
      const value = (entry as Record<string, unknown>)[field];
      if (typeof value === 'string' && value !== '')
        hits.push({ rule: 'docker-config-auth', valueHash: sha256Hex(value) });
    }
  }
  return hits;
}

/**
 * A GCP service-account key file: JSON with `"type": "service_account"` and its `private_key`
 * (Trivy's `gcp-service-account` matches the type alone; the key is what must not leak).
 */
export function scanServiceAccountKey(text: string): SecretHit[] {
  if (!text.includes('service_account')) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const key = parsed as { type?: unknown; private_key?: unknown } | null;
  return key?.type === 'service_account' && typeof key.private_key === 'string'
    ? [{ rule: 'gcp-service-account', valueHash: sha256Hex(key.private_key) }]
    : [];
}

/** Every hit in one file: its format's, then the text rules', once per value. */
export function scanFile(path: string, text: string): SecretHit[] {
  const kind = credentialFileKind(path);
  const account = path.endsWith('.json') ? scanServiceAccountKey(text) : [];
  // A service-account key's private key is JSON-escaped in it: reported once, as the account's.
  const rules =
    account.length === 0 ? SECRET_RULES : SECRET_RULES.filter((r) => r.id !== 'private-key');
  const hits = [
    ...(kind === undefined ? [] : scanCredentialFile(kind, text)),
    ...account,
    ...scanText(text, rules),
  ];
  const seen = new Set<string>();
  return hits.filter((h) => {
    if (seen.has(h.valueHash)) return false;
    seen.add(h.valueHash);
    return true;
  });
}

/** Titles and severities of the file-format rules (the text rules carry their own). */
export const FILE_RULES: Readonly<Record<string, { title: string; severity: CheckSeverity }>> = {
  'aws-credentials-file': { title: 'AWS credentials file', severity: 'CRITICAL' },
  'docker-config-auth': { title: 'Registry credentials in .docker/config.json', severity: 'HIGH' },
  'ssh-private-key-file': { title: 'SSH private key file', severity: 'HIGH' },
  'dotenv-secret': { title: 'Credential in a .env file', severity: 'HIGH' },
  'npmrc-auth': { title: 'npm registry token in .npmrc', severity: 'HIGH' },
  'pypirc-password': { title: 'PyPI password in .pypirc', severity: 'HIGH' },
  'git-credentials': { title: 'Password in .git-credentials', severity: 'HIGH' },
  'gcp-service-account': { title: 'GCP service-account key', severity: 'CRITICAL' },
};

export function ruleInfo(rule: string): { title: string; severity: CheckSeverity } {
  const text = SECRET_RULES.find((r) => r.id === rule);
  return text ?? FILE_RULES[rule] ?? { title: rule, severity: 'HIGH' };
}
