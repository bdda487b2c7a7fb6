/**
 * Google Cloud Build container provenance, as `gcloud artifacts docker images describe
 * --show-provenance --format json` prints it: an `image_summary` and one or more provenance
 * occurrences, each a DSSE envelope signed by Cloud Build's KMS keys, next to an unsigned
 * human-readable copy of the statement. Verified the way slsa-verifier does
 * (https://github.com/slsa-framework/slsa-verifier/blob/main/verifiers/internal/gcb/provenance.go):
 * - the signature's keyid names the key. Regional `builtByGCB` keys sign the raw payload
 *   (SHA-256 ECDSA), the global `provenanceSigner` and `google-hosted-worker` keys sign the
 *   DSSE pre-authentication encoding. A keyid that names no key is not tried with other keys;
 * - the first occurrence with a verifying signature is the one; its metadata (`kind`,
 *   `resourceUri`), the image summary and the unsigned text copy must agree with it.
 * The public keys are slsa-verifier's `verifiers/internal/gcb/keys/materials/<name>.key`.
 */
import type { KeyObject } from 'node:crypto';
import { assertSubjectDigest, parseStatement } from './attestation.js';
import {
  type DsseEnvelope,
  decodeBase64,
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  pae,
  parseDsseEnvelope,
  verifiesWithKey,
} from './crypto.js';
import { ProvenanceVerificationError, type VerifiedSignature } from './types.js';

/** Cloud Build's public keys by name: `us-west2`, `global`, `global-pae-provenanceSigner_1`... */
export type GcbKeyring = ReadonlyMap<string, KeyObject>;

export type GcbSigningMode = 'raw' | 'pae';

const REGIONAL_KEY =
  /^projects\/verified-builder\/locations\/([a-z0-9-]+)\/keyRings\/attestor\/cryptoKeys\/builtByGCB\/cryptoKeyVersions\/1$/;
const GLOBAL_PAE_KEY =
  /^projects\/verified-builder\/locations\/global\/keyRings\/attestor\/cryptoKeys\/(provenanceSigner|google-hosted-worker)\/cryptoKeyVersions\/(\d+)$/;

/** The key a GCB signature's keyid names, and what that key signs. */
function gcbKeyOf(keyid: string | undefined): { name: string; mode: GcbSigningMode } | undefined {
  if (!keyid) return undefined;
  const pae = GLOBAL_PAE_KEY.exec(keyid);
  if (pae) return { name: `global-pae-${pae[1]}_${pae[2]}`, mode: 'pae' };
  const regional = REGIONAL_KEY.exec(keyid);
  if (regional) return { name: regional[1] as string, mode: 'raw' };
  return undefined;
}

/** Whether `sig` (base64 or base64url) is `key`'s signature over the envelope in `mode`. */
export function gcbSignatureVerifies(
  envelope: DsseEnvelope,
  sig: string,
  key: KeyObject,
  mode: GcbSigningMode,
): boolean {
  let signature: Buffer;
  try {
    signature = decodeBase64(sig, 'signature');
  } catch {
    return false;
  }
  if (signature.length === 0) return false;
  const signed = mode === 'pae' ? pae(envelope.payloadType, envelope.payload) : envelope.payload;
  return verifiesWithKey(key, signed, signature);
}

interface GcloudOccurrence {
  kind?: unknown;
  resourceUri?: unknown;
  envelope?: unknown;
  build?: { intotoStatement?: unknown; inTotoSlsaProvenanceV1?: unknown };
}

/**
 * Verifies `gcloud ... --show-provenance` JSON for the image `imageDigest` (`sha256:<hex>`).
 * Throws ProvenanceVerificationError: MALFORMED (not that JSON, kind not BUILD, text copy that
 * disagrees with the signed payload), UNTRUSTED (no signature names a known key),
 * INVALID_SIGNATURE (none verifies), DIGEST_MISMATCH (summary, resourceUri or subject is
 * another image).
 */
