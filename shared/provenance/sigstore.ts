/**
 * Sigstore bundle verification, offline: bundles v0.1, v0.2 and v0.3
 * (https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_bundle.proto) holding a
 * message signature or a DSSE envelope, signed keyless (a Fulcio certificate) or with a key the
 * caller trusts. Everything is checked against a TrustedRoot the caller has already read
 * (trusted-root.ts); nothing here talks to TUF, Rekor or Fulcio.
 *
 * `@sigstore/verify` 3.1.1 (the newest release that runs on Node 20) does the cryptography:
 * certificate path to a Fulcio CA of the root, SCTs, Rekor inclusion proofs, checkpoints and
 * SETs, RFC 3161 timestamps, and the signature. Bosun adds what it leaves to its callers: the
 * binding to the artifact (bytes or digest alone), the identity policy, the trust root that
 * anchored the chain, and one correction, described at `rekorV2DsseContent` below.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  type Bundle,
  bundleFromJSON,
  type TransparencyLogEntry,
} from '@sigstore/bundle';
import { dsse, type X509Certificate } from '@sigstore/core';
import {
  type SignedEntity,
  type TrustMaterial,
  toSignedEntity,
  VerificationError,
  Verifier,
} from '@sigstore/verify';
import { parseStatement } from './attestation.js';
import {
  BASE64,
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  sha256Hex,
  UnsupportedPrehashError,
  verifyPrehashed,
} from './crypto.js';
import { certificateSigner, type KeylessIdentityPolicy, matchIdentity } from './identity.js';
import type { SigstoreTrustedRoot } from './trusted-root.js';
import {
  type InTotoStatement,
  type ProvenanceFailure,
  ProvenanceVerificationError,
  type SignerIdentity,
  type VerifiedSignature,
} from './types.js';

/** A public key trusted to sign bundles (cosign `--key`, npm's registry key). */
export interface TrustedPublicKey {
  /** PEM, or SubjectPublicKeyInfo DER. */
  readonly key: string | Buffer | KeyObject;
  /** When the key may have signed; checked against the bundle's verified times. */
  readonly validFor?: { readonly start?: Date; readonly end?: Date };
}

/** What was signed: the bytes, or only a digest `sha256:<hex>` (`sha512`, `sha384` too). */
export type SigstoreArtifact = { readonly bytes: Uint8Array } | { readonly digest: string };

export interface SigstoreVerifyOptions {
  readonly trustedRoot: SigstoreTrustedRoot;
  readonly artifact: SigstoreArtifact;
  /** Required to accept a keyless (certificate) bundle. */
  readonly identity?: KeylessIdentityPolicy;
  /** Required to accept a key-signed bundle. */
  readonly publicKey?: TrustedPublicKey;
  /** Transparency-log entries required (default 1). 0 for roots without a log (GitHub's). */
  readonly tlogThreshold?: number;
}

const BUNDLE_MEDIA_TYPES = new Set([
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
]);
/** HashAlgorithm of sigstore_common.proto: 0 (unspecified) means SHA2_256. */
const HASH_ALGORITHMS: Record<number, string> = {
  0: 'sha256',
  1: 'sha256',
  2: 'sha384',
  3: 'sha512',
};
const DIGEST = /^(sha256|sha384|sha512):([0-9a-f]+)$/;
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * Verifies one Sigstore bundle (its JSON text or the parsed object) and returns what it proves,
 * or throws ProvenanceVerificationError naming what failed.
 */
