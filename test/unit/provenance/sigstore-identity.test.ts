/**
 * The keyless identity policy (issuer, subject, Fulcio extensions; exact or whole-value regex),
 * what a verified bundle records (signer, trust root, time, statement), and the prehashed
 * signature check used when only the artifact's digest is known.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnsupportedPrehashError, verifyPrehashed } from '../../../shared/provenance/crypto.js';
import { type KeylessIdentityPolicy, matches } from '../../../shared/provenance/identity.js';
import { verifySigstoreBundle } from '../../../shared/provenance/sigstore.js';
import { ProvenanceVerificationError } from '../../../shared/provenance/types.js';
import { CONFORMANCE_IDENTITY, dataFile, root } from './sigstore-bundle-cases.js';

const SC = 'sigstore-conformance/test/assets/bundle-verify';
const PROD = 'sigstore-root-signing/targets/trusted_root.json';
const BEACON_REPO =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon';
const bundleText = (relative: string) => readFileSync(dataFile(relative), 'utf8');

/** sigstore-conformance happy-path-v0.3: signed by the beacon workflow on GitHub Actions. */
function verifyBeacon(identity: KeylessIdentityPolicy) {
  return verifySigstoreBundle(bundleText(`${SC}/happy-path-v0.3/bundle.sigstore.json`), {
    trustedRoot: root(PROD),
    artifact: { bytes: readFileSync(dataFile(`${SC}/a.txt`)) },
    identity,
  });
}

function failureOf(fn: () => unknown): string {
  try {
    fn();
    return 'verified';
  } catch (err) {
    if (err instanceof ProvenanceVerificationError) return err.failure;
    throw err;
  }
}

describe('keyless identity policy', () => {
  it('accepts the exact issuer and subject, and extension conditions that hold', () => {
    const result = verifyBeacon({
      ...CONFORMANCE_IDENTITY,
      extensions: { sourceRepositoryURI: BEACON_REPO, sourceRepositoryRef: 'refs/heads/main' },
    });
    expect(result.signer).toMatchObject({
      kind: 'certificate',
      oidcIssuer: CONFORMANCE_IDENTITY.issuer,
      sans: [CONFORMANCE_IDENTITY.subject],
      extensions: { sourceRepositoryURI: BEACON_REPO },
    });
  });

  it.each<[string, KeylessIdentityPolicy]>([
    ['another issuer', { ...CONFORMANCE_IDENTITY, issuer: 'https://accounts.google.com' }],
    ['another subject', { ...CONFORMANCE_IDENTITY, subject: `${CONFORMANCE_IDENTITY.subject}x` }],
    [
      'a source repository condition that does not hold',
      { ...CONFORMANCE_IDENTITY, extensions: { sourceRepositoryURI: `${BEACON_REPO}-fork` } },
    ],
    [
      'a condition on an extension the certificate lacks',
      { ...CONFORMANCE_IDENTITY, extensions: { githubWorkflowName: 'release' } },
    ],
    // A regex must match the whole value: a prefix is not enough.
    [
      'a regex that only matches a prefix',
      { ...CONFORMANCE_IDENTITY, subject: { regex: 'https://github\\.com/sigstore-conformance/' } },
    ],
    [
      'a regex for a look-alike organisation',
      {
        ...CONFORMANCE_IDENTITY,
        subject: { regex: 'https://github\\.com/sigstore-conformance\\.evil/.*' },
      },
    ],
  ])('refuses %s with IDENTITY_MISMATCH', (_, policy) => {
    expect(failureOf(() => verifyBeacon(policy))).toBe('IDENTITY_MISMATCH');
  });

  it('accepts a regex over the whole subject and issuer', () => {
    const result = verifyBeacon({
      issuer: { regex: 'https://token\\.actions\\.githubusercontent\\.com' },
      subject: {
        regex:
          'https://github\\.com/sigstore-conformance/[^/]+/\\.github/workflows/.*@refs/heads/main',
      },
    });
    expect(result.signer.kind).toBe('certificate');
  });

  it('anchors regexes: ^https://github.com/org/ cannot match org.evil or an embedded URL', () => {
    const org = { regex: '^https://github\\.com/org/.*' };
    expect(
      matches(org, 'https://github.com/org/repo/.github/workflows/r.yml@refs/heads/main'),
    ).toBe(true);
    expect(
      matches(org, 'https://github.com/org.evil/repo/.github/workflows/r.yml@refs/heads/main'),
    ).toBe(false);
    expect(matches(org, 'https://evil.example/?u=https://github.com/org/repo')).toBe(false);
    // Without ^ or $ the pattern is still matched against the whole value.
    expect(matches({ regex: 'https://github\\.com/org/' }, 'https://github.com/org/repo')).toBe(
      false,
    );
    expect(matches({ regex: 'alice@example\\.com' }, 'alice@example.com.evil.example')).toBe(false);
    // An alternation cannot escape the anchors.
    expect(matches({ regex: 'a|https://github\\.com/org/.*' }, 'xa')).toBe(false);
    expect(matches('https://github.com/org/', 'https://github.com/org/repo')).toBe(false);
  });

  it('refuses a keyless bundle when only a key is trusted, and a key-signed one when only an identity is', () => {
    expect(
      failureOf(() =>
        verifySigstoreBundle(bundleText(`${SC}/happy-path-v0.3/bundle.sigstore.json`), {
          trustedRoot: root(PROD),
          artifact: { bytes: readFileSync(dataFile(`${SC}/a.txt`)) },
          publicKey: {
            key: readFileSync(dataFile(`${SC}/managed-key-happy-path/key.pub`), 'utf8'),
          },
        }),
      ),
    ).toBe('UNTRUSTED');
    expect(
      failureOf(() =>
        verifySigstoreBundle(bundleText(`${SC}/managed-key-happy-path/bundle.sigstore.json`), {
          trustedRoot: root(PROD),
          artifact: { bytes: readFileSync(dataFile(`${SC}/a.txt`)) },
          identity: CONFORMANCE_IDENTITY,
        }),
      ),
    ).toBe('UNTRUSTED');
  });
});

