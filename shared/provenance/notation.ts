import {
  constants,
  createHash,
  verify as cryptoVerify,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { sha256Hex } from './crypto.js';
import {
  type Crl,
  certificateIssuerName,
  crlSignedBy,
  parseCrl,
  TimestampError,
  type TimestampToken,
  tbsCertificate,
  verifyTimestampToken,
} from './notation-asn1.js';
import { CborTag, type CborValue, decodeCbor, sigStructure1 } from './notation-cbor.js';
import {
  certificateSubject,
  isSubsetDN,
  NotationTrustPolicyError,
  subjectString,
  type TrustPolicyStatement,
  type TrustStore,
  type ValidationType,
} from './notation-trust.js';
import {
  type ProvenanceFailure,
  ProvenanceVerificationError,
  type VerifiedSignature,
} from './types.js';

/**
 * Verification of Notary Project (Notation) signatures, offline: the JWS and COSE envelopes
 * (notaryproject-specifications/specs/signature-envelope-{jws,cose}.md), the signature
 * specification's signed attributes, and the verification steps of trust-store-trust-policy.md
 * ("Signature Verification": integrity, authenticity, expiry, authentic timestamp, revocation),
 * each enforced or logged as the trust policy statement says.
 */

export const JWS_MEDIA_TYPE = 'application/jose+json';
export const COSE_MEDIA_TYPE = 'application/cose';
export const NOTARY_PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

const H = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
  timestampSignature: 'io.cncf.notary.timestampSignature',
  signingAgent: 'io.cncf.notary.signingAgent',
} as const;

/** The AWS Signer Notation plugin's id and the signed attributes it processes. */
export const AWS_SIGNER_PLUGIN = 'com.amazonaws.signer.notation.plugin';
const AWS_PROFILE_VERSION = 'com.amazonaws.signer.signingProfileVersion';
const AWS_SIGNING_JOB = 'com.amazonaws.signer.signingJob';

export type SigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';

/** A parsed envelope: what the signature covers and what it says, nothing verified yet. */
export interface NotationEnvelope {
  format: 'notation-jws' | 'notation-cose';
  /** The JWS `alg` name (`PS256`...; COSE algorithm ids are mapped to these). */
  algorithm: string;
  contentType: unknown;
  critical: string[];
  signingScheme: unknown;
  signingTime?: Date;
  authenticSigningTime?: Date;
  expiry?: Date;
  /** Protected headers beyond the ones above (extended attributes, plugin headers). */
  extendedAttributes: Record<string, unknown>;
  payload: Uint8Array;
  /** The bytes the signature is over: the JWS signing input or the COSE Sig_structure. */
  signedBytes: Uint8Array;
  signature: Uint8Array;
  /** `x5c` / `x5chain`, DER, leaf first. */
  certificates: Uint8Array[];
  timestampToken?: Uint8Array;
  signingAgent?: string;
}

const malformed = (message: string, cause?: unknown): never => {
  throw new ProvenanceVerificationError('MALFORMED', message, { cause });
};

const COSE_ALGORITHMS: Readonly<Record<number, string>> = {
  [-37]: 'PS256',
  [-38]: 'PS384',
  [-39]: 'PS512',
  [-7]: 'ES256',
  [-35]: 'ES384',
  [-36]: 'ES512',
};

/** Parses a Notation envelope of the signature manifest's layer media type. */
export function parseNotationEnvelope(bytes: Uint8Array, mediaType: string): NotationEnvelope {
  if (mediaType === JWS_MEDIA_TYPE) return parseJws(bytes);
  if (mediaType === COSE_MEDIA_TYPE) return parseCose(bytes);
  throw new ProvenanceVerificationError(
    'UNSUPPORTED',
    `signature envelope media type ${JSON.stringify(mediaType)} is neither ${JWS_MEDIA_TYPE} nor ${COSE_MEDIA_TYPE}`,
  );
}

function base64url(value: unknown, what: string): Buffer {
  // RFC 7515 omits padding; a padded value is still decoded (the signing input is the value
  // as written, so a changed value fails the signature check rather than the parse).
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(value))
    return malformed(`JWS ${what} is not base64url`);
  return Buffer.from(value, 'base64url');
}

/** RFC 3339 date-time, as the JWS envelope carries signing time and expiry. */
function rfc3339(value: unknown, name: string): Date {
  if (
    typeof value !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) ||
    Number.isNaN(Date.parse(value))
  )
    return malformed(`${name} ${JSON.stringify(value)} is not an RFC 3339 time`);
  return new Date(value);
}

