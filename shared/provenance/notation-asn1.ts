import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto';

/**
 * The DER (X.690) that Notation verification needs beyond what node:crypto's X509Certificate
 * exposes: a certificate's TBSCertificate (AWS Signer's certificate hashes) and RFC 3161
 * timestamp tokens (CMS SignedData over a TSTInfo, RFC 5652 and RFC 3161 section 2.4.2).
 */

export class DerError extends Error {}

export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number < 31). */
  tag: number;
  /** The whole TLV. */
  bytes: Uint8Array;
  /** The value octets. */
  content: Uint8Array;
}

/** Reads one TLV at `offset`. Long-form tag numbers never occur in what we parse. */
export function readDer(buf: Uint8Array, offset = 0): DerNode {
  if (offset + 2 > buf.length) throw new DerError(`truncated DER at byte ${offset}`);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`long-form DER tag at byte ${offset}`);
  let len = buf[offset + 1] as number;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError(`unsupported DER length form at byte ${offset}`);
    if (pos + n > buf.length) throw new DerError(`truncated DER length at byte ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[pos + i] as number);
    pos += n;
  }
  if (pos + len > buf.length)
    throw new DerError(`DER value of ${len} bytes at byte ${offset} runs past the end`);
  return { tag, bytes: buf.subarray(offset, pos + len), content: buf.subarray(pos, pos + len) };
}

/** The TLVs inside a constructed node. */
export function derChildren(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.content.length) {
    const child = readDer(node.content, pos);
    out.push(child);
    pos += child.bytes.length;
  }
  return out;
}

function expect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined || node.tag !== tag)
    throw new DerError(
      `${what}: expected tag 0x${tag.toString(16)}, got ${node === undefined ? 'nothing' : `0x${node.tag.toString(16)}`}`,
    );
  return node;
}

/** The OID of an AlgorithmIdentifier (RFC 5280 §4.1.1.2: SEQUENCE { algorithm OID, ... }). */
function algorithmOid(node: DerNode | undefined, what: string): string {
  return derOid(expect(derChildren(expect(node, 0x30, what))[0], 0x06, 'OID'));
}

export function derOid(node: DerNode): string {
  const c = node.content;
  if (c.length === 0) throw new DerError('empty OID');
  const first = c[0] as number;
  const parts = [
    Math.min(2, Math.floor(first / 40)),
    first - Math.min(2, Math.floor(first / 40)) * 40,
  ];
  let value = 0;
  for (let i = 1; i < c.length; i++) {
    const b = c[i] as number;
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function derInteger(node: DerNode): bigint {
  let v = 0n;
  for (const b of node.content) v = (v << 8n) | BigInt(b);
  return v;
}

/** GeneralizedTime `YYYYMMDDHHMMSS[.f+]Z` (RFC 3161 requires UTC and allows fractions). */
function generalizedTime(node: DerNode): Date {
  const text = new TextDecoder().decode(node.content);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(text);
  if (!m) throw new DerError(`GeneralizedTime ${JSON.stringify(text)} is not UTC`);
  const ms = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  return new Date(
    Date.UTC(
      Number(m[1]),
      Number(m[2]) - 1,
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    ) + ms,
  );
}

/** The TBSCertificate of a DER certificate (RFC 5280 section 4.1). */
export function tbsCertificate(der: Uint8Array): Uint8Array {
  const cert = readDer(der);
  const tbs = derChildren(cert)[0];
  if (tbs === undefined) throw new DerError('certificate has no TBSCertificate');
  return tbs.bytes;
}

/** Splits concatenated DER certificates (notation-core-go reads such files too). */
export function splitDerSequence(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const node = readDer(buf, pos);
    if (node.tag !== 0x30) throw new DerError(`not a DER certificate at byte ${pos}`);
    out.push(node.bytes);
    pos += node.bytes.length;
  }
  return out;
}

const HASH_BY_OID: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** RSA PKCS#1 v1.5 and ECDSA signature algorithms (RFC 4055, RFC 5758) and their hashes. */
const SIGNATURE_HASH: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

/** Signature algorithms of the TSA's SignerInfo we verify, with the hash they imply (if any). */
const SIGNATURE_BY_OID: Readonly<Record<string, string | undefined>> = {
  '1.2.840.113549.1.1.1': undefined, // rsaEncryption: the SignerInfo's digestAlgorithm says
  ...SIGNATURE_HASH,
};

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_SIGNING_CERT = '1.2.840.113549.1.9.16.2.12';
const OID_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';

export interface TimestampToken {
  /** TSTInfo.genTime. */
  genTime: Date;
  /** TSTInfo.accuracy in milliseconds (0 when absent). */
  accuracyMs: number;
  /** TSTInfo.messageImprint. */
  hashAlgorithm: string;
  hashedMessage: Buffer;
  /** The certificates the token carries (DER). */
  certificates: X509Certificate[];
  /** The TSA certificate that signed the token, once `verifyTimestampToken` found it. */
  signer?: X509Certificate;
}

export class TimestampError extends Error {}

interface ParsedToken extends TimestampToken {
  eContent: Uint8Array;
  digestHash: string;
  signedAttrs: DerNode | undefined;
  signatureAlgorithm: string;
  signature: Uint8Array;
  essCertHash: { hash: string; value: Buffer } | undefined;
}

/**
 * Parses an RFC 3161 TimeStampToken: a CMS ContentInfo of SignedData whose encapsulated content
 * is a TSTInfo (RFC 3161 section 2.4.2). Throws TimestampError naming what is wrong.
 */
function parseToken(der: Uint8Array): ParsedToken {
  try {
    const contentInfo = derChildren(expect(readDer(der), 0x30, 'ContentInfo'));
    const type = derOid(expect(contentInfo[0], 0x06, 'ContentInfo.contentType'));
    if (type !== OID_SIGNED_DATA)
      throw new TimestampError(`timestamp token content type ${type} is not signedData`);
    const signedDataWrap = derChildren(expect(contentInfo[1], 0xa0, 'ContentInfo.content'));
    const signedData = derChildren(expect(signedDataWrap[0], 0x30, 'SignedData'));
    const encap = derChildren(expect(signedData[2], 0x30, 'encapContentInfo'));
    const eType = derOid(expect(encap[0], 0x06, 'eContentType'));
    if (eType !== OID_TST_INFO)
      throw new TimestampError(`timestamp token encapsulates ${eType}, not a TSTInfo`);
    const eContentWrap = derChildren(expect(encap[1], 0xa0, 'eContent'));
    const eContent = expect(eContentWrap[0], 0x04, 'eContent OCTET STRING').content;
    let i = 3;
    const certificates: X509Certificate[] = [];
    if (signedData[i]?.tag === 0xa0) {
      for (const c of derChildren(signedData[i] as DerNode))
        certificates.push(new X509Certificate(c.bytes));
      i++;
    }
    if (signedData[i]?.tag === 0xa1) i++;
    const signerInfos = derChildren(expect(signedData[i], 0x31, 'signerInfos'));
    if (signerInfos.length !== 1)
      throw new TimestampError(`timestamp token has ${signerInfos.length} signers, want 1`);
    const si = derChildren(expect(signerInfos[0], 0x30, 'SignerInfo'));
    const digestAlg = algorithmOid(si[2], 'digestAlgorithm');
    const digestHash = HASH_BY_OID[digestAlg];
    if (digestHash === undefined)
      throw new TimestampError(`unsupported digest algorithm ${digestAlg}`);
    let j = 3;
    let signedAttrs: DerNode | undefined;
    if (si[j]?.tag === 0xa0) signedAttrs = si[j++];
    const signatureAlgorithm = algorithmOid(si[j], 'signatureAlgorithm');
    const signature = expect(si[j + 1], 0x04, 'signature').content;

    const tst = derChildren(expect(readDer(eContent), 0x30, 'TSTInfo'));
    const imprint = derChildren(expect(tst[2], 0x30, 'messageImprint'));
    const imprintAlg = algorithmOid(imprint[0], 'hashAlgorithm');
    const hashAlgorithm = HASH_BY_OID[imprintAlg];
    if (hashAlgorithm === undefined)
      throw new TimestampError(`unsupported messageImprint algorithm ${imprintAlg}`);
    const hashedMessage = Buffer.from(expect(imprint[1], 0x04, 'hashedMessage').content);
    const genTime = generalizedTime(expect(tst[4], 0x18, 'genTime'));
    let accuracyMs = 0;
    if (tst[5]?.tag === 0x30) {
      for (const part of derChildren(tst[5])) {
        if (part.tag === 0x02) accuracyMs += Number(derInteger(part)) * 1000;
        else if (part.tag === 0x80) accuracyMs += Number(derInteger(part));
        else if (part.tag === 0x81) accuracyMs += Number(derInteger(part)) / 1000;
      }
    }
    let essCertHash: ParsedToken['essCertHash'];
    if (signedAttrs !== undefined) {
      for (const attr of derChildren(signedAttrs)) {
        const [oidNode, values] = derChildren(attr);
        const oid = derOid(expect(oidNode, 0x06, 'attribute type'));
        if (oid !== OID_SIGNING_CERT_V2 && oid !== OID_SIGNING_CERT) continue;
        // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), ... } (RFC 5035)
        const value = derChildren(expect(values, 0x31, 'attribute values'))[0] as DerNode;
        const first = derChildren(derChildren(value)[0] as DerNode)[0] as DerNode;
        const fields = derChildren(first);
        if (oid === OID_SIGNING_CERT) {
          essCertHash = { hash: 'sha1', value: Buffer.from((fields[0] as DerNode).content) };
        } else if (fields[0]?.tag === 0x30) {
          const alg = derOid(derChildren(fields[0])[0] as DerNode);
          const hash = HASH_BY_OID[alg];
          if (hash === undefined) throw new TimestampError(`unsupported ESSCertIDv2 hash ${alg}`);
          essCertHash = { hash, value: Buffer.from((fields[1] as DerNode).content) };
        } else {
          essCertHash = { hash: 'sha256', value: Buffer.from((fields[0] as DerNode).content) };
        }
      }
    }
    return {
      genTime,
      accuracyMs,
      hashAlgorithm,
      hashedMessage,
      certificates,
      eContent,
      digestHash,
      signedAttrs,
      signatureAlgorithm,
      signature,
      essCertHash,
    };
  } catch (err) {
    if (err instanceof TimestampError) throw err;
    throw new TimestampError(`malformed timestamp token: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Verifies an RFC 3161 token as a countersignature of `signature` (the Notary Project
 * "Timestamp Signature" unsigned attribute): the messageImprint is the hash of the signature
 * bytes, the CMS signature verifies with the TSA certificate the token carries, the signed
 * attributes bind the TSTInfo (content-type and message-digest, RFC 5652 section 5.4) and name
 * that certificate (signing-certificate(-v2), RFC 5035), and the certificate is for time
 * stamping. Whether the TSA chains to a trusted root is the caller's step.
 */
export function verifyTimestampToken(der: Uint8Array, signature: Uint8Array): TimestampToken {
  const token = parseToken(der);
  const expected = createHash(token.hashAlgorithm).update(signature).digest();
  if (!expected.equals(token.hashedMessage))
    throw new TimestampError(
      'timestamp messageImprint does not match the signature it countersigns',
    );
  if (token.signedAttrs === undefined)
    throw new TimestampError('timestamp token has no signed attributes');
  let digestOk = false;
  let contentTypeOk = false;
  for (const attr of derChildren(token.signedAttrs)) {
    const [oidNode, values] = derChildren(attr);
    const oid = derOid(oidNode as DerNode);
    const value = derChildren(values as DerNode)[0] as DerNode;
    if (oid === OID_MESSAGE_DIGEST)
      digestOk = createHash(token.digestHash).update(token.eContent).digest().equals(value.content);
    if (oid === OID_CONTENT_TYPE) contentTypeOk = derOid(value) === OID_TST_INFO;
  }
  if (!contentTypeOk)
    throw new TimestampError('timestamp content-type attribute is not id-ct-TSTInfo');
  if (!digestOk)
    throw new TimestampError('timestamp message-digest attribute does not match the TSTInfo');
  if (!(token.signatureAlgorithm in SIGNATURE_BY_OID))
    throw new TimestampError(
      `unsupported timestamp signature algorithm ${token.signatureAlgorithm}`,
    );
  const hash = SIGNATURE_BY_OID[token.signatureAlgorithm] ?? token.digestHash;
  // The signature covers the DER of the signed attributes as a SET (tag 0x31), not as the
  // [0] IMPLICIT field they are stored in (RFC 5652 section 5.4).
  const signedBytes = Buffer.from(token.signedAttrs.bytes);
  signedBytes[0] = 0x31;
  const signer = token.certificates.find((cert) => {
    try {
      return cryptoVerify(hash, signedBytes, cert.publicKey, token.signature);
    } catch {
      return false;
    }
  });
  if (signer === undefined)
    throw new TimestampError(
      'timestamp signature does not verify with any certificate in the token',
    );
  if (token.essCertHash === undefined)
    throw new TimestampError('timestamp token has no signing-certificate(-v2) attribute');
  if (
    !createHash(token.essCertHash.hash).update(signer.raw).digest().equals(token.essCertHash.value)
  )
    throw new TimestampError('timestamp signing-certificate attribute does not name the signer');
  if (!signer.keyUsage?.includes('1.3.6.1.5.5.7.3.8'))
    throw new TimestampError(
      `timestamp certificate ${signer.subject.replaceAll('\n', ',')} is not for time stamping`,
    );
  return {
    genTime: token.genTime,
    accuracyMs: token.accuracyMs,
    hashAlgorithm: token.hashAlgorithm,
    hashedMessage: token.hashedMessage,
    certificates: token.certificates,
    signer,
  };
}

// --- CRLs (RFC 5280 section 5) ---------------------------------------------------------------

/** UTCTime or GeneralizedTime (RFC 5280 section 4.1.2.5). */
function x509Time(node: DerNode): Date {
  if (node.tag === 0x18) return generalizedTime(node);
  const text = new TextDecoder().decode(node.content);
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (node.tag !== 0x17 || !m) throw new DerError(`not an X.509 time: ${JSON.stringify(text)}`);
  const yy = Number(m[1]);
  return new Date(
    Date.UTC(
      yy >= 50 ? 1900 + yy : 2000 + yy,
      Number(m[2]) - 1,
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    ),
  );
}

export interface CrlEntry {
  serial: bigint;
  revocationDate: Date;
  /** The invalidityDate entry extension (2.5.29.24), when present. */
  invalidityDate?: Date;
}

export interface Crl {
  /** The issuer Name, DER, to compare with a certificate's issuer. */
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  entries: CrlEntry[];
  /** Whether the CRL is a delta CRL (deltaCRLIndicator, 2.5.29.27). */
  delta: boolean;
  tbs: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
}

/** CRLs may still be signed with sha1WithRSAEncryption. */
const CRL_SIGNATURE_HASH: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  ...SIGNATURE_HASH,
};

