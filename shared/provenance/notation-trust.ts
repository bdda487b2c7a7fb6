import { X509Certificate } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BosunError } from '../errors.js';
import { pemCertificates } from './crypto.js';
import { splitDerSequence } from './notation-asn1.js';

/**
 * Notary Project trust stores and trust policies, as the specification defines them
 * (notaryproject-specifications/specs/trust-store-trust-policy.md) and as notation-go validates
 * them (verifier/trustpolicy): the same rules and, where it helps an operator, the same words.
 */

/** A trust policy that breaks a rule of the specification. Configuration: nothing else can run. */
export class NotationTrustPolicyError extends BosunError {
  readonly fatal = true;
}

export type ValidationType =
  | 'integrity'
  | 'authenticity'
  | 'authenticTimestamp'
  | 'expiry'
  | 'revocation';
export type ValidationAction = 'enforce' | 'log' | 'skip';
export type VerificationLevelName = 'strict' | 'permissive' | 'audit' | 'skip';
export type Enforcement = Readonly<Record<ValidationType, ValidationAction>>;

/** The table of "Signature Verification details" in the trust-policy specification. */
export const VERIFICATION_LEVELS: Readonly<Record<VerificationLevelName, Enforcement>> = {
  strict: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'enforce',
    expiry: 'enforce',
    revocation: 'enforce',
  },
  permissive: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  audit: {
    integrity: 'enforce',
    authenticity: 'log',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  skip: {
    integrity: 'skip',
    authenticity: 'skip',
    authenticTimestamp: 'skip',
    expiry: 'skip',
    revocation: 'skip',
  },
};

const VALIDATION_TYPES: readonly ValidationType[] = [
  'integrity',
  'authenticity',
  'authenticTimestamp',
  'expiry',
  'revocation',
];

export type TrustStoreType = 'ca' | 'signingAuthority' | 'tsa';
const TRUST_STORE_TYPES: readonly TrustStoreType[] = ['ca', 'signingAuthority', 'tsa'];

export interface TrustPolicyStatement {
  name: string;
  /** OCI policies only. */
  registryScopes: string[];
  /** Blob policies only. */
  globalPolicy: boolean;
  level: VerificationLevelName;
  enforcement: Enforcement;
  /** `always` (default) or `afterCertExpiry`. */
  verifyTimestamp: 'always' | 'afterCertExpiry';
  trustStores: { type: TrustStoreType; name: string }[];
  /** `*`, or parsed `x509.subject:` DNs; other prefixes are kept raw for plugins (AWS Signer ARNs). */
  trustedIdentities: TrustedIdentity[];
}

export type TrustedIdentity =
  | { kind: 'any' }
  | { kind: 'x509.subject'; raw: string; dn: ReadonlyMap<string, string> }
  | { kind: 'other'; raw: string; prefix: string; value: string };

export interface TrustPolicyDocument {
  kind: 'oci' | 'blob';
  version: '1.0';
  statements: TrustPolicyStatement[];
}

const fail = (message: string): never => {
  throw new NotationTrustPolicyError(message);
};

function stringArray(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    return fail(`${what} must be an array of strings`);
  return value as string[];
}

/**
 * Parses and validates a trust policy document: `trustpolicy.json` / `trustpolicy.oci.json`
 * (kind `oci`) or `trustpolicy.blob.json` (kind `blob`). Rules and their order follow
 * notation-go's `OCIDocument.Validate` / `BlobDocument.Validate`.
 */
