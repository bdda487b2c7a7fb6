import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AWS_SIGNER_PLUGIN,
  COSE_MEDIA_TYPE,
  checkEnvelopeSignature,
  checkProtectedHeaders,
  crlRevocation,
  evaluateNotationSignature,
  JWS_MEDIA_TYPE,
  type NotationVerifyOptions,
  parseNotationEnvelope,
  verifyNotationSignature,
} from '../../../shared/provenance/notation.js';
import { decodeCbor } from '../../../shared/provenance/notation-cbor.js';
import {
  certificatesFromBytes,
  parseTrustPolicy,
  subjectString,
  type TrustPolicyStatement,
  trustStoreOf,
} from '../../../shared/provenance/notation-trust.js';
import { ProvenanceVerificationError } from '../../../shared/provenance/types.js';
import { dataDir } from '../../support/fixtures.js';

const data = (rel: string) => path.join(dataDir(), 'provenance', rel);
const read = (rel: string) => readFileSync(data(rel));
const certs = (rel: string) => certificatesFromBytes(read(rel), rel);
const fingerprint = (cert: X509Certificate) => createHash('sha256').update(cert.raw).digest('hex');

/** A fixed verification time, so that certificates valid "until 2033" keep their outcome. */
const NOW = new Date('2025-06-01T00:00:00Z');

function policyOf(statement: Record<string, unknown>): TrustPolicyStatement {
  const doc = parseTrustPolicy(
    JSON.stringify({
      version: '1.0',
      trustPolicies: [{ name: 'test', registryScopes: ['*'], ...statement }],
    }),
    'oci',
  );
  return doc.statements[0] as TrustPolicyStatement;
}

async function failureOf(run: Promise<unknown>): Promise<ProvenanceVerificationError> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ProvenanceVerificationError))
    throw new Error(`expected a ProvenanceVerificationError, got ${String(err)}`);
  return err;
}

function syncFailure(run: () => unknown): ProvenanceVerificationError {
  try {
    run();
  } catch (err) {
    if (err instanceof ProvenanceVerificationError) return err;
    throw err;
  }
  throw new Error('expected a ProvenanceVerificationError');
}

// --- Every envelope of index/notation-envelopes.tsv ------------------------------------------

interface Row {
  file: string;
  mediaType: string;
  sigOk: boolean;
  leaf: string;
  validFrom: string;
  validTo: string;
  expiry: string | undefined;
  target: string;
  rootIn: string | undefined;
}

const rows: Row[] = readFileSync(data('index/notation-envelopes.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const cols = line.split('\t');
    const fields = cols.at(-1) as string;
    const valid = /leaf_valid=(\S+)\.\.(\S+)/.exec(line) as RegExpExecArray;
    const rootIn = /root_in=([^;]*)/.exec(fields)?.[1] as string;
    return {
      file: cols[0] as string,
      mediaType: (cols[1] as string).startsWith('JWS') ? JWS_MEDIA_TYPE : COSE_MEDIA_TYPE,
      sigOk: line.includes('\tsig=ok\t'),
      leaf: (/\tleaf=([^\t]+)/.exec(line) as RegExpExecArray)[1] as string,
      validFrom: valid[1] as string,
      validTo: valid[2] as string,
      expiry: /expiry=(\S+)/.exec(fields)?.[1],
      target: (/target=(sha256:[0-9a-f]{64})/.exec(fields) as RegExpExecArray)[1] as string,
      rootIn: rootIn === 'NOT STAGED' || rootIn.startsWith('self-signed') ? undefined : rootIn,
    };
  });

