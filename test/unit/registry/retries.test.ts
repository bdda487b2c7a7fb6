import { describe, expect, it } from 'vitest';
import { RegistryAuthError, RegistryError } from '../../../shared/registry/errors.js';
import { RetryableError, Transport } from '../../../shared/registry/transport.js';

const what = 'manifest r.example/app:1';

/** An attempt that fails with each of `failures` in turn, then returns 'ok'. */
function attempts(...failures: unknown[]) {
  const calls: number[] = [];
  const started = Date.now();
  return {
    calls,
    run: async () => {
      calls.push(Date.now() - started);
      const failure = failures[calls.length - 1];
      if (failure !== undefined) throw failure;
      return 'ok';
    },
  };
}

describe('Transport.withRetries', () => {
  it('retries retryable failures until one attempt succeeds', async () => {
    const transport = new Transport({ retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
    });
    const a = attempts(new RetryableError('HTTP 503', undefined, 503), reset);
    expect(await transport.withRetries(what, new AbortController(), a.run)).toBe('ok');
    expect(a.calls).toHaveLength(3);
  });

  it('waits as long as Retry-After asks instead of its own backoff', async () => {
    const transport = new Transport({ retry: { baseDelayMs: 1, maxDelayMs: 1 } });
    const a = attempts(new RetryableError('HTTP 429', 150, 429));
    await transport.withRetries(what, new AbortController(), a.run);
    expect(a.calls[1]).toBeGreaterThanOrEqual(140);
  });

  it('gives up after maxAttempts with a RegistryError carrying the last status and cause', async () => {
    const transport = new Transport({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
    const last = new RetryableError('HTTP 502', undefined, 502);
    const a = attempts(new RetryableError('HTTP 503', undefined, 503), last, last, last);
    const error = await transport
      .withRetries(what, new AbortController(), a.run)
      .catch((e: unknown) => e);
    expect(a.calls).toHaveLength(3);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ status: 502, cause: last });
    expect((error as Error).message).toMatch(
      /^manifest r\.example\/app:1: gave up after .* s: HTTP 502$/,
    );
  });

  it('gives up without waiting when the wait would overrun the time budget', async () => {
    const transport = new Transport({ retry: { maxElapsedMs: 1_000 } });
    const a = attempts(new RetryableError('HTTP 503', 60_000, 503));
    const started = Date.now();
    const error = await transport
      .withRetries(what, new AbortController(), a.run)
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(500);
    expect(a.calls).toHaveLength(1);
    expect(error).toMatchObject({ status: 503 });
  });

  it('throws a failure retrying cannot cure at once, unwrapped', async () => {
    const transport = new Transport({ retry: { baseDelayMs: 1 } });
    const refused = new RegistryAuthError('refused');
    const a = attempts(refused);
    await expect(transport.withRetries(what, new AbortController(), a.run)).rejects.toBe(refused);
    expect(a.calls).toHaveLength(1);
  });

  it('stops retrying once the request is aborted', async () => {
    const transport = new Transport({ retry: { baseDelayMs: 1 } });
    const controller = new AbortController();
    const failure = new RetryableError('HTTP 503', undefined, 503);
    const a = attempts(failure, failure);
    controller.abort();
    await expect(transport.withRetries(what, controller, a.run)).rejects.toBe(failure);
    expect(a.calls).toHaveLength(1);
  });
});