export function parseTrustPolicy(text: string, kind: 'oci' | 'blob'): TrustPolicyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NotationTrustPolicyError(`malformed trust policy: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return fail('malformed trust policy: not an object');
  const doc = raw as Record<string, unknown>;
  if (doc.version === undefined || doc.version === '')
    fail(`${kind} trust policy document has empty version, version must be specified`);
  if (doc.version !== '1.0')
    fail(`${kind} trust policy document uses unsupported version ${JSON.stringify(doc.version)}`);
  if (!Array.isArray(doc.trustPolicies) || doc.trustPolicies.length === 0)
    fail(`${kind} trust policy document can not have zero trust policy statements`);
  const names = new Set<string>();
  const statements: TrustPolicyStatement[] = [];
  for (const entry of doc.trustPolicies as unknown[]) {
    if (typeof entry !== 'object' || entry === null)
      return fail('trust policy statement is not an object');
    const s = entry as Record<string, unknown>;
    const name = typeof s.name === 'string' ? s.name : '';
    if (names.has(name))
      fail(
        `multiple ${kind} trust policy statements use the same name ${JSON.stringify(name)}, statement names must be unique`,
      );
    const statement = parseStatement(s, name, kind);
    names.add(name);
    statements.push(statement);
  }
  if (kind === 'oci') validateRegistryScopes(statements);
  else {
    const globals = statements.filter((s) => s.globalPolicy);
    if (globals.length > 1)
      fail('multiple trust policy statements cannot be marked as global policy');
    for (const g of globals)
      if (g.level === 'skip')
        fail(
          `global trust policy statement ${JSON.stringify(g.name)} cannot have ${JSON.stringify('skip')} as the signature verification level`,
        );
  }
  return { kind, version: '1.0', statements };
}

function parseStatement(
  s: Record<string, unknown>,
  name: string,
  kind: 'oci' | 'blob',
): TrustPolicyStatement {
  if (name === '')
    fail('a trust policy statement is missing a name, every statement requires a name');
  const q = JSON.stringify(name);
  const sv = (s.signatureVerification ?? {}) as Record<string, unknown>;
  let level: VerificationLevelName;
  let enforcement: Enforcement;
  try {
    ({ level, enforcement } = verificationLevel(sv));
  } catch (err) {
    return fail(
      `trust policy statement ${q} has invalid signatureVerification: ${(err as Error).message}`,
    );
  }
  const verifyTimestamp = sv.verifyTimestamp ?? 'always';
  if (verifyTimestamp !== 'always' && verifyTimestamp !== 'afterCertExpiry')
    fail(
      `trust policy statement ${q} has invalid verifyTimestamp ${JSON.stringify(verifyTimestamp)}, supported values are "always" and "afterCertExpiry"`,
    );
  const trustStoreValues = stringArray(s.trustStores, `trust policy statement ${q} trustStores`);
  const identityValues = stringArray(
    s.trustedIdentities,
    `trust policy statement ${q} trustedIdentities`,
  );
  const trustStores: TrustPolicyStatement['trustStores'] = [];
  const trustedIdentities: TrustedIdentity[] = [];
  if (level === 'skip') {
    if (trustStoreValues.length > 0 || identityValues.length > 0)
      fail(
        `trust policy statement ${q} is set to skip signature verification but configured with trust stores and/or trusted identities, remove them if signature verification needs to be skipped`,
      );
  } else {
    if (trustStoreValues.length === 0 || identityValues.length === 0)
      fail(
        `trust policy statement ${q} is either missing trust stores or trusted identities, both must be specified`,
      );
    for (const value of trustStoreValues) {
      const colon = value.indexOf(':');
      if (colon < 0)
        fail(
          `trust policy statement ${q} has malformed trust store value ${JSON.stringify(value)}. The required format is <TrustStoreType>:<TrustStoreName>`,
        );
      const type = value.slice(0, colon);
      const storeName = value.slice(colon + 1);
      if (!(TRUST_STORE_TYPES as readonly string[]).includes(type))
        fail(
          `trust policy statement ${q} uses an unsupported trust store type ${JSON.stringify(type)} in trust store value ${JSON.stringify(value)}`,
        );
      if (!/^[a-zA-Z0-9_.-]+$/.test(storeName))
        fail(
          `trust policy statement ${q} uses an unsupported trust store name ${JSON.stringify(storeName)} in trust store value ${JSON.stringify(value)}. Named store name needs to follow [a-zA-Z0-9_.-]+ format`,
        );
      trustStores.push({ type: type as TrustStoreType, name: storeName });
    }
    if (identityValues.length > 1 && identityValues.includes('*'))
      fail(
        `trust policy statement ${q} uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values`,
      );
    for (const identity of identityValues) {
      if (identity === '') fail(`trust policy statement ${q} has an empty trusted identity`);
      if (identity === '*') {
        trustedIdentities.push({ kind: 'any' });
        continue;
      }
      const colon = identity.indexOf(':');
      if (colon < 0)
        fail(
          `trust policy statement ${q} has trusted identity ${JSON.stringify(identity)} missing separator`,
        );
      const prefix = identity.slice(0, colon);
      const value = identity.slice(colon + 1);
      if (prefix !== 'x509.subject') {
        trustedIdentities.push({ kind: 'other', raw: identity, prefix, value });
        continue;
      }
      if (value === '')
        fail(
          `trust policy statement ${q} has trusted identity ${JSON.stringify(identity)} without an identity value`,
        );
      const dn = parseDistinguishedName(value);
      trustedIdentities.push({ kind: 'x509.subject', raw: identity, dn });
    }
    // "trustedIdentities list items MUST NOT have overlapping values".
    const dns = trustedIdentities.filter((t) => t.kind === 'x509.subject');
    for (const a of dns)
      for (const b of dns)
        if (a !== b && isSubsetDN(a.dn, b.dn))
          fail(
            `trust policy statement ${q} has overlapping x509 trustedIdentities, ${JSON.stringify(a.raw)} overlaps with ${JSON.stringify(b.raw)}`,
          );
  }
  return {
    name,
    registryScopes:
      kind === 'oci'
        ? stringArray(s.registryScopes, `trust policy statement ${q} registryScopes`)
        : [],
    globalPolicy: kind === 'blob' && s.globalPolicy === true,
    level,
    enforcement,
    verifyTimestamp: verifyTimestamp as 'always' | 'afterCertExpiry',
    trustStores,
    trustedIdentities,
  };
}

/** A level with its `override` applied ("Custom Verification Level" in the specification). */
function verificationLevel(sv: Record<string, unknown>): {
  level: VerificationLevelName;
  enforcement: Enforcement;
} {
  const level = sv.level;
  if (level === undefined || level === '')
    throw new Error(
      'signature verification level is empty or missing in the trust policy statement',
    );
  if (typeof level !== 'string' || !(level in VERIFICATION_LEVELS))
    throw new Error(`invalid signature verification level ${JSON.stringify(level)}`);
  const base = VERIFICATION_LEVELS[level as VerificationLevelName];
  const override = (sv.override ?? {}) as Record<string, unknown>;
  if (Object.keys(override).length === 0)
    return { level: level as VerificationLevelName, enforcement: base };
  if (level === 'skip')
    throw new Error(
      `signature verification level "skip" can't be used to customize signature verification`,
    );
  const custom: Record<ValidationType, ValidationAction> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (!(VALIDATION_TYPES as readonly string[]).includes(key))
      throw new Error(
        `verification type ${JSON.stringify(key)} in custom signature verification is not supported`,
      );
    if (value !== 'enforce' && value !== 'log' && value !== 'skip')
      throw new Error(
        `verification action ${JSON.stringify(value)} in custom signature verification is not supported`,
      );
    if (key === 'integrity')
      throw new Error(
        `"integrity" verification can not be overridden in custom signature verification`,
      );
    if (key !== 'revocation' && value === 'skip')
      throw new Error(
        `${JSON.stringify(key)} verification can not be skipped in custom signature verification`,
      );
    custom[key as ValidationType] = value;
  }
  return { level: level as VerificationLevelName, enforcement: custom };
}

