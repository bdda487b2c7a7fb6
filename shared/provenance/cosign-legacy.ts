/**
 * cosign's legacy signature and attestation layout: a `sha256-<image digest>.sig` (or `.att`)
 * manifest whose layers are the signed payloads and whose layer annotations carry the
 * signature, the Fulcio certificate and chain, and the Rekor bundle.
 * Spec: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md (simple signing) and
 * https://github.com/sigstore/cosign/blob/main/specs/ATTESTATION_SPEC.md (DSSE layers).
 *
 * Everything is checked offline: trust comes from public keys the caller gives and from a
 * Sigstore TrustedRoot read from a file (Fulcio CAs, Rekor log keys). A keyless signature needs
 * the Rekor bundle annotation, because the SignedEntryTimestamp is the only proof that the
 * short-lived certificate was valid when the signature was made.
 */
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { assertSubjectDigest, parseStatement } from './attestation.js';
import {
  type DsseEnvelope,
  decodeBase64,
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  pae,
  parseDsseEnvelope,
  pemCertificates,
  publicKeyFromPem,
  sha256Hex,
  verifiesWithKey,
} from './crypto.js';
import { certificateSigner, type KeylessIdentityPolicy, matchIdentity } from './identity.js';
import type { SigstoreTrustedRoot, TrustedAuthority } from './trusted-root.js';
import { ProvenanceVerificationError, type VerifiedSignature } from './types.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
} as const;
/** `critical.type` of a simple-signing payload that signs a container image. */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

// ---------------------------------------------------------------------------------------------
// Trust policy

export interface CosignTrust {
  /** Public keys (PEM SPKI: ECDSA P-256/P-384, RSA, Ed25519) any of which may sign. */
  keys?: readonly (string | KeyObject)[];
  /** Fulcio CAs and Rekor keys, for keyless signatures and for Rekor bundles of key signatures. */
  trustedRoot?: SigstoreTrustedRoot;
  /** Keyless signatures must match one of these; none given means no keyless signer is trusted. */
  identities?: readonly KeylessIdentityPolicy[];
}

// ---------------------------------------------------------------------------------------------
// Layers

/** An OCI descriptor of a `.sig`/`.att` manifest layer. */
export interface CosignLayer {
  mediaType: string;
  digest: string;
  size?: number;
  annotations?: Readonly<Record<string, string>>;
}

export type LayerOutcome =
  | { layer: number; ok: true; signature: VerifiedSignature }
  | { layer: number; ok: false; error: ProvenanceVerificationError };

/**
 * Verifies every layer of a `sha256-<digest>.sig` or `.att` manifest against the image digest.
 * Each layer is one signature and gets its own outcome: one bad layer does not hide the others.
 * `blob` returns a layer's bytes by digest (undefined when not available).
 */
export function verifyCosignManifest(input: {
  imageDigest: string;
  manifest: string | Uint8Array | unknown;
  blob: (digest: string) => Uint8Array | undefined;
  trust: CosignTrust;
}): LayerOutcome[] {
  const manifest = (
    typeof input.manifest === 'string' || input.manifest instanceof Uint8Array
      ? parseJson(Buffer.from(input.manifest).toString('utf8'), 'signature manifest')
      : input.manifest
  ) as { layers?: unknown };
  if (!Array.isArray(manifest?.layers))
    throw new ProvenanceVerificationError('MALFORMED', 'signature manifest has no layers');
  return manifest.layers.map((raw: unknown, layer: number): LayerOutcome => {
    try {
      const descriptor = raw as CosignLayer;
      const bytes = input.blob(descriptor.digest);
      if (!bytes)
        throw new ProvenanceVerificationError(
          'MALFORMED',
          `layer blob ${descriptor.digest} is missing`,
        );
      const signature =
        descriptor.mediaType === DSSE_MEDIA_TYPE
          ? verifyAttestationLayer(descriptor, bytes, input.imageDigest, input.trust)
          : verifySimpleSigningLayer(descriptor, bytes, input.imageDigest, input.trust);
      return { layer, ok: true, signature };
    } catch (error) {
      if (error instanceof ProvenanceVerificationError) return { layer, ok: false, error };
      throw error;
    }
  });
}

