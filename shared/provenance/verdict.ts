/**
 * The verdict on one image digest: from the rule that applies to its repository and the outcome
 * of checking each discovered signature or attestation against each of the rule's authorities,
 * whether the image is VERIFIED, and if not, why. Pure: verify-image.ts does the verifying.
 *
 * Precedence, first that holds:
 * 1. VERIFIED: every requirement of the rule is met (signatures and attestations);
 * 2. POLICY_FAILED: something verified against an authority of the rule, but not enough of it
 *    (a threshold, an `allOf`, a missing or unmet attestation);
 * 3. UNSIGNED: nothing was found to verify;
 * 4. INVALID: something was found and is broken (signature, digest, log entry, expiry, ...);
 * 5. UNTRUSTED: what was found verifies with no authority of the rule.
 */
import { checkAttestation } from './attestation.js';
import type { PolicyMode, PolicyRule, ProvenancePolicy, Requirement } from './policy.js';
import {
  type ProvenanceFailure,
  ProvenanceVerificationError,
  type VerifiedSignature,
} from './types.js';

export type VerdictStatus = 'VERIFIED' | 'UNSIGNED' | 'INVALID' | 'UNTRUSTED' | 'POLICY_FAILED';

/** One signature (a layer of an artifact) checked against one authority of the rule. */
export interface SignatureOutcome {
  /** Which signature: `<artifact manifest digest>#<layer index>`. */
  readonly source: string;
  /** The authority it was checked against; `(none)` when no authority of the rule could. */
  readonly authority: string;
  readonly result: VerifiedSignature | ProvenanceVerificationError;
}

/** A signature that counted toward a requirement. */
export interface SatisfiedBy {
  readonly source: string;
  readonly authority: string;
  readonly trustRoot: string;
}

export interface RequirementResult {
  /** The requirement, as text: `alice`, `threshold 2 of [alice, bob]`, `attestation <type>`. */
  readonly requirement: string;
  readonly met: boolean;
  readonly satisfiedBy: readonly SatisfiedBy[];
  readonly reason?: string;
}

export interface Verdict {
  readonly subjectDigest: string;
  readonly repository: string;
  readonly status: VerdictStatus;
  /** `audit`: the same verdict, reported but not enforced. */
  readonly mode: PolicyMode;
  readonly rule: string;
  readonly policyVersion: string;
  /** Why the verdict is what it is, most telling first; empty when VERIFIED. */
  readonly reasons: readonly string[];
  readonly requirements: readonly RequirementResult[];
  /**
   * Signatures or attestations that were listed for the image but could not be read (discovery's
   * problems): present only when there were some, and then named in `reasons`, so that an image
   * whose signature could not be fetched never reads as merely unsigned.
   */
  readonly unread?: readonly UnreadArtifact[];
  /** Every outcome that did not verify, with its failure. */
  readonly failures: readonly {
    readonly source: string;
    readonly authority: string;
    readonly failure: ProvenanceFailure;
    readonly message: string;
  }[];
}

/** A signature or attestation found but not read (a discovery problem). */
export interface UnreadArtifact {
  readonly where: string;
  readonly message: string;
}

/** Failures that say the signature itself is broken, whoever is trusted. */
const INVALID_FAILURES: ReadonlySet<ProvenanceFailure> = new Set([
  'MALFORMED',
  'INVALID_SIGNATURE',
  'DIGEST_MISMATCH',
  'EXPIRED',
  'REVOKED',
  'TRANSPARENCY_LOG',
]);

