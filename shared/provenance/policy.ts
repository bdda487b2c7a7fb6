/**
 * Provenance policy: which signatures and attestations an image must carry, by repository.
 * A YAML document (docs/provenance-policy.md, JSON Schema docs/provenance-policy.schema.json):
 * named authorities (cosign keys, keyless identities, Notation trust stores), then ordered
 * rules from repository globs to requirements (`anyOf` / `allOf` / `threshold` of authorities,
 * required attestations with conditions), a `default` rule for every other repository, and a
 * `mode` (`enforce` or `audit`).
 *
 * Thresholds count distinct signers, never signatures (verdict.ts signerOf): one key that
 * signs twice is one signer (Connaisseur's CVE-2026-102884 let a single key meet a threshold of
 * two).
 */
import { createPublicKey } from 'node:crypto';
import * as z from 'zod';
import { parseYaml } from '../advisories/yaml.js';
import { BosunError } from '../errors.js';
import { describeIssues } from '../zod-issues.js';
import type { AttestationConditions } from './attestation.js';
import { sha256Hex } from './crypto.js';
import { FULCIO_EXTENSION_NAMES, type KeylessIdentityPolicy } from './identity.js';

export const POLICY_API_VERSION = 'provenance.bosun.dev/v1';

/** A policy that cannot be read: Bosun refuses to verify with it rather than guess. */
export class ProvenancePolicyError extends BosunError {
  readonly fatal = true;
}

export type PolicyMode = 'enforce' | 'audit';

export type Authority =
  /** A cosign public key (PEM SPKI); `trustedRoot` names Sigstore trust material for logs. */
  | { readonly key: string; readonly trustedRoot?: string }
  /** Fulcio-certified signers, anchored on a named Sigstore trusted root. */
  | {
      readonly keyless: {
        readonly trustedRoot: string;
        readonly identities: readonly KeylessIdentityPolicy[];
      };
    }
  /** Notary Project signers: a Notation trust policy statement without its registry scopes. */
  | {
      readonly notation: {
        readonly trustStores: readonly string[];
        readonly trustedIdentities: readonly string[];
        readonly level?: 'strict' | 'permissive' | 'audit';
      };
    };

/** Signatures an image must carry: an authority's name, or a combination. */
export type Requirement =
  | string
  | { readonly anyOf: readonly Requirement[] }
  | { readonly allOf: readonly Requirement[] }
  /** Signatures from at least `threshold` distinct signers among the named authorities. */
  | { readonly threshold: number; readonly of: readonly string[] };

export interface AttestationRequirement {
  readonly predicateType: string;
  /** Any of these may have signed it. */
  readonly authorities: readonly string[];
  readonly conditions?: Omit<AttestationConditions, 'predicateTypes'>;
}

export interface PolicyRule {
  /** Rules are named `rules[<i>]` unless given a name; the default rule is `default`. */
  readonly name: string;
  /** Repository globs, e.g. `registry.example.com/team/**` (empty for the default rule). */
  readonly repositories: readonly string[];
  readonly mode: PolicyMode;
  readonly signatures?: Requirement;
  readonly attestations: readonly AttestationRequirement[];
}

export interface ProvenancePolicy {
  /** `sha256:<hex>` of the policy's canonical JSON: what a cached verdict was decided under. */
  readonly version: string;
  readonly mode: PolicyMode;
  readonly authorities: Readonly<Record<string, Authority>>;
  readonly rules: readonly PolicyRule[];
  readonly default: PolicyRule;
}

// --- Schema ------------------------------------------------------------------------------------

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a name of letters, digits, . _ -');

const stringMatch = z.union([
  z.string().min(1),
  z
    .object({ regex: z.string().min(1) })
    .strict()
    .refine((m) => compiles(m.regex), { message: 'not a valid regular expression' }),
]);

const keylessIdentity = z
  .object({
    issuer: stringMatch,
    subject: stringMatch,
    extensions: z
      .partialRecord(z.enum(FULCIO_EXTENSION_NAMES as [string, ...string[]]), stringMatch)
      .optional(),
  })
  .strict();

