import { createHash, type X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
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
    const sign1 = decodeCbor(bytes) as { value: [Uint8Array] };
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
