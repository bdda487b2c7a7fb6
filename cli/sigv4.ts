/**
 * Signature Version 4 for calls to an API Gateway `AWS_IAM` API (service `execute-api`), as
 * `bosun remote` sends them and as the local stack's API host checks them
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
 * The signing is the SDK's own (@smithy/signature-v4); only the hash is given here.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export const EXECUTE_API = 'execute-api';

/** sha256 and HMAC-sha256 in the shape SignatureV4 takes (`new (secret?) => Checksum`). */
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

/** A request as signed: the path as sent (percent-encoding kept), the query decoded. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/**
 * The headers to send with `request`, signed for `region` (Authorization, X-Amz-Date, and
 * X-Amz-Security-Token with temporary credentials). `signingDate` fixes the time (a check
 * re-signs with the date the request carries).
 */
export async function signedHeaders(
  request: SignableRequest,
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
  region: string,
  signingDate?: Date,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials, region, service: EXECUTE_API, sha256: NodeSha256 });
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of request.url.searchParams) {
    const existing = query[k];
    query[k] =
      existing === undefined ? v : [...(Array.isArray(existing) ? existing : [existing]), v];
  }
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port === '' ? {} : { port: Number(request.url.port) }),
      path: request.url.pathname,
      query,
      headers: { ...request.headers, host: request.url.host },
      ...(request.body === undefined ? {} : { body: request.body }),
    },
    signingDate === undefined ? {} : { signingDate },
  );
  return signed.headers;
}