export function verifyGcbProvenance(
  json: string,
  options: { imageDigest: string; keys: GcbKeyring },
): VerifiedSignature {
  let doc: {
    image_summary?: { digest?: unknown; fully_qualified_digest?: unknown };
    provenance_summary?: { provenance?: GcloudOccurrence[] };
  };
  try {
    doc = JSON.parse(json);
  } catch (cause) {
    throw new ProvenanceVerificationError('MALFORMED', 'gcloud provenance is not JSON', { cause });
  }
  const occurrences = doc?.provenance_summary?.provenance;
  if (!Array.isArray(occurrences) || occurrences.length === 0)
    throw new ProvenanceVerificationError('MALFORMED', 'gcloud provenance has no provenance');

  let triedKnownKey = false;
  for (const occurrence of occurrences) {
    let envelope: DsseEnvelope;
    try {
      envelope = parseDsseEnvelope(occurrence.envelope, 'provenance envelope');
    } catch {
      continue;
    }
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
    for (const signature of envelope.signatures) {
      const named = gcbKeyOf(signature.keyid);
      const key = named && options.keys.get(named.name);
      if (!named || !key) continue;
      triedKnownKey = true;
      if (!gcbSignatureVerifies(envelope, signature.sig, key, named.mode)) continue;
      return checkOccurrence(doc, occurrence, envelope, key, options.imageDigest);
    }
  }
  throw triedKnownKey
    ? new ProvenanceVerificationError(
        'INVALID_SIGNATURE',
        'no provenance signature verifies with the key its keyid names',
      )
    : new ProvenanceVerificationError(
        'UNTRUSTED',
        'no provenance signature names a known Cloud Build key',
      );
}

function checkOccurrence(
  doc: { image_summary?: { digest?: unknown; fully_qualified_digest?: unknown } },
  occurrence: GcloudOccurrence,
  envelope: DsseEnvelope,
  key: KeyObject,
  imageDigest: string,
): VerifiedSignature {
  const statement = parseStatement(envelope.payload);
  if (occurrence.kind !== 'BUILD')
    throw new ProvenanceVerificationError(
      'MALFORMED',
      `provenance kind is ${JSON.stringify(occurrence.kind)}, not BUILD`,
    );
  // Not signed, but gcloud users read them: they must name the same image.
  if (
    typeof occurrence.resourceUri !== 'string' ||
    !occurrence.resourceUri.endsWith(`@${imageDigest}`)
  )
    throw new ProvenanceVerificationError(
      'DIGEST_MISMATCH',
      `resourceUri ${JSON.stringify(occurrence.resourceUri)} is not ${imageDigest}`,
    );
  const summary = doc.image_summary;
  if (
    summary?.digest !== imageDigest ||
    typeof summary.fully_qualified_digest !== 'string' ||
    !summary.fully_qualified_digest.endsWith(imageDigest)
  )
    throw new ProvenanceVerificationError(
      'DIGEST_MISMATCH',
      `image_summary digest ${JSON.stringify(summary?.digest)} is not ${imageDigest}`,
    );
  const text = (occurrence.build?.inTotoSlsaProvenanceV1 ?? occurrence.build?.intotoStatement) as
    | Record<string, unknown>
    | undefined;
  const signed = JSON.parse(envelope.payload.toString('utf8')) as Record<string, unknown>;
  // v0.1 payloads carry the predicate twice, as `predicate` and `slsaProvenance`, and the text
  // copy only as `slsaProvenance`: compare the statement's members that the copy has, and
  // insist that the two signed copies agree.
  const members = ['_type', 'predicateType', 'subject', 'predicate', 'slsaProvenance'];
  const differs = (m: string) => (text && m in text ? !sameJson(text[m], signed[m]) : false);
  if (
    !text ||
    !('predicate' in text || 'slsaProvenance' in text) ||
    members.some(differs) ||
    ('predicate' in signed &&
      'slsaProvenance' in signed &&
      !sameJson(signed.predicate, signed.slsaProvenance))
  )
    throw new ProvenanceVerificationError(
      'MALFORMED',
      'the readable copy of the statement differs from the signed payload',
    );
  assertSubjectDigest(statement, imageDigest);
  const keyId = keyIdOf(key);
  return {
    format: 'gcb-provenance',
    subjectDigest: imageDigest,
    signer: { kind: 'key', keyId },
    trustRoot: `key:${keyId}`,
    statement,
  };
}

/** Deep equality of parsed JSON, member order ignored. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) &&
      sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