/** The JWS JSON flattened serialization (RFC 7515 section 7.2.2), the only one Notary allows. */
function parseJws(bytes: Uint8Array): NotationEnvelope {
  let env: Record<string, unknown>;
  try {
    env = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    return malformed(`JWS envelope is not JSON: ${(err as Error).message}`, err);
  }
  if (typeof env !== 'object' || env === null || Array.isArray(env))
    return malformed('JWS envelope is not an object');
  if ('signatures' in env)
    return malformed('JWS envelope uses the general serialization; Notary requires flattened');
  const protectedB64 = env.protected;
  const protectedBytes = base64url(protectedB64, 'protected header');
  const payload = base64url(env.payload, 'payload');
  const signature = base64url(env.signature, 'signature');
  if (signature.length === 0) malformed('JWS signature is empty');
  let headers: Record<string, unknown>;
  try {
    headers = JSON.parse(protectedBytes.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    return malformed('JWS protected header is not JSON', err);
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    return malformed('JWS protected header is not an object');
  const unprotected = (env.header ?? {}) as Record<string, unknown>;
  if (typeof unprotected !== 'object' || Array.isArray(unprotected))
    malformed('JWS header is not an object');
  const x5c = unprotected.x5c ?? [];
  if (!Array.isArray(x5c) || x5c.some((c) => typeof c !== 'string'))
    malformed('JWS x5c is not an array of strings');
  const { alg, cty, crit, ...rest } = headers;
  if (typeof alg !== 'string') malformed('JWS protected header has no alg');
  if (crit !== undefined && (!Array.isArray(crit) || crit.some((c) => typeof c !== 'string')))
    malformed('JWS crit is not an array of strings');
  const ts = unprotected[H.timestampSignature];
  return {
    format: 'notation-jws',
    algorithm: alg as string,
    contentType: cty,
    critical: (crit ?? []) as string[],
    ...signedAttributes(rest, (v, n) => rfc3339(v, n)),
    payload,
    signedBytes: Buffer.from(`${protectedB64 as string}.${env.payload as string}`, 'ascii'),
    signature,
    certificates: (x5c as string[]).map((c) => Buffer.from(c, 'base64')),
    ...(typeof ts === 'string' ? { timestampToken: Buffer.from(ts, 'base64') } : {}),
    ...(typeof unprotected[H.signingAgent] === 'string'
      ? { signingAgent: unprotected[H.signingAgent] as string }
      : {}),
  };
}

/** Splits the known signed attributes from the extended ones, decoding the times. */
function signedAttributes(
  rest: Record<string, unknown>,
  time: (v: unknown, name: string) => Date,
): Pick<
  NotationEnvelope,
  'signingScheme' | 'signingTime' | 'authenticSigningTime' | 'expiry' | 'extendedAttributes'
> {
  const {
    [H.signingScheme]: scheme,
    [H.signingTime]: st,
    [H.authenticSigningTime]: ast,
    [H.expiry]: exp,
    ...ext
  } = rest;
  return {
    signingScheme: scheme,
    ...(st !== undefined ? { signingTime: time(st, H.signingTime) } : {}),
    ...(ast !== undefined ? { authenticSigningTime: time(ast, H.authenticSigningTime) } : {}),
    ...(exp !== undefined ? { expiry: time(exp, H.expiry) } : {}),
    extendedAttributes: ext,
  };
}

/** Epoch-based date/time (RFC 8949 section 3.4.2): tag 1 over an integer. */
function coseTime(value: unknown, name: string): Date {
  if (value instanceof CborTag && value.tag === 1 && typeof value.value === 'number')
    return new Date(value.value * 1000);
  return malformed(`COSE ${name} is not an epoch date/time (tag 1)`);
}

/** COSE_Sign1_Tagged (RFC 9052 section 4.2) with Notary's header parameters. */
function parseCose(bytes: Uint8Array): NotationEnvelope {
  let item: CborValue;
  try {
    item = decodeCbor(bytes);
  } catch (err) {
    return malformed(`COSE envelope is not CBOR: ${(err as Error).message}`, err);
  }
  if (!(item instanceof CborTag) || item.tag !== 18)
    return malformed('COSE envelope is not a tagged COSE_Sign1 (tag 18)');
  const parts = item.value;
  if (!Array.isArray(parts) || parts.length !== 4)
    return malformed('COSE_Sign1 is not a 4-element array');
  const [protectedBytes, unprotected, payload, signature] = parts;
  if (!(protectedBytes instanceof Uint8Array))
    return malformed('COSE protected header is not a byte string');
  if (!(unprotected instanceof Map)) return malformed('COSE unprotected header is not a map');
  if (!(payload instanceof Uint8Array))
    return malformed('COSE payload is detached or not a byte string');
  if (!(signature instanceof Uint8Array) || signature.length === 0)
    return malformed('COSE signature is empty');
  let headers: CborValue;
  try {
    headers = decodeCbor(protectedBytes);
  } catch (err) {
    return malformed(`COSE protected header is not CBOR: ${(err as Error).message}`, err);
  }
  if (!(headers instanceof Map)) return malformed('COSE protected header is not a map');
  const rest: Record<string, unknown> = {};
  let algorithm: string | undefined;
  let contentType: unknown;
  let critical: string[] = [];
  let x5chain: CborValue = unprotected.get(33);
  for (const [key, value] of headers) {
    if (key === 1) {
      algorithm =
        typeof value === 'number' ? (COSE_ALGORITHMS[value] ?? `COSE:${value}`) : undefined;
      if (algorithm === undefined) malformed('COSE alg is not an integer');
    } else if (key === 2) {
      if (!Array.isArray(value)) return malformed('COSE crit is not an array');
      critical = value.map((v) => (typeof v === 'string' ? v : `label:${String(v)}`));
    } else if (key === 3) contentType = value;
    else if (key === 33) x5chain = value;
    else if (typeof key === 'string') rest[key] = value;
    else rest[`label:${String(key)}`] = value;
  }
  if (algorithm === undefined) return malformed('COSE protected header has no alg');
  const certs = x5chain === undefined ? [] : x5chain instanceof Uint8Array ? [x5chain] : x5chain;
  if (!Array.isArray(certs) || certs.some((c) => !(c instanceof Uint8Array)))
    return malformed('COSE x5chain is not a byte string or an array of them');
  const ts = unprotected.get(H.timestampSignature);
  const agent = unprotected.get(H.signingAgent);
  return {
    format: 'notation-cose',
    algorithm,
    contentType,
    critical,
    ...signedAttributes(rest, coseTime),
    payload,
    signedBytes: sigStructure1(protectedBytes, payload),
    signature,
    certificates: certs as Uint8Array[],
    ...(ts instanceof Uint8Array ? { timestampToken: ts } : {}),
    ...(typeof agent === 'string' ? { signingAgent: agent } : {}),
  };
}

const KNOWN_CRITICAL = new Set<string>([H.signingScheme, H.authenticSigningTime, H.expiry]);

/**
 * The protected-header rules of the envelope specifications: the content type, the signing
 * scheme and the signed attributes it requires, and `crit` (it must name the signing scheme,
 * the authentic signing time and expiry when present, and only headers that are present).
 * A critical header this verifier does not process fails as UNSUPPORTED (RFC 7515 section
 * 4.1.11: a recipient MUST reject what it does not understand); `understood` adds the ones a
 * configured verification (AWS Signer) processes.
 */
export function checkProtectedHeaders(
  env: NotationEnvelope,
  understood: ReadonlySet<string> = new Set(),
): SigningScheme {
  if (env.contentType !== NOTARY_PAYLOAD_TYPE)
    throw new ProvenanceVerificationError(
      'UNSUPPORTED',
      `payload content type ${JSON.stringify(env.contentType)} is not ${NOTARY_PAYLOAD_TYPE}`,
    );
  const scheme = env.signingScheme;
  if (scheme !== 'notary.x509' && scheme !== 'notary.x509.signingAuthority')
    throw new ProvenanceVerificationError(
      'UNSUPPORTED',
      `signing scheme ${JSON.stringify(scheme)} is not supported`,
    );
  const crit = new Set(env.critical);
  if (!crit.has(H.signingScheme)) malformed(`crit does not name ${H.signingScheme}`);
  if (env.expiry !== undefined && !crit.has(H.expiry))
    malformed(`${H.expiry} is present but not critical`);
  if (env.authenticSigningTime !== undefined && !crit.has(H.authenticSigningTime))
    malformed(`${H.authenticSigningTime} is present but not critical`);
  if (scheme === 'notary.x509') {
    if (env.signingTime === undefined) malformed(`${H.signingTime} is required under notary.x509`);
    if (env.authenticSigningTime !== undefined)
      malformed(`${H.authenticSigningTime} is only valid under notary.x509.signingAuthority`);
  } else if (env.authenticSigningTime === undefined)
    malformed(`${H.authenticSigningTime} is required under notary.x509.signingAuthority`);
  const present = (name: string) =>
    name === H.signingScheme ||
    (name === H.authenticSigningTime && env.authenticSigningTime !== undefined) ||
    (name === H.expiry && env.expiry !== undefined) ||
    (name === H.signingTime && env.signingTime !== undefined) ||
    name in env.extendedAttributes;
  for (const name of env.critical)
    if (!present(name)) malformed(`critical header ${JSON.stringify(name)} is not present`);
  const plugin = env.extendedAttributes[H.verificationPlugin];
  if (
    plugin !== undefined &&
    !(understood.has(H.verificationPlugin) && plugin === AWS_SIGNER_PLUGIN)
  )
    throw new ProvenanceVerificationError(
      'UNSUPPORTED',
      `the signature requires verification plugin ${JSON.stringify(plugin)}, and no Notation plugin runs here`,
    );
  for (const name of env.critical)
    if (!KNOWN_CRITICAL.has(name) && !understood.has(name))
      throw new ProvenanceVerificationError(
        'UNSUPPORTED',
        `critical header ${JSON.stringify(name)} is not understood`,
      );
  return scheme;
}

// --- Keys and algorithms -----------------------------------------------------------------

/** The `alg` a key must use ("Signature Algorithm Requirements" / "Algorithm Selection"). */
function algorithmForKey(key: KeyObject): string | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss')
    return { 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' }[d?.modulusLength ?? 0];
  if (key.asymmetricKeyType === 'ec')
    return { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[d?.namedCurve ?? ''];
  return undefined;
}

function verifyWith(alg: string, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const hash = `sha${alg.slice(2)}`;
  try {
    if (alg.startsWith('PS'))
      return cryptoVerify(
        hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 },
        signature,
      );
    // JWS (RFC 7518 section 3.4) and COSE (RFC 9053 section 2.1) both carry r || s.
    return cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/**
 * The signature alone: the leaf certificate of `x5c`/`x5chain` parses, its key is an allowed
 * type and size, `alg` is the one that key requires (no algorithm substitution), and the
 * signature verifies over the JWS signing input or the COSE Sig_structure. Returns the chain.
 */
export function checkEnvelopeSignature(env: NotationEnvelope): X509Certificate[] {
  if (env.certificates.length === 0)
    malformed('the envelope carries no certificate chain (x5c / x5chain)');
  let chain: X509Certificate[];
  try {
    chain = env.certificates.map((der) => new X509Certificate(der));
  } catch (err) {
    return malformed(`a certificate of the chain does not parse: ${(err as Error).message}`, err);
  }
  const leaf = chain[0] as X509Certificate;
  const expectedAlg = algorithmForKey(leaf.publicKey);
  if (expectedAlg === undefined)
    throw new ProvenanceVerificationError(
      'UNSUPPORTED',
      `signing key ${leaf.publicKey.asymmetricKeyType} is not an allowed Notary key type or size`,
    );
  if (expectedAlg !== env.algorithm)
    throw new ProvenanceVerificationError(
      'INVALID_SIGNATURE',
      `alg ${env.algorithm} does not match the signing key, which requires ${expectedAlg}`,
    );
  if (!verifyWith(env.algorithm, leaf.publicKey, env.signedBytes, env.signature))
    throw new ProvenanceVerificationError(
      'INVALID_SIGNATURE',
      `the ${env.format} signature does not verify with the leaf certificate's key`,
    );
  return chain;
}

// --- Verification ------------------------------------------------------------------------

/** The AWS Signer client boundary: the SDK's SignerClient satisfies it. */
export interface SignerRevocationClient {
  send(command: import('@aws-sdk/client-signer').GetRevocationStatusCommand): Promise<{
    revokedEntities?: string[] | undefined;
  }>;
}

export interface NotationVerifyOptions {
  /** The digest of the artifact the signature must be for (`sha256:<hex>`). */
  digest: string;
  /** The applicable statement (`selectOciPolicy` / `selectBlobPolicy`). */
  policy: TrustPolicyStatement;
  trustStore: TrustStore;
  /** Verification time; the expiry and validity checks use it. Default: now. */
  now?: Date;
  /** CRLs (DER or PEM) for certificates that name a CRL distribution point. */
  crls?: readonly Uint8Array[];
  /**
   * Verifies signatures made by AWS Signer (`notary.x509.signingAuthority` with the AWS Signer
   * plugin's attributes) as that plugin does: trusted identities are signing-profile ARNs and
   * revocation is asked of Signer's GetRevocationStatus.
   */
  awsSigner?: { client: SignerRevocationClient };
}

export type NotationEvaluation =
  | { outcome: 'skipped'; policy: string }
  | {
      outcome: 'passed';
      /** Absent when authenticity failed and the policy only logs it (audit). */
      signature: VerifiedSignature | undefined;
      /** Validations that failed and were only logged, by the policy's level. */
      logged: ProvenanceVerificationError[];
    };

/**
 * Runs the verification steps with the statement's enforcement: an enforced failure throws, a
 * logged one is collected. Notation's own result for `audit` and `permissive` is this one.
 */
export async function evaluateNotationSignature(
  envelopeBytes: Uint8Array,
  mediaType: string,
  options: NotationVerifyOptions,
): Promise<NotationEvaluation> {
  const { policy } = options;
  if (policy.level === 'skip') return { outcome: 'skipped', policy: policy.name };
  const now = options.now ?? new Date();
  const logged: ProvenanceVerificationError[] = [];
  const step = (type: ValidationType, err: ProvenanceVerificationError): void => {
    const action = policy.enforcement[type];
    if (action === 'enforce') throw err;
    if (action === 'log') logged.push(err);
  };
  const failure = (f: ProvenanceFailure, m: string) => new ProvenanceVerificationError(f, m);

  // 1. Integrity: envelope, headers, signing key and algorithm, signature, chain, payload.
  const env = parseNotationEnvelope(envelopeBytes, mediaType);
  const understood = new Set<string>();
  if (options.awsSigner !== undefined)
    for (const h of [
      H.verificationPlugin,
      H.verificationPluginMinVersion,
      AWS_PROFILE_VERSION,
      AWS_SIGNING_JOB,
    ])
      understood.add(h);
  const scheme = checkProtectedHeaders(env, understood);
  const chain = checkEnvelopeSignature(env);
  const leaf = chain[0] as X509Certificate;
  checkChain(chain, scheme);
  const target = payloadDigest(env.payload);
  if (target !== options.digest)
    throw failure('DIGEST_MISMATCH', `the signature is for ${target}, not for ${options.digest}`);

  // 2. Authenticity: the chain leads to a certificate of a named store; the identity is trusted.
  let anchor: { cert: X509Certificate; index: number } | undefined;
  let authenticityError: ProvenanceVerificationError | undefined;
  try {
    anchor = findAnchor(chain, scheme, policy, options.trustStore);
    if (anchor === undefined)
      authenticityError = failure(
        'UNTRUSTED',
        `the certificate chain (${subjectString(leaf)}) does not lead to a certificate in ${policy.trustStores
          .filter((s) => s.type !== 'tsa')
          .map((s) => `${s.type}:${s.name}`)
          .join(', ')}`,
      );
    else authenticityError = checkIdentity(leaf, env, policy, options.awsSigner !== undefined);
  } catch (err) {
    if (!(err instanceof NotationTrustPolicyError)) throw err;
    authenticityError = failure('UNTRUSTED', err.message);
  }
  if (authenticityError !== undefined) step('authenticity', authenticityError);

  // 3. Expiry: the signer's "best by use" time.
  if (env.expiry !== undefined && now.getTime() >= env.expiry.getTime())
    step('expiry', failure('EXPIRED', `the signature expired at ${env.expiry.toISOString()}`));

  // 4. Authentic timestamp.
  let timestamp: TimestampToken | undefined;
  if (policy.enforcement.authenticTimestamp !== 'skip') {
    try {
      timestamp = authenticTime(env, scheme, chain, policy, options.trustStore, now);
    } catch (err) {
      if (!(err instanceof ProvenanceVerificationError)) throw err;
      step('authenticTimestamp', err);
    }
  }

  // 5. Revocation.
  if (policy.enforcement.revocation !== 'skip') {
    const signedAt = timestamp?.genTime ?? env.authenticSigningTime;
    const revoked = await revocation(env, chain, options, now, signedAt);
    if (revoked !== undefined) step('revocation', revoked);
  }

  if (authenticityError !== undefined || anchor === undefined)
    return { outcome: 'passed', signature: undefined, logged };
  const signedAt = timestamp?.genTime ?? env.authenticSigningTime ?? env.signingTime;
  const sans = leaf.subjectAltName?.split(', ').filter((s) => s !== '') ?? [];
  return {
    outcome: 'passed',
    signature: {
      format: env.format,
      subjectDigest: target,
      signer: {
        kind: 'certificate',
        subject: subjectString(leaf),
        sans,
        extensions: {},
        chain: [
          ...chain.slice(0, anchor.index).map((c) => `sha256:${sha256Hex(c.raw)}`),
          `sha256:${sha256Hex(anchor.cert.raw)}`,
        ],
      },
      trustRoot: `x509:sha256:${sha256Hex(anchor.cert.raw)}`,
      ...(signedAt !== undefined ? { signedAt: signedAt.toISOString() } : {}),
    },
    logged,
  };
}

/**
 * Verifies one Notation signature envelope and returns what it proves, or throws
 * ProvenanceVerificationError naming the failure. Unlike Notation's `audit` and `permissive`
 * levels, no failure is only logged here: a signature whose authenticity failed has no trust
 * root to count, and one whose expiry or revocation check failed would count toward a verdict
 * that says nothing of it. Those levels change what evaluateNotationSignature logs; a policy
 * that must report without enforcing says `mode: audit`.
 */
export async function verifyNotationSignature(
  envelopeBytes: Uint8Array,
  mediaType: string,
  options: NotationVerifyOptions,
): Promise<VerifiedSignature> {
  const result = await evaluateNotationSignature(envelopeBytes, mediaType, options);
  if (result.outcome === 'skipped')
    throw new ProvenanceVerificationError(
      'UNTRUSTED',
      `trust policy statement ${JSON.stringify(result.policy)} is configured to skip signature verification`,
    );
  if (result.signature === undefined)
    throw (
      result.logged.find((e) => e.failure === 'UNTRUSTED' || e.failure === 'IDENTITY_MISMATCH') ??
      new ProvenanceVerificationError('UNTRUSTED', 'authenticity was not established')
    );
  const [logged] = result.logged;
  if (logged !== undefined) throw logged;
  return result.signature;
}

/** The Notary payload's `targetArtifact.digest` (signature-specification.md "Payload"). */
function payloadDigest(payload: Uint8Array): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return malformed('the payload is not JSON', err);
  }
  const target = (parsed as { targetArtifact?: { digest?: unknown } } | null)?.targetArtifact;
  if (
    typeof target?.digest !== 'string' ||
    !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(target.digest)
  )
    return malformed('the payload has no targetArtifact.digest');
  return target.digest;
}

/**
 * The chain must go leaf to root, each certificate issued and signed by the next, issuers CAs,
 * the last self-signed; the leaf a code-signing certificate when it says what it is for
 * (notation-core-go x509.ValidateCodeSigningCertChain). A chain that is not one is no proof.
 */
function checkChain(chain: X509Certificate[], scheme: SigningScheme): void {
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i] as X509Certificate;
    const issuer = chain[i + 1];
    // A root (or a self-signed leaf) need not allow certificate signing: check its own signature.
    const issued =
      issuer === undefined
        ? cert.subject === cert.issuer && cert.verify(cert.publicKey)
        : cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    if (!issued)
      throw new ProvenanceVerificationError(
        'UNTRUSTED',
        i + 1 < chain.length
          ? `certificate ${i} (${subjectString(cert)}) is not issued by certificate ${i + 1}`
          : `the last certificate (${subjectString(cert)}) is not a self-signed root`,
      );
    if (i > 0 && !cert.ca)
      throw new ProvenanceVerificationError(
        'UNTRUSTED',
        `issuer ${subjectString(cert)} is not a CA certificate`,
      );
  }
  const eku = chain[0]?.keyUsage;
  if (eku !== undefined && eku.length > 0 && !eku.includes('1.3.6.1.5.5.7.3.3'))
    throw new ProvenanceVerificationError(
      'UNTRUSTED',
      `the signing certificate's extended key usage (${eku.join(', ')}) does not allow code signing (${scheme})`,
    );
}

