/**
 * verifyImage end to end on the real signatures of the shared data, each turned into the
 * DiscoveredArtifact discovery would return: connaisseur's `.sig` manifests (alice, bob and
 * charlie's keys, and a keyless one), slsa-verifier's `.att` layout, Notation's e2e OCI layout
 * and cosign v3's Sigstore bundle referrer. Nothing is signed here; tampering flips one bit of
 * a real file in memory.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificatesFromBytes, trustStoreOf } from '../../../shared/provenance/notation-trust.js';
import { parseProvenancePolicy } from '../../../shared/provenance/policy.js';
import { parseTrustedRoot } from '../../../shared/provenance/trusted-root.js';
import type { DiscoveredArtifact } from '../../../shared/provenance/types.js';
import {
  type ProvenanceTrust,
  signatureKind,
  verifyImage,
} from '../../../shared/provenance/verify-image.js';
import { dataDir } from '../../support/fixtures.js';

const DATA = path.join(dataDir(), 'provenance');
const read = (relative: string) => readFileSync(path.join(DATA, relative));
const text = (relative: string) => read(relative).toString('utf8');
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

type Descriptor = DiscoveredArtifact['layers'][number]['descriptor'];

/** A manifest and its layer blobs as discovery returns them (the manifest digest computed). */
function artifact(
  subject: string,
  via: DiscoveredArtifact['via'],
  manifestBytes: Buffer,
  blob: (digest: string) => Buffer,
  keepLayers?: (layers: Descriptor[]) => Descriptor[],
): DiscoveredArtifact {
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    artifactType?: string;
    config: { mediaType: string };
    layers: Descriptor[];
  };
  const layers = keepLayers ? keepLayers(manifest.layers) : manifest.layers;
  return {
    subject,
    via,
    digest: sha256(manifestBytes),
    artifactType: manifest.artifactType ?? manifest.config.mediaType,
    manifest,
    manifestBytes,
    layers: layers.map((descriptor) => ({ descriptor, bytes: blob(descriptor.digest) })),
  };
}

// --- connaisseur's mock registry: `.sig` manifests, blobs by digest ---------------------------
const CONNAISSEUR = 'connaisseur/test/testdata/cosign';
const TESTIMAGE = `${CONNAISSEUR}/securesystemsengineering/testimage`;
const MULTI = 'sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533';
const ALICE_ONLY = 'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81';
const KEYLESS = 'sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee';
const connaisseurBlob = (digest: string) => read(`${TESTIMAGE}/blobs/${digest}.json`);
/** The `.sig` of an image; `pick` keeps some of its layers (MULTI: 0 alice, 1 bob, 2 charlie). */
const sig = (image: string, pick?: number[], blob = connaisseurBlob) =>
  artifact(
    image,
    'cosign-tag',
    read(`${TESTIMAGE}/manifests/${image.replace(':', '-')}.sig.json`),
    blob,
    pick ? (layers) => pick.map((i) => layers[i] as Descriptor) : undefined,
  );

// --- slsa-verifier's `cosign save` layout with a `.att` ----------------------------------------
const ATT_DIR = 'slsa-verifier/cli/slsa-verifier/testdata/gha_generic_container/v2.1.0';
const ATT_BLOBS = `${ATT_DIR}/container_workflow_dispatch/blobs/sha256`;
const ATT_IMAGE = text(`${ATT_DIR}/container_workflow_dispatch.digest`).trim();
const att = () =>
  artifact(
    ATT_IMAGE,
    'cosign-tag',
    read(`${ATT_BLOBS}/21454caf3a160dfbe6359f0501aa8401c6c0f2c7a8b71380ea21f8c4b48b64fe`),
    (digest) => read(`${ATT_BLOBS}/${digest.replace('sha256:', '')}`),
  );
const GENERATOR = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows';

// --- Notation's e2e OCI layout: the signature manifest refers to the image ---------------------
const E2E = 'notation/test/e2e/testdata';
const NOTATION_BLOBS = `${E2E}/registry/oci_layout/e2e-valid-signature/blobs/sha256`;
const NOTATION_IMAGE = 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';
const notationSig = () =>
  artifact(
    NOTATION_IMAGE,
    'referrers-api',
    read(`${NOTATION_BLOBS}/90ceaff260d657d797c408ac73564a9c7bb9d86055877c2a811f0e63b8c6524f`),
    (digest) => read(`${NOTATION_BLOBS}/${digest.replace('sha256:', '')}`),
  );
