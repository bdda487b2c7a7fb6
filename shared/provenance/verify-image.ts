/**
 * One entry point: verify what discovery found for an image against the provenance policy.
 * Each layer of each discovered artifact is one signature, dispatched by its media type to its
 * verifier and checked against every authority of the applicable rule that can sign that
 * format; the outcomes then go to decideVerdict (verdict.ts).
 *
 * Formats: cosign simple signing (`.sig` layers), cosign DSSE attestations (`.att` layers),
 * Sigstore bundles v0.1-v0.3 as referrers (cosign v3, `gh attestation`), Notation JWS and COSE
 * envelopes (artifact type `application/vnd.cncf.notary.signature`). Other referrers (SBOMs,
 * scan reports) are not signatures and are passed over.
 */
import {
  DSSE_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  verifyAttestationLayer,
  verifySimpleSigningLayer,
} from './cosign-legacy.js';
import {
  COSE_MEDIA_TYPE,
  JWS_MEDIA_TYPE,
  type SignerRevocationClient,
  verifyNotationSignature,
} from './notation.js';
import { parseTrustPolicy, type TrustStore } from './notation-trust.js';
import { type Authority, type ProvenancePolicy, ruleAuthorities, selectRule } from './policy.js';
import { verifySigstoreBundle } from './sigstore.js';
import type { SigstoreTrustedRoot } from './trusted-root.js';
import {
  ArtifactType,
  type DiscoveredArtifact,
  ProvenanceVerificationError,
  type VerifiedSignature,
} from './types.js';
import {
  decideVerdict,
  type SignatureOutcome,
  type UnreadArtifact,
  type Verdict,
} from './verdict.js';

/**
 * Sigstore bundle media types as layers and artifact types: `...bundle.v0.3+json`, and the older
 * `...bundle+json;version=0.2`; nothing after them.
 */
const SIGSTORE_BUNDLE =
  /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.\d+\+json|\+json(;version=0\.\d+)?)$/;

/** Trust material the policy's authorities name: Sigstore roots by name, Notation's stores. */
export interface ProvenanceTrust {
  readonly sigstoreRoots?: Readonly<Record<string, SigstoreTrustedRoot>>;
  readonly notationTrustStore?: TrustStore;
}

export interface VerifyImageOptions {
  /** `registry/path` of the image, without tag or digest: selects the policy rule. */
  readonly repository: string;
  /** Verification time (certificate validity, attestation age). Default: now. */
  readonly now?: Date;
  /** CRLs for Notation certificates that name a distribution point. */
  readonly crls?: readonly Uint8Array[];
  readonly awsSigner?: { client: SignerRevocationClient };
  /** What discovery found but could not read (its `problems`): the verdict names them. */
  readonly unread?: readonly UnreadArtifact[];
}

type SignatureKind = 'cosign-sig' | 'cosign-att' | 'sigstore-bundle' | 'notation';

/** What a layer is, by its media type (and the artifact's type for Notation). */
export function signatureKind(
  artifact: Pick<DiscoveredArtifact, 'artifactType'>,
  layerMediaType: string,
): SignatureKind | undefined {
  if (layerMediaType === SIMPLE_SIGNING_MEDIA_TYPE) return 'cosign-sig';
  if (layerMediaType === DSSE_MEDIA_TYPE) return 'cosign-att';
  if (SIGSTORE_BUNDLE.test(layerMediaType)) return 'sigstore-bundle';
  if (
    artifact.artifactType === ArtifactType.notationSignature &&
    (layerMediaType === JWS_MEDIA_TYPE || layerMediaType === COSE_MEDIA_TYPE)
  )
    return 'notation';
  return undefined;
}

/** Which formats an authority can vouch for. */
function signs(authority: Authority, kind: SignatureKind): boolean {
  return 'notation' in authority ? kind === 'notation' : kind !== 'notation';
}

export async function verifyImage(
  subjectDigest: string,
  artifacts: readonly DiscoveredArtifact[],
  policy: ProvenancePolicy,
  trust: ProvenanceTrust,
  options: VerifyImageOptions,
): Promise<Verdict> {
  const rule = selectRule(policy, options.repository);
  const names = ruleAuthorities(rule);
  const outcomes: SignatureOutcome[] = [];
  for (const artifact of artifacts) {
    for (const [index, layer] of artifact.layers.entries()) {
      const kind = signatureKind(artifact, layer.descriptor.mediaType);
      if (kind === undefined) continue;
      const source = `${artifact.digest}#${index}`;
      const able = names.filter((n) => {
        const a = policy.authorities[n];
        return a !== undefined && signs(a, kind);
      });
      if (able.length === 0) {
        outcomes.push({
          source,
          authority: '(none)',
          result: new ProvenanceVerificationError(
            'UNTRUSTED',
            `a ${kind} signature, and no authority of rule ${rule.name} verifies that format`,
          ),
        });
        continue;
      }
      for (const name of able) {
        const authority = policy.authorities[name] as Authority;
        const result = await verifyLayer(kind, layer, authority, {
          subjectDigest,
          trust,
          options,
        }).catch((error: unknown) => {
          if (error instanceof ProvenanceVerificationError) return error;
          throw error;
        });
        outcomes.push({ source, authority: name, result });
      }
    }
  }
  return decideVerdict({
    subjectDigest,
    repository: options.repository,
    policy,
    rule,
    outcomes,
    ...(options.unread === undefined ? {} : { unread: options.unread }),
    ...(options.now ? { now: options.now } : {}),
  });
}