/** The first certificate of the chain that is in a named store of the scheme's type. */
function findAnchor(
  chain: X509Certificate[],
  scheme: SigningScheme,
  policy: TrustPolicyStatement,
  store: TrustStore,
): { cert: X509Certificate; index: number } | undefined {
  const type = scheme === 'notary.x509' ? 'ca' : 'signingAuthority';
  const trusted = policy.trustStores
    .filter((s) => s.type === type)
    .flatMap((s) => store.get(s.type, s.name));
  for (let index = 0; index < chain.length; index++) {
    const cert = chain[index] as X509Certificate;
    const match = trusted.find((t) => Buffer.from(t.raw).equals(cert.raw));
    if (match !== undefined) return { cert: match, index };
  }
  return undefined;
}

function checkIdentity(
  leaf: X509Certificate,
  env: NotationEnvelope,
  policy: TrustPolicyStatement,
  awsSigner: boolean,
): ProvenanceVerificationError | undefined {
  if (policy.trustedIdentities.some((t) => t.kind === 'any')) {
    if (awsSigner && env.extendedAttributes[H.verificationPlugin] === AWS_SIGNER_PLUGIN)
      return new ProvenanceVerificationError(
        'IDENTITY_MISMATCH',
        'the AWS Signer plugin does not support wildcard identity in the trust policy',
      );
    return undefined;
  }
  const subject = certificateSubject(leaf);
  for (const identity of policy.trustedIdentities) {
    if (identity.kind === 'x509.subject' && isSubsetDN(identity.dn, subject)) return undefined;
    // AWS Signer: a signing-profile ARN matches its versions; a profile-version ARN matches itself.
    if (identity.kind === 'other' && awsSigner) {
      const version = env.extendedAttributes[AWS_PROFILE_VERSION];
      if (typeof version !== 'string') continue;
      const raw = identity.raw.toLowerCase();
      const v = version.toLowerCase();
      if (v === raw || v.slice(0, v.lastIndexOf('/')) === raw) return undefined;
    }
  }
  return new ProvenanceVerificationError(
    'IDENTITY_MISMATCH',
    `signing certificate ${subjectString(leaf)} does not match the trusted identities of ${JSON.stringify(policy.name)}`,
  );
}

