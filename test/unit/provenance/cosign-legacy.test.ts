import { createHash, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION,
  type CosignLayer,
  type CosignTrust,
  SIMPLE_SIGNING_MEDIA_TYPE,
  verifyAttestationLayer,
  verifyCosignManifest,
  verifyDsseEnvelope,
  verifySimpleSigningLayer,
} from '../../../shared/provenance/cosign-legacy.js';
import { parseTrustedRoot } from '../../../shared/provenance/trusted-root.js';
import type { VerifiedSignature } from '../../../shared/provenance/types.js';
import { dataDir } from '../../support/fixtures.js';
import { failureOf } from './failure-of.js';

const DATA = path.join(dataDir(), 'provenance');
const read = (relative: string) => readFileSync(path.join(DATA, relative));
const text = (relative: string) => read(relative).toString('utf8');

const PROD = parseTrustedRoot(text('sigstore-root-signing/targets/trusted_root.json'));
const STAGING = parseTrustedRoot(text('sigstore-root-signing-staging/targets/trusted_root.json'));
/** The current production Fulcio root (v1), as the TUF repository publishes it on its own. */
const PROD_FULCIO_ROOT = `sigstore:${createHash('sha256')
  .update(new X509Certificate(text('sigstore-root-signing/targets/fulcio_v1.crt.pem')).raw)
  .digest('hex')}`;

const CONNAISSEUR = 'connaisseur/test/testdata/cosign';
const TESTIMAGE = `${CONNAISSEUR}/securesystemsengineering/testimage`;
const keyPem = (name: string) => text(`${CONNAISSEUR}/${name}.key`);

/** Connaisseur's mock registry: manifests by `<tag or sha256-...>.json`, blobs by digest. */
function connaisseurBlob(digest: string): Buffer | undefined {
  try {
    return read(`${TESTIMAGE}/blobs/${digest}.json`);
  } catch {
    return undefined;
  }
}

/** Flips the lowest bit of one byte. */
function flip(bytes: Buffer, at: number): void {
  bytes[at] = (bytes[at] as number) ^ 1;
}

interface IndexRow {
  path: string;
  item: string;
  checks: string;
}

function indexRows(name: string): IndexRow[] {
  const [, ...lines] = text(`index/${name}`).trimEnd().split('\n');
  return lines.map((line) => {
    const [p = '', item = '', checks = ''] = line.split('\t');
    return { path: p, item, checks };
  });
}