describe('index/notation-envelopes.tsv', () => {
  it('lists the 31 JWS and 5 COSE envelopes of the data', () => {
    expect(rows.filter((r) => r.mediaType === JWS_MEDIA_TYPE)).toHaveLength(31);
    expect(rows.filter((r) => r.mediaType === COSE_MEDIA_TYPE)).toHaveLength(5);
  });

  it.each(rows.map((r) => [path.basename(r.file), r] as const))(
    '%s: the signature, leaf and target the index records',
    (_, row) => {
      const env = parseNotationEnvelope(read(row.file), row.mediaType);
      if (row.sigOk) {
        const chain = checkEnvelopeSignature(env);
        expect(subjectString(chain[0] as X509Certificate)).toBe(row.leaf);
      } else {
        expect(syncFailure(() => checkEnvelopeSignature(env)).failure).toBe('INVALID_SIGNATURE');
      }
      expect(JSON.parse(Buffer.from(env.payload).toString()).targetArtifact.digest).toBe(
        row.target,
      );
    },
  );

  // Verified end to end under a strict policy with the trust store the index names (or an
  // unrelated root when it names none), at NOW. The expected failure follows the index's
  // columns in the order Notation checks them.
  it.each(rows.map((r) => [path.basename(r.file), r] as const))(
    '%s: strict verification at a fixed time',
    async (_, row) => {
      const bytes = read(row.file);
      const env = parseNotationEnvelope(bytes, row.mediaType);
      const type = env.signingScheme === 'notary.x509' ? 'ca' : 'signingAuthority';
      const roots =
        row.rootIn === undefined
          ? certs('notation/test/e2e/testdata/config/localkeys/new_e2e.crt')
          : certs(row.rootIn);
      const options: NotationVerifyOptions = {
        digest: row.target,
        policy: policyOf({
          signatureVerification: { level: 'strict' },
          trustStores: [`${type}:store`],
          trustedIdentities: ['*'],
        }),
        trustStore: trustStoreOf({ [`${type}:store`]: roots }),
        now: NOW,
      };
      const day = (d: string) => new Date(`${d}T00:00:00Z`).getTime();
      const expected = !row.sigOk
        ? 'INVALID_SIGNATURE'
        : env.extendedAttributes['io.cncf.notary.verificationPlugin'] !== undefined
          ? 'UNSUPPORTED' // the envelope names a verification plugin; none runs here
          : row.rootIn === undefined
            ? 'UNTRUSTED'
            : row.expiry !== undefined && row.expiry !== '' && new Date(row.expiry) <= NOW
              ? 'EXPIRED'
              : NOW.getTime() < day(row.validFrom) || NOW.getTime() > day(row.validTo) + 86_400_000
                ? 'EXPIRED'
                : 'ok';
      if (expected === 'ok') {
        const verified = await verifyNotationSignature(bytes, row.mediaType, options);
        expect(verified.trustRoot).toBe(`x509:sha256:${fingerprint(roots[0] as X509Certificate)}`);
        expect(verified.subjectDigest).toBe(row.target);
        expect(verified.format).toBe(
          row.mediaType === JWS_MEDIA_TYPE ? 'notation-jws' : 'notation-cose',
        );
      } else {
        const err = await failureOf(verifyNotationSignature(bytes, row.mediaType, options));
        expect(err.failure).toBe(expected);
        expect(err.message.startsWith(`${expected}: `)).toBe(true);
      }
    },
  );
});

// --- notation-core-go's conformance vectors: keys generated in Go code, not in the data ------

