/**
 * Content digests: https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError } from './errors.js';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

export function algorithmOf(digest: string): 'sha256' | 'sha512' {
  if (!isDigest(digest)) throw new Error(`not a supported digest: ${JSON.stringify(digest)}`);
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function digestOf(data: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Throws DigestMismatchError unless `data` hashes to `expected`. */
export function verifyBytes(data: Uint8Array, expected: string, what: string): void {
  const actual = digestOf(data, algorithmOf(expected));
  if (actual !== expected) throw new DigestMismatchError(expected, actual, what);
}

/**
 * Passes bytes through while hashing them; at the end, fails the stream with
 * DigestMismatchError unless the digest (and the size, when known) match. A consumer that
 * stops early never sees a verdict, so callers read to the end before trusting the content.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private bytes = 0;

  constructor(
    private readonly expected: string,
    private readonly what: string,
    private readonly expectedSize?: number,
  ) {
    super();
    this.hash = createHash(algorithmOf(expected));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      callback(
        new DigestMismatchError(this.expected, `more than ${this.expectedSize} bytes`, this.what),
      );
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = `${algorithmOf(this.expected)}:${this.hash.digest('hex')}`;
    if (actual !== this.expected) {
      callback(new DigestMismatchError(this.expected, actual, this.what));
    } else if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      callback(
        new DigestMismatchError(
          this.expected,
          `${this.bytes} bytes instead of ${this.expectedSize}`,
          this.what,
        ),
      );
    } else {
      callback();
    }
  }
}