function withinValidity(
  chain: X509Certificate[],
  from: Date,
  to: Date,
): X509Certificate | undefined {
  return chain.find(
    (c) =>
      from.getTime() < new Date(c.validFrom).getTime() ||
      to.getTime() > new Date(c.validTo).getTime(),
  );
}

/**
 * "Validate Authentic Timestamp": under notary.x509, an RFC 3161 countersignature from a TSA of a
 * `tsa` store when the policy asks for one, else the current time, must fall inside the
 * chain's validity; under signingAuthority, the authentic signing time must.
 */
function authenticTime(
  env: NotationEnvelope,
  scheme: SigningScheme,
  chain: X509Certificate[],
  policy: TrustPolicyStatement,
  store: TrustStore,
  now: Date,
): TimestampToken | undefined {
  const expired = (at: string, cert: X509Certificate) =>
    new ProvenanceVerificationError(
      'EXPIRED',
      `${at} is outside the validity of certificate ${subjectString(cert)} (${cert.validFrom} .. ${cert.validTo})`,
    );
  if (scheme === 'notary.x509.signingAuthority') {
    const at = env.authenticSigningTime as Date;
    const bad = withinValidity(chain, at, at);
    if (bad !== undefined) throw expired(`the authentic signing time ${at.toISOString()}`, bad);
    return undefined;
  }
  const tsaStores = policy.trustStores.filter((s) => s.type === 'tsa');
  const chainExpired = withinValidity(chain, now, now) !== undefined;
  const triggered = tsaStores.length > 0 && (policy.verifyTimestamp === 'always' || chainExpired);
  if (!triggered) {
    const bad = withinValidity(chain, now, now);
    if (bad !== undefined) throw expired(`the verification time ${now.toISOString()}`, bad);
    return undefined;
  }
  if (env.timestampToken === undefined || env.timestampToken.length === 0)
    throw new ProvenanceVerificationError(
      'EXPIRED',
      'the policy requires a timestamp countersignature and there is none',
    );
  let token: TimestampToken;
  try {
    token = verifyTimestampToken(env.timestampToken, env.signature);
  } catch (err) {
    if (!(err instanceof TimestampError)) throw err;
    throw new ProvenanceVerificationError(
      'INVALID_SIGNATURE',
      `timestamp countersignature: ${err.message}`,
      {
        cause: err,
      },
    );
  }
  const tsaRoots = tsaStores.flatMap((s) => store.get('tsa', s.name));
  if (!tsaChainTrusted(token, tsaRoots, token.genTime))
    throw new ProvenanceVerificationError(
      'UNTRUSTED',
      `the timestamp's TSA (${subjectString(token.signer as X509Certificate)}) does not chain to ${tsaStores.map((s) => `tsa:${s.name}`).join(', ')}`,
    );
  const lower = new Date(token.genTime.getTime() - token.accuracyMs);
  const upper = new Date(token.genTime.getTime() + token.accuracyMs);
  const bad = withinValidity(chain, lower, upper);
  if (bad !== undefined)
    throw expired(`the timestamp ${lower.toISOString()} .. ${upper.toISOString()}`, bad);
  return token;
}