describe("notation-core-go's conformance vectors", () => {
  it('JWS: the structure and signed attributes parse; the unknown critical header and the missing x5c fail', () => {
    const bytes = read('notation-core-go/signature/jws/testdata/conformance.json');
    const env = parseNotationEnvelope(bytes, JWS_MEDIA_TYPE);
    expect(env.algorithm).toBe('ES256');
    expect(env.signingScheme).toBe('notary.x509');
    expect(env.signingTime?.toISOString()).toBe('2022-08-29T13:50:00.000Z');
    expect(env.expiry?.toISOString()).toBe('2099-08-30T13:50:00.000Z');
    expect(env.signingAgent).toBe('NotationConformanceTest/1.0.0');
    expect(env.extendedAttributes.signedCritKey1).toBe('signedCritValue1');
    const header = syncFailure(() => checkProtectedHeaders(env));
    expect(header.failure).toBe('UNSUPPORTED');
    expect(header.message).toContain('signedCritKey1');
    // With that extension understood, every other header rule holds.
    expect(checkProtectedHeaders(env, new Set(['signedCritKey1']))).toBe('notary.x509');
    // Its signing key is not in the data (no x5c): the signature cannot be checked.
    expect(syncFailure(() => checkEnvelopeSignature(env)).failure).toBe('MALFORMED');
  });

  it('COSE: the expected COSE_Sign1 decodes to the vector protected header, payload and times', () => {
    const vector = JSON.parse(
      read('notation-core-go/signature/cose/testdata/conformance.json').toString(),
    ) as {
      signingTime: number;
      expiry: number;
      payload: string;
      protectedHeaders: { cborHex: string };
      expectedOutput: { cborHex: string };
    };
    const bytes = Buffer.from(vector.expectedOutput.cborHex, 'hex');
    const env = parseNotationEnvelope(bytes, COSE_MEDIA_TYPE);
    expect(Buffer.from(env.payload).toString('hex').toUpperCase()).toBe(vector.payload);
    expect(env.signingTime?.getTime()).toBe(vector.signingTime * 1000);
    expect(env.expiry?.getTime()).toBe(vector.expiry * 1000);
    expect(env.signingScheme).toBe('notary.x509');
    // The protected header bytes are the vector's: the Sig_structure embeds them as given.
    const sign1 = decodeCbor(bytes) as unknown as { value: [Uint8Array] };
    expect(Buffer.from(sign1.value[0]).toString('hex').toUpperCase()).toBe(
      vector.protectedHeaders.cborHex,
    );
    expect(syncFailure(() => checkProtectedHeaders(env)).message).toContain('signedCritKey1');
    expect(checkProtectedHeaders(env, new Set(['signedCritKey1']))).toBe('notary.x509');
    expect(syncFailure(() => checkEnvelopeSignature(env)).failure).toBe('MALFORMED');
  });
});

// --- One-byte tampering ------------------------------------------------------------------------

const E2E = 'notation/test/e2e/testdata';
const VALID_JWS = `${E2E}/registry/oci_layout/e2e-valid-signature/blobs/sha256/c9af07e038b2b1a463e648986ad7273157511ffeba0b689f33e5472bae471f50`;
const E2E_TARGET = 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';
const e2eStore = (file = 'e2e.crt') =>
  trustStoreOf({ 'ca:e2e': certs(`${E2E}/config/localkeys/${file}`) });
const e2ePolicy = (file: string) =>
  parseTrustPolicy(read(`${E2E}/config/trustpolicies/${file}`).toString(), 'oci')
    .statements[0] as TrustPolicyStatement;

describe('tampering with the real e2e signature', () => {
  const strict = (): NotationVerifyOptions => ({
    digest: E2E_TARGET,
    policy: e2ePolicy('trustpolicy.json'),
    trustStore: e2eStore(),
    now: NOW,
  });
  const envelope = () =>
    JSON.parse(read(VALID_JWS).toString()) as {
      payload: string;
      signature: string;
      header: { x5c: string[] };
    };
  const flip = (b64: string, at: number, encoding: BufferEncoding) => {
    const raw = Buffer.from(b64, encoding);
    raw[at] = (raw[at] as number) ^ 0x01;
    return raw
      .toString(encoding)
      .replace(/=+$/, encoding === 'base64url' ? '' : (b64.match(/=+$/)?.[0] ?? ''));
  };
  const run = (env: unknown, options = strict()) =>
    verifyNotationSignature(Buffer.from(JSON.stringify(env)), JWS_MEDIA_TYPE, options);

  it('verifies untouched, anchored on e2e.crt', async () => {
    const verified = await run(envelope());
    expect(verified.trustRoot).toBe(
      `x509:sha256:${fingerprint(certs(`${E2E}/config/localkeys/e2e.crt`)[0] as X509Certificate)}`,
    );
    expect(verified.signer).toMatchObject({
      kind: 'certificate',
      subject: 'CN=e2e,O=Notary,L=Seattle,ST=WA,C=US',
    });
    expect(verified.signedAt).toBe('2023-06-27T05:30:33.000Z');
  });

  it('a payload byte changed fails the signature', async () => {
    const env = envelope();
    env.payload = flip(env.payload, 20, 'base64url');
    expect((await failureOf(run(env))).failure).toBe('INVALID_SIGNATURE');
  });

  it('a signature byte changed fails the signature', async () => {
    const env = envelope();
    env.signature = flip(env.signature, 7, 'base64url');
    expect((await failureOf(run(env))).failure).toBe('INVALID_SIGNATURE');
  });

  it("a byte of the certificate's own signature changed breaks the chain", async () => {
    const env = envelope();
    const der = Buffer.from(env.header.x5c[0] as string, 'base64');
    env.header.x5c[0] = flip(env.header.x5c[0] as string, der.length - 5, 'base64');
    expect((await failureOf(run(env))).failure).toBe('UNTRUSTED');
  });

  it('a target digest one nibble off is a digest mismatch; the same change inside the payload breaks the signature', async () => {
    const other = `${E2E_TARGET.slice(0, -1)}${E2E_TARGET.endsWith('0') ? '1' : '0'}`;
    const err = await failureOf(run(envelope(), { ...strict(), digest: other }));
    expect(err.failure).toBe('DIGEST_MISMATCH');
    expect(err.message).toContain(other);
    const env = envelope();
    env.payload = Buffer.from(
      Buffer.from(env.payload, 'base64url').toString().replace(E2E_TARGET, other),
    ).toString('base64url');
    expect((await failureOf(run(env))).failure).toBe('INVALID_SIGNATURE');
  });

  it('a COSE payload byte changed fails the signature', () => {
    const bytes = Buffer.from(read(`${E2E}/signatures/blob.cose.sig`));
    const env = parseNotationEnvelope(bytes, COSE_MEDIA_TYPE);
    expect(checkEnvelopeSignature(env)).toHaveLength(1);
    const at = bytes.indexOf(Buffer.from('targetArtifact'));
    bytes[at] = (bytes[at] as number) ^ 0x01;
    expect(
      syncFailure(() => checkEnvelopeSignature(parseNotationEnvelope(bytes, COSE_MEDIA_TYPE)))
        .failure,
    ).toBe('INVALID_SIGNATURE');
  });
});