/** One simple-signing layer of a `.sig` manifest (SIGNATURE_SPEC.md). */
export function verifySimpleSigningLayer(
  layer: CosignLayer,
  blob: Uint8Array,
  imageDigest: string,
  trust: CosignTrust,
): VerifiedSignature {
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE)
    throw new ProvenanceVerificationError('UNSUPPORTED', `layer media type ${layer.mediaType}`);
  checkBlob(layer, blob);
  const annotations = layer.annotations ?? {};
  const signature = decodeBase64(annotations[ANNOTATION.signature], 'signature annotation');
  const proof = verifySigned({
    signedBytes: blob,
    signatures: [signature],
    certificate: annotations[ANNOTATION.certificate],
    chain: annotations[ANNOTATION.chain],
    bundle: annotations[ANNOTATION.bundle],
    trust,
    tlogBody: { kind: 'message', hash: sha256Hex(blob) },
  });
  // The payload is read only once its signature is known to be good.
  const payload = parseJson(Buffer.from(blob).toString('utf8'), 'simple-signing payload') as {
    critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } };
  };
  if (payload?.critical?.type !== COSIGN_SIGNATURE_TYPE)
    throw new ProvenanceVerificationError(
      'MALFORMED',
      `payload critical.type is ${JSON.stringify(payload?.critical?.type)}, not "${COSIGN_SIGNATURE_TYPE}"`,
    );
  const signed = payload.critical.image?.['docker-manifest-digest'];
  if (signed !== imageDigest)
    throw new ProvenanceVerificationError(
      'DIGEST_MISMATCH',
      `payload signs ${JSON.stringify(signed)}, not ${imageDigest}`,
    );
  return { format: 'cosign-simple-signing', subjectDigest: imageDigest, ...proof };
}

/**
 * One DSSE layer of a `.att` manifest (ATTESTATION_SPEC.md): the envelope is the blob, its
 * signature is inside the envelope (the signature annotation is empty), and the certificate,
 * chain and bundle are layer annotations as for `.sig`.
 */
export function verifyAttestationLayer(
  layer: CosignLayer,
  blob: Uint8Array,
  imageDigest: string,
  trust: CosignTrust,
): VerifiedSignature {
  if (layer.mediaType !== DSSE_MEDIA_TYPE)
    throw new ProvenanceVerificationError('UNSUPPORTED', `layer media type ${layer.mediaType}`);
  checkBlob(layer, blob);
  const annotations = layer.annotations ?? {};
  return verifyDsseEnvelope(parseJson(Buffer.from(blob).toString('utf8'), 'DSSE envelope'), {
    subjectDigest: imageDigest,
    trust,
    certificate: annotations[ANNOTATION.certificate],
    chain: annotations[ANNOTATION.chain],
    bundle: annotations[ANNOTATION.bundle],
  });
}

/**
 * A DSSE envelope carrying an in-toto Statement, signed by a key or by a Fulcio certificate
 * (given, or in the signature's `cert` field as slsa-github-generator's `.intoto.jsonl` files
 * have it). The statement must name `subjectDigest` among its subjects.
 */
export function verifyDsseEnvelope(
  json: unknown,
  options: {
    subjectDigest: string;
    trust: CosignTrust;
    certificate?: string | undefined;
    chain?: string | undefined;
    bundle?: string | undefined;
  },
): VerifiedSignature {
  const envelope: DsseEnvelope = parseDsseEnvelope(json, 'DSSE envelope');
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw new ProvenanceVerificationError(
      'UNSUPPORTED',
      `DSSE payload type ${envelope.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}`,
    );
  const certificate = options.certificate || envelope.signatures.find((s) => s.cert)?.cert;
  const proof = verifySigned({
    signedBytes: pae(envelope.payloadType, envelope.payload),
    signatures: envelope.signatures
      .filter((s) => s.sig !== '')
      .map((s, i) => decodeBase64(s.sig, `DSSE signature ${i}`)),
    certificate,
    chain: options.chain,
    bundle: options.bundle,
    trust: options.trust,
    tlogBody: { kind: 'dsse', payloadHash: sha256Hex(envelope.payload) },
  });
  const statement = parseStatement(envelope.payload);
  assertSubjectDigest(statement, options.subjectDigest);
  return { format: 'cosign-dsse', subjectDigest: options.subjectDigest, ...proof, statement };
}

