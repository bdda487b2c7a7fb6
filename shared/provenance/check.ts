/**
 * Checking one image's provenance end to end: discovery of its signatures and attestations in
 * its registry, then their verification against the policy (verify-image.ts). The one entry the
 * scan pipeline, the re-verification pass and the CLI share.
 *
 * The trust material is identified by a version: the sha256 of every trusted root and trust
 * store certificate as given. A verdict is valid for (digest, repository, policy version, trust
 * version); a change of either version makes stored verdicts stale (pipeline/provenance.ts).
 */
import { createHash } from 'node:crypto';
import type { RegistryClient } from '../registry/client.js';
import { type DiscoveryOptions, discoverArtifacts, type ReferrerLister } from './discovery.js';
import type { SignerRevocationClient } from './notation.js';
import { certificatesFromBytes, type TrustStore, trustStoreOf } from './notation-trust.js';
import type { ProvenancePolicy } from './policy.js';
import { parseTrustedRoot } from './trusted-root.js';
import type { Verdict } from './verdict.js';
import { type ProvenanceTrust, verifyImage } from './verify-image.js';

/** Trust material as bytes, before parsing: what a trust version is computed from. */
export interface TrustSources {
  /** Sigstore TrustedRoot JSON documents, by the name policies give them. */
  readonly sigstoreRoots?: Readonly<Record<string, string>>;
  /**
   * Notation trust stores: `<type>:<name>` (`ca:acme`, `signingAuthority:aws-signer`, `tsa:x`)
   * to the PEM or DER certificate files they hold.
   */
  readonly notationStores?: Readonly<Record<string, readonly Uint8Array[]>>;
}

/** Parsed trust material and the version verdicts record it by. */
export interface LoadedTrust {
  readonly trust: ProvenanceTrust;
  /** `sha256:<hex>` over every root and certificate, by name. */
  readonly version: string;
}

/** Parses trust material; a root or certificate that cannot be read refuses the whole set. */
export function loadTrust(sources: TrustSources): LoadedTrust {
  const hash = createHash('sha256');
  const roots = Object.entries(sources.sigstoreRoots ?? {}).sort(([a], [b]) => cmp(a, b));
  const sigstoreRoots = Object.fromEntries(
    roots.map(([name, json]) => {
      hash.update(`root\u0000${name}\u0000${json}\u0000`);
      return [name, parseTrustedRoot(json, `trusted root ${name}`)];
    }),
  );
  const stores = Object.entries(sources.notationStores ?? {}).sort(([a], [b]) => cmp(a, b));
  const certificates = Object.fromEntries(
    stores.map(([name, files]) => {
      hash.update(`store\u0000${name}\u0000`);
      const certs = files.flatMap((bytes, i) => {
        hash.update(bytes).update('\u0000');
        return certificatesFromBytes(bytes, `trust store ${name} file ${i + 1}`);
      });
      return [name, certs];
    }),
  );
  const notationTrustStore: TrustStore | undefined =
    stores.length === 0 ? undefined : trustStoreOf(certificates);
  return {
    trust: {
      sigstoreRoots,
      ...(notationTrustStore === undefined ? {} : { notationTrustStore }),
    },
    version: `sha256:${hash.digest('hex')}`,
  };
}

export interface CheckOptions {
  readonly now?: Date;
  readonly signal?: AbortSignal;
}

/** Everything a provenance check needs besides the image: policy, trust, and how to reach it. */
export interface ProvenanceChecker {
  readonly policy: ProvenancePolicy;
  readonly trustVersion: string;
  /** The verdict for `digest` as pushed to `registry/repository`. */
  check(
    registry: string,
    repository: string,
    digest: string,
    options?: CheckOptions,
  ): Promise<Verdict>;
}

export interface CheckerOptions {
  readonly policy: ProvenancePolicy;
  readonly trust: LoadedTrust;
  /** The registry the signatures are read from (the same client the scan pulls with). */
  readonly registry: RegistryClient;
  /** ECR's ListImageReferrers for ECR hosts, in place of the OCI referrers API. */
  readonly ecrReferrers?: (registry: string) => ReferrerLister | undefined;
  readonly crls?: readonly Uint8Array[];
  readonly awsSigner?: { client: SignerRevocationClient };
  readonly discovery?: Pick<DiscoveryOptions, 'maxBytes' | 'maxArtifacts' | 'maxTotalBytes'>;
}

export function provenanceChecker(options: CheckerOptions): ProvenanceChecker {
  return {
    policy: options.policy,
    trustVersion: options.trust.version,
    async check(registry, repository, digest, check = {}) {
      const full = `${registry}/${repository}`;
      const ecr = options.ecrReferrers?.(registry);
      // Every rule asks for something (policy.ts): there is always something to look for.
      const found = await discoverArtifacts(options.registry, { registry, repository }, digest, {
        ...options.discovery,
        ...(ecr === undefined ? {} : { ecr }),
        ...(check.signal === undefined ? {} : { signal: check.signal }),
      });
      return verifyImage(digest, found.artifacts, options.policy, options.trust.trust, {
        repository: full,
        ...(check.now === undefined ? {} : { now: check.now }),
        ...(options.crls === undefined ? {} : { crls: options.crls }),
        ...(options.awsSigner === undefined ? {} : { awsSigner: options.awsSigner }),
        unread: found.problems.map((p) => ({ where: p.where, message: p.message })),
      });
    },
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
