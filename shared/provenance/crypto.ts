/**
 * The small cryptographic pieces shared by the legacy cosign verifier (cosign-legacy.ts) and
 * Google Cloud Build provenance (gcb.ts): public keys, signature checks over raw bytes, the DSSE
 * envelope and its pre-authentication encoding, and base64 that refuses garbage.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ProvenanceVerificationError } from './types.js';

/** Reads a PEM (SPKI `PUBLIC KEY`, or a certificate's key) into a KeyObject. */
export function publicKeyFromPem(pem: string | KeyObject): KeyObject {
  if (typeof pem !== 'string') return pem;
  try {
    return createPublicKey(pem);
  } catch (cause) {
    throw new ProvenanceVerificationError('MALFORMED', 'public key is not a PEM public key', {
      cause,
    });
  }
}

/** `sha256:<hex>` of the key's SubjectPublicKeyInfo DER: the key id of types.ts. */
export function keyIdOf(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Whether `signature` is `key`'s signature over `data`, with the hash and padding cosign and
 * sigstore use for the key type: ECDSA with the curve's hash (SHA-256 for P-256, SHA-384 for
 * P-384) and, as cosign signs every ECDSA key with SHA-256 by default, SHA-256 too; RSA
 * PKCS#1 v1.5 with SHA-256; Ed25519 over the message itself. ECDSA signatures are accepted as
 * ASN.1 DER and as raw r‖s (IEEE P1363), which Google's KMS-backed signers emit (the SLSA VSA
 * in slsa-verifier's testdata is one).
 */
export function verifiesWithKey(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (key.asymmetricKeyType) {
      case 'ec': {
        const curve = key.asymmetricKeyDetails?.namedCurve;
        const hashes = new Set([
          curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256',
          'sha256',
        ]);
        for (const hash of hashes)
          for (const dsaEncoding of ['der', 'ieee-p1363'] as const)
            if (verify(hash, data, { key, dsaEncoding }, signature)) return true;
        return false;
      }
      case 'rsa':
        return verify('sha256', data, key, signature);
      case 'ed25519':
        return verify(null, data, key, signature);
      default:
        throw new ProvenanceVerificationError(
          'UNSUPPORTED',
          `public key type ${String(key.asymmetricKeyType)} is not supported`,
        );
    }
  } catch (error) {
    if (error instanceof ProvenanceVerificationError) throw error;
    // node:crypto throws on a signature it cannot even decode: that is a failed check.
    return false;
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decodes standard or URL-safe base64, throwing MALFORMED on anything else (Buffer.from
 * silently skips invalid characters, which would let a mangled signature decode to something).
 */
export function decodeBase64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !(BASE64.test(value) || BASE64URL.test(value)))
    throw new ProvenanceVerificationError('MALFORMED', `${what} is not base64`);
  return Buffer.from(value, BASE64.test(value) ? 'base64' : 'base64url');
}

/** A DSSE envelope: https://github.com/secure-systems-lab/dsse/blob/master/envelope.md */
export interface DsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid?: string; sig: string; cert?: string }[];
}

export function parseDsseEnvelope(json: unknown, what: string): DsseEnvelope {
  const e = json as Record<string, unknown> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.payloadType !== 'string' ||
    typeof e.payload !== 'string' ||
    !Array.isArray(e.signatures)
  )
    throw new ProvenanceVerificationError('MALFORMED', `${what} is not a DSSE envelope`);
  const signatures = e.signatures.map((s: unknown, i: number) => {
    const sig = s as Record<string, unknown> | null;
    if (typeof sig !== 'object' || sig === null || typeof sig.sig !== 'string')
      throw new ProvenanceVerificationError('MALFORMED', `${what} signature ${i} has no sig`);
    return {
      ...(typeof sig.keyid === 'string' ? { keyid: sig.keyid } : {}),
      sig: sig.sig,
      ...(typeof sig.cert === 'string' ? { cert: sig.cert } : {}),
    };
  });
  return {
    payloadType: e.payloadType,
    payload: decodeBase64(e.payload, `${what} payload`),
    signatures,
  };
}

/**
 * DSSE v1 pre-authentication encoding, the bytes a DSSE signature covers:
 * `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal bytes
 * (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md).
 */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

/** The in-toto payload type of DSSE envelopes that carry a Statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