export function decideVerdict(input: {
  readonly subjectDigest: string;
  readonly repository: string;
  readonly policy: ProvenancePolicy;
  readonly rule: PolicyRule;
  readonly outcomes: readonly SignatureOutcome[];
  readonly unread?: readonly UnreadArtifact[];
  readonly now?: Date;
}): Verdict {
  const { rule, outcomes, subjectDigest } = input;
  const verified = outcomes.filter(
    (o): o is SignatureOutcome & { result: VerifiedSignature } =>
      !(o.result instanceof ProvenanceVerificationError),
  );
  // Image signatures count for `signatures`; attestations (a statement) only for attestations.
  const signatures = verified.filter((o) => o.result.statement === undefined);
  const requirements: RequirementResult[] = [];
  if (rule.signatures !== undefined) requirements.push(evaluate(rule.signatures, signatures));
  for (const a of rule.attestations) {
    const candidates = verified.filter(
      (o) =>
        o.result.statement?.predicateType === a.predicateType &&
        a.authorities.includes(o.authority),
    );
    const text = `attestation ${a.predicateType} by ${list(a.authorities)}`;
    const problems: string[] = [];
    const passing = candidates.filter((o) => {
      try {
        checkAttestation(o.result, subjectDigest, a.conditions ?? {}, input.now);
        return true;
      } catch (error) {
        if (!(error instanceof ProvenanceVerificationError)) throw error;
        problems.push(`${o.source} (${o.authority}): ${error.message}`);
        return false;
      }
    });
    requirements.push({
      requirement: text,
      met: passing.length > 0,
      satisfiedBy: passing.map(satisfiedBy),
      ...(passing.length > 0
        ? {}
        : {
            reason:
              candidates.length === 0
                ? `no verified ${a.predicateType} attestation by ${list(a.authorities)}`
                : `no ${a.predicateType} attestation meets the conditions: ${problems.join('; ')}`,
          }),
    });
  }

  const failures = outcomes.flatMap((o) =>
    o.result instanceof ProvenanceVerificationError
      ? [
          {
            source: o.source,
            authority: o.authority,
            failure: o.result.failure,
            message: o.result.message,
          },
        ]
      : [],
  );
  const unmet = requirements.filter((r) => !r.met).map((r) => r.reason ?? r.requirement);
  const status: VerdictStatus =
    unmet.length === 0
      ? 'VERIFIED'
      : verified.length > 0
        ? 'POLICY_FAILED'
        : outcomes.length === 0
          ? 'UNSIGNED'
          : failures.some((f) => INVALID_FAILURES.has(f.failure))
            ? 'INVALID'
            : 'UNTRUSTED';
  const unread = input.unread ?? [];
  const unreadReasons = unread.map((u) => `not read: ${u.where}: ${u.message}`);
  const reasons =
    status === 'VERIFIED'
      ? []
      : status === 'UNSIGNED'
        ? [
            unread.length === 0
              ? `no signature or attestation found for ${subjectDigest}`
              : `no signature or attestation of ${subjectDigest} could be read (${unread.length} found but not read)`,
            ...unreadReasons,
            ...unmet,
          ]
        : status === 'POLICY_FAILED'
          ? unmet
          : [
              ...failures
                .filter((f) => (status === 'INVALID') === INVALID_FAILURES.has(f.failure))
                .map((f) => `${f.source} (${f.authority}): ${f.message}`),
              ...unmet,
            ];
  return {
    subjectDigest,
    repository: input.repository,
    status,
    mode: rule.mode,
    rule: rule.name,
    policyVersion: input.policy.version,
    reasons:
      status === 'UNSIGNED' || status === 'VERIFIED' ? reasons : [...reasons, ...unreadReasons],
    requirements,
    ...(unread.length === 0 ? {} : { unread }),
    failures,
  };
}

type Verified = SignatureOutcome & { result: VerifiedSignature };

/**
 * Who a threshold counts a signature for: its trust root, and under a certificate authority
 * (Fulcio, a Notation CA) the identity the certificate was issued to. The same key signing
 * twice, two authority names for one key, or one identity's two certificates count once; two
 * people certified by one Fulcio (keyless `alice@` and `bob@`) count twice, since neither can
 * sign as the other (with the root alone, a threshold of two keyless signers could never be
 * met).
 */
export function signerOf(result: VerifiedSignature): string {
  const s = result.signer;
  if (s.kind === 'key') return result.trustRoot;
  const names = [...s.sans].sort().join(',');
  return `${result.trustRoot}|${s.oidcIssuer ?? ''}|${names === '' ? s.subject : names}`;
}

/**
 * A signature requirement against the verified image signatures. A threshold counts distinct
 * signers (signerOf) among the named authorities' signatures.
 */
export function evaluate(r: Requirement, signatures: readonly Verified[]): RequirementResult {
  if (typeof r === 'string') {
    const by = signatures.filter((o) => o.authority === r);
    return {
      requirement: r,
      met: by.length > 0,
      satisfiedBy: by.map(satisfiedBy),
      ...(by.length > 0 ? {} : { reason: `no signature verifies with ${r}` }),
    };
  }
  if ('threshold' in r) {
    const by = signatures.filter((o) => r.of.includes(o.authority));
    const roots = new Set(by.map((o) => signerOf(o.result)));
    const met = roots.size >= r.threshold;
    const text = `threshold ${r.threshold} of ${list(r.of)}`;
    return {
      requirement: text,
      met,
      satisfiedBy: by.map(satisfiedBy),
      ...(met
        ? {}
        : {
            reason: `${text}: signatures from ${roots.size} distinct signer${roots.size === 1 ? '' : 's'} (${by.length} signature${by.length === 1 ? '' : 's'})`,
          }),
    };
  }
  const all = 'allOf' in r;
  const parts = (all ? r.allOf : r.anyOf).map((c) => evaluate(c, signatures));
  const text = `${all ? 'allOf' : 'anyOf'} [${parts.map((p) => p.requirement).join(', ')}]`;
  const met = all ? parts.every((p) => p.met) : parts.some((p) => p.met);
  const unmet = parts.filter((p) => !p.met).map((p) => p.reason ?? p.requirement);
  return {
    requirement: text,
    met,
    satisfiedBy: parts.filter((p) => p.met).flatMap((p) => p.satisfiedBy),
    ...(met ? {} : { reason: `${text}: ${unmet.join('; ')}` }),
  };
}

function satisfiedBy(o: Verified): SatisfiedBy {
  return { source: o.source, authority: o.authority, trustRoot: o.result.trustRoot };
}

function list(names: readonly string[]): string {
  return `[${names.join(', ')}]`;
}
