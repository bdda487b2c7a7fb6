/**
 * Keyless signer identities: what a Fulcio certificate says about who signed (OIDC issuer,
 * subject alternative name, Fulcio's extensions), and the one policy type and matcher that
 * decide whether that signer is accepted. Sigstore bundles (sigstore.ts), legacy cosign
 * signatures (cosign-legacy.ts) and provenance policies (policy.ts) all use these.
 * Extensions: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
 */
import { ASN1Obj, X509Certificate } from '@sigstore/core';
import { sha256Hex } from './crypto.js';
import { ProvenanceVerificationError, type SignerIdentity } from './types.js';

/** An exact string, or a regular expression that must match the whole value. */
export type StringMatch = string | { readonly regex: string };

/**
 * Fulcio's certificate extensions by name, under 1.3.6.1.4.1.57264.1. 1.1-1.6 are the
 * deprecated raw-string forms; 1.8 onwards are DER UTF8Strings.
 */
const FULCIO_EXTENSIONS = {
  issuer: '1.3.6.1.4.1.57264.1.8',
  buildSignerURI: '1.3.6.1.4.1.57264.1.9',
  buildSignerDigest: '1.3.6.1.4.1.57264.1.10',
  runnerEnvironment: '1.3.6.1.4.1.57264.1.11',
  sourceRepositoryURI: '1.3.6.1.4.1.57264.1.12',
  sourceRepositoryDigest: '1.3.6.1.4.1.57264.1.13',
  sourceRepositoryRef: '1.3.6.1.4.1.57264.1.14',
  sourceRepositoryIdentifier: '1.3.6.1.4.1.57264.1.15',
  sourceRepositoryOwnerURI: '1.3.6.1.4.1.57264.1.16',
  sourceRepositoryOwnerIdentifier: '1.3.6.1.4.1.57264.1.17',
  buildConfigURI: '1.3.6.1.4.1.57264.1.18',
  buildConfigDigest: '1.3.6.1.4.1.57264.1.19',
  buildTrigger: '1.3.6.1.4.1.57264.1.20',
  runInvocationURI: '1.3.6.1.4.1.57264.1.21',
  sourceRepositoryVisibilityAtSigning: '1.3.6.1.4.1.57264.1.22',
} as const;
const FULCIO_LEGACY_EXTENSIONS = {
  issuerV1: '1.3.6.1.4.1.57264.1.1',
  githubWorkflowTrigger: '1.3.6.1.4.1.57264.1.2',
  githubWorkflowSha: '1.3.6.1.4.1.57264.1.3',
  githubWorkflowName: '1.3.6.1.4.1.57264.1.4',
  githubWorkflowRepository: '1.3.6.1.4.1.57264.1.5',
  githubWorkflowRef: '1.3.6.1.4.1.57264.1.6',
} as const;
export type FulcioExtension =
  | Exclude<keyof typeof FULCIO_EXTENSIONS, 'issuer'>
  | Exclude<keyof typeof FULCIO_LEGACY_EXTENSIONS, 'issuerV1'>;
/** Every extension name a policy may constrain, for validating policies. */
export const FULCIO_EXTENSION_NAMES: readonly FulcioExtension[] = [
  ...Object.keys(FULCIO_EXTENSIONS).filter((n) => n !== 'issuer'),
  ...Object.keys(FULCIO_LEGACY_EXTENSIONS).filter((n) => n !== 'issuerV1'),
] as FulcioExtension[];

/** Who may have signed keyless: cosign's `--certificate-identity(-regexp)` and `-oidc-issuer`. */
export interface KeylessIdentityPolicy {
  /** The OIDC issuer Fulcio recorded (extension 1.3.6.1.4.1.57264.1.8, or .1.1). */
  readonly issuer: StringMatch;
  /** The certificate's subject alternative name: a workflow URI, an email, an otherName. */
  readonly subject: StringMatch;
  /** Further Fulcio extensions that must match; an absent extension never matches. */
  readonly extensions?: Partial<Readonly<Record<FulcioExtension, StringMatch>>>;
}

export type CertificateSigner = Extract<SignerIdentity, { kind: 'certificate' }>;

/**
 * Whether `value` matches. A regular expression must match the whole value: it is compiled as
 * `^(?:regex)$`, so `https://github\.com/org/.*` is satisfied neither by
 * `https://github.com/org.evil/...` nor by a value that merely contains it.
 */