const certs = (relative: string) => certificatesFromBytes(read(relative), relative);

// --- cosign v3: a Sigstore bundle stored as a referrer -----------------------------------------
const BUNDLE_FILE = 'cosign/pkg/cosign/testdata/oci-attestation.sigstore.json';
const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** The image the bundle's statement names (go-containerregistry's empty image). */
const BUNDLE_IMAGE = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
function bundleReferrer(bytes = read(BUNDLE_FILE)): DiscoveredArtifact {
  const descriptor = { mediaType: BUNDLE_MEDIA_TYPE, digest: sha256(bytes), size: bytes.length };
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: BUNDLE_MEDIA_TYPE,
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: sha256(Buffer.from('{}')),
        size: 2,
      },
      layers: [descriptor],
      subject: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: BUNDLE_IMAGE,
        size: 0,
      },
    }),
  );
  return artifact(BUNDLE_IMAGE, 'referrers-api', manifestBytes, () => bytes);
}

const TRUST: ProvenanceTrust = {
  sigstoreRoots: {
    'public-good': parseTrustedRoot(text('sigstore-root-signing/targets/trusted_root.json')),
    'cosign-testdata': parseTrustedRoot(text('cosign/pkg/cosign/testdata/trusted_root_pgi.json')),
  },
  notationTrustStore: trustStoreOf({
    'ca:e2e': certs(`${E2E}/config/localkeys/e2e.crt`),
    'ca:other': certs(`${E2E}/config/localkeys/new_e2e.crt`),
  }),
};
const NOW = new Date('2025-06-01T00:00:00Z');

const key = (name: string) => JSON.stringify(text(`${CONNAISSEUR}/${name}.key`));
const POLICY = parseProvenancePolicy(`
apiVersion: provenance.bosun.dev/v1
authorities:
  alice: { key: ${key('alice')} }
  bob: { key: ${key('bob')} }
  charlie: { key: ${key('charlie')} }
  belitz:
    keyless:
      trustedRoot: public-good
      identities:
        - { issuer: https://github.com/login/oauth, subject: philipp.belitz@securesystems.de }
  slsa-generator:
    keyless:
      trustedRoot: public-good
      identities:
        - issuer: https://token.actions.githubusercontent.com
          subject:
            regex: ${JSON.stringify(`${GENERATOR.replaceAll('.', '\\.')}/generator_container_slsa3\\.yml@refs/tags/v.*`)}
  cody:
    keyless:
      trustedRoot: cosign-testdata
      identities: [{ issuer: https://github.com/login/oauth, subject: cody@soyland.com }]
  e2e:
    notation: { trustStores: ["ca:e2e"], trustedIdentities: ["*"] }
  other-notation:
    notation: { trustStores: ["ca:other"], trustedIdentities: ["*"] }
rules:
  - name: two-of-three
    repositories: [reg.example/two]
    signatures: { threshold: 2, of: [alice, bob, charlie] }
  - name: bob
    repositories: [reg.example/bob]
    signatures: bob
  - name: keyless
    repositories: [reg.example/keyless]
    signatures: belitz
  - name: slsa
    repositories: [reg.example/slsa]
    attestations:
      - predicateType: https://slsa.dev/provenance/v0.2
        authorities: [slsa-generator]
        conditions:
          builderIds: ["${GENERATOR}/generator_container_slsa3.yml"]
          sourceRepositories: [https://github.com/slsa-framework/example-package]
  - name: slsa-elsewhere
    repositories: [reg.example/slsa-elsewhere]
    attestations:
      - predicateType: https://slsa.dev/provenance/v0.2
        authorities: [slsa-generator]
        conditions: { sourceRepositories: [https://github.com/slsa-framework/other-package] }
  - name: notation
    repositories: [reg.example/notation]
    signatures: e2e
  - name: notation-other
    repositories: [reg.example/notation-other]
    signatures: other-notation
  - name: bundle
    repositories: [reg.example/bundle]
    attestations:
      - predicateType: https://cosign.sigstore.dev/attestation/v1
        authorities: [cody]
default:
  signatures: alice
`);

const verify = (repository: string, image: string, artifacts: DiscoveredArtifact[]) =>
  verifyImage(image, artifacts, POLICY, TRUST, { repository, now: NOW });

