/**
 * The cryptographic pieces every verifier of this folder shares, each in one place: public keys
 * and their ids, SHA-256, base64 that refuses garbage, PEM certificate lists, signature checks
 * over raw bytes and over a digest alone ("prehashed"), the DSSE envelope and its
 * pre-authentication encoding.
 */
import {
  createHash,
  createPublicKey,
  constants as cryptoConstants,
  type KeyObject,
  publicDecrypt,
  verify,
} from 'node:crypto';
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

/** Hex SHA-256 of `data`: key ids, certificate fingerprints, trust-root names, blob digests. */
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

/** Standard base64 (RFC 4648 §4), the only alphabet a Sigstore bundle's bytes may use. */
export const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
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

/** The PEM certificate blocks of a text (a chain annotation, a trust-store file), in order. */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

// ---------------------------------------------------------------------------------------------
/*
 * Signature verification over a digest the caller already has ("prehashed"), for Sigstore
 * message signatures checked against an artifact's digest alone (a container image is known by
 * its manifest digest; an artifact may not be at hand). Node's crypto hashes the data itself and
 * offers no prehashed verify for ECDSA, so ECDSA is done here with BigInt arithmetic
 * (SEC 1 v2 §4.1.4, https://www.secg.org/sec1-v2.pdf). Only public values are computed, so
 * constant time does not matter. RSA PKCS#1 v1.5 is checked by recovering the DigestInfo
 * (RFC 8017 §8.2.2). Ed25519 signs the message, not a digest: it cannot be checked this way.
 */

interface Curve {
  p: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
}

// Domain parameters: SEC 2 v2 §2.4.2 (secp256r1) and §2.5.1 (secp384r1); a = -3 for both.
const CURVES: Record<string, Curve> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
  },
};

// DER DigestInfo prefixes, RFC 8017 §9.2 note 1.
const DIGEST_INFO: Record<string, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

export class UnsupportedPrehashError extends Error {}

/**
 * Whether `signature` is `key`'s signature over a message whose `algorithm` digest is
 * `digest`. Throws UnsupportedPrehashError for a key type that cannot be checked from a digest.
 */
export function verifyPrehashed(
  key: KeyObject,
  digest: Buffer,
  signature: Buffer,
  algorithm: string,
): boolean {
  if (key.asymmetricKeyType === 'ec') {
    const jwk = key.export({ format: 'jwk' });
    const curve = jwk.crv === undefined ? undefined : CURVES[jwk.crv];
    if (!curve || jwk.x === undefined || jwk.y === undefined)
      throw new UnsupportedPrehashError(`ECDSA curve ${jwk.crv} is not supported`);
    const q = {
      x: toBig(Buffer.from(jwk.x, 'base64url')),
      y: toBig(Buffer.from(jwk.y, 'base64url')),
    };
    const rs = parseDerSignature(signature);
    return rs !== undefined && ecdsaVerify(curve, q, digest, rs.r, rs.s);
  }
  if (key.asymmetricKeyType === 'rsa') {
    const prefix = DIGEST_INFO[algorithm];
    if (prefix === undefined)
      throw new UnsupportedPrehashError(`digest ${algorithm} is not supported`);
    let recovered: Buffer;
    try {
      recovered = publicDecrypt({ key, padding: cryptoConstants.RSA_PKCS1_PADDING }, signature);
    } catch {
      return false;
    }
    return recovered.equals(Buffer.concat([Buffer.from(prefix, 'hex'), digest]));
  }
  throw new UnsupportedPrehashError(
    `a ${key.asymmetricKeyType} key cannot be verified against a digest alone`,
  );
}

type Point = { x: bigint; y: bigint } | null;

function ecdsaVerify(c: Curve, q: Point, digest: Buffer, r: bigint, s: bigint): boolean {
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  // SEC 1 §4.1.4 step 5: the leftmost bits of the digest, as many as n has.
  const nBits = c.n.toString(2).length;
  let e = toBig(digest);
  const excess = digest.length * 8 - nBits;
  if (excess > 0) e >>= BigInt(excess);
  const w = modInverse(s, c.n);
  const u1 = (e * w) % c.n;
  const u2 = (r * w) % c.n;
  const point = add(c, multiply(c, { x: c.gx, y: c.gy }, u1), multiply(c, q, u2));
  return point !== null && point.x % c.n === r;
}

function add(c: Curve, a: Point, b: Point): Point {
  if (a === null) return b;
  if (b === null) return a;
  const { p } = c;
  let lambda: bigint;
  if (a.x === b.x) {
    if ((a.y + b.y) % p === 0n) return null;
    lambda = mod((3n * a.x * a.x - 3n) * modInverse(2n * a.y, p), p);
  } else {
    lambda = mod((b.y - a.y) * modInverse(mod(b.x - a.x, p), p), p);
  }
  const x = mod(lambda * lambda - a.x - b.x, p);
  return { x, y: mod(lambda * (a.x - x) - a.y, p) };
}

function multiply(c: Curve, point: Point, k: bigint): Point {
  let result: Point = null;
  let addend = point;
  for (let rest = k; rest > 0n; rest >>= 1n) {
    if (rest & 1n) result = add(c, result, addend);
    addend = add(c, addend, addend);
  }
  return result;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}

function toBig(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3), short lengths only. */
function parseDerSignature(sig: Buffer): { r: bigint; s: bigint } | undefined {
  if (sig[0] !== 0x30 || sig[1] !== sig.length - 2) return undefined;
  const ints: bigint[] = [];
  let at = 2;
  for (let i = 0; i < 2; i++) {
    const len = sig[at + 1];
    if (sig[at] !== 0x02 || len === undefined || at + 2 + len > sig.length) return undefined;
    ints.push(toBig(sig.subarray(at + 2, at + 2 + len)));
    at += 2 + len;
  }
  const [r, s] = ints;
  return at === sig.length && r !== undefined && s !== undefined ? { r, s } : undefined;
}