interface Context {
  subjectDigest: string;
  trust: ProvenanceTrust;
  options: VerifyImageOptions;
}

async function verifyLayer(
  kind: SignatureKind,
  layer: DiscoveredArtifact['layers'][number],
  authority: Authority,
  ctx: Context,
): Promise<VerifiedSignature> {
  switch (kind) {
    case 'cosign-sig':
    case 'cosign-att': {
      const verify = kind === 'cosign-sig' ? verifySimpleSigningLayer : verifyAttestationLayer;
      const trust =
        'key' in authority
          ? {
              keys: [authority.key],
              ...(authority.trustedRoot ? { trustedRoot: root(ctx, authority.trustedRoot) } : {}),
            }
          : 'keyless' in authority
            ? {
                trustedRoot: root(ctx, authority.keyless.trustedRoot),
                identities: authority.keyless.identities,
              }
            : {};
      try {
        return verify(layer.descriptor, layer.bytes, ctx.subjectDigest, trust);
      } catch (error) {
        // With a key, a signature no key verifies cannot be told from one made by another
        // key: cosign's "no matching signatures". The broken cases (blob digest, payload, a
        // certificate's own key) fail before or apart from this.
        if (
          'key' in authority &&
          error instanceof ProvenanceVerificationError &&
          error.failure === 'INVALID_SIGNATURE'
        )
          throw new ProvenanceVerificationError('UNTRUSTED', 'not signed by this key', {
            cause: error,
          });
        throw error;
      }
    }
    case 'sigstore-bundle':
      return verifyBundle(layer.bytes, authority, ctx);
    case 'notation': {
      if (!('notation' in authority)) throw new Error('unreachable: notation authority');
      if (!ctx.trust.notationTrustStore)
        throw new ProvenanceVerificationError('UNTRUSTED', 'no Notation trust store was given');
      // The authority is a Notation trust policy statement; Notation's own parser validates it.
      const statement = parseTrustPolicy(
        JSON.stringify({
          version: '1.0',
          trustPolicies: [
            {
              name: 'bosun',
              registryScopes: ['*'],
              signatureVerification: { level: authority.notation.level ?? 'strict' },
              trustStores: authority.notation.trustStores,
              trustedIdentities: authority.notation.trustedIdentities,
            },
          ],
        }),
        'oci',
      ).statements[0];
      if (!statement) throw new Error('unreachable: one statement');
      return verifyNotationSignature(layer.bytes, layer.descriptor.mediaType, {
        digest: ctx.subjectDigest,
        policy: statement,
        trustStore: ctx.trust.notationTrustStore,
        ...(ctx.options.now ? { now: ctx.options.now } : {}),
        ...(ctx.options.crls ? { crls: ctx.options.crls } : {}),
        ...(ctx.options.awsSigner ? { awsSigner: ctx.options.awsSigner } : {}),
      });
    }
  }
}

/** A Sigstore bundle referrer, for the image digest alone (the image is known by digest). */
function verifyBundle(bytes: Uint8Array, authority: Authority, ctx: Context): VerifiedSignature {
  const json = Buffer.from(bytes).toString('utf8');
  const artifact = { digest: ctx.subjectDigest };
  if ('key' in authority) {
    if (!authority.trustedRoot)
      throw new ProvenanceVerificationError(
        'UNTRUSTED',
        'a Sigstore bundle, and the key authority names no trustedRoot for its log entries',
      );
    return verifySigstoreBundle(json, {
      trustedRoot: root(ctx, authority.trustedRoot),
      artifact,
      publicKey: { key: authority.key },
    });
  }
  if (!('keyless' in authority)) throw new Error('unreachable: notation authority');
  const trustedRoot = root(ctx, authority.keyless.trustedRoot);
  // One identity policy per call: the first that accepts the signer wins.
  let last: unknown;
  for (const identity of authority.keyless.identities) {
    try {
      return verifySigstoreBundle(json, { trustedRoot, artifact, identity });
    } catch (error) {
      if (!(error instanceof ProvenanceVerificationError) || error.failure !== 'IDENTITY_MISMATCH')
        throw error;
      last = error;
    }
  }
  throw last;
}

function root(ctx: Context, name: string): SigstoreTrustedRoot {
  const found = ctx.trust.sigstoreRoots?.[name];
  if (!found)
    throw new ProvenanceVerificationError(
      'UNTRUSTED',
      `the Sigstore trusted root ${JSON.stringify(name)} was not given`,
    );
  return found;
}