/** Flips one bit of the first layer's blob of an artifact. */
function tamperFirstLayer(a: DiscoveredArtifact): DiscoveredArtifact {
  const [first, ...rest] = a.layers;
  if (!first) throw new Error('no layer');
  const bytes = Buffer.from(first.bytes);
  bytes[10] = (bytes[10] as number) ^ 1;
  return { ...a, layers: [{ ...first, bytes }, ...rest] };
}

describe('verifyImage on real signatures', () => {
  it('VERIFIED: alice signs the image the default rule asks alice for', async () => {
    const v = await verify('reg.example/app', ALICE_ONLY, [sig(ALICE_ONLY)]);
    expect(v).toMatchObject({ status: 'VERIFIED', rule: 'default', policyVersion: POLICY.version });
    expect(v.requirements[0]?.satisfiedBy).toEqual([
      {
        source: `${sig(ALICE_ONLY).digest}#0`,
        authority: 'alice',
        trustRoot: expect.stringMatching(/^key:sha256:/),
      },
    ]);
  });

  it('UNSIGNED: nothing discovered, and the policy requires a signature', async () => {
    const v = await verify('reg.example/app', ALICE_ONLY, []);
    expect(v.status).toBe('UNSIGNED');
  });

  it('UNTRUSTED: signed by alice, and the rule wants bob', async () => {
    const v = await verify('reg.example/bob', ALICE_ONLY, [sig(ALICE_ONLY)]);
    expect(v.status).toBe('UNTRUSTED');
    expect(v.failures).toEqual([
      expect.objectContaining({ authority: 'bob', failure: 'UNTRUSTED' }),
    ]);
  });

  it('INVALID: the signed payload changed by one bit', async () => {
    const v = await verify('reg.example/app', ALICE_ONLY, [tamperFirstLayer(sig(ALICE_ONLY))]);
    expect(v.status).toBe('INVALID');
    expect(v.failures[0]?.failure).toBe('DIGEST_MISMATCH');
  });

  it('threshold 2 of distinct roots: alice signing twice fails, alice and bob pass', async () => {
    const twice = await verify('reg.example/two', MULTI, [sig(MULTI, [0, 0])]);
    expect(twice.status).toBe('POLICY_FAILED');
    expect(twice.reasons[0]).toMatch(/1 distinct signer \(2 signatures\)/);
    // The same `.sig` found twice (tag and referrers) is still one root.
    const found = await verify('reg.example/two', MULTI, [
      sig(MULTI, [0]),
      { ...sig(MULTI, [0]), via: 'referrers-tag' },
    ]);
    expect(found.status).toBe('POLICY_FAILED');
    const pair = await verify('reg.example/two', MULTI, [sig(MULTI, [0, 1])]);
    expect(pair.status).toBe('VERIFIED');
    const all = await verify('reg.example/two', MULTI, [sig(MULTI)]);
    expect(all.status).toBe('VERIFIED');
    expect(new Set(all.requirements[0]?.satisfiedBy.map((s) => s.trustRoot)).size).toBe(3);
  });

  it('keyless `.sig`: the Fulcio identity verifies; a flipped signature is INVALID', async () => {
    expect((await verify('reg.example/keyless', KEYLESS, [sig(KEYLESS)])).status).toBe('VERIFIED');
    const a = sig(KEYLESS);
    const first = a.layers[0];
    if (!first) throw new Error('no layer');
    const annotations = { ...first.descriptor.annotations };
    const signature = Buffer.from(
      annotations['dev.cosignproject.cosign/signature'] as string,
      'base64',
    );
    signature[20] = (signature[20] as number) ^ 1;
    annotations['dev.cosignproject.cosign/signature'] = signature.toString('base64');
    const tampered = {
      ...a,
      layers: [{ ...first, descriptor: { ...first.descriptor, annotations } }],
    };
    const v = await verify('reg.example/keyless', KEYLESS, [tampered]);
    expect(v.status).toBe('INVALID');
    expect(v.failures[0]?.failure).toBe('INVALID_SIGNATURE');
    // Alice's key against the keyless signature: another signer, not a broken one.
    expect((await verify('reg.example/app', KEYLESS, [sig(KEYLESS)])).status).toBe('UNTRUSTED');
  });

  it('`.att` SLSA provenance: conditions met VERIFIED, another source POLICY_FAILED', async () => {
    const v = await verify('reg.example/slsa', ATT_IMAGE, [att()]);
    expect(v.status).toBe('VERIFIED');
    expect(v.requirements[0]?.satisfiedBy[0]?.authority).toBe('slsa-generator');
    const elsewhere = await verify('reg.example/slsa-elsewhere', ATT_IMAGE, [att()]);
    expect(elsewhere.status).toBe('POLICY_FAILED');
    expect(elsewhere.reasons[0]).toMatch(/source .* is not one of .*other-package/);
    // An attestation is not an image signature: the default rule wants alice's.
    expect((await verify('reg.example/app', ATT_IMAGE, [att()])).status).toBe('UNTRUSTED');
  });

  it('Notation JWS referrer: the e2e trust store verifies it, another store does not', async () => {
    const v = await verify('reg.example/notation', NOTATION_IMAGE, [notationSig()]);
    expect(v.status).toBe('VERIFIED');
    expect(v.requirements[0]?.satisfiedBy[0]?.trustRoot).toMatch(/^x509:sha256:/);
    const other = await verify('reg.example/notation-other', NOTATION_IMAGE, [notationSig()]);
    expect(other.status).toBe('UNTRUSTED');
    // For another image, the signed target digest does not match.
    const wrong = await verify('reg.example/notation', ALICE_ONLY, [notationSig()]);
    expect(wrong.status).toBe('INVALID');
    // A rule with only cosign keys has no authority for a Notation signature.
    const keysOnly = await verify('reg.example/app', NOTATION_IMAGE, [notationSig()]);
    expect(keysOnly).toMatchObject({ status: 'UNTRUSTED', failures: [{ authority: '(none)' }] });
  });

  it('cosign v3 Sigstore bundle referrer: the DSSE attestation verifies for its image', async () => {
    const v = await verify('reg.example/bundle', BUNDLE_IMAGE, [bundleReferrer()]);
    expect(v.status).toBe('VERIFIED');
    expect(v.requirements[0]?.satisfiedBy[0]?.trustRoot).toMatch(/^sigstore:/);
    const other = await verify('reg.example/bundle', ALICE_ONLY, [bundleReferrer()]);
    expect(other).toMatchObject({ status: 'INVALID', failures: [{ failure: 'DIGEST_MISMATCH' }] });
  });

  it('passes over referrers that are not signatures', async () => {
    const sbom = { ...bundleReferrer(), artifactType: 'application/spdx+json' };
    const layer = sbom.layers[0];
    if (!layer) throw new Error('no layer');
    const notSignature = {
      ...sbom,
      layers: [
        { ...layer, descriptor: { ...layer.descriptor, mediaType: 'application/spdx+json' } },
      ],
    };
    const v = await verify('reg.example/app', ALICE_ONLY, [notSignature, sig(ALICE_ONLY)]);
    expect(v).toMatchObject({ status: 'VERIFIED', failures: [] });
    expect((await verify('reg.example/app', ALICE_ONLY, [notSignature])).status).toBe('UNSIGNED');
  });
});

