/**
 * A layer result as bytes, for caches outside the process (the S3 layer cache): gzip'd JSON
 * with file contents in base64, streamed files' facts, and entry issues with their kind (an
 * unread package database must still be known as one after a cache hit).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { entryErrorOf, type SerializedEntryError, serializeEntryError } from './errors.js';
import type { LayerReadResult } from './reader.js';

interface SerializedLayer {
  readonly v: 1;
  readonly result: Omit<LayerReadResult, 'contents' | 'issues' | 'facts' | 'incomplete'>;
  readonly contents: [string, string][];
  readonly facts?: [string, unknown][];
  readonly issues: SerializedEntryError[];
}

export function encodeLayerResult(result: LayerReadResult): Buffer {
  // A result cut short by the image's budget is not cached (walk.ts); never stored as whole.
  const { contents, issues, facts, incomplete: _cut, ...rest } = result;
  const serialized: SerializedLayer = {
    v: 1,
    result: rest,
    contents: [...contents].map(([p, b]) => [p, b.toString('base64')]),
    ...(facts === undefined ? {} : { facts: [...facts] }),
    issues: issues.map(serializeEntryError),
  };
  return gzipSync(JSON.stringify(serialized));
}

/** The result, or undefined for bytes that are not one (a cache miss, never an error). */
export function decodeLayerResult(bytes: Uint8Array): LayerReadResult | undefined {
  try {
    const parsed = JSON.parse(gunzipSync(bytes).toString('utf8')) as SerializedLayer;
    if (parsed.v !== 1) return undefined;
    return {
      ...parsed.result,
      contents: new Map(parsed.contents.map(([p, b]) => [p, Buffer.from(b, 'base64')])),
      ...(parsed.facts === undefined ? {} : { facts: new Map(parsed.facts) }),
      issues: parsed.issues.map(entryErrorOf),
    };
  } catch {
    return undefined;
  }
}

/**
 * The name a layer result is kept under, in S3 and in the CLI's cache folder alike: the walker's
 * key (layer digest and reader) with every character a file or object name could misread
 * replaced.
 */
export function layerObjectName(key: string): string {
  return `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.json.gz`;
}

/**
 * Integrity of a stored layer result. A cache object is trusted on read only if it is the
 * result of this very key: a corrupted object, or a foreign one (another layer's result under
 * this name: `layerObjectName` maps several keys to one name; an object copied or restored
 * into the cache prefix), must be a miss and the layer read again. The seal is the gzip
 * header's comment (FCOMMENT, RFC 1952 section 2.3.1), `bosun-layer-seal:1:<hex SHA-256 of
 * key, NUL, and every byte after the comment>`, so a sealed object is still plain gzip'd JSON.
 * (A writer with access to the bucket could forge a seal; that access is the scan role's.)
 */
const SEAL_PREFIX = 'bosun-layer-seal:1:';
const GZIP_FIXED_HEADER = 10;
const FCOMMENT = 0x10;

const sealDigest = (key: string, rest: Uint8Array) =>
  createHash('sha256').update(key).update('\u0000').update(rest).digest();

/** `gzipped` (as gzipSync writes it: no optional header fields) with its seal for `key`. */
export function sealLayerResult(key: string, gzipped: Buffer): Buffer {
  if (gzipped[0] !== 0x1f || gzipped[1] !== 0x8b || gzipped[3] !== 0)
    throw new Error('sealLayerResult takes gzipSync output without optional header fields');
  const header = Buffer.from(gzipped.subarray(0, GZIP_FIXED_HEADER));
  header[3] = FCOMMENT;
  const rest = gzipped.subarray(GZIP_FIXED_HEADER);
  const comment = `${SEAL_PREFIX}${sealDigest(key, rest).toString('hex')}\u0000`;
  return Buffer.concat([header, Buffer.from(comment, 'latin1'), rest]);
}

/** The bytes when they are sealed for `key`, else undefined (a miss). */
export function openLayerResult(key: string, bytes: Uint8Array): Uint8Array | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer[0] !== 0x1f || buffer[1] !== 0x8b || buffer[3] !== FCOMMENT) return undefined;
  const end = buffer.indexOf(0, GZIP_FIXED_HEADER);
  if (end < 0 || end > GZIP_FIXED_HEADER + 128) return undefined;
  const comment = buffer.subarray(GZIP_FIXED_HEADER, end).toString('latin1');
  if (!comment.startsWith(SEAL_PREFIX)) return undefined;
  const given = Buffer.from(comment.slice(SEAL_PREFIX.length), 'hex');
  const expected = sealDigest(key, buffer.subarray(end + 1));
  return given.length === expected.length && timingSafeEqual(given, expected) ? bytes : undefined;
}

/** What a layer cache keeps for `key`: the result, encoded and sealed (S3 and the CLI alike). */
export const cachedLayerBytes = (key: string, result: LayerReadResult): Buffer =>
  sealLayerResult(key, encodeLayerResult(result));

/** The result a layer cache kept for `key`; undefined for bytes not sealed for it or unreadable. */
export function cachedLayerResult(key: string, bytes: Uint8Array): LayerReadResult | undefined {
  const payload = openLayerResult(key, bytes);
  return payload === undefined ? undefined : decodeLayerResult(payload);
}
