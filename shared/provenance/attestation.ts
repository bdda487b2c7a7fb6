/**
 * Conditions on a verified in-toto attestation: that it is about this image, of the required
 * predicate type, and, for SLSA provenance, built by an expected builder from an expected
 * source, with an expected build type, recently enough.
 * Statement: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
 * SLSA provenance v0.2: https://slsa.dev/spec/v0.2/provenance, v1: https://slsa.dev/spec/v1.0/provenance
 * Google Cloud Build still writes v0.1 (`slsaProvenance` instead of `predicate`), read as v0.2.
 */
import {
  type InTotoStatement,
  ProvenanceVerificationError,
  type VerifiedSignature,
} from './types.js';

/**
 * What an attestation must satisfy; every field is optional and all given ones must hold.
 * The shape a YAML policy fills (issue 19), so plain data: strings, lists, numbers.
 */
export interface AttestationConditions {
  /** The statement's predicateType must be one of these. */
  predicateTypes?: readonly string[];
  /**
   * SLSA builder id (v0.2 `builder.id`, v1 `runDetails.builder.id`) must equal one of these;
   * an entry without `@` matches any `@<ref>` of that builder, as slsa-verifier's
   * `--builder-id` does.
   */
  builderIds?: readonly string[];
  /**
   * The source repository (v0.2 `invocation.configSource.uri` or the first material; v1 the
   * repository in `buildDefinition.externalParameters`, else the first resolved dependency)
   * must be one of these, compared without `git+`, `@<ref>` and `#<path>`.
   */
  sourceRepositories?: readonly string[];
  /** SLSA build type (v0.1 `recipe.type`, v0.2 `buildType`, v1 `buildDefinition.buildType`). */
  buildTypes?: readonly string[];
  /** The attestation may be at most this old, counted from `maxAgeFrom`. */
  maxAgeSeconds?: number;
  /** `signedAt` (the log's proof of time, default) or the predicate's build finish time. */
  maxAgeFrom?: 'signedAt' | 'buildFinished';
}

const SLSA_V01 = 'https://slsa.dev/provenance/v0.1';
const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
const SLSA_V1 = ['https://slsa.dev/provenance/v1', 'https://slsa.dev/provenance/v1.0'];

/** Parses a DSSE payload as an in-toto Statement (v0.1 or v1), MALFORMED if it is not one. */
export function parseStatement(payload: Uint8Array | string): InTotoStatement {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (cause) {
    throw new ProvenanceVerificationError('MALFORMED', 'in-toto statement is not JSON', { cause });
  }
  const subject = json?.subject;
  if (
    typeof json?._type !== 'string' ||
    !json._type.startsWith('https://in-toto.io/Statement/') ||
    typeof json.predicateType !== 'string' ||
    !Array.isArray(subject) ||
    !subject.every(
      (s) =>
        typeof s === 'object' &&
        s !== null &&
        typeof s.digest === 'object' &&
        s.digest !== null &&
        !Array.isArray(s.digest) &&
        Object.values(s.digest).every((hex) => typeof hex === 'string'),
    )
  )
    throw new ProvenanceVerificationError(
      'MALFORMED',
      'payload is not an in-toto statement (_type, predicateType, subject[].digest of strings)',
    );
  // GCB v0.1 statements carry the predicate as `slsaProvenance`.
  const predicate = json.predicate ?? json.slsaProvenance;
  return {
    _type: json._type,
    subject: subject as InTotoStatement['subject'],
    predicateType: json.predicateType,
    predicate,
  };
}

/** Throws DIGEST_MISMATCH unless a subject of the statement has digest `<alg>:<hex>`. */
export function assertSubjectDigest(statement: InTotoStatement, digest: string): void {
  const [algorithm, hex] = digest.split(':', 2);
  if (!algorithm || !hex)
    throw new ProvenanceVerificationError('MALFORMED', `digest ${digest} is not <alg>:<hex>`);
  if (!statement.subject.some((s) => s.digest[algorithm]?.toLowerCase() === hex.toLowerCase()))
    throw new ProvenanceVerificationError(
      'DIGEST_MISMATCH',
      `no subject of the statement has digest ${digest}`,
    );
}

/** The SLSA fields conditions look at, read from any supported provenance version. */
export interface SlsaFacts {
  builderId?: string;
  buildType?: string;
  sourceUri?: string;
  buildFinishedOn?: string;
}