// ---------------------------------------------------------------------------------------------
// Signature, certificate chain and Rekor bundle

type Proof = Pick<VerifiedSignature, 'signer' | 'trustRoot' | 'signedAt'>;

/** What the Rekor entry body must record: the signed message's hash, or the DSSE payload's. */
type TlogBody = { kind: 'message'; hash: string } | { kind: 'dsse'; payloadHash: string };

function verifySigned(input: {
  signedBytes: Uint8Array;
  signatures: Buffer[];
  certificate: string | undefined;
  chain: string | undefined;
  bundle: string | undefined;
  trust: CosignTrust;
  tlogBody: TlogBody;
}): Proof {
  const { trust } = input;
  if (input.signatures.length === 0)
    throw new ProvenanceVerificationError('MALFORMED', 'no signature');

  for (const pem of trust.keys ?? []) {
    const key = publicKeyFromPem(pem);
    const signature = input.signatures.find((s) => verifiesWithKey(key, input.signedBytes, s));
    if (!signature) continue;
    const keyId = keyIdOf(key);
    // A key signature needs no log, but a bundle that is there and does not verify is a lie.
    const signedAt =
      input.bundle && trust.trustedRoot
        ? verifyRekorBundle(input.bundle, trust.trustedRoot, {
            body: input.tlogBody,
            signature,
            verifier: key,
          })
        : undefined;
    return {
      signer: { kind: 'key', keyId },
      trustRoot: `key:${keyId}`,
      ...(signedAt ? { signedAt: signedAt.toISOString() } : {}),
    };
  }

  if (!input.certificate) {
    if (trust.keys?.length)
      throw new ProvenanceVerificationError(
        'INVALID_SIGNATURE',
        'no given key verifies the signature',
      );
    throw new ProvenanceVerificationError('UNTRUSTED', 'no key given and no certificate attached');
  }
  if (!trust.trustedRoot)
    throw new ProvenanceVerificationError(
      'UNTRUSTED',
      'signed by a certificate, and no Sigstore trusted root is configured',
    );
  return verifyKeyless({
    ...input,
    certificate: input.certificate,
    trustedRoot: trust.trustedRoot,
  });
}

function verifyKeyless(input: {
  signedBytes: Uint8Array;
  signatures: Buffer[];
  certificate: string;
  chain: string | undefined;
  bundle: string | undefined;
  trust: CosignTrust;
  trustedRoot: SigstoreTrustedRoot;
  tlogBody: TlogBody;
}): Proof {
  const leaf = parseCertificate(input.certificate, 'certificate');
  const signature = input.signatures.find((s) =>
    verifiesWithKey(leaf.publicKey, input.signedBytes, s),
  );
  if (!signature)
    throw new ProvenanceVerificationError(
      'INVALID_SIGNATURE',
      "the signature does not verify with the certificate's key",
    );
  const intermediates = input.chain
    ? pemCertificates(input.chain).map((p) => parseCertificate(p, 'chain'))
    : [];
  const { path, ca } = chainToFulcio(leaf, intermediates, input.trustedRoot);
  if (!leaf.keyUsage?.includes('1.3.6.1.5.5.7.3.3'))
    throw new ProvenanceVerificationError('UNTRUSTED', 'certificate is not for code signing');
  const identity = certificateSigner(path.map((c) => c.raw));
  matchIdentity(identity, input.trust.identities ?? []);

  if (!input.bundle)
    throw new ProvenanceVerificationError(
      'TRANSPARENCY_LOG',
      'no Rekor bundle: nothing proves the certificate was valid when it signed',
    );
  const at = verifyRekorBundle(input.bundle, input.trustedRoot, {
    body: input.tlogBody,
    signature,
    verifier: leaf,
  });
  for (const cert of path)
    if (at < new Date(cert.validFrom) || at > new Date(cert.validTo))
      throw new ProvenanceVerificationError(
        'EXPIRED',
        `certificate ${(cert.subject ?? '').replaceAll('\n', ',') || '(leaf)'} valid ${cert.validFrom}..${cert.validTo}, not at ${at.toISOString()}`,
      );
  if (at < ca.validFor.start || at > ca.validFor.end)
    throw new ProvenanceVerificationError(
      'UNTRUSTED',
      `the Fulcio CA was not valid at ${at.toISOString()}`,
    );
  const root = ca.chain[ca.chain.length - 1] as { der: Buffer };
  return {
    signer: identity,
    trustRoot: `sigstore:${sha256Hex(root.der)}`,
    signedAt: at.toISOString(),
  };
}