/** Builds the TSA's chain from the token's certificates up to a root of the tsa stores. */
function tsaChainTrusted(
  token: TimestampToken,
  roots: readonly X509Certificate[],
  at: Date,
): boolean {
  let cert = token.signer as X509Certificate;
  for (let depth = 0; depth < 8; depth++) {
    if (at < new Date(cert.validFrom) || at > new Date(cert.validTo)) return false;
    const current = cert;
    if (roots.some((r) => Buffer.from(r.raw).equals(current.raw))) return true;
    const root = roots.find((r) => current.checkIssued(r) && current.verify(r.publicKey));
    if (root !== undefined) return true;
    const next = token.certificates.find(
      (c) => c !== current && c.ca && current.checkIssued(c) && current.verify(c.publicKey),
    );
    if (next === undefined) return false;
    cert = next;
  }
  return false;
}

/**
 * "Validate Revocation Status". Offline, CRLs come with the options: each certificate that
 * names a CRL distribution point must be covered by one, signed by its issuer and current,
 * else its status is unavailable, which the specification treats as a failure. AWS Signer
 * signatures are asked of Signer's GetRevocationStatus instead, as its Notation plugin does.
 */
async function revocation(
  env: NotationEnvelope,
  chain: X509Certificate[],
  options: NotationVerifyOptions,
  now: Date,
  signedAt: Date | undefined,
): Promise<ProvenanceVerificationError | undefined> {
  if (
    options.awsSigner !== undefined &&
    env.extendedAttributes[H.verificationPlugin] === AWS_SIGNER_PLUGIN
  )
    return awsSignerRevocation(env, chain, options.awsSigner.client);
  return crlRevocation(chain, options.crls ?? [], now, signedAt);
}