export function verifySigstoreBundle(
  bundleJson: string | object,
  options: SigstoreVerifyOptions,
): VerifiedSignature {
  const bundle = parseBundle(bundleJson);
  const material = bundle.verificationMaterial.content;
  const keyless = material.$case !== 'publicKey';
  if (keyless && options.identity === undefined)
    fail('UNTRUSTED', 'the bundle is signed with a certificate and no identity policy was given');
  if (!keyless && options.publicKey === undefined)
    fail('UNTRUSTED', 'the bundle is signed with a key and no public key was given');

  checkShape(bundle, options.tlogThreshold ?? 1);
  const bound = bindArtifact(bundle, options.artifact);
  const entity = toSignedEntity(bundle, bound.bytes);
  if (bound.digestOnly) entity.signature = prehashedContent(entity.signature, bound.digestOnly);
  if (bundle.content.$case === 'dsseEnvelope') {
    const rekorV2 = rekorV2DsseContent(entity, bundle.content.dsseEnvelope);
    if (rekorV2) entity.signature = rekorV2;
  }

  const trustedKey = options.publicKey === undefined ? undefined : toTrustedKey(options.publicKey);
  const trust: TrustMaterial = {
    ...options.trustedRoot.material,
    publicKey: () => {
      if (trustedKey === undefined)
        fail('UNTRUSTED', 'the bundle is signed with a key and no public key was given');
      return trustedKey;
    },
  };
  const verifier = new Verifier(trust, {
    ctlogThreshold: keyless ? 1 : 0,
    tlogThreshold: options.tlogThreshold ?? 1,
    timestampThreshold: 1,
  });
  try {
    verifier.verify(entity);
  } catch (err) {
    throw translate(err, entity, trustedKey?.publicKey);
  }

  const signedAt = earliest(entity);
  let signer: SignerIdentity;
  let trustRoot: string;
  if (keyless && options.identity !== undefined) {
    const leaf = leafCertificate(bundle);
    const path = anchoredPath(leaf, options.trustedRoot, signedAt);
    const identity = certificateSigner([leaf.der, ...path]);
    matchIdentity(identity, [options.identity]);
    signer = identity;
    trustRoot = `sigstore:${sha256Hex(path.at(-1) ?? leaf.der)}`;
  } else {
    const keyId = keyIdOf(trustedKey?.publicKey ?? fail('UNTRUSTED', 'no public key'));
    signer = { kind: 'key', keyId };
    trustRoot = `key:${keyId}`;
  }
  return {
    format: 'sigstore-bundle',
    subjectDigest: bound.subjectDigest,
    signer,
    trustRoot,
    ...(signedAt ? { signedAt: signedAt.toISOString() } : {}),
    ...(bound.statement ? { statement: bound.statement } : {}),
  };
}

function fail(failure: ProvenanceFailure, message: string, cause?: unknown): never {
  throw new ProvenanceVerificationError(failure, message, cause === undefined ? {} : { cause });
}

function parseBundle(json: string | object): Bundle {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      fail('MALFORMED', 'the bundle is not valid JSON', err);
    }
  }
  const mediaType = (value as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !BUNDLE_MEDIA_TYPES.has(mediaType))
    fail('UNSUPPORTED', `unknown bundle mediaType ${JSON.stringify(mediaType)}`);
  // Buffer.from(…, 'base64') skips characters that are not base64; a signature must not be
  // "repaired" that way (sigstore-conformance bundle-invalid-base64-signature_fail).
  const signature = (value as { messageSignature?: { signature?: unknown } }).messageSignature
    ?.signature;
  if (typeof signature === 'string' && !BASE64.test(signature))
    fail('MALFORMED', 'the message signature is not valid base64');
  try {
    // bundleFromJSON checks the shape each version requires (an inclusion proof with a
    // checkpoint from v0.2 on, a non-empty certificate chain, one DSSE signature, ...).
    return bundleFromJSON(value);
  } catch (err) {
    return fail('MALFORMED', `invalid ${mediaType} bundle: ${(err as Error).message}`, err);
  }
}

/**
 * An inclusion proof without its checkpoint (which v0.1 bundles may have) makes
 * `@sigstore/verify` 3.1.1 throw a TypeError; refuse it by name instead. The checkpoint is what
 * the proof's root hash is signed by.
 */
