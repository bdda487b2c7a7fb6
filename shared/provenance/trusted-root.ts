/**
 * A Sigstore TrustedRoot (the `trusted_root.json` that Sigstore's TUF repositories publish),
 * read from a file or a string and turned into the trust material `@sigstore/verify` checks
 * against. Nothing here reaches the network: where the JSON came from (shipped with Bosun, S3,
 * a TUF client run elsewhere) is the caller's business.
 *
 * Format: https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_trustroot.proto
 * (JSON mapping of proto3: bytes are base64, timestamps RFC 3339).
 */
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { BASE64 } from './crypto.js';
import { ProvenanceVerificationError } from './types.js';

const MEDIA_TYPE =
  /^application\/vnd\.dev\.sigstore\.trustedroot(\.v0\.\d+)?\+json;version=0\.\d+$/;
const END_OF_TIME = new Date(8_640_000_000_000_000);

/** Key types the proto names PKCS#1 (a bare RSAPublicKey, not a SubjectPublicKeyInfo). */
const PKCS1_KEY_DETAILS = new Set(['PKCS1_RSA_PKCS1V5', 'PKCS1_RSA_PSS']);

export interface TrustedCertificate {
  readonly certificate: X509Certificate;
  readonly der: Buffer;
}

/** A certificate authority of the root (Fulcio, or a timestamp authority): its chain, leaf first. */
export interface TrustedAuthority {
  readonly chain: readonly TrustedCertificate[];
  readonly validFor: { readonly start: Date; readonly end: Date };
}

export interface SigstoreTrustedRoot {
  /** Where it was read from, for messages. */
  readonly source: string;
  readonly certificateAuthorities: readonly TrustedAuthority[];
  readonly timestampAuthorities: readonly TrustedAuthority[];
  /** Trust material for `@sigstore/verify`, without the public-key finder (per verification). */
  readonly material: Omit<TrustMaterial, 'publicKey'>;
}

type Json = Record<string, unknown>;

/** Reads a TrustedRoot JSON file. */
export function loadTrustedRoot(file: string): SigstoreTrustedRoot {
  return parseTrustedRoot(readFileSync(file, 'utf8'), file);
}

/**
 * Parses a TrustedRoot. A root that cannot be read, or that leaves a validity window without
 * its start, is refused as a whole (`UNTRUSTED`): the proto's `TimeRange.start` is required,
 * and a missing start must not become "valid since the beginning of time", which is what
 * `@sigstore/verify` (3.x and 4.x) silently does with it (sigstore-conformance
 * `trust-root-tlog-missing-validity-start_fail`). A missing `end` means "still valid".
 */
export function parseTrustedRoot(
  json: string | object,
  source = 'trusted root',
): SigstoreTrustedRoot {
  const fail = (what: string, cause?: unknown): never => {
    throw new ProvenanceVerificationError('UNTRUSTED', `${source}: ${what}`, { cause });
  };
  let root: unknown = json;
  if (typeof json === 'string') {
    try {
      root = JSON.parse(json);
    } catch (err) {
      fail('not valid JSON', err);
    }
  }
  if (!isObject(root)) return fail('not a JSON object');
  const mediaType = root.mediaType;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE.test(mediaType))
    fail(`unsupported mediaType ${JSON.stringify(mediaType)}`);

  const timeRange = (value: unknown, where: string) => {
    if (!isObject(value) || typeof value.start !== 'string')
      return fail(`${where}.validFor has no start`);
    const start = new Date(value.start);
    // JSON writers differ on an open end: absent or null.
    const end = value.end == null ? END_OF_TIME : new Date(String(value.end));
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()))
      fail(`${where}.validFor is not a valid time range`);
    return { start, end };
  };
  const bytes = (value: unknown, where: string): Buffer => {
    if (typeof value !== 'string' || value === '') return fail(`${where} is missing`);
    // Strict: Buffer.from(…, 'base64') would skip characters that are not base64.
    if (!BASE64.test(value)) return fail(`${where} is not base64`);
    return Buffer.from(value, 'base64');
  };
  const authority = (value: unknown, where: string): TrustedAuthority => {
    if (
      !isObject(value) ||
      !isObject(value.certChain) ||
      !Array.isArray(value.certChain.certificates)
    )
      return fail(`${where}.certChain is missing`);
    const chain = value.certChain.certificates.map((c: unknown, i: number) => {
      const der = bytes(isObject(c) ? c.rawBytes : undefined, `${where}.certChain[${i}].rawBytes`);
      try {
        return { certificate: X509Certificate.parse(Buffer.from(der)), der };
      } catch (err) {
        return fail(`${where}.certChain[${i}] is not a certificate`, err);
      }
    });
    if (chain.length === 0) fail(`${where}.certChain is empty`);
    return { chain, validFor: timeRange(value.validFor, where) };
  };
  const log = (value: unknown, where: string) => {
    if (!isObject(value) || !isObject(value.publicKey))
      return fail(`${where}.publicKey is missing`);
    const raw = bytes(value.publicKey.rawBytes, `${where}.publicKey.rawBytes`);
    const pkcs1 = PKCS1_KEY_DETAILS.has(String(value.publicKey.keyDetails));
    let publicKey: ReturnType<typeof createPublicKey>;
    try {
      publicKey = createPublicKey({ key: raw, format: 'der', type: pkcs1 ? 'pkcs1' : 'spki' });
    } catch (err) {
      return fail(`${where}.publicKey is not a public key`, err);
    }
    // Rekor v2 logs sign checkpoints with a key named by `checkpointKeyId`; older roots name
    // only `logId`, the SHA-256 of the key (RFC 6962 log id).
    const keyId = isObject(value.checkpointKeyId) ? value.checkpointKeyId.keyId : undefined;
    const logID =
      keyId !== undefined
        ? bytes(keyId, `${where}.checkpointKeyId.keyId`)
        : isObject(value.logId)
          ? bytes(value.logId.keyId, `${where}.logId.keyId`)
          : createHash('sha256').update(raw).digest();
    return {
      baseURL: typeof value.baseUrl === 'string' ? value.baseUrl : '',
      logID,
      publicKey,
      validFor: timeRange(value.publicKey.validFor, `${where}.publicKey`),
    };
  };
  const list = (key: string) => {
    const value = root[key];
    if (value === undefined) return [];
    if (!Array.isArray(value)) return fail(`${key} is not a list`);
    return value as unknown[];
  };

  const certificateAuthorities = list('certificateAuthorities').map((ca, i) =>
    authority(ca, `certificateAuthorities[${i}]`),
  );
  const timestampAuthorities = list('timestampAuthorities').map((ca, i) =>
    authority(ca, `timestampAuthorities[${i}]`),
  );
  const toMaterial = (a: TrustedAuthority) => ({
    certChain: a.chain.map((c) => c.certificate),
    validFor: a.validFor,
  });
  return {
    source,
    certificateAuthorities,
    timestampAuthorities,
    material: {
      certificateAuthorities: certificateAuthorities.map(toMaterial),
      timestampAuthorities: timestampAuthorities.map(toMaterial),
      tlogs: list('tlogs').map((t, i) => log(t, `tlogs[${i}]`)),
      ctlogs: list('ctlogs').map((t, i) => log(t, `ctlogs[${i}]`)),
    },
  };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