/** The value at `keys` under `value` (array indexes as numbers), or undefined. */
function at(value: unknown, ...keys: (string | number)[]): unknown {
  let v = value;
  for (const k of keys) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

export function slsaFacts(statement: InTotoStatement): SlsaFacts {
  const p = statement.predicate;
  const facts: SlsaFacts = {};
  const set = (key: keyof SlsaFacts, ...candidates: unknown[]) => {
    const value = candidates.find((v) => typeof v === 'string' && v !== '');
    if (typeof value === 'string') facts[key] = value;
  };
  if (statement.predicateType === SLSA_V02 || statement.predicateType === SLSA_V01) {
    set('builderId', at(p, 'builder', 'id'));
    set('buildType', at(p, 'buildType'), at(p, 'recipe', 'type'));
    set('sourceUri', at(p, 'invocation', 'configSource', 'uri'), at(p, 'materials', 0, 'uri'));
    set('buildFinishedOn', at(p, 'metadata', 'buildFinishedOn'));
  } else if (SLSA_V1.includes(statement.predicateType)) {
    const ext = at(p, 'buildDefinition', 'externalParameters');
    set('builderId', at(p, 'runDetails', 'builder', 'id'));
    set('buildType', at(p, 'buildDefinition', 'buildType'));
    // The repository's place in externalParameters depends on the build type: GitHub Actions
    // (workflow.repository), container-based (source.uri), Cloud Build
    // (buildConfigSource.repository); the delegator has only resolved dependencies.
    set(
      'sourceUri',
      at(ext, 'workflow', 'repository'),
      at(ext, 'source', 'uri'),
      at(ext, 'source'),
      at(ext, 'buildConfigSource', 'repository'),
      at(p, 'buildDefinition', 'resolvedDependencies', 0, 'uri'),
    );
    set('buildFinishedOn', at(p, 'runDetails', 'metadata', 'finishedOn'));
  }
  return facts;
}

/** `git+https://github.com/o/r@refs/tags/v1` and `https://github.com/o/r` compare equal. */
export function normalizeSourceUri(uri: string): string {
  return (
    uri
      .replace(/^git\+/, '')
      .replace(/[#].*$/, '')
      // `@<ref>` after the path; a `user@` before the host stays.
      .replace(/^([a-z+]+:\/\/[^/]+\/[^@]*)@.*$/, '$1')
      .replace(/\.git$/, '')
      .replace(/\/$/, '')
  );
}

function builderMatches(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  return !expected.includes('@') && actual.split('@')[0] === expected;
}

/**
 * Checks an attestation that verified (its `statement` set) against the image digest and the
 * conditions; throws ProvenanceVerificationError naming the first condition that fails.
 */
export function checkAttestation(
  signature: VerifiedSignature,
  imageDigest: string,
  conditions: AttestationConditions,
  now: Date = new Date(),
): void {
  const statement = signature.statement;
  if (!statement)
    throw new ProvenanceVerificationError('MALFORMED', `${signature.format} carries no statement`);
  assertSubjectDigest(statement, imageDigest);
  const c = conditions;
  if (c.predicateTypes && !c.predicateTypes.includes(statement.predicateType))
    throw new ProvenanceVerificationError(
      'IDENTITY_MISMATCH',
      `predicateType ${statement.predicateType} is not one of ${c.predicateTypes.join(', ')}`,
    );
  const slsa = c.builderIds || c.sourceRepositories || c.buildTypes;
  const facts = slsaFacts(statement);
  if (slsa && ![SLSA_V01, SLSA_V02, ...SLSA_V1].includes(statement.predicateType))
    throw new ProvenanceVerificationError(
      'UNSUPPORTED',
      `SLSA conditions on predicateType ${statement.predicateType}`,
    );
  if (c.builderIds && !c.builderIds.some((b) => builderMatches(b, facts.builderId ?? '')))
    throw new ProvenanceVerificationError(
      'IDENTITY_MISMATCH',
      `builder ${JSON.stringify(facts.builderId)} is not one of ${c.builderIds.join(', ')}`,
    );
  if (
    c.sourceRepositories &&
    !c.sourceRepositories.some(
      (s) => facts.sourceUri && normalizeSourceUri(s) === normalizeSourceUri(facts.sourceUri),
    )
  )
    throw new ProvenanceVerificationError(
      'IDENTITY_MISMATCH',
      `source ${JSON.stringify(facts.sourceUri)} is not one of ${c.sourceRepositories.join(', ')}`,
    );
  if (c.buildTypes && !c.buildTypes.includes(facts.buildType ?? ''))
    throw new ProvenanceVerificationError(
      'IDENTITY_MISMATCH',
      `build type ${JSON.stringify(facts.buildType)} is not one of ${c.buildTypes.join(', ')}`,
    );
  if (c.maxAgeSeconds !== undefined) {
    const from = c.maxAgeFrom ?? 'signedAt';
    const time = from === 'signedAt' ? signature.signedAt : facts.buildFinishedOn;
    const at = time ? new Date(time) : undefined;
    if (!at || Number.isNaN(at.getTime()))
      throw new ProvenanceVerificationError(
        'EXPIRED',
        `no ${from} time to measure the attestation's age by`,
      );
    const age = (now.getTime() - at.getTime()) / 1000;
    if (age > c.maxAgeSeconds)
      throw new ProvenanceVerificationError(
        'EXPIRED',
        `attestation is ${Math.floor(age)}s old (${from} ${at.toISOString()}), more than ${c.maxAgeSeconds}s`,
      );
  }
}
