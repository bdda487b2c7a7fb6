import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TooLargeError } from '../../../shared/registry/errors.js';
import { abortWhenIdle, readBounded } from '../../../shared/registry/transport.js';

const what = 'manifest r.example/app:1';

/** A response whose body yields `chunks`, then stays open without data if `stall` is set. */
function streamed(chunks: string[], stall = false, headers?: Record<string, string>): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      if (!stall) controller.close();
    },
  });
  return new Response(body, { headers });
}

describe('readBounded', () => {
  it('reads a body up to the limit whole', async () => {
    expect((await readBounded(streamed(['ab', 'cd']), 4, what, 1_000)).toString()).toBe('abcd');
    expect(await readBounded(new Response(null), 4, what, 1_000)).toEqual(Buffer.alloc(0));
  });

  it('refuses a declared Content-Length over the limit before reading', async () => {
    const response = streamed(['abcdef'], false, { 'content-length': '6' });
    await expect(readBounded(response, 4, what, 1_000)).rejects.toThrow(
      new TooLargeError(`${what}: 6 bytes is over the 4-byte limit`, 200),
    );
    expect(response.bodyUsed).toBe(true);
  });

  it('stops a body that turns out longer than the limit', async () => {
    const error = await readBounded(streamed(['abc', 'def']), 4, what, 1_000).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toBe(`${what}: more than 4 bytes`);
  });

  it('fails when no data arrives for the idle time', async () => {
    await expect(readBounded(streamed(['ab'], true), 4, what, 20)).rejects.toThrow(
      `${what}: no data for 20 ms`,
    );
  });
});

describe('abortWhenIdle', () => {
  it('aborts the transfer once the body is silent for the idle time', async () => {
    const body = new PassThrough();
    const controller = new AbortController();
    abortWhenIdle(body, controller, 300, what);
    body.write('a');
    await sleep(150);
    body.write('b');
    // Past the idle time since the first chunk, not since the last: still running.
    await sleep(200);
    expect(controller.signal.aborted).toBe(false);
    await sleep(400);
    expect(controller.signal.aborted).toBe(true);
    expect((controller.signal.reason as Error).message).toBe(`${what}: no data for 300 ms`);
  });

  it('stops watching when the body ends', async () => {
    const body = new PassThrough();
    const controller = new AbortController();
    abortWhenIdle(body, controller, 20, what);
    body.end('a');
    await sleep(50);
    expect(controller.signal.aborted).toBe(false);
  });
});
