/**
 * Whole S3 objects addressed by `s3://bucket/key`: the adapter of the TrustRootObjects port
 * (provenance/trust-refresh.ts), in the shape of s3.ts's stores. The URIs were validated with
 * the configuration (config/env.ts, parseS3Uri); here they are only split.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { TrustRootObjects } from '../provenance/trust-refresh.js';

export class S3Objects implements TrustRootObjects {
  constructor(
    private readonly s3: S3Client,
    private readonly contentType = 'application/json',
  ) {}

  async get(location: string): Promise<Uint8Array | undefined> {
    const { Bucket, Key } = where(location);
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket, Key }));
      return await out.Body?.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async put(location: string, bytes: Uint8Array): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ ...where(location), Body: bytes, ContentType: this.contentType }),
    );
  }
}

function where(location: string): { Bucket: string; Key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (m === null) throw new TypeError(`${JSON.stringify(location)} is not s3://bucket/key`);
  return { Bucket: m[1] as string, Key: m[2] as string };
}
