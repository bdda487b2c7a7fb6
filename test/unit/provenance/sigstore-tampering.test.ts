/**
 * Real passing bundles of the shared data with one byte changed: the payload, the signature,
 * the certificate (or the key), and the artifact digest. Each must fail, for the right reason.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type SigstoreVerifyOptions,
  verifySigstoreBundle,
} from '../../../shared/provenance/sigstore.js';
import {
  type ProvenanceFailure,
  ProvenanceVerificationError,
} from '../../../shared/provenance/types.js';
import { CONFORMANCE_IDENTITY, dataFile, npmRegistryKey, root } from './sigstore-bundle-cases.js';

const SC = 'sigstore-conformance/test/assets/bundle-verify';
const A_TXT = () => readFileSync(dataFile(`${SC}/a.txt`));
const PROD = 'sigstore-root-signing/targets/trusted_root.json';

interface Subject {
  name: string;
  bundle: string;
  options: () => SigstoreVerifyOptions;
}

const subjects: Subject[] = [
  {
    name: 'keyless message signature (v0.3, Rekor v1)',
    bundle: `${SC}/happy-path-v0.3/bundle.sigstore.json`,
    options: () => ({
      trustedRoot: root(PROD),
      artifact: { bytes: A_TXT() },
      identity: CONFORMANCE_IDENTITY,
    }),
  },
  {
    name: 'keyless DSSE in-toto (v0.3, Rekor v1)',
    bundle: `${SC}/happy-path-intoto-in-dsse-v3/bundle.sigstore.json`,
    options: () => ({
      trustedRoot: root(PROD),
      artifact: { bytes: A_TXT() },
      identity: CONFORMANCE_IDENTITY,
    }),
  },
  {
    name: 'keyless DSSE in-toto (Rekor v2 hashedrekord)',
    bundle: `${SC}/rekor2-dsse-happy-path/bundle.sigstore.json`,
    options: () => ({
      trustedRoot: root(`${SC}/rekor2-dsse-happy-path/trusted_root.json`),
      artifact: { bytes: A_TXT() },
      identity: CONFORMANCE_IDENTITY,
    }),
  },
  {
    name: 'key-signed message signature',
    bundle: `${SC}/managed-key-and-trusted-root/bundle.sigstore.json`,
    options: () => ({
      trustedRoot: root(`${SC}/managed-key-and-trusted-root/trusted_root.json`),
      artifact: { bytes: A_TXT() },
      publicKey: {
        key: readFileSync(dataFile(`${SC}/managed-key-and-trusted-root/key.pub`), 'utf8'),
      },
    }),
  },
];

/** The fields of a bundle's JSON that the tampering touches. */
interface Json {
  dsseEnvelope?: { payload: string; signatures: { sig: string }[] };
  messageSignature?: { signature: string };
  verificationMaterial: { certificate?: { rawBytes: string } };
}
const load = (relative: string): Json => JSON.parse(readFileSync(dataFile(relative), 'utf8'));
/** Flips the lowest bit of byte `at` (negative: from the end) of a base64 field. */
function flip(b64: string, at: number): string {
  const bytes = Buffer.from(b64, 'base64');
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = (bytes[i] ?? 0) ^ 1;
  return bytes.toString('base64');
}

function failure(bundle: Json, options: SigstoreVerifyOptions): ProvenanceFailure | 'verified' {
  try {
    verifySigstoreBundle(bundle, options);
    return 'verified';
  } catch (err) {
    if (err instanceof ProvenanceVerificationError) return err.failure;
    throw err;
  }
}

describe.each(subjects)('tampering with a $name', ({ bundle: file, options }) => {
  it('verifies untouched', () => {
    expect(failure(load(file), options())).toBe('verified');
  });

  it('fails INVALID_SIGNATURE when one byte of the signed payload changes', () => {
    const bundle = load(file);
    if (bundle.dsseEnvelope) {
      // Inside the statement's subject name, so that it stays valid JSON with the same digest.
      const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8');
      expect(payload).toContain('"name":"a.txt"');
      bundle.dsseEnvelope.payload = Buffer.from(
        payload.replace('"name":"a.txt"', '"name":"b.txt"'),
      ).toString('base64');
      expect(failure(bundle, options())).toBe('INVALID_SIGNATURE');
    } else {
      // A message signature signs the artifact: one byte of it changed is a digest mismatch.
      const bytes = A_TXT();
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      expect(failure(bundle, { ...options(), artifact: { bytes } })).toBe('DIGEST_MISMATCH');
    }
  });

  it('fails INVALID_SIGNATURE when one byte of the signature changes', () => {
    const bundle = load(file);
    const dsseSignature = bundle.dsseEnvelope?.signatures[0];
    if (dsseSignature) dsseSignature.sig = flip(dsseSignature.sig, -1);
    else if (bundle.messageSignature)
      bundle.messageSignature.signature = flip(bundle.messageSignature.signature, -1);
    expect(failure(bundle, options())).toBe('INVALID_SIGNATURE');
  });

  it('fails when one byte of the certificate changes (UNTRUSTED), or another key is given (INVALID_SIGNATURE)', () => {
    const bundle = load(file);
    const material = bundle.verificationMaterial;
    if (material.certificate) {
      // The last byte is in the issuer's signature over the certificate.
      material.certificate.rawBytes = flip(material.certificate.rawBytes, -1);
      expect(failure(bundle, options())).toBe('UNTRUSTED');
    } else {
      // npm's registry key, a real P-256 key that did not sign this bundle.
      expect(failure(bundle, { ...options(), publicKey: { key: npmRegistryKey().key } })).toBe(
        'INVALID_SIGNATURE',
      );
    }
  });

  it('fails MALFORMED, before any verdict sees it, when a subject of the statement is hostile', () => {
    const bundle = load(file);
    if (!bundle.dsseEnvelope) return;
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    // A null subject, or a digest that is not a string, before the real subject.
    for (const hostile of [null, { digest: { sha256: 1 } }]) {
      bundle.dsseEnvelope.payload = Buffer.from(
        JSON.stringify({ ...statement, subject: [hostile, ...statement.subject] }),
      ).toString('base64');
      expect(failure(bundle, options())).toBe('MALFORMED');
    }
  });

  it('fails DIGEST_MISMATCH when one hex digit of the artifact digest changes', () => {
    const hex = createHash('sha256').update(A_TXT()).digest('hex');
    const other = `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
    expect(failure(load(file), { ...options(), artifact: { digest: `sha256:${hex}` } })).toBe(
      'verified',
    );
    expect(failure(load(file), { ...options(), artifact: { digest: `sha256:${other}` } })).toBe(
      'DIGEST_MISMATCH',
    );
  });
});