// --- Verification levels on the e2e layouts, as the e2e suite expects ---------------------------

describe('verification levels (Notation e2e expectations)', () => {
  const layout = (name: string, blob: string) =>
    read(`${E2E}/registry/oci_layout/${name}/blobs/sha256/${blob}`);
  const EXPIRED_SIG = layout(
    'e2e-expired-signature',
    'b5f927564088f65dad86c81bcdd0b55415a8b4c9a0a5391107210e0cdb305cc7',
  );
  const EXPIRED_CERT = layout(
    'e2e-with-expired-cert',
    '8513a5ba473f32b78a87518b732700632c05cde0d59d179275c5c5a8096beeed',
  );
  const evaluate = (bytes: Buffer, policy: string, store = e2eStore()) =>
    evaluateNotationSignature(bytes, JWS_MEDIA_TYPE, {
      digest: E2E_TARGET,
      policy: e2ePolicy(policy),
      trustStore: store,
      now: NOW,
    });

  it('an expired signature: strict fails on expiry; permissive, audit and override_strict log it', async () => {
    expect((await failureOf(evaluate(EXPIRED_SIG, 'trustpolicy.json'))).failure).toBe('EXPIRED');
    for (const policy of [
      'permissive_trustpolicy.json',
      'audit_trustpolicy.json',
      'override_strict_trustpolicy.json',
    ]) {
      const result = await evaluate(EXPIRED_SIG, policy);
      expect(result.outcome === 'passed' && result.logged.map((e) => e.failure)).toEqual([
        'EXPIRED',
      ]);
      expect(result.outcome === 'passed' && result.signature?.trustRoot).toMatch(
        /^x509:sha256:[0-9a-f]{64}$/,
      );
      // What Notation only logs never counts toward a verdict.
      const options = {
        digest: E2E_TARGET,
        policy: e2ePolicy(policy),
        trustStore: e2eStore(),
        now: NOW,
      };
      expect(
        (await failureOf(verifyNotationSignature(EXPIRED_SIG, JWS_MEDIA_TYPE, options))).failure,
      ).toBe('EXPIRED');
    }
  });

  it('a certificate expired before verification, no timestamp: strict fails the authentic timestamp; the others log it', async () => {
    const store = e2eStore('expired_e2e.crt');
    const err = await failureOf(evaluate(EXPIRED_CERT, 'trustpolicy.json', store));
    expect(err.failure).toBe('EXPIRED');
    expect(err.message).toContain('outside the validity of certificate');
    for (const policy of [
      'permissive_trustpolicy.json',
      'audit_trustpolicy.json',
      'override_strict_trustpolicy.json',
    ]) {
      const result = await evaluate(EXPIRED_CERT, policy, store);
      expect(result.outcome === 'passed' && result.logged.map((e) => e.failure)).toEqual([
        'EXPIRED',
      ]);
    }
  });

  it('the wrong trust store: strict fails; audit and override_strict pass without a trust root to count', async () => {
    const store = e2eStore('new_e2e.crt');
    const valid = read(VALID_JWS);
    expect((await failureOf(evaluate(valid, 'trustpolicy.json', store))).failure).toBe('UNTRUSTED');
    for (const policy of ['audit_trustpolicy.json', 'override_strict_trustpolicy.json']) {
      const result = await evaluate(valid, policy, store);
      expect(result.outcome === 'passed' && result.signature).toBeUndefined();
      expect(result.outcome === 'passed' && result.logged.map((e) => e.failure)).toEqual([
        'UNTRUSTED',
      ]);
      const options = {
        digest: E2E_TARGET,
        policy: e2ePolicy(policy),
        trustStore: store,
        now: NOW,
      };
      expect(
        (await failureOf(verifyNotationSignature(valid, JWS_MEDIA_TYPE, options))).failure,
      ).toBe('UNTRUSTED');
    }
  });

  it('trusted identities, absent stores, skip, and a signature layer that is no envelope', async () => {
    const valid = read(VALID_JWS);
    const ok = await evaluate(valid, 'valid_trusted_identity_trustpolicy.json');
    expect(ok.outcome === 'passed' && ok.signature?.subjectDigest).toBe(E2E_TARGET);
    const mismatch = await failureOf(evaluate(valid, 'invalid_trusted_identity_trustpolicy.json'));
    expect(mismatch.failure).toBe('IDENTITY_MISMATCH');
    const absent = await failureOf(evaluate(valid, 'invalid_trust_store_trustpolicy.json'));
    expect([
      absent.failure,
      absent.message.includes('x509/ca/invalid_store" does not exist'),
    ]).toEqual(['UNTRUSTED', true]);
    expect(await evaluate(valid, 'skip_trustpolicy.json')).toEqual({
      outcome: 'skipped',
      policy: 'e2e',
    });
    const invalid = layout(
      'e2e-invalid-signature',
      '9a8decdf3775708f4eed16859f19561d730cad40b1af0dcfc37ac1e5f879a934',
    );
    for (const policy of [
      'trustpolicy.json',
      'permissive_trustpolicy.json',
      'audit_trustpolicy.json',
    ])
      expect((await failureOf(evaluate(invalid, policy))).failure).toBe('MALFORMED');
  });
});

