/**
 * sha256 and HMAC-sha256 from node:crypto in the shape the SDK's SignatureV4 takes
 * (`new (secret?) => Checksum`, @smithy/types): what signs an EKS token (workloads/eks.ts) and
 * the CLI's execute-api requests (cli/sigv4.ts).
 */
import { createHash, createHmac } from 'node:crypto';

export class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key =
      secret === undefined || typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          : Buffer.from(secret);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}
