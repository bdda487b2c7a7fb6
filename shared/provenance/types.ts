import { BosunError } from '../errors.js';

/**
 * What every verifier in this folder returns: one signature or attestation that verified, with
 * the trust root that anchored it. Policies (issue 19) count distinct `trustRoot`s, never
 * signatures, so that one key signing twice can never satisfy a threshold of two.
 */
export type SignatureFormat =
  | 'sigstore-bundle'
  | 'cosign-simple-signing'
  | 'cosign-dsse'
  | 'notation-jws'
  | 'notation-cose'
  | 'gcb-provenance';

export type SignerIdentity =
  /** A public key: `keyId` is `sha256:<hex>` of its SubjectPublicKeyInfo DER. */
  | { kind: 'key'; keyId: string }
  | {
      kind: 'certificate';
      /** The leaf's subject DN, RFC 4514 string. */
      subject: string;
      /** Subject alternative names (email, URI, DNS, otherName) as strings. */
      sans: string[];
      /** Fulcio's OIDC issuer extension, when present. */
      oidcIssuer?: string;
      /** Other Fulcio extensions by name (sourceRepositoryURI, buildSignerURI, ...). */
      extensions: Readonly<Record<string, string>>;
      /** `sha256:<hex>` fingerprints of the chain, leaf first, up to the trusted root. */
      chain: string[];
    };

/** An in-toto Statement (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md). */
export interface InTotoStatement {
  _type: string;
  subject: { name?: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: unknown;
}

export interface VerifiedSignature {
  format: SignatureFormat;
  /** The digest the signature covers, `<algorithm>:<hex>`. */
  subjectDigest: string;
  signer: SignerIdentity;
  /**
   * The distinct trust root that anchored the signature: `key:sha256:<hex>` for a key,
   * `sigstore:<hex>` for a Sigstore trusted root (sha256 of its certificate authority's root),
   * `x509:sha256:<hex>` for a Notation trust-store root certificate.
   */
  trustRoot: string;
  /** When the signature is proven to have existed (log entry, RFC 3161 timestamp, signing time). */
  signedAt?: string;
  /** The in-toto statement of a DSSE attestation. */
  statement?: InTotoStatement;
}

/**
 * Artifact types of signatures and attestations: what discovery can be asked for, and what
 * verification tells formats apart by (kept here, apart from discovery and its AWS SDK import).
 */
export const ArtifactType = {
  /** Notary Project signatures (signature-specification.md "Storage"). */
  notationSignature: 'application/vnd.cncf.notary.signature',
  sigstoreBundleV03: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  /** What a cosign `.sig`/`.att`/`.sbom` manifest has: no artifactType, an image config. */
  cosignLegacy: 'application/vnd.oci.image.config.v1+json',
} as const;

/** Why a signature did not verify. */
export type ProvenanceFailure =
  | 'MALFORMED'
  | 'UNSUPPORTED'
  | 'INVALID_SIGNATURE'
  | 'DIGEST_MISMATCH'
  | 'UNTRUSTED'
  | 'EXPIRED'
  | 'REVOKED'
  | 'IDENTITY_MISMATCH'
  | 'TRANSPARENCY_LOG';

/** One signature or attestation that did not verify; the others of an image still count. */
export class ProvenanceVerificationError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly failure: ProvenanceFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${failure}: ${message}`, options);
  }
}

/** How discovery (discovery.ts) found an artifact for an image. */
export type DiscoveryRoute = 'cosign-tag' | 'referrers-api' | 'referrers-tag' | 'ecr-api';

/** A signature or attestation found for an image, with what verification needs, fetched. */
export interface DiscoveredArtifact {
  /** The image digest it is for. */
  readonly subject: string;
  readonly via: DiscoveryRoute;
  /** The artifact manifest's digest, checked against `manifestBytes`. */
  readonly digest: string;
  /**
   * `manifest.artifactType ?? config.mediaType`, the rule of the image spec:
   * https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md#guidelines-for-artifact-usage
   */
  readonly artifactType: string;
  /** The manifest as parsed JSON, every field kept. */
  readonly manifest: unknown;
  readonly manifestBytes: Uint8Array;
  /** Each layer with its bytes, checked against its digest and size. */
  readonly layers: readonly {
    descriptor: {
      mediaType: string;
      digest: string;
      size: number;
      annotations?: Record<string, string>;
    };
    bytes: Uint8Array;
  }[];
}