export function matches(pattern: StringMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (typeof pattern === 'string') return pattern === value;
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${pattern.regex})$`, 'u');
  } catch (cause) {
    throw new ProvenanceVerificationError(
      'MALFORMED',
      `identity pattern /${pattern.regex}/ is not a valid regular expression`,
      { cause },
    );
  }
  return regex.test(value);
}

/** Why `policy` refuses `signer`, or undefined when it accepts it. */
function identityMismatch(
  signer: CertificateSigner,
  policy: KeylessIdentityPolicy,
): string | undefined {
  if (!matches(policy.issuer, signer.oidcIssuer))
    return `OIDC issuer ${signer.oidcIssuer ?? '(none)'} does not match ${describe(policy.issuer)}`;
  if (!signer.sans.some((san) => matches(policy.subject, san)))
    return `subject ${signer.sans.join(', ') || '(none)'} does not match ${describe(policy.subject)}`;
  for (const [name, wanted] of Object.entries(policy.extensions ?? {})) {
    if (wanted === undefined) continue;
    const actual = signer.extensions[name];
    if (!matches(wanted, actual))
      return `certificate extension ${name} ${actual ?? '(absent)'} does not match ${describe(wanted)}`;
  }
  return undefined;
}

/** Throws IDENTITY_MISMATCH unless one of `policies` accepts the signer (none: nobody is). */
export function matchIdentity(
  signer: CertificateSigner,
  policies: readonly KeylessIdentityPolicy[],
): void {
  const reasons: string[] = [];
  for (const policy of policies) {
    const reason = identityMismatch(signer, policy);
    if (reason === undefined) return;
    reasons.push(reason);
  }
  throw new ProvenanceVerificationError(
    'IDENTITY_MISMATCH',
    policies.length === 0
      ? 'no keyless identity is trusted'
      : policies.length === 1
        ? (reasons[0] as string)
        : `signer ${signer.sans.join(', ') || '(none)'} from ${signer.oidcIssuer ?? '(none)'} matches none of ${policies.length} identities`,
  );
}

function describe(pattern: StringMatch): string {
  return typeof pattern === 'string' ? JSON.stringify(pattern) : `/^(?:${pattern.regex})$/`;
}

/**
 * The signer a Fulcio certificate names. `chain` is DER, the leaf first and then the path up
 * to the trusted root, whose fingerprints are recorded.
 */
export function certificateSigner(chain: readonly Uint8Array[]): CertificateSigner {
  const leafDer = chain[0];
  let leaf: X509Certificate;
  try {
    if (leafDer === undefined) throw new Error('empty chain');
    leaf = X509Certificate.parse(Buffer.from(leafDer));
  } catch (cause) {
    throw new ProvenanceVerificationError('MALFORMED', 'certificate does not parse', { cause });
  }
  const extensions: Record<string, string> = {};
  let oidcIssuer: string | undefined;
  for (const ext of leaf.extensions) {
    const oid = ext.subs[0]?.toOID();
    const value = ext.subs.at(-1)?.value;
    if (oid === undefined || value === undefined) continue;
    for (const [name, known] of Object.entries(FULCIO_EXTENSIONS)) {
      if (known !== oid) continue;
      const text = derString(value);
      if (name === 'issuer') oidcIssuer = text;
      else extensions[name] = text;
    }
    for (const [name, known] of Object.entries(FULCIO_LEGACY_EXTENSIONS)) {
      if (known !== oid) continue;
      const text = value.toString('utf8');
      if (name === 'issuerV1') oidcIssuer ??= text;
      else extensions[name] = text;
    }
  }
  return {
    kind: 'certificate',
    subject: distinguishedName(leaf),
    sans: subjectAltNames(leaf),
    ...(oidcIssuer === undefined ? {} : { oidcIssuer }),
    extensions,
    chain: chain.map((der) => `sha256:${sha256Hex(der)}`),
  };
}

/** The inner value of a DER UTF8String (Fulcio's v2 extensions). */
function derString(value: Buffer): string {
  try {
    return ASN1Obj.parseBuffer(Buffer.from(value)).value.toString('utf8');
  } catch {
    return value.toString('utf8');
  }
}

/** SubjectAltName (RFC 5280 §4.2.1.6): email, DNS, URI, IP and otherName values as strings. */
function subjectAltNames(cert: X509Certificate): string[] {
  const ext = cert.extSubjectAltName;
  if (!ext) return [];
  const names: string[] = [];
  for (const name of ext.valueObj.subs[0]?.subs ?? []) {
    if (
      name.tag.isContextSpecific(1) ||
      name.tag.isContextSpecific(2) ||
      name.tag.isContextSpecific(6)
    )
      names.push(name.value.toString('ascii'));
    else if (name.tag.isContextSpecific(7)) names.push(ipAddress(name.value));
    else if (name.tag.isContextSpecific(0)) {
      // otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }; Fulcio's username
      // (1.3.6.1.4.1.57264.1.7) is a UTF8String.
      const inner = name.subs[1]?.subs[0];
      if (inner) names.push(inner.value.toString('utf8'));
    }
  }
  return names;
}

function ipAddress(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

const NAME_ATTRIBUTES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

/** The subject Name of a certificate as an RFC 4514 string (last RDN first, specials escaped). */
function distinguishedName(cert: X509Certificate): string {
  // TBSCertificate (RFC 5280 §4.1): [0] version, serial, signature, issuer, validity, subject.
  const tbs = cert.tbsCertificate.subs;
  const name = tbs[tbs[0]?.tag.isContextSpecific(0) ? 5 : 4];
  if (!name) return '';
  return name.subs
    .map((rdn) =>
      rdn.subs
        .map((atv) => {
          const oid = atv.subs[0]?.toOID() ?? '';
          const value = (atv.subs[1]?.value ?? Buffer.alloc(0)).toString('utf8');
          const escaped = value.replace(/[,+"\\<>;=]/g, '\\$&').replace(/^[ #]|[ ]$/g, '\\$&');
          return `${NAME_ATTRIBUTES[oid] ?? oid}=${escaped}`;
        })
        .join('+'),
    )
    .reverse()
    .join(',');
}
