/**
 * The reports bucket: full scan reports and SBOMs (one object per image and findings
 * generation, so a committed image record always points at objects that exist), and the
 * per-layer cache that lets a base layer be read once across every image that shares it.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { EntryError } from '../layers/errors.js';
import type { LayerReadResult } from '../layers/reader.js';
import type { LayerCache } from '../layers/walk.js';

/** Where reports and SBOMs are written. */
export interface ReportStore {
  readonly bucket: string;
  put(key: string, body: string, contentType: string): Promise<void>;
}

export class S3ReportStore implements ReportStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, body: string, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }
}

interface SerializedLayer {
  readonly v: 1;
  readonly result: Omit<LayerReadResult, 'contents' | 'issues' | 'facts'>;
  readonly contents: [string, string][];
  readonly facts?: [string, unknown][];
  readonly issues: { path: string; message: string }[];
}

/** Object key prefix of the layer cache; the bucket expires it (infra: a lifecycle rule). */
export const LAYER_CACHE_PREFIX = 'layer-cache/';

/**
 * Layer results as gzip'd JSON objects, keyed by the walker's cache key (layer diff id and
 * extractor set). A missing or unreadable object is a miss: the layer is read again.
 */
export class S3LayerCache implements LayerCache {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  private key(key: string): string {
    return `${LAYER_CACHE_PREFIX}${key.replace(/[^A-Za-z0-9._-]/g, '_')}.json.gz`;
  }

  async get(key: string): Promise<LayerReadResult | undefined> {
    let bytes: Uint8Array | undefined;
    try {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
      );
      bytes = await out.Body?.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
    if (bytes === undefined) return undefined;
    try {
      const parsed = JSON.parse(gunzipSync(bytes).toString('utf8')) as SerializedLayer;
      if (parsed.v !== 1) return undefined;
      return {
        ...parsed.result,
        contents: new Map(parsed.contents.map(([p, b]) => [p, Buffer.from(b, 'base64')])),
        ...(parsed.facts === undefined ? {} : { facts: new Map(parsed.facts) }),
        issues: parsed.issues.map((i) => new EntryError(i.path, i.message)),
      };
    } catch {
      return undefined;
    }
  }

  async put(key: string, result: LayerReadResult): Promise<void> {
    const { contents, issues, facts, ...rest } = result;
    const serialized: SerializedLayer = {
      v: 1,
      result: rest,
      contents: [...contents].map(([p, b]) => [p, b.toString('base64')]),
      ...(facts === undefined ? {} : { facts: [...facts] }),
      issues: issues.map((i) => ({ path: i.path, message: i.message })),
    };
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key(key),
        Body: gzipSync(JSON.stringify(serialized)),
        ContentType: 'application/json',
        ContentEncoding: 'gzip',
      }),
    );
  }
}