/** Parses a DER (or PEM `X509 CRL`) certificate revocation list. */
export function parseCrl(bytes: Uint8Array): Crl {
  const text = Buffer.from(bytes).toString('latin1');
  const pem = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(text);
  const der = pem ? Buffer.from((pem[1] as string).replace(/\s+/g, ''), 'base64') : bytes;
  const [tbsNode, algNode, sigNode] = derChildren(expect(readDer(der), 0x30, 'CertificateList'));
  const tbs = derChildren(expect(tbsNode, 0x30, 'TBSCertList'));
  let i = tbs[0]?.tag === 0x02 ? 1 : 0;
  i++; // signature AlgorithmIdentifier
  const issuer = expect(tbs[i++], 0x30, 'issuer').bytes;
  const thisUpdate = x509Time(tbs[i++] as DerNode);
  let nextUpdate: Date | undefined;
  if (tbs[i]?.tag === 0x17 || tbs[i]?.tag === 0x18) nextUpdate = x509Time(tbs[i++] as DerNode);
  const entries: CrlEntry[] = [];
  if (tbs[i]?.tag === 0x30) {
    for (const entry of derChildren(tbs[i++] as DerNode)) {
      const [serial, date, extensions] = derChildren(entry);
      const out: CrlEntry = {
        serial: derInteger(expect(serial, 0x02, 'userCertificate')),
        revocationDate: x509Time(date as DerNode),
      };
      for (const ext of extensions === undefined ? [] : derChildren(extensions)) {
        const parts = derChildren(ext);
        if (derOid(parts[0] as DerNode) === '2.5.29.24')
          out.invalidityDate = x509Time(readDer((parts.at(-1) as DerNode).content));
      }
      entries.push(out);
    }
  }
  let delta = false;
  if (tbs[i]?.tag === 0xa0)
    for (const ext of derChildren(derChildren(tbs[i] as DerNode)[0] as DerNode))
      if (derOid(derChildren(ext)[0] as DerNode) === '2.5.29.27') delta = true;
  const signatureAlgorithm = derOid(
    derChildren(expect(algNode, 0x30, 'signatureAlgorithm'))[0] as DerNode,
  );
  const bits = expect(sigNode, 0x03, 'signatureValue').content;
  return {
    issuer,
    thisUpdate,
    ...(nextUpdate !== undefined ? { nextUpdate } : {}),
    entries,
    delta,
    tbs: (tbsNode as DerNode).bytes,
    signatureAlgorithm,
    signature: bits.subarray(1),
  };
}

/** Whether `crl` is signed by `issuer` (RSA PKCS#1 v1.5 or ECDSA, the CRL signatures in use). */
export function crlSignedBy(crl: Crl, issuer: X509Certificate): boolean {
  const hash = CRL_SIGNATURE_HASH[crl.signatureAlgorithm];
  if (hash === undefined) return false;
  try {
    return cryptoVerify(hash, crl.tbs, issuer.publicKey, crl.signature);
  } catch {
    return false;
  }
}

/** A certificate's issuer Name, DER (TBSCertificate field after serial and signature). */
export function certificateIssuerName(der: Uint8Array): Uint8Array {
  const fields = derChildren(readDer(tbsCertificate(der)));
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  return expect(fields[offset + 2], 0x30, 'issuer').bytes;
}