// Domain and repository patterns from notation-go's validateRegistryScopeFormat, adapted by it
// from distribution/reference.
const DOMAIN =
  /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+)?(?::[0-9]+)?$/;
const REPOSITORY =
  /^[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?(?:(?:\/[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?)+)?$/;

function validateScopeFormat(scope: string): void {
  const hint =
    'make sure it is a fully qualified repository without the scheme, protocol or tag. For example domain.com/my/repository or a local scope like local/myOCILayout';
  if (scope.length > 1 && scope.includes('*'))
    fail(`registry scope ${JSON.stringify(scope)} with wild card(s) is not valid, ${hint}`);
  const slash = scope.indexOf('/');
  const domain = slash < 0 ? '' : scope.slice(0, slash);
  const repository = slash < 0 ? '' : scope.slice(slash + 1);
  if (!DOMAIN.test(domain) || !REPOSITORY.test(repository))
    fail(`registry scope ${JSON.stringify(scope)} is not valid, ${hint}`);
}

function validateRegistryScopes(statements: TrustPolicyStatement[]): void {
  const count = new Map<string, number>();
  for (const s of statements) {
    const q = JSON.stringify(s.name);
    if (s.registryScopes.length === 0)
      fail(
        `oci trust policy statement ${q} has zero registry scopes, it must specify registry scopes with at least one value`,
      );
    if (s.registryScopes.length > 1 && s.registryScopes.includes('*'))
      fail(
        `oci trust policy statement ${q} uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values`,
      );
    for (const scope of s.registryScopes) {
      if (scope !== '*') validateScopeFormat(scope);
      count.set(scope, (count.get(scope) ?? 0) + 1);
    }
  }
  for (const [scope, n] of count)
    if (n > 1)
      fail(
        `registry scope ${JSON.stringify(scope)} is present in multiple oci trust policy statements, one registry scope value can only be associated with one statement`,
      );
}

/**
 * The statement that applies to `reference` (`registry/repository@sha256:...`): an exact scope
 * first, then the global `*` ("Selecting a trust policy to verify a signed OCI artifact").
 */
export function selectOciPolicy(doc: TrustPolicyDocument, reference: string): TrustPolicyStatement {
  const at = reference.lastIndexOf('@');
  if (at < 0)
    fail(
      `artifact URI ${JSON.stringify(reference)} could not be parsed, make sure it is the fully qualified oci artifact URI without the scheme/protocol. e.g domain.com:80/my/repository@sha256:digest`,
    );
  const repository = reference.slice(0, at);
  validateScopeFormat(repository);
  const exact = doc.statements.find((s) => s.registryScopes.includes(repository));
  const global = doc.statements.find((s) => s.registryScopes.includes('*'));
  const chosen = exact ?? global;
  if (chosen === undefined)
    return fail(
      `artifact ${JSON.stringify(reference)} has no applicable oci trust policy statement. Trust policy applicability for a given artifact is determined by registryScopes`,
    );
  return chosen;
}

/** The blob statement named `name`, or the global one when no name is given. */
export function selectBlobPolicy(doc: TrustPolicyDocument, name?: string): TrustPolicyStatement {
  const chosen =
    name === undefined
      ? doc.statements.find((s) => s.globalPolicy)
      : doc.statements.find((s) => s.name === name);
  if (chosen === undefined)
    return fail(
      name === undefined
        ? 'no global blob trust policy statement, and no policy name was given'
        : `no applicable blob trust policy with name ${JSON.stringify(name)}`,
    );
  return chosen;
}

// --- Distinguished names ---------------------------------------------------------------------

/**
 * Parses an RFC 4514 DN (`C=US, ST=WA, O=...`) into attribute type -> value, as notation-go's
 * `pkix.ParseDistinguishedName` does: one value per type, and C, ST (or S) and O are mandatory
 * ("Trusted Identities Constraints"). Escapes `\,` `\;` `\\` `\ ` and `\XX` are decoded.
 */
export function parseDistinguishedName(text: string): Map<string, string> {
  const rdns: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + (text[i + 1] as string);
      i++;
    } else if (ch === ',' || ch === ';') {
      rdns.push(current);
      current = '';
    } else current += ch;
  }
  rdns.push(current);
  const out = new Map<string, string>();
  for (const rdn of rdns) {
    const eq = rdn.indexOf('=');
    if (eq < 0)
      fail(
        `distinguished name (DN) ${JSON.stringify(text)} is not valid: ${JSON.stringify(rdn)} has no '='`,
      );
    const type = rdn.slice(0, eq).trim().toUpperCase();
    const value = unescapeDnValue(rdn.slice(eq + 1).trim());
    if (type === '' || value === '')
      fail(`distinguished name (DN) ${JSON.stringify(text)} has an empty RDN`);
    const key = type === 'S' ? 'ST' : type;
    if (out.has(key))
      fail(
        `distinguished name (DN) ${JSON.stringify(text)} has duplicate RDN attribute for ${JSON.stringify(key)}, DN can only have unique RDN attributes`,
      );
    out.set(key, value);
  }
  for (const mandatory of ['C', 'ST', 'O'])
    if (!out.has(mandatory))
      fail(
        `distinguished name (DN) ${JSON.stringify(text)} has no mandatory RDN attribute for ${JSON.stringify(mandatory)}, it must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum`,
      );
  return out;
}