/**
 * CRL revocation of a chain (leaf first), offline: each certificate that names a CRL
 * distribution point must be covered by a given CRL signed by its issuer, else its status is
 * unavailable; a listed serial is revoked unless its invalidity date is after `signedAt`.
 */
export function crlRevocation(
  chain: readonly X509Certificate[],
  crlBytes: readonly Uint8Array[],
  now: Date,
  signedAt: Date | undefined,
): ProvenanceVerificationError | undefined {
  const crls = crlBytes.map((bytes) => {
    try {
      return parseCrl(bytes);
    } catch (err) {
      throw new ProvenanceVerificationError(
        'MALFORMED',
        `a CRL does not parse: ${(err as Error).message}`,
        { cause: err },
      );
    }
  });
  // Root first, as the specification orders it.
  for (let i = chain.length - 1; i >= 0; i--) {
    const cert = chain[i] as X509Certificate;
    const issuer = chain[i + 1] ?? cert;
    const issuerName = Buffer.from(certificateIssuerName(cert.raw));
    const candidates: Crl[] = crls.filter(
      (crl) => issuerName.equals(crl.issuer) && crlSignedBy(crl, issuer),
    );
    if (candidates.length === 0) {
      if (cdpPresent(cert))
        return new ProvenanceVerificationError(
          'REVOKED',
          `revocation status of ${subjectString(cert)} is unavailable: it names a CRL distribution point and no CRL signed by its issuer was given`,
        );
      continue;
    }
    const serial = BigInt(`0x${cert.serialNumber}`);
    for (const crl of candidates) {
      const entry = crl.entries.find((e) => e.serial === serial);
      if (entry !== undefined) {
        // A revocation whose invalidity date is after an authentic signing time does not
        // invalidate the signature (trust-store-trust-policy.md "Revocation Checking with CRL").
        if (
          entry.invalidityDate !== undefined &&
          signedAt !== undefined &&
          signedAt < entry.invalidityDate
        )
          continue;
        return new ProvenanceVerificationError(
          'REVOKED',
          `certificate ${subjectString(cert)} (serial ${cert.serialNumber}) is revoked since ${entry.revocationDate.toISOString()}`,
        );
      }
    }
    if (candidates.every((crl) => crl.nextUpdate !== undefined && crl.nextUpdate < now))
      return new ProvenanceVerificationError(
        'REVOKED',
        `revocation status of ${subjectString(cert)} is unavailable: its CRL expired at ${candidates[0]?.nextUpdate?.toISOString()}`,
      );
  }
  return undefined;
}