// --- RFC 3161 countersignatures -----------------------------------------------------------------

describe('RFC 3161 timestamps', () => {
  const SIG_ENV = 'notation-go/verifier/testdata/timestamp/sigEnv';
  const TSA_ROOT =
    'notation-go/verifier/testdata/truststore/x509/tsa/test-timestamp/globalsignRoot.cer';
  // These envelopes are self-signed by certificates the data does not keep as trust-store files
  // (or keeps under other names): the test anchors each on its own certificate to reach the
  // timestamp step, which is what notation-go's timestamp_test exercises.
  const run = (file: string, mediaType: string, tsaRoot = TSA_ROOT, now = NOW) => {
    const bytes = read(file);
    const own = checkEnvelopeSignature(parseNotationEnvelope(bytes, mediaType)).at(
      -1,
    ) as X509Certificate;
    const target = JSON.parse(
      Buffer.from(parseNotationEnvelope(bytes, mediaType).payload).toString(),
    ).targetArtifact.digest;
    return evaluateNotationSignature(bytes, mediaType, {
      digest: target,
      policy: policyOf({
        signatureVerification: { level: 'strict' },
        trustStores: ['ca:own', 'tsa:tsa'],
        trustedIdentities: ['*'],
      }),
      trustStore: trustStoreOf({ 'ca:own': [own], 'tsa:tsa': certs(tsaRoot) }),
      now,
    });
  };

  it.each([
    ['jwsWithTimestamp.sig', JWS_MEDIA_TYPE],
    ['coseWithTimestamp.sig', COSE_MEDIA_TYPE],
    ['jwsExpiredWithTimestamp.sig', JWS_MEDIA_TYPE],
    ['coseExpiredWithTimestamp.sig', COSE_MEDIA_TYPE],
  ])(
    '%s: the GlobalSign timestamp covers the signature and falls inside the certificate validity',
    async (file, mediaType) => {
      const result = await run(`${SIG_ENV}/${file}`, mediaType);
      expect(result.outcome === 'passed' && result.logged).toEqual([]);
      // signedAt is the TSA's genTime, seconds after the envelope's own signing time.
      const env = parseNotationEnvelope(read(`${SIG_ENV}/${file}`), mediaType);
      const signedAt = new Date(
        (result.outcome === 'passed' && result.signature?.signedAt) || 0,
      ).getTime();
      expect(signedAt - (env.signingTime as Date).getTime()).toBeGreaterThanOrEqual(0);
      expect(signedAt - (env.signingTime as Date).getTime()).toBeLessThan(10_000);
    },
  );

  it.each([
    ['timestampBeforeNotBefore.sig', JWS_MEDIA_TYPE],
    ['timestampAfterNotAfter.sig', COSE_MEDIA_TYPE],
  ])('%s: the timestamp is outside the certificate validity', async (file, mediaType) => {
    const err = await failureOf(run(`${SIG_ENV}/${file}`, mediaType));
    expect([err.failure, err.message.includes('the timestamp')]).toEqual(['EXPIRED', true]);
  });

  it('a TSA that is not in the tsa store is untrusted; a broken token is an invalid countersignature', async () => {
    const other = 'notation/test/e2e/testdata/config/timestamp/DigiCertTSARootSHA384.cer';
    expect(
      (await failureOf(run(`${SIG_ENV}/jwsWithTimestamp.sig`, JWS_MEDIA_TYPE, other))).failure,
    ).toBe('UNTRUSTED');
    const layouts = `${E2E}/registry/oci_layout`;
    const invalid = `${layouts}/e2e-with-invalid-timestamped-signature/blobs/sha256/8d2e70ffc2af68b7f2df6f30dfefcb7bcda1db5f9ac2566fc8c6c2248c8d4c5f`;
    expect((await failureOf(run(invalid, JWS_MEDIA_TYPE))).failure).toBe('INVALID_SIGNATURE');
    // Microsoft's TSA signed this one; its root is not in the data. Verified before its
    // expiry (2025-01-21T12:39:46Z), so that the timestamp step is the one that fails.
    const microsoft = `${layouts}/e2e-with-timestamped-signature/blobs/sha256/603ff134e97a79cd7a15560b76137c2c4a10451daab11327a7c6f86dac250fee`;
    const before = new Date('2025-01-21T10:00:00Z');
    const err = await failureOf(run(microsoft, JWS_MEDIA_TYPE, other, before));
    expect([
      err.failure,
      err.message.includes('Microsoft Public RSA Time Stamping Authority'),
    ]).toEqual(['UNTRUSTED', true]);
  });
});