function checkShape(bundle: Bundle, tlogThreshold: number): void {
  const entries = bundle.verificationMaterial.tlogEntries.length;
  if (entries < tlogThreshold)
    fail(
      'TRANSPARENCY_LOG',
      `the bundle has ${entries} transparency-log entries, ${tlogThreshold} required`,
    );
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    if (entry.inclusionProof && !entry.inclusionProof.checkpoint?.envelope)
      fail(
        'TRANSPARENCY_LOG',
        `log entry ${entry.logIndex} has an inclusion proof without a checkpoint`,
      );
  }
}

interface BoundArtifact {
  /** Artifact bytes for `@sigstore/verify`'s message-signature check. */
  bytes?: Buffer;
  /** Set when a message signature is to be checked against a digest alone. */
  digestOnly?: { algorithm: string; digest: Buffer };
  subjectDigest: string;
  statement?: InTotoStatement;
}

/**
 * Ties the bundle to the artifact. A message signature carries the artifact's digest; a DSSE
 * envelope must hold an in-toto statement one of whose subjects has the artifact's digest
 * (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md). A container image
 * is known by its manifest digest, which is what its signatures' subjects name.
 */
function bindArtifact(bundle: Bundle, artifact: SigstoreArtifact): BoundArtifact {
  const given =
    'bytes' in artifact
      ? undefined
      : (DIGEST.exec(artifact.digest) ??
        fail('MALFORMED', `bad artifact digest ${artifact.digest}`));
  if (given && given[2]?.length !== DIGEST_LENGTHS[given[1] ?? ''])
    fail('MALFORMED', `bad artifact digest ${given[0]}`);
  const digestOf = (algorithm: string): string | undefined =>
    'bytes' in artifact
      ? createHash(algorithm).update(artifact.bytes).digest('hex')
      : given?.[1] === algorithm
        ? given[2]
        : undefined;

  if (bundle.content.$case === 'messageSignature') {
    const { messageDigest } = bundle.content.messageSignature;
    const algorithm = HASH_ALGORITHMS[messageDigest?.algorithm ?? 0];
    if (algorithm === undefined)
      fail('UNSUPPORTED', `message digest algorithm ${messageDigest?.algorithm} is not supported`);
    const actual = digestOf(algorithm);
    if (actual === undefined)
      fail('DIGEST_MISMATCH', `the bundle signs a ${algorithm} digest, ${given?.[0]} was given`);
    const signed = messageDigest?.digest.toString('hex');
    if (signed !== undefined && signed !== actual)
      fail(
        'DIGEST_MISMATCH',
        `the bundle signs ${algorithm}:${signed}, the artifact is ${algorithm}:${actual}`,
      );
    const subjectDigest = `${algorithm}:${actual}`;
    if ('bytes' in artifact) return { bytes: Buffer.from(artifact.bytes), subjectDigest };
    return { digestOnly: { algorithm, digest: Buffer.from(actual, 'hex') }, subjectDigest };
  }

  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    fail('UNSUPPORTED', `DSSE payloadType ${envelope.payloadType} is not an in-toto statement`);
  // The same checks as every other verifier's statements: a subject that is not an object of
  // digest strings would otherwise reach the verdict and throw there.
  const statement = parseStatement(envelope.payload);
  for (const subject of statement.subject) {
    for (const [algorithm, hex] of Object.entries(subject.digest)) {
      if (DIGEST_LENGTHS[algorithm] === undefined) continue;
      if (digestOf(algorithm) === hex.toLowerCase())
        return { subjectDigest: `${algorithm}:${hex.toLowerCase()}`, statement };
    }
  }
  const wanted = given ? given[0] : `sha256:${digestOf('sha256')}`;
  const named = statement.subject
    .flatMap((s) => Object.entries(s.digest).map(([a, h]) => `${a}:${h}`))
    .join(', ');
  return fail(
    'DIGEST_MISMATCH',
    `no subject of the statement is ${wanted} (subjects: ${named || 'none'})`,
  );
}

type SignatureContent = SignedEntity['signature'];

