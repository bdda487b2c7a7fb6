/**
 * The part of CBOR (RFC 8949) that a Notary Project COSE_Sign1 envelope uses: unsigned and
 * negative integers, byte and text strings, arrays, maps, tags (18 for COSE_Sign1, 1 for the
 * epoch times of the signed attributes) and the simple values. Decoding is strict: definite
 * lengths only (COSE requires deterministic encoding, RFC 9052 section 9), no trailing bytes,
 * bounded nesting. Written here rather than added as a dependency: it is small and the
 * envelope never needs floats beyond what is decoded below.
 */

export class CborError extends Error {}

export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

export type CborValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | undefined
  | CborValue[]
  | Map<CborValue, CborValue>
  | CborTag;

const MAX_DEPTH = 64;

/** Decodes exactly one CBOR data item that spans all of `bytes`. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const reader = { pos: 0 };
  const value = readItem(bytes, reader, 0);
  if (reader.pos !== bytes.length)
    throw new CborError(`${bytes.length - reader.pos} trailing bytes after the CBOR item`);
  return value;
}

function need(bytes: Uint8Array, r: { pos: number }, n: number): void {
  if (r.pos + n > bytes.length) throw new CborError(`truncated CBOR at byte ${r.pos}`);
}

function readArgument(bytes: Uint8Array, r: { pos: number }, info: number): number | bigint {
  if (info < 24) return info;
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (size === 0) throw new CborError(`unsupported CBOR additional info ${info} at byte ${r.pos}`);
  need(bytes, r, size);
  const view = new DataView(bytes.buffer, bytes.byteOffset + r.pos, size);
  r.pos += size;
  if (size === 1) return view.getUint8(0);
  if (size === 2) return view.getUint16(0);
  if (size === 4) return view.getUint32(0);
  const big = view.getBigUint64(0);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function length(arg: number | bigint, bytes: Uint8Array, r: { pos: number }): number {
  if (typeof arg === 'bigint' || arg > bytes.length - r.pos)
    throw new CborError(`CBOR length ${arg} exceeds the ${bytes.length - r.pos} bytes left`);
  return arg;
}

function readItem(bytes: Uint8Array, r: { pos: number }, depth: number): CborValue {
  if (depth > MAX_DEPTH) throw new CborError('CBOR nesting deeper than 64');
  need(bytes, r, 1);
  const initial = bytes[r.pos++] as number;
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (info === 31) throw new CborError(`indefinite-length CBOR item at byte ${r.pos - 1}`);
  if (major === 7) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return undefined;
    if (info === 25 || info === 26 || info === 27) {
      const size = info === 25 ? 2 : info === 26 ? 4 : 8;
      need(bytes, r, size);
      const view = new DataView(bytes.buffer, bytes.byteOffset + r.pos, size);
      r.pos += size;
      if (size === 2) return halfFloat(view);
      return size === 4 ? view.getFloat32(0) : view.getFloat64(0);
    }
    throw new CborError(`unsupported CBOR simple value ${info}`);
  }
  const arg = readArgument(bytes, r, info);
  switch (major) {
    case 0:
      return arg;
    case 1:
      return typeof arg === 'bigint' ? -1n - arg : -1 - arg;
    case 2: {
      const n = length(arg, bytes, r);
      const out = bytes.slice(r.pos, r.pos + n);
      r.pos += n;
      return out;
    }
    case 3: {
      const n = length(arg, bytes, r);
      const text = new TextDecoder('utf-8', { fatal: true }).decode(
        bytes.subarray(r.pos, r.pos + n),
      );
      r.pos += n;
      return text;
    }
    case 4: {
      const n = length(arg, bytes, r);
      const out: CborValue[] = [];
      for (let i = 0; i < n; i++) out.push(readItem(bytes, r, depth + 1));
      return out;
    }
    case 5: {
      const n = length(arg, bytes, r);
      const out = new Map<CborValue, CborValue>();
      for (let i = 0; i < n; i++) {
        const key = readItem(bytes, r, depth + 1);
        if (out.has(key)) throw new CborError(`duplicate CBOR map key ${String(key)}`);
        out.set(key, readItem(bytes, r, depth + 1));
      }
      return out;
    }
    default: {
      if (typeof arg === 'bigint') throw new CborError(`CBOR tag ${arg} out of range`);
      return new CborTag(arg, readItem(bytes, r, depth + 1));
    }
  }
}

function halfFloat(view: DataView): number {
  const h = view.getUint16(0);
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function head(major: number, n: number): Uint8Array {
  if (n < 24) return Uint8Array.of((major << 5) | n);
  if (n < 0x100) return Uint8Array.of((major << 5) | 24, n);
  if (n < 0x10000) return Uint8Array.of((major << 5) | 25, n >> 8, n & 0xff);
  const out = new Uint8Array(5);
  out[0] = (major << 5) | 26;
  new DataView(out.buffer).setUint32(1, n);
  return out;
}

/**
 * Encodes the COSE Sig_structure for COSE_Sign1 (RFC 9052 section 4.4):
 * `["Signature1", body_protected, external_aad, payload]`, the bytes the signature covers.
 */
export function sigStructure1(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const context = new TextEncoder().encode('Signature1');
  return Buffer.concat([
    head(4, 4),
    head(3, context.length),
    context,
    head(2, protectedBytes.length),
    protectedBytes,
    head(2, 0),
    head(2, payload.length),
    payload,
  ]);
}