// --- CRLs: Notation's e2e chain and CRLs (its leaf key is not in the data, so no envelope) -------

describe('CRL revocation', () => {
  const CRL = `${E2E}/config/crl`;
  const chain = certs(`${CRL}/certchain_with_crl.pem`);
  const crl = (name: string) => read(`${CRL}/${name}`);

  it('current CRLs that list nothing: not revoked', () => {
    expect(chain.map((c) => c.subject.split('\n').at(-1))).toEqual([
      'CN=LeafCert',
      'CN=IntermediateCA',
      'CN=RootCA',
    ]);
    expect(
      crlRevocation(chain, [crl('intermediate.crl'), crl('leaf.crl')], NOW, undefined),
    ).toBeUndefined();
  });

  it('a revoked leaf or intermediate is REVOKED', () => {
    const leaf = crlRevocation(
      chain,
      [crl('intermediate.crl'), crl('leaf_revoked.crl')],
      NOW,
      undefined,
    );
    expect([leaf?.failure, leaf?.message.includes('CN=LeafCert')]).toEqual(['REVOKED', true]);
    const intermediate = crlRevocation(
      chain,
      [crl('intermediate_revoked.crl'), crl('leaf.crl')],
      NOW,
      undefined,
    );
    expect([intermediate?.failure, intermediate?.message.includes('CN=IntermediateCA')]).toEqual([
      'REVOKED',
      true,
    ]);
  });

  it('an expired CRL or none at all leaves the status unavailable, which fails the step', () => {
    // leaf_expired.crl was issued by an earlier IntermediateCA key (openssl: "verify failure"
    // against this chain), so it does not cover this leaf either.
    const expired = crlRevocation(
      chain,
      [crl('intermediate.crl'), crl('leaf_expired.crl')],
      NOW,
      undefined,
    );
    expect([
      expired?.message.includes('CN=LeafCert'),
      expired?.message.includes('is unavailable'),
    ]).toEqual([true, true]);
    // The same CRLs read after their nextUpdate (2124) are expired.
    const late = crlRevocation(
      chain,
      [crl('intermediate.crl'), crl('leaf.crl')],
      new Date('2125-01-01T00:00:00Z'),
      undefined,
    );
    expect(late?.message).toContain('its CRL expired');
    expect(crlRevocation(chain, [], NOW, undefined)?.message).toContain('unavailable');
    // A CRL signed by another issuer does not count.
    expect(
      crlRevocation(chain, [crl('leaf.crl'), crl('leaf.crl')], NOW, undefined)?.message,
    ).toContain('CN=IntermediateCA');
  });
});