/** A message signature whose artifact is known by digest only: verified prehashed. */
function prehashedContent(
  content: SignatureContent,
  { algorithm, digest }: { algorithm: string; digest: Buffer },
): SignatureContent {
  return {
    signature: content.signature,
    compareSignature: (s) => content.compareSignature(s),
    compareDigest: (d) => content.compareDigest(d),
    verifySignature: (key) => {
      try {
        return verifyPrehashed(key, digest, content.signature, algorithm);
      } catch (err) {
        if (err instanceof UnsupportedPrehashError) fail('UNSUPPORTED', err.message, err);
        throw err;
      }
    },
  };
}

/**
 * Rekor v2 logs a DSSE envelope as a `hashedrekord` 0.0.2 entry whose digest is
 * SHA-256(PAE(payloadType, payload)), the bytes the signature covers
 * (rekor-tiles spec, "hashedrekord over DSSE"; sigstore-conformance `rekor2-dsse-happy-path`).
 * `@sigstore/verify` 3.1.1 compares a hashedrekord digest with `compareDigest`, which for a
 * DSSE envelope is SHA-256(payload) (right for Rekor v1's `dsse`/`intoto` entries), so it
 * rejects every such bundle with "TLOG_BODY_ERROR: digest mismatch". 4.x adds
 * `compareSignedDigest` (the PAE digest) and uses it for hashedrekord entries; this is the same
 * fix: when every log entry of a DSSE bundle is a hashedrekord, the digest compared is the PAE's.
 * Everything else (signature equality with the entry, inclusion proof, checkpoint, timestamps,
 * the DSSE signature itself) is still checked by the library. A bundle that mixes hashedrekord
 * with other entry kinds is refused rather than half-checked; no real bundle does that.
 */
function rekorV2DsseContent(
  entity: SignedEntity,
  envelope: { payloadType: string; payload: Buffer },
): SignatureContent | undefined {
  const kinds = entity.tlogEntries.map((e: TransparencyLogEntry) => e.kindVersion.kind);
  if (!kinds.includes('hashedrekord')) return undefined;
  if (kinds.some((k) => k !== 'hashedrekord'))
    fail('UNSUPPORTED', `a DSSE bundle with mixed log entry kinds (${kinds.join(', ')})`);
  const pae = createHash('sha256')
    .update(dsse.preAuthEncoding(envelope.payloadType, envelope.payload))
    .digest();
  const content = entity.signature;
  return {
    signature: content.signature,
    compareSignature: (s) => content.compareSignature(s),
    compareDigest: (d) => d.length === pae.length && d.equals(pae),
    verifySignature: (key) => content.verifySignature(key),
  };
}

function toTrustedKey(key: TrustedPublicKey) {
  let publicKey: KeyObject;
  try {
    const k = key.key;
    publicKey =
      typeof k === 'string'
        ? createPublicKey(k)
        : Buffer.isBuffer(k)
          ? createPublicKey({ key: k, format: 'der', type: 'spki' })
          : k;
  } catch (err) {
    return fail('MALFORMED', 'the trusted public key cannot be read', err);
  }
  const start = key.validFor?.start;
  const end = key.validFor?.end;
  return {
    publicKey,
    validFor: (date: Date) => (!start || start <= date) && (!end || date <= end),
  };
}

/**
 * Maps `@sigstore/verify`'s error codes to Bosun's failures. A log entry or timestamp that does
 * not match the bundle is reported as INVALID_SIGNATURE when the bundle's own signature does not verify
 * either (the envelope or signature was altered), and as TRANSPARENCY_LOG otherwise.
 */
