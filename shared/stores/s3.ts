/**
 * The reports bucket: full scan reports and SBOMs (one object per image and findings
 * generation, so a committed image record always points at objects that exist), and the
 * per-layer cache that lets a base layer be read once across every image that shares it.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LayerCache } from '../inventory/walk.js';
import { cachedLayerBytes, cachedLayerResult, layerObjectName } from '../layers/cache-format.js';
import type { LayerReadResult } from '../layers/reader.js';

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

/** Object key prefix of the layer cache; the bucket expires it (infra: a lifecycle rule). */
export const LAYER_CACHE_PREFIX = 'layer-cache/';

/**
 * Layer results as gzip'd JSON objects, keyed by the walker's cache key (layer diff id and
 * extractor set), each sealed with its key and a SHA-256 (cache-format.ts, sealLayerResult). A
 * missing, unreadable, corrupted or foreign object is a miss: the layer is read again.
 */
export class S3LayerCache implements LayerCache {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  private key(key: string): string {
    return `${LAYER_CACHE_PREFIX}${layerObjectName(key)}`;
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
    return bytes === undefined ? undefined : cachedLayerResult(key, bytes);
  }

  async put(key: string, result: LayerReadResult): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key(key),
        Body: cachedLayerBytes(key, result),
        ContentType: 'application/json',
        ContentEncoding: 'gzip',
      }),
    );
  }
}