// --- AWS Signer -----------------------------------------------------------------------------------

describe('AWS Signer (notary.x509.signingAuthority, GetRevocationStatus)', () => {
  // No AWS Signer envelope or root exists in the data: a test CA and leaf are made here with
  // openssl, the envelope is signed here with node:crypto, and the Signer client is a fake at the
  // SDK boundary answering as the GetRevocationStatus API reference documents (revokedEntities).
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-signer-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'root.key');
  ssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'root.key',
    '-subj',
    '/C=US/ST=WA/O=Test Signer Root/CN=Test Signer Root',
    '-days',
    '3650',
    '-sha384',
    '-out',
    'root.pem',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  ssl('ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'leaf.key');
  ssl(
    'req',
    '-new',
    '-key',
    'leaf.key',
    '-subj',
    '/C=US/ST=WA/O=Test Signer/CN=Test Signer',
    '-out',
    'leaf.csr',
  );
  execFileSync(
    'sh',
    [
      '-c',
      'printf "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n" > leaf.ext',
    ],
    { cwd: dir },
  );
  ssl(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-days',
    '365',
    '-sha384',
    '-extfile',
    'leaf.ext',
    '-out',
    'leaf.pem',
  );
  const tbsHash = (name: string) => {
    ssl('asn1parse', '-in', `${name}.pem`, '-strparse', '4', '-noout', '-out', `${name}.tbs`);
    return createHash('sha384')
      .update(readFileSync(path.join(dir, `${name}.tbs`)))
      .digest('hex');
  };
  const expectedHashes = [tbsHash('leaf') + tbsHash('root'), tbsHash('root') + tbsHash('root')];
  const root = new X509Certificate(readFileSync(path.join(dir, 'root.pem')));
  const leaf = new X509Certificate(readFileSync(path.join(dir, 'leaf.pem')));
  const leafKey = createPrivateKey(readFileSync(path.join(dir, 'leaf.key')));
  rmSync(dir, { recursive: true, force: true });
  // The certificates are valid from now: the authentic signing time is the next whole second.
  const SIGNED = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);

  const PROFILE = 'arn:aws:signer:us-west-2:123456789012:/signing-profiles/notation_test';
  const JOB =
    'arn:aws:signer:us-west-2:123456789012:/signing-jobs/5808635f-05de-4207-a891-c95f827b50f4';
  const DIGEST = 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda';
  const envelope = () => {
    const header = {
      alg: 'ES384',
      cty: 'application/vnd.cncf.notary.payload.v1+json',
      crit: [
        'io.cncf.notary.signingScheme',
        'io.cncf.notary.authenticSigningTime',
        'io.cncf.notary.verificationPlugin',
        'com.amazonaws.signer.signingProfileVersion',
        'com.amazonaws.signer.signingJob',
      ],
      'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
      'io.cncf.notary.authenticSigningTime': SIGNED.toISOString().replace('.000Z', 'Z'),
      'io.cncf.notary.verificationPlugin': AWS_SIGNER_PLUGIN,
      'com.amazonaws.signer.signingProfileVersion': `${PROFILE}/IrwHQeF7XW`,
      'com.amazonaws.signer.signingJob': JOB,
    };
    const protectedB64 = Buffer.from(JSON.stringify(header)).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({
        targetArtifact: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: DIGEST,
          size: 1,
        },
      }),
    ).toString('base64url');
    const signature = sign('sha384', Buffer.from(`${protectedB64}.${payload}`), {
      key: leafKey,
      dsaEncoding: 'ieee-p1363',
    });
    return Buffer.from(
      JSON.stringify({
        payload,
        protected: protectedB64,
        header: { x5c: [leaf.raw.toString('base64'), root.raw.toString('base64')] },
        signature: signature.toString('base64url'),
      }),
    );
  };
  const fake = (revokedEntities: string[]) => {
    const inputs: unknown[] = [];
    return {
      inputs,
      client: {
        send: async (command: { input: unknown }) => {
          inputs.push(command.input);
          return { revokedEntities };
        },
      },
    };
  };
  const options = (
    client: ReturnType<typeof fake>['client'],
    identities = [PROFILE],
  ): NotationVerifyOptions => ({
    digest: DIGEST,
    policy: policyOf({
      signatureVerification: { level: 'strict' },
      trustStores: ['signingAuthority:aws'],
      trustedIdentities: identities,
    }),
    trustStore: trustStoreOf({ 'signingAuthority:aws': [root] }),
    now: new Date(SIGNED.getTime() + 60_000),
    awsSigner: { client },
  });

  it('verifies, asking GetRevocationStatus as the Signer plugin does', async () => {
    const { client, inputs } = fake([]);
    const verified = await verifyNotationSignature(envelope(), JWS_MEDIA_TYPE, options(client));
    expect(verified.trustRoot).toBe(`x509:sha256:${fingerprint(root)}`);
    expect(verified.signedAt).toBe(SIGNED.toISOString());
    expect(inputs).toEqual([
      {
        signatureTimestamp: SIGNED,
        platformId: 'Notation-OCI-SHA384-ECDSA',
        profileVersionArn: `${PROFILE}/IrwHQeF7XW`,
        jobArn: JOB,
        certificateHashes: expectedHashes,
      },
    ]);
  });

  it('a revoked job or certificate is REVOKED; a failed call leaves the status unavailable', async () => {
    const job = await failureOf(
      verifyNotationSignature(envelope(), JWS_MEDIA_TYPE, options(fake([JOB]).client)),
    );
    expect([job.failure, job.message.includes(JOB)]).toEqual(['REVOKED', true]);
    const cert = await failureOf(
      verifyNotationSignature(
        envelope(),
        JWS_MEDIA_TYPE,
        options(fake([expectedHashes[0] as string]).client),
      ),
    );
    expect(cert.message).toContain('1 certificate(s) have been revoked');
    const down = { send: async () => Promise.reject(new Error('throttled')) };
    const unavailable = await failureOf(
      verifyNotationSignature(envelope(), JWS_MEDIA_TYPE, options(down)),
    );
    expect(unavailable.message).toContain('GetRevocationStatus failed: throttled');
  });

  it('identities are signing-profile ARNs; without the Signer client the plugin header is unsupported', async () => {
    const other = await failureOf(
      verifyNotationSignature(
        envelope(),
        JWS_MEDIA_TYPE,
        options(fake([]).client, ['arn:aws:signer:us-west-2:123456789012:/signing-profiles/other']),
      ),
    );
    expect(other.failure).toBe('IDENTITY_MISMATCH');
    const wildcard = await failureOf(
      verifyNotationSignature(envelope(), JWS_MEDIA_TYPE, options(fake([]).client, ['*'])),
    );
    expect(wildcard.failure).toBe('IDENTITY_MISMATCH');
    const { awsSigner: _, ...without } = options(fake([]).client);
    expect(
      (await failureOf(verifyNotationSignature(envelope(), JWS_MEDIA_TYPE, without))).failure,
    ).toBe('UNSUPPORTED');
  });
});