function unescapeDnValue(value: string): string {
  return value.replace(/\\([0-9a-fA-F]{2}|.)/g, (_, esc: string) =>
    esc.length === 2 ? String.fromCharCode(Number.parseInt(esc, 16)) : esc,
  );
}

/** True when every attribute of `subset` has the same value in `dn`. */
export function isSubsetDN(
  subset: ReadonlyMap<string, string>,
  dn: ReadonlyMap<string, string>,
): boolean {
  for (const [k, v] of subset) if (dn.get(k) !== v) return false;
  return true;
}

/** A certificate's subject as attribute -> value (node prints one `TYPE=value` per line). */
export function certificateSubject(cert: X509Certificate): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0)
      out.set(
        line.slice(0, eq).toUpperCase() === 'S' ? 'ST' : line.slice(0, eq).toUpperCase(),
        line.slice(eq + 1),
      );
  }
  return out;
}

/** The subject as an RFC 4514 string (most significant RDN last, as Go's pkix.Name prints it). */
export function subjectString(cert: X509Certificate): string {
  return cert.subject
    .split('\n')
    .reverse()
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      return `${rdn.slice(0, eq)}=${rdn.slice(eq + 1).replace(/([,;+"\\<>])/g, '\\$1')}`;
    })
    .join(',');
}

