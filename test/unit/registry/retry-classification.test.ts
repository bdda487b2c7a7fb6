import { describe, expect, it } from 'vitest';
import {
  NotFoundError,
  RegistryAuthError,
  RegistryError,
} from '../../../shared/registry/errors.js';
import {
  isRetryable,
  networkCode,
  RetryableError,
  rejectResponse,
} from '../../../shared/registry/transport.js';

/** What undici's fetch throws when a connection fails: the code sits on the cause. */
function fetchFailed(code: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
}

describe('isRetryable', () => {
  it('retries connection failures found on the cause of a failed fetch', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET']) {
      expect(networkCode(fetchFailed(code))).toBe(code);
      expect(isRetryable(fetchFailed(code)), code).toBe(true);
    }
  });

  it('does not retry failures another attempt would meet again', () => {
    expect(isRetryable(fetchFailed('ENOTFOUND'))).toBe(false);
    expect(isRetryable(fetchFailed('CERT_HAS_EXPIRED'))).toBe(false);
    expect(isRetryable(new RegistryAuthError('refused'))).toBe(false);
    expect(isRetryable(new RegistryError('HTTP 400', 400))).toBe(false);
    expect(isRetryable('not an error')).toBe(false);
  });

  it('retries what the transport marked retryable', () => {
    expect(isRetryable(new RetryableError('HTTP 503', undefined, 503))).toBe(true);
  });
});

describe('rejectResponse', () => {
  const what = 'manifest r.example/app@1';
  const reject = (status: number, headers?: Record<string, string>) =>
    rejectResponse(new Response('body', { status, headers }), what).catch((e: unknown) => e);

  it('turns 404 into NotFoundError and 403 into RegistryAuthError', async () => {
    const notFound = await reject(404);
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound).toMatchObject({ status: 404, message: `${what}: not found` });
    const denied = await reject(403);
    expect(denied).toBeInstanceOf(RegistryAuthError);
    expect((denied as Error).message).toBe(`${what}: access denied (HTTP 403)`);
  });

  it('marks 408, 429 and transient 5xx retryable, with the wait Retry-After asks for', async () => {
    for (const status of [408, 429, 500, 502, 503, 504]) {
      const error = await reject(status);
      expect(error, `${status}`).toBeInstanceOf(RetryableError);
      expect(error).toMatchObject({ status, message: `HTTP ${status}`, retryAfterMs: undefined });
    }
    expect(await reject(429, { 'retry-after': '7' })).toMatchObject({ retryAfterMs: 7000 });
  });

  it('gives any other status as a RegistryError carrying it', async () => {
    for (const status of [400, 405, 501]) {
      const error = await reject(status);
      expect(error, `${status}`).toBeInstanceOf(RegistryError);
      expect(error).not.toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ status, message: `${what}: HTTP ${status}` });
    }
  });

  it('releases the body of the response it rejects', async () => {
    const response = new Response('body', { status: 500 });
    await rejectResponse(response, what).catch(() => undefined);
    expect(response.bodyUsed).toBe(true);
  });
});