/** `SAN/issuer (['san'], 'issuer')` from an index row. */
function identityOf(checks: string): { subject: string; issuer: string } {
  const m = /SAN\/issuer \(\['([^']+)'\], '([^']+)'\)/.exec(checks);
  if (!m?.[1] || !m[2]) throw new Error(`no SAN/issuer in ${checks}`);
  return { subject: m[1], issuer: m[2] };
}

const LEGACY_ROWS = indexRows('legacy-and-dsse-checks.tsv');

describe('index/legacy-and-dsse-checks.tsv: every row gets the outcome the index records', () => {
  it('has the 17 rows the data README describes', () => {
    expect(LEGACY_ROWS).toHaveLength(17);
  });

  const manifestRows = LEGACY_ROWS.filter((r) => r.item.startsWith('layer'));
  it.each(manifestRows.map((r) => [`${path.basename(r.path)} ${r.item}`, r] as const))(
    '%s verifies',
    (_name, row) => {
      const layerIndex = Number(/^layer(\d+)/.exec(row.item)?.[1]);
      const manifest = JSON.parse(text(row.path)) as { layers: CosignLayer[] };
      const layer = manifest.layers[layerIndex] as CosignLayer;
      const keyPath = /verifies with (\S+)/.exec(row.checks)?.[1];
      let result: VerifiedSignature;
      if (layer.mediaType === SIMPLE_SIGNING_MEDIA_TYPE) {
        const imageDigest =
          /docker-manifest-digest (sha256:[0-9a-f]{64})/.exec(row.checks)?.[1] ?? '';
        const blob = connaisseurBlob(layer.digest) as Buffer;
        const trust: CosignTrust = keyPath
          ? { keys: [text(keyPath)] }
          : { trustedRoot: PROD, identities: [identityOf(row.checks)] };
        result = verifySimpleSigningLayer(layer, blob, imageDigest, trust);
        expect(result.format).toBe('cosign-simple-signing');
        expect(result.subjectDigest).toBe(imageDigest);
      } else {
        // The `.att` of a `cosign save` layout: the blob is in the layout, the digest the
        // statement's subject, which is also the layout's signed index.
        const imageDigest = `sha256:${/'sha256': '([0-9a-f]{64})'/.exec(row.checks)?.[1]}`;
        const blob = read(`${path.dirname(row.path)}/${layer.digest.replace('sha256:', '')}`);
        result = verifyAttestationLayer(layer, blob, imageDigest, {
          trustedRoot: PROD,
          identities: [identityOf(row.checks)],
        });
        expect(result.format).toBe('cosign-dsse');
        expect(result.statement?.predicateType).toBe('https://slsa.dev/provenance/v0.2');
      }
      if (keyPath) {
        expect(result.signer.kind).toBe('key');
        expect(result.trustRoot).toBe(`key:${(result.signer as { keyId: string }).keyId}`);
      } else {
        const integrated = Number(/integratedTime (\d+)/.exec(row.checks)?.[1]);
        expect(result.signedAt).toBe(new Date(integrated * 1000).toISOString());
        expect(result.trustRoot).toBe(PROD_FULCIO_ROOT);
        const signer = result.signer;
        if (signer.kind !== 'certificate') throw new Error('expected a certificate signer');
        expect(signer.sans).toEqual([identityOf(row.checks).subject]);
        expect(signer.oidcIssuer).toBe(identityOf(row.checks).issuer);
        // Leaf, intermediate, root: the chain ends at the published Fulcio root.
        expect(signer.chain.at(-1)).toBe(PROD_FULCIO_ROOT.replace('sigstore:', 'sha256:'));
      }
    },
  );

  // DSSE envelopes with the certificate inside and no log entry: slsa-verifier looks the entry
  // up in Rekor online. Offline everything else checks out (signature, chain to production
  // Fulcio, identity), and the verdict is that nothing proves when the certificate signed.
  const certRows = LEGACY_ROWS.filter((r) => r.checks.startsWith('DSSE+cert'));
  it('has 8 DSSE+cert envelopes', () => expect(certRows).toHaveLength(8));
  it.each(certRows.map((r) => [path.basename(r.path), r] as const))(
    '%s: signature and chain verify, then TRANSPARENCY_LOG',
    (_name, row) => {
      const envelope = JSON.parse(text(row.path).split('\n')[0] as string);
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
      const subjectDigest = `sha256:${statement.subject[0].digest.sha256}`;
      const trust = { trustedRoot: PROD, identities: [identityOf(row.checks)] };
      expect(failureOf(() => verifyDsseEnvelope(envelope, { subjectDigest, trust }))).toBe(
        'TRANSPARENCY_LOG',
      );
      // The failures before it are live: a one-byte change to the payload, a foreign root or
      // another identity each stop earlier.
      const payload = Buffer.from(envelope.payload, 'base64');
      flip(payload, payload.length - 2);
      const tampered = { ...envelope, payload: payload.toString('base64') };
      expect(failureOf(() => verifyDsseEnvelope(tampered, { subjectDigest, trust }))).toBe(
        'INVALID_SIGNATURE',
      );
      expect(
        failureOf(() =>
          verifyDsseEnvelope(envelope, {
            subjectDigest,
            trust: { ...trust, trustedRoot: STAGING },
          }),
        ),
      ).toBe('UNTRUSTED');
      expect(
        failureOf(() =>
          verifyDsseEnvelope(envelope, {
            subjectDigest,
            trust: { ...trust, identities: [{ ...identityOf(row.checks), subject: 'x' }] },
          }),
        ),
      ).toBe('IDENTITY_MISMATCH');
    },
  );

  const noCertRows = LEGACY_ROWS.filter((r) => r.checks.includes('signature without cert'));
  it.each(noCertRows.map((r) => [path.basename(r.path), r] as const))(
    '%s: no certificate and no key, so UNTRUSTED offline',
    (_name, row) => {
      const envelope = JSON.parse(text(row.path).split('\n')[0] as string);
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
      const subjectDigest = `sha256:${statement.subject[0].digest.sha256}`;
      expect(
        failureOf(() =>
          verifyDsseEnvelope(envelope, { subjectDigest, trust: { trustedRoot: PROD } }),
        ),
      ).toBe('UNTRUSTED');
    },
  );

  const keyRows = LEGACY_ROWS.filter((r) => /sig by \S+\.pem: ok/.test(r.checks));
  it.each(keyRows.map((r) => [path.basename(r.path), r] as const))(
    '%s verifies with its key (raw r||s ECDSA)',
    (_name, row) => {
      const keyPath = /sig by (\S+\.pem)/.exec(row.checks)?.[1] as string;
      const envelope = JSON.parse(text(row.path).split('\n')[0] as string);
      const subject = /subject (\w+):(\S+)/.exec(row.checks);
      const result = verifyDsseEnvelope(envelope, {
        subjectDigest: `${subject?.[1]}:${subject?.[2]}`,
        trust: { keys: [text(keyPath)] },
      });
      expect(result.statement?.predicateType).toBe('https://slsa.dev/verification_summary/v1');
      expect(result.signer.kind).toBe('key');
      // Connaisseur's alice key is not the VSA signer.
      expect(
        failureOf(() =>
          verifyDsseEnvelope(envelope, {
            subjectDigest: result.subjectDigest,
            trust: { keys: [keyPem('alice')] },
          }),
        ),
      ).toBe('INVALID_SIGNATURE');
    },
  );

  it('covers every row', () => {
    expect(manifestRows.length + certRows.length + noCertRows.length + keyRows.length).toBe(17);
  });
});

describe("connaisseur's signatures, as its own tests expect them", () => {
  const sigManifest = (digest: string) =>
    text(`${TESTIMAGE}/manifests/${digest.replace(':', '-')}.sig.json`);
  const ALICE_ONLY = 'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81';
  const THREE = 'sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533';
  const KEYLESS = 'sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee';

  it('each image manifest hashes to the digest its signature manifest is named after', () => {
    for (const [tag, digest] of [
      ['multi-cosigned-alice', ALICE_ONLY],
      ['multi-cosigned-alice-bob-charlie', THREE],
      ['keyless', KEYLESS],
    ])
      expect(
        `sha256:${createHash('sha256')
          .update(read(`${TESTIMAGE}/manifests/${tag}.json`))
          .digest('hex')}`,
      ).toBe(digest);
  });

  it('alice, bob and charlie each sign the three-signature image: three distinct trust roots', () => {
    const outcomes = verifyCosignManifest({
      imageDigest: THREE,
      manifest: sigManifest(THREE),
      blob: connaisseurBlob,
      trust: { keys: ['alice', 'bob', 'charlie'].map(keyPem) },
    });
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    const roots = new Set(outcomes.map((o) => (o.ok ? o.signature.trustRoot : '')));
    expect(roots.size).toBe(3);
  });

  it('with only bob trusted, the alice-only image has no valid signature (INVALID_SIGNATURE)', () => {
    const [outcome] = verifyCosignManifest({
      imageDigest: ALICE_ONLY,
      manifest: sigManifest(ALICE_ONLY),
      blob: connaisseurBlob,
      trust: { keys: [keyPem('bob')] },
    });
    expect(outcome?.ok).toBe(false);
    expect(outcome?.ok === false && outcome.error.failure).toBe('INVALID_SIGNATURE');
  });

  it('keyless: issuer ~ github and subject ~ philipp pass; bob@gmail.com does not', () => {
    const verify = (identities: CosignTrust['identities']) =>
      verifyCosignManifest({
        imageDigest: KEYLESS,
        manifest: sigManifest(KEYLESS),
        blob: connaisseurBlob,
        trust: { trustedRoot: PROD, ...(identities ? { identities } : {}) },
      })[0];
    // Connaisseur's regexes are unanchored; ours must match the whole value.
    expect(
      verify([{ issuer: { regex: '.*github.*' }, subject: { regex: '.*philipp.*' } }])?.ok,
    ).toBe(true);
    expect(verify([{ issuer: { regex: 'github' }, subject: { regex: 'philipp' } }])?.ok).toBe(
      false,
    );
    const bob = verify([{ issuer: { regex: '.*github.*' }, subject: 'bob@gmail.com' }]);
    expect(bob?.ok === false && bob.error.failure).toBe('IDENTITY_MISMATCH');
    const nobody = verify(undefined);
    expect(nobody?.ok === false && nobody.error.failure).toBe('IDENTITY_MISMATCH');
  });
});

describe('one-byte tampering and wrong trust each fail with the right failure', () => {
  const KEYLESS = 'sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee';
  const manifest = JSON.parse(
    text(`${TESTIMAGE}/manifests/${KEYLESS.replace(':', '-')}.sig.json`),
  ) as { layers: CosignLayer[] };
  const layer = manifest.layers[0] as CosignLayer;
  const blob = connaisseurBlob(layer.digest) as Buffer;
  const trust: CosignTrust = {
    trustedRoot: PROD,
    identities: [
      { issuer: 'https://github.com/login/oauth', subject: 'philipp.belitz@securesystems.de' },
    ],
  };
  const annotations = layer.annotations as Record<string, string>;
  const withAnnotation = (name: string, value: string): CosignLayer => ({
    ...layer,
    annotations: { ...annotations, [name]: value },
  });
  const flipBase64 = (b64: string, at: number) => {
    const bytes = Buffer.from(b64, 'base64');
    flip(bytes, at < 0 ? bytes.length + at : at);
    return bytes.toString('base64');
  };

  it('the untouched signature verifies', () => {
    expect(failureOf(() => verifySimpleSigningLayer(layer, blob, KEYLESS, trust))).toBe('OK');
  });

  it('payload byte: the blob no longer matches its descriptor (DIGEST_MISMATCH)', () => {
    const tampered = Buffer.from(blob);
    flip(tampered, 10);
    expect(failureOf(() => verifySimpleSigningLayer(layer, tampered, KEYLESS, trust))).toBe(
      'DIGEST_MISMATCH',
    );
    // ...and with the descriptor rewritten to match, the signature fails.
    const digest = `sha256:${createHash('sha256').update(tampered).digest('hex')}`;
    expect(
      failureOf(() => verifySimpleSigningLayer({ ...layer, digest }, tampered, KEYLESS, trust)),
    ).toBe('INVALID_SIGNATURE');
  });

  it('signature byte: INVALID_SIGNATURE', () => {
    const sig = flipBase64(annotations[ANNOTATION.signature] as string, 20);
    expect(
      failureOf(() =>
        verifySimpleSigningLayer(withAnnotation(ANNOTATION.signature, sig), blob, KEYLESS, trust),
      ),
    ).toBe('INVALID_SIGNATURE');
  });

  it("certificate byte (in the issuer's signature): UNTRUSTED", () => {
    const der = Buffer.from(new X509Certificate(annotations[ANNOTATION.certificate] as string).raw);
    flip(der, der.length - 3);
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
    expect(
      failureOf(() =>
        verifySimpleSigningLayer(withAnnotation(ANNOTATION.certificate, pem), blob, KEYLESS, trust),
      ),
    ).toBe('UNTRUSTED');
  });

  it('bundle: a SignedEntryTimestamp byte or the integrated time: TRANSPARENCY_LOG', () => {
    const bundle = JSON.parse(annotations[ANNOTATION.bundle] as string);
    const badSet = JSON.stringify({
      ...bundle,
      SignedEntryTimestamp: flipBase64(bundle.SignedEntryTimestamp, 12),
    });
    const badTime = JSON.stringify({
      ...bundle,
      Payload: { ...bundle.Payload, integratedTime: bundle.Payload.integratedTime + 1 },
    });
    for (const b of [badSet, badTime])
      expect(
        failureOf(() =>
          verifySimpleSigningLayer(withAnnotation(ANNOTATION.bundle, b), blob, KEYLESS, trust),
        ),
      ).toBe('TRANSPARENCY_LOG');
    const noBundle = { ...layer, annotations: { ...annotations, [ANNOTATION.bundle]: '' } };
    expect(failureOf(() => verifySimpleSigningLayer(noBundle, blob, KEYLESS, trust))).toBe(
      'TRANSPARENCY_LOG',
    );
  });

  it('image digest one nibble off: DIGEST_MISMATCH', () => {
    const other = `${KEYLESS.slice(0, -1)}f`;
    expect(failureOf(() => verifySimpleSigningLayer(layer, blob, other, trust))).toBe(
      'DIGEST_MISMATCH',
    );
  });

  it('wrong trust: staging root UNTRUSTED, keys only UNTRUSTED, wrong key INVALID_SIGNATURE', () => {
    expect(
      failureOf(() =>
        verifySimpleSigningLayer(layer, blob, KEYLESS, { ...trust, trustedRoot: STAGING }),
      ),
    ).toBe('UNTRUSTED');
    expect(
      failureOf(() => verifySimpleSigningLayer(layer, blob, KEYLESS, { keys: [keyPem('alice')] })),
    ).toBe('UNTRUSTED');
    const aliceLayer = (
      JSON.parse(
        text(
          `${TESTIMAGE}/manifests/sha256-071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81.sig.json`,
        ),
      ) as { layers: CosignLayer[] }
    ).layers[0] as CosignLayer;
    expect(
      failureOf(() =>
        verifySimpleSigningLayer(
          aliceLayer,
          connaisseurBlob(aliceLayer.digest) as Buffer,
          'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81',
          { keys: [keyPem('charlie')] },
        ),
      ),
    ).toBe('INVALID_SIGNATURE');
  });
});

describe('key types', () => {
  // No real cosign signature by an RSA, P-384 or Ed25519 key is staged, so these sign the real
  // connaisseur payload at test time with node:crypto, the way cosign does for each key type.
  const payload = connaisseurBlob(
    'sha256:' +
      (
        JSON.parse(
          text(
            `${TESTIMAGE}/manifests/sha256-071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81.sig.json`,
          ),
        ) as { layers: CosignLayer[] }
      ).layers[0]?.digest.replace('sha256:', ''),
  ) as Buffer;
  const IMAGE = 'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81';
  const layerFor = (signature: Buffer): CosignLayer => ({
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: `sha256:${createHash('sha256').update(payload).digest('hex')}`,
    size: payload.length,
    annotations: { [ANNOTATION.signature]: signature.toString('base64') },
  });

  it.each([
    ['RSA-3072 PKCS#1 v1.5 SHA-256', 'rsa', { modulusLength: 3072 }, 'sha256'],
    ['ECDSA P-384 SHA-384', 'ec', { namedCurve: 'P-384' }, 'sha384'],
    ['ECDSA P-256 SHA-256', 'ec', { namedCurve: 'P-256' }, 'sha256'],
    ['Ed25519', 'ed25519', {}, null],
  ] as const)('%s', (_name, type, options, hash) => {
    const { publicKey, privateKey } = generateKeyPairSync(
      type as 'ec',
      options as { namedCurve: string },
    );
    const signature = sign(hash, payload, privateKey);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const result = verifySimpleSigningLayer(layerFor(signature), payload, IMAGE, { keys: [pem] });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    expect(result.trustRoot).toBe(`key:sha256:${createHash('sha256').update(spki).digest('hex')}`);
    expect(
      failureOf(() =>
        verifySimpleSigningLayer(layerFor(signature), payload, IMAGE, { keys: [keyPem('alice')] }),
      ),
    ).toBe('INVALID_SIGNATURE');
  });
});