function translate(err: unknown, entity: SignedEntity, key: KeyObject | undefined): unknown {
  if (err instanceof ProvenanceVerificationError) return err;
  if (!(err instanceof VerificationError)) {
    return new ProvenanceVerificationError(
      'MALFORMED',
      `bundle could not be checked: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const detail = err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
  const failure = ((): ProvenanceFailure => {
    switch (err.code) {
      case 'TLOG_BODY_ERROR':
        return signatureVerifies(entity, key) === false ? 'INVALID_SIGNATURE' : 'TRANSPARENCY_LOG';
      case 'TLOG_ERROR':
      case 'TLOG_INCLUSION_PROOF_ERROR':
      case 'TLOG_INCLUSION_PROMISE_ERROR':
      case 'TLOG_MISSING_INCLUSION_ERROR':
        return 'TRANSPARENCY_LOG';
      case 'SIGNATURE_ERROR':
        return 'INVALID_SIGNATURE';
      case 'PUBLIC_KEY_ERROR':
      case 'CERTIFICATE_ERROR':
        return /expired|not valid for timestamp/.test(detail) ? 'EXPIRED' : 'UNTRUSTED';
      case 'TIMESTAMP_ERROR':
        // An RFC 3161 timestamp covers the signature: an altered signature breaks it first.
        return signatureVerifies(entity, key) === false ? 'INVALID_SIGNATURE' : 'UNTRUSTED';
      default:
        return 'MALFORMED';
    }
  })();
  return new ProvenanceVerificationError(failure, `${err.code}: ${detail}`, { cause: err });
}

/** Whether the bundle's signature verifies with its own key (undefined: cannot tell). */
function signatureVerifies(entity: SignedEntity, key: KeyObject | undefined): boolean | undefined {
  try {
    const k =
      entity.key.$case === 'certificate'
        ? createPublicKey({ key: entity.key.certificate.publicKey, format: 'der', type: 'spki' })
        : key;
    return k === undefined ? undefined : entity.signature.verifySignature(k);
  } catch {
    return undefined;
  }
}

/** The earliest time the bundle proves: a log's integrated time or an RFC 3161 timestamp. */
function earliest(entity: SignedEntity): Date | undefined {
  const times = entity.timestamps.map((t) =>
    t.$case === 'transparency-log'
      ? new Date(Number(t.tlogEntry.integratedTime) * 1000)
      : t.timestamp.signingTime,
  );
  return times.sort((a, b) => a.getTime() - b.getTime())[0];
}

interface Certificate {
  parsed: X509Certificate;
  der: Buffer;
}

function leafCertificate(bundle: Bundle): Certificate {
  const content = bundle.verificationMaterial.content;
  const raw =
    content.$case === 'certificate'
      ? content.certificate.rawBytes
      : content.$case === 'x509CertificateChain'
        ? content.x509CertificateChain.certificates[0]?.rawBytes
        : undefined;
  if (raw === undefined) return fail('MALFORMED', 'the bundle has no certificate');
  const entity = toSignedEntity(bundle);
  if (entity.key.$case !== 'certificate') return fail('MALFORMED', 'the bundle has no certificate');
  return { parsed: entity.key.certificate, der: Buffer.from(raw) };
}

/**
 * The certificates from the leaf's issuer up to the self-signed root, within the trusted
 * root's CA that was valid when the bundle was signed. `@sigstore/verify` has already proven
 * that such a path exists; it does not say which root it used, and policies count roots.
 */
function anchoredPath(
  leaf: Certificate,
  root: SigstoreTrustedRoot,
  at: Date | undefined,
): Buffer[] {
  for (const ca of root.certificateAuthorities) {
    if (at && (at < ca.validFor.start || at > ca.validFor.end)) continue;
    const path: Buffer[] = [];
    let current = leaf.parsed;
    for (let depth = 0; depth <= ca.chain.length; depth++) {
      const issuer = ca.chain.find(
        (c) => c.certificate.subject.equals(current.issuer) && safeVerify(current, c.certificate),
      );
      if (!issuer) break;
      path.push(issuer.der);
      if (issuer.certificate.subject.equals(issuer.certificate.issuer)) return path;
      current = issuer.certificate;
    }
  }
  return fail(
    'UNTRUSTED',
    `no certificate authority of ${root.source} issued the signing certificate`,
  );
}

function safeVerify(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer);
  } catch {
    return false;
  }
}
