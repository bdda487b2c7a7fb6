/**
 * A layer result as bytes, for caches outside the process (the S3 layer cache): gzip'd JSON
 * with file contents in base64, streamed files' facts, and entry issues with their kind (an
 * unread package database must still be known as one after a cache hit).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { entryErrorOf, type SerializedEntryError, serializeEntryError } from './errors.js';
import type { LayerReadResult } from './reader.js';

interface SerializedLayer {
  readonly v: 1;
  readonly result: Omit<LayerReadResult, 'contents' | 'issues' | 'facts'>;
  readonly contents: [string, string][];
  readonly facts?: [string, unknown][];
  readonly issues: SerializedEntryError[];
}

export function encodeLayerResult(result: LayerReadResult): Buffer {
  const { contents, issues, facts, ...rest } = result;
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