/**
 * The path from `leaf` to a Fulcio CA of the trusted root, through intermediates from the
 * chain annotation where the CA's own chain does not reach. Only the trusted root anchors:
 * the annotation's certificates are candidates, never trusted by themselves.
 */
function chainToFulcio(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  root: SigstoreTrustedRoot,
): { path: X509Certificate[]; ca: TrustedAuthority } {
  const issues = (issuer: X509Certificate, cert: X509Certificate) =>
    cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  for (const ca of root.certificateAuthorities) {
    const caChain = ca.chain.map((c) => new X509Certificate(c.der));
    const path = [leaf];
    for (let depth = 0; depth < 5; depth++) {
      const current = path[path.length - 1] as X509Certificate;
      const anchored = caChain.findIndex((c) => issues(c, current));
      if (anchored >= 0) return { path: [...path, ...caChain.slice(anchored)], ca };
      const next = intermediates.find((c) => c.ca && !path.includes(c) && issues(c, current));
      if (!next) break;
      path.push(next);
    }
  }
  throw new ProvenanceVerificationError(
    'UNTRUSTED',
    `certificate issued by ${leaf.issuer.replaceAll('\n', ',')} does not chain to a Fulcio CA of the trusted root`,
  );
}

/**
 * Checks a Rekor bundle annotation (cosign's `RekorBundle`: the SignedEntryTimestamp and the
 * entry it signs) and returns the integrated time it proves. The SET is the log's signature
 * over the canonical JSON of {body, integratedTime, logID, logIndex}; the body must record
 * this very signature, signer and payload hash.
 */
function verifyRekorBundle(
  json: string,
  root: SigstoreTrustedRoot,
  expected: { body: TlogBody; signature: Buffer; verifier: X509Certificate | KeyObject },
): Date {
  const bundle = parseJson(json, 'Rekor bundle') as {
    SignedEntryTimestamp?: unknown;
    Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown };
  };
  const p = bundle?.Payload;
  if (
    typeof p?.body !== 'string' ||
    typeof p.integratedTime !== 'number' ||
    typeof p.logIndex !== 'number' ||
    typeof p.logID !== 'string'
  )
    throw new ProvenanceVerificationError('MALFORMED', 'Rekor bundle payload is incomplete');
  // A Rekor v1 log id is the SHA-256 of its key (RFC 6962 §3.2); roots name it as `logId`.
  const log = root.material.tlogs.find(
    (t) =>
      t.logID.toString('hex') === p.logID ||
      sha256Hex(t.publicKey.export({ type: 'spki', format: 'der' })) === p.logID,
  );
  if (!log)
    throw new ProvenanceVerificationError(
      'TRANSPARENCY_LOG',
      `Rekor log ${p.logID} is not in the trusted root`,
    );
  // Keys sorted, no spaces: RFC 8785 canonical JSON of these four members.
  const canonical = JSON.stringify({
    body: p.body,
    integratedTime: p.integratedTime,
    logID: p.logID,
    logIndex: p.logIndex,
  });
  const set = decodeBase64(bundle.SignedEntryTimestamp, 'SignedEntryTimestamp');
  if (!verifiesWithKey(log.publicKey, Buffer.from(canonical, 'utf8'), set))
    throw new ProvenanceVerificationError(
      'TRANSPARENCY_LOG',
      `SignedEntryTimestamp does not verify with ${log.baseURL}'s key`,
    );
  const at = new Date(p.integratedTime * 1000);
  if (at < log.validFor.start || at > log.validFor.end)
    throw new ProvenanceVerificationError(
      'TRANSPARENCY_LOG',
      `${log.baseURL}'s key was not valid at ${at.toISOString()}`,
    );
  checkTlogBody(decodeBase64(p.body, 'Rekor entry body'), expected);
  return at;
}

interface RekorHash {
  algorithm?: string;
  value?: string;
}