// --- Trust stores ----------------------------------------------------------------------------

/** Named stores of trusted root certificates, by type ("Trust Store" in the specification). */
export interface TrustStore {
  get(type: TrustStoreType, name: string): readonly X509Certificate[];
}

/** An in-memory trust store: `{ 'ca:e2e': [cert, ...] }`. */
export function trustStoreOf(
  stores: Readonly<Record<string, readonly X509Certificate[]>>,
): TrustStore {
  return {
    get(type, name) {
      const certs = stores[`${type}:${name}`];
      if (certs === undefined)
        throw new NotationTrustPolicyError(`the trust store "x509/${type}/${name}" does not exist`);
      return certs;
    },
  };
}

/** Certificates from a `.pem`/`.crt`/`.cer` file: one or more PEM blocks, or DER (concatenated). */
export function certificatesFromBytes(bytes: Uint8Array, source: string): X509Certificate[] {
  const text = Buffer.from(bytes).toString('latin1');
  try {
    if (text.includes('-----BEGIN CERTIFICATE-----')) {
      return pemCertificates(text).map((b) => new X509Certificate(b));
    }
    const certs = splitDerSequence(bytes).map((der) => new X509Certificate(der));
    if (certs.length === 0) throw new Error('no certificate');
    return certs;
  } catch (err) {
    throw new NotationTrustPolicyError(
      `${source} holds no valid certificate: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Reads a trust store directory laid out as the specification says:
 * `<dir>/x509/{ca,signingAuthority,tsa}/<named store>/<cert files>`. Symlinked stores and files
 * are refused, sub directories of a named store are ignored; every file must hold certificates.
 */
export function loadTrustStoreDir(dir: string): TrustStore {
  return {
    get(type, name) {
      const storeDir = path.join(dir, 'x509', type, name);
      let stat: ReturnType<typeof lstatSync>;
      try {
        stat = lstatSync(storeDir);
      } catch {
        throw new NotationTrustPolicyError(`the trust store "${storeDir}" does not exist`);
      }
      if (stat.isSymbolicLink() || !stat.isDirectory())
        throw new NotationTrustPolicyError(
          `the trust store "${storeDir}" is not a regular directory (symlinks are not supported)`,
        );
      const certs: X509Certificate[] = [];
      for (const entry of readdirSync(storeDir).sort()) {
        const file = path.join(storeDir, entry);
        const st = lstatSync(file);
        if (st.isDirectory()) continue;
        if (st.isSymbolicLink() || !st.isFile())
          throw new NotationTrustPolicyError(
            `"${file}" is not a regular file (symlinks are not supported)`,
          );
        for (const cert of certificatesFromBytes(readFileSync(file), file)) {
          // notation-go's trust store: a CA certificate or a self-signed signing certificate;
          // a tsa store holds roots only.
          const selfSigned = cert.subject === cert.issuer && cert.verify(cert.publicKey);
          if (type === 'tsa' ? !(cert.ca && selfSigned) : !(cert.ca || selfSigned))
            throw new NotationTrustPolicyError(
              `certificate ${cert.subject.replaceAll('\n', ',')} in "${file}" is not ${type === 'tsa' ? 'a root CA certificate' : 'a CA certificate or a self-signed signing certificate'}`,
            );
          certs.push(cert);
        }
      }
      if (certs.length === 0)
        throw new NotationTrustPolicyError(`the trust store "${storeDir}" has no certificates`);
      return certs;
    },
  };
}