describe("docs/provenance-policy.md: Connaisseur's multi-signature example, translated", () => {
  const docs = readFileSync(
    path.join(import.meta.dirname, '../../../docs/provenance-policy.md'),
    'utf8',
  );
  const block = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .find((b) => b.includes('charlie:'));
  const policy = parseProvenancePolicy(block as string);
  const check = (layers: number[]) =>
    verifyImage(MULTI, [sig(MULTI, layers)], policy, TRUST, { repository: 'any/repo', now: NOW });

  it.each([
    [[0, 1, 2], 'VERIFIED'],
    [[0, 2], 'VERIFIED'],
    [[1, 2], 'POLICY_FAILED'],
    [[0, 0], 'POLICY_FAILED'],
    [[0], 'POLICY_FAILED'],
  ])('layers %j (0 alice, 1 bob, 2 charlie): %s', async (layers, status) => {
    expect((await check(layers)).status).toBe(status);
  });
});

describe('signatureKind', () => {
  it('takes the Sigstore bundle media types whole, nothing after them', () => {
    const kind = (mediaType: string) => signatureKind({ artifactType: 'x' }, mediaType);
    expect(kind('application/vnd.dev.sigstore.bundle.v0.3+json')).toBe('sigstore-bundle');
    expect(kind('application/vnd.dev.sigstore.bundle+json;version=0.2')).toBe('sigstore-bundle');
    expect(kind('application/vnd.dev.sigstore.bundle+json')).toBe('sigstore-bundle');
    expect(kind('application/vnd.dev.sigstore.bundle.v0.3+jsonx')).toBeUndefined();
    expect(kind('application/vnd.dev.sigstore.bundle+json.evil')).toBeUndefined();
  });
});