/** The members of the Rekor entry kinds below that we read (all optional: we check each). */
interface RekorSpec {
  data?: { hash?: RekorHash };
  signature?: { content?: unknown; publicKey?: { content?: unknown } };
  payloadHash?: RekorHash;
  signatures?: { signature?: unknown; verifier?: unknown }[];
  content?: {
    payloadHash?: RekorHash;
    envelope?: { signatures?: { sig?: unknown; publicKey?: unknown }[] };
  };
}

/** The Rekor entry kinds cosign writes: hashedrekord 0.0.1, dsse 0.0.1 and intoto 0.0.2. */
function checkTlogBody(
  raw: Buffer,
  expected: { body: TlogBody; signature: Buffer; verifier: X509Certificate | KeyObject },
): void {
  const body = parseJson(raw.toString('utf8'), 'Rekor entry body') as {
    kind?: string;
    apiVersion?: string;
    spec?: RekorSpec;
  };
  const fail = (what: string) =>
    new ProvenanceVerificationError('TRANSPARENCY_LOG', `Rekor ${body.kind} entry: ${what}`);
  const spec = body.spec ?? {};
  let hash: unknown;
  let pairs: { sig: unknown; verifier: unknown }[];
  if (body.kind === 'hashedrekord' && expected.body.kind === 'message') {
    hash = spec.data?.hash?.algorithm === 'sha256' ? spec.data.hash.value : undefined;
    pairs = [{ sig: spec.signature?.content, verifier: spec.signature?.publicKey?.content }];
  } else if (body.kind === 'dsse' && expected.body.kind === 'dsse') {
    hash = spec.payloadHash?.algorithm === 'sha256' ? spec.payloadHash.value : undefined;
    pairs = (spec.signatures ?? []).map((s) => ({ sig: s.signature, verifier: s.verifier }));
  } else if (body.kind === 'intoto' && expected.body.kind === 'dsse') {
    // intoto 0.0.2 double-encodes: the signature field is base64 of the base64 signature.
    const content = spec.content ?? {};
    hash = content.payloadHash?.algorithm === 'sha256' ? content.payloadHash.value : undefined;
    pairs = (content.envelope?.signatures ?? []).map((s) => ({
      sig: typeof s.sig === 'string' ? decodeBase64(s.sig, 'intoto sig').toString('utf8') : s.sig,
      verifier: s.publicKey,
    }));
  } else {
    throw fail(`kind ${body.kind} ${body.apiVersion} does not record this signature type`);
  }
  const want = expected.body.kind === 'message' ? expected.body.hash : expected.body.payloadHash;
  if (hash !== want) throw fail(`records hash ${String(hash)}, not ${want}`);
  const verifierDer =
    expected.verifier instanceof X509Certificate
      ? expected.verifier.raw
      : expected.verifier.export({ type: 'spki', format: 'der' });
  const recorded = pairs.some((pair) => {
    if (typeof pair.sig !== 'string' || typeof pair.verifier !== 'string') return false;
    if (!decodeBase64(pair.sig, 'recorded signature').equals(expected.signature)) return false;
    return recordedVerifierDer(pair.verifier)?.equals(verifierDer) ?? false;
  });
  if (!recorded) throw fail('does not record this signature and signer');
}

/** A body's verifier: base64 of a PEM certificate or PEM public key. */
function recordedVerifierDer(b64: string): Buffer | undefined {
  try {
    const pem = decodeBase64(b64, 'recorded verifier').toString('utf8');
    if (pem.includes('CERTIFICATE')) return new X509Certificate(pem).raw;
    return createPublicKey(pem).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function checkBlob(layer: CosignLayer, blob: Uint8Array): void {
  const actual = `sha256:${sha256Hex(blob)}`;
  if (actual !== layer.digest)
    throw new ProvenanceVerificationError(
      'DIGEST_MISMATCH',
      `layer blob hashes to ${actual}, not ${layer.digest}`,
    );
  if (layer.size !== undefined && layer.size !== blob.length)
    throw new ProvenanceVerificationError(
      'DIGEST_MISMATCH',
      `layer blob has ${blob.length} bytes, not ${layer.size}`,
    );
}

function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new ProvenanceVerificationError('MALFORMED', `${what} is not a PEM certificate`, {
      cause,
    });
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ProvenanceVerificationError('MALFORMED', `${what} is not JSON`, { cause });
  }
}