/** Whether the certificate carries a CRL distribution points extension (2.5.29.31). */
function cdpPresent(cert: X509Certificate): boolean {
  // The OID's DER (06 03 55 1D 1F) inside the certificate's extensions.
  return Buffer.from(cert.raw).includes(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x1f]));
}

/**
 * AWS Signer revocation, as aws/aws-signer-notation-plugin's verifier asks it: platform
 * `Notation-OCI-SHA384-ECDSA`, the signing profile version and job ARNs from the signed
 * attributes, the authentic signing time, and per certificate the hex SHA-384 of its
 * TBSCertificate followed by its issuer's (a root is its own issuer). Any entity in
 * `revokedEntities` revokes the signature; a failed call leaves the status unavailable.
 */
async function awsSignerRevocation(
  env: NotationEnvelope,
  chain: X509Certificate[],
  client: SignerRevocationClient,
): Promise<ProvenanceVerificationError | undefined> {
  const profileVersionArn = env.extendedAttributes[AWS_PROFILE_VERSION];
  const jobArn = env.extendedAttributes[AWS_SIGNING_JOB];
  if (typeof profileVersionArn !== 'string' || typeof jobArn !== 'string')
    return new ProvenanceVerificationError(
      'MALFORMED',
      `an AWS Signer signature needs the signed attributes ${AWS_PROFILE_VERSION} and ${AWS_SIGNING_JOB}`,
    );
  const hashes = chain.map((c) => createHash('sha384').update(tbsCertificate(c.raw)).digest('hex'));
  const certificateHashes = hashes.map((h, i) => h + (hashes[i + 1] ?? h));
  const { GetRevocationStatusCommand } = await import('@aws-sdk/client-signer');
  let revoked: string[];
  try {
    const out = await client.send(
      new GetRevocationStatusCommand({
        signatureTimestamp: env.authenticSigningTime,
        platformId: 'Notation-OCI-SHA384-ECDSA',
        profileVersionArn,
        jobArn,
        certificateHashes,
      }),
    );
    revoked = out.revokedEntities ?? [];
  } catch (err) {
    return new ProvenanceVerificationError(
      'REVOKED',
      `revocation status is unavailable: GetRevocationStatus failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (revoked.length === 0) return undefined;
  const arns = revoked.filter((r) => r.startsWith('arn'));
  const certs = revoked.length - arns.length;
  return new ProvenanceVerificationError(
    'REVOKED',
    [
      arns.length > 0 ? `resource(s) ${arns.join(', ')} have been revoked` : '',
      certs > 0 ? `${certs} certificate(s) have been revoked` : '',
    ]
      .filter((s) => s !== '')
      .join('; '),
  );
}
