import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { NodeSha256 } from '../shared/checksum.js';

export const EXECUTE_API = 'execute-api';

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