describe('what a verified bundle records', () => {
  it('keyless: the chain, the Fulcio root that anchored it, the log time', () => {
    const result = verifyBeacon(CONFORMANCE_IDENTITY);
    // The production root's Fulcio CAs, root certificate last in each chain (TrustedRoot spec).
    const trusted = JSON.parse(bundleText(PROD)) as {
      certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
    };
    const roots = trusted.certificateAuthorities.map((ca) => {
      const der = Buffer.from(ca.certChain.certificates.at(-1)?.rawBytes ?? '', 'base64');
      return createHash('sha256').update(der).digest('hex');
    });
    expect(roots).toContain(result.trustRoot.replace('sigstore:', ''));
    expect(result.signer.kind === 'certificate' && result.signer.chain.at(-1)).toBe(
      `sha256:${result.trustRoot.replace('sigstore:', '')}`,
    );
    expect(result.subjectDigest).toBe(
      `sha256:${createHash('sha256')
        .update(readFileSync(dataFile(`${SC}/a.txt`)))
        .digest('hex')}`,
    );
    // The bundle's integratedTime, 1710869186 (index/sigstore-bundles.tsv).
    expect(result.signedAt).toBe(new Date(1710869186 * 1000).toISOString());
  });

  it('key-signed: the key id and trust root are the SHA-256 of the key SubjectPublicKeyInfo', () => {
    const pem = readFileSync(dataFile(`${SC}/managed-key-happy-path/key.pub`), 'utf8');
    const result = verifySigstoreBundle(
      bundleText(`${SC}/managed-key-happy-path/bundle.sigstore.json`),
      {
        trustedRoot: root(PROD),
        artifact: { bytes: readFileSync(dataFile(`${SC}/a.txt`)) },
        publicKey: { key: pem },
      },
    );
    const spki = createPublicKey(pem).export({ format: 'der', type: 'spki' });
    const hex = createHash('sha256').update(spki).digest('hex');
    expect(result.signer).toEqual({ kind: 'key', keyId: `sha256:${hex}` });
    expect(result.trustRoot).toBe(`key:sha256:${hex}`);
  });

  it('DSSE: the in-toto statement, with the subject digest it names', () => {
    const result = verifySigstoreBundle(
      bundleText(`${SC}/happy-path-intoto-in-dsse-v3/bundle.sigstore.json`),
      {
        trustedRoot: root(PROD),
        artifact: {
          digest: 'sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf',
        },
        identity: CONFORMANCE_IDENTITY,
      },
    );
    expect(result.statement?.subject).toEqual([
      {
        name: 'a.txt',
        digest: { sha256: 'a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf' },
      },
    ]);
    expect(result.subjectDigest).toBe(
      'sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf',
    );
  });
});

describe('prehashed signatures (artifact known by digest only)', () => {
  // Keys and signatures made here with node:crypto: nothing signed is stored.
  it.each([
    ['P-256', 'sha256'],
    ['P-384', 'sha384'],
    ['P-256', 'sha512'],
  ])('verifies ECDSA %s over a %s digest, and refuses another digest', (namedCurve, algorithm) => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve });
    const message = Buffer.from('bosun prehash test');
    const signature = sign(algorithm, message, privateKey);
    const digest = createHash(algorithm).update(message).digest();
    expect(verifyPrehashed(publicKey, digest, signature, algorithm)).toBe(true);
    const other = Buffer.from(digest);
    other[0] = (other[0] ?? 0) ^ 1;
    expect(verifyPrehashed(publicKey, other, signature, algorithm)).toBe(false);
    expect(verifyPrehashed(publicKey, digest, Buffer.from([0x30, 0x00]), algorithm)).toBe(false);
  });

  it('verifies RSA PKCS#1 v1.5, and says an Ed25519 key cannot be checked from a digest', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const message = Buffer.from('bosun prehash test');
    const digest = createHash('sha256').update(message).digest();
    expect(
      verifyPrehashed(rsa.publicKey, digest, sign('sha256', message, rsa.privateKey), 'sha256'),
    ).toBe(true);
    const ed = generateKeyPairSync('ed25519');
    expect(() =>
      verifyPrehashed(ed.publicKey, digest, sign(null, message, ed.privateKey), 'sha256'),
    ).toThrow(UnsupportedPrehashError);
  });
});