// One object with exactly one of key, keyless or notation (rather than a union), so that an
// error inside one names its field instead of "no variant matched".
const authority = z
  .object({
    key: z.string().refine(isPublicKeyPem, { message: 'not a PEM public key' }).optional(),
    trustedRoot: name.optional(),
    keyless: z
      .object({ trustedRoot: name, identities: z.array(keylessIdentity).min(1) })
      .strict()
      .optional(),
    notation: z
      .object({
        trustStores: z.array(z.string().regex(/^(ca|signingAuthority):[A-Za-z0-9_.-]+$/)).min(1),
        trustedIdentities: z.array(z.string().min(1)).min(1),
        level: z.enum(['strict', 'permissive', 'audit']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((a) => [a.key, a.keyless, a.notation].filter((v) => v !== undefined).length === 1, {
    message: 'an authority is exactly one of key, keyless or notation',
  })
  .refine((a) => a.trustedRoot === undefined || a.key !== undefined, {
    message: 'trustedRoot beside key only (keyless names its own)',
  });

const requirement: z.ZodType<Requirement> = z.lazy(() =>
  z.union([
    name,
    z.object({ anyOf: z.array(requirement).min(1) }).strict(),
    z.object({ allOf: z.array(requirement).min(1) }).strict(),
    z
      .object({ threshold: z.number().int().min(1), of: z.array(name).min(1) })
      .strict()
      .refine((t) => new Set(t.of).size === t.of.length, {
        message: 'an authority is listed twice',
      })
      .refine((t) => t.threshold <= t.of.length, {
        message: 'threshold is more than the authorities it counts',
      }),
  ]),
);

const conditions = z
  .object({
    builderIds: z.array(z.string().min(1)).min(1).optional(),
    sourceRepositories: z.array(z.string().min(1)).min(1).optional(),
    buildTypes: z.array(z.string().min(1)).min(1).optional(),
    maxAgeSeconds: z.number().int().min(1).optional(),
    maxAgeFrom: z.enum(['signedAt', 'buildFinished']).optional(),
  })
  .strict();

const attestation = z
  .object({
    predicateType: z.string().min(1),
    authorities: z.array(name).min(1),
    conditions: conditions.optional(),
  })
  .strict();

const mode = z.enum(['enforce', 'audit']);

const ruleBody = {
  mode: mode.optional(),
  signatures: requirement.optional(),
  attestations: z.array(attestation).min(1).optional(),
};
const requiresSomething = (r: { signatures?: unknown; attestations?: unknown }) =>
  r.signatures !== undefined || r.attestations !== undefined;
const REQUIRES = { message: 'a rule requires signatures, attestations or both' };

const document = z
  .object({
    apiVersion: z.literal(POLICY_API_VERSION),
    mode: mode.default('enforce'),
    authorities: z.record(name, authority),
    rules: z
      .array(
        z
          .object({
            name: name.optional(),
            repositories: z.array(z.string().regex(/^[^\s@]+$/, 'a repository glob')).min(1),
            ...ruleBody,
          })
          .strict()
          .refine(requiresSomething, REQUIRES),
      )
      .default([]),
    default: z.object(ruleBody).strict().refine(requiresSomething, REQUIRES),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const known = new Set(Object.keys(doc.authorities));
    const check = (names: readonly string[], path: (string | number)[]) => {
      for (const n of names)
        if (!known.has(n))
          ctx.addIssue({ code: 'custom', path, message: `unknown authority ${JSON.stringify(n)}` });
    };
    const rules = [
      ...doc.rules.map((r, i) => ({ r, path: ['rules', i] as (string | number)[] })),
      { r: doc.default, path: ['default'] },
    ];
    for (const { r, path } of rules) {
      if (r.signatures !== undefined)
        check(requirementNames(r.signatures), [...path, 'signatures']);
      r.attestations?.forEach((a, i) => {
        check(a.authorities, [...path, 'attestations', i, 'authorities']);
      });
    }
  });

// --- Parsing -----------------------------------------------------------------------------------

/** Reads a policy from YAML (or JSON, which is YAML); throws ProvenancePolicyError. */
export function parseProvenancePolicy(
  text: string,
  source = 'provenance policy',
): ProvenancePolicy {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new ProvenancePolicyError(`${source}: not YAML: ${(cause as Error).message}`, { cause });
  }
  return toPolicy(raw, source);
}

/** Validates an already parsed policy document. */
export function toPolicy(raw: unknown, source = 'provenance policy'): ProvenancePolicy {
  const parsed = document.safeParse(raw);
  if (!parsed.success)
    throw new ProvenancePolicyError(`${source}: ${describeIssues(parsed.error).join('; ')}`);
  const doc = parsed.data;
  const rule = (
    r: z.infer<typeof document>['default'] & { repositories?: string[]; name?: string },
    ruleName: string,
  ): PolicyRule => ({
    name: r.name ?? ruleName,
    repositories: r.repositories ?? [],
    mode: r.mode ?? doc.mode,
    ...(r.signatures === undefined ? {} : { signatures: r.signatures }),
    attestations: (r.attestations ?? []).map((a) => ({
      predicateType: a.predicateType,
      authorities: a.authorities,
      ...(a.conditions === undefined ? {} : { conditions: a.conditions }),
    })),
  });
  const body = {
    mode: doc.mode,
    authorities: doc.authorities as Record<string, Authority>,
    rules: doc.rules.map((r, i) => rule(r, `rules[${i}]`)),
    default: rule(doc.default, 'default'),
  };
  return { version: `sha256:${sha256Hex(canonicalJson(body))}`, ...body };
}

/** The rule for `repository` (`registry/path`, no tag or digest): the first that matches. */
export function selectRule(policy: ProvenancePolicy, repository: string): PolicyRule {
  return (
    policy.rules.find((r) => r.repositories.some((g) => repositoryMatches(g, repository))) ??
    policy.default
  );
}

/**
 * Repository globs: `*` is any run of characters within one path segment, `**` any run across
 * segments, `?` one character other than `/`; everything else is literal. The glob must match
 * the whole repository name, so `registry.example.com/team/*` does not cover
 * `registry.example.com/team/app/sub` nor `registry.example.com/team-evil/app`.
 */
export function repositoryMatches(glob: string, repository: string): boolean {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      pattern += '.*';
      i++;
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else pattern += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`, 'u').test(repository);
}

/** Every authority name a requirement mentions. */
export function requirementNames(r: Requirement): string[] {
  if (typeof r === 'string') return [r];
  if ('threshold' in r) return [...r.of];
  return ('anyOf' in r ? r.anyOf : r.allOf).flatMap(requirementNames);
}

/** The authorities a rule uses, for signatures or attestations. */
export function ruleAuthorities(rule: PolicyRule): string[] {
  const names = [
    ...(rule.signatures === undefined ? [] : requirementNames(rule.signatures)),
    ...rule.attestations.flatMap((a) => a.authorities),
  ];
  return [...new Set(names)];
}

/** JSON with object keys sorted at every level: equal policies hash equal however written. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function compiles(regex: string): boolean {
  try {
    new RegExp(regex, 'u');
    return true;
  } catch {
    return false;
  }
}

function isPublicKeyPem(pem: string): boolean {
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) return false;
  try {
    createPublicKey(pem);
    return true;
  } catch {
    return false;
  }
}
