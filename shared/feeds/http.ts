/** HTTP GETs for feed sources: a timeout per request, and errors that name the URL. */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FeedFetchError } from './types.js';

export interface HttpOptions {
  /** Time allowed for one request, body included. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Largest body read into memory; more is a FeedFetchError. */
  readonly maxBytes?: number;
}

/** A response with the timeout it runs under, so a body read that times out can say so. */
interface Opened {
  readonly response: Response;
  readonly timeout: AbortSignal;
}

async function get(
  url: string,
  opts: HttpOptions,
  headers: Readonly<Record<string, string>> = {},
): Promise<Opened> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal]);
  let response: Response;
  try {
    response = await fetch(url, { signal, headers });
  } catch (error) {
    throw new FeedFetchError(url, describe(error, timeout), { cause: error });
  }
  // A 304 answers only a conditional request (RFC 9110 §15.4.5); to any other it is a fault.
  const conditional = Object.keys(headers).some((h) => /^if-/i.test(h));
  if (!response.ok && !(response.status === 304 && conditional)) {
    await response.body?.cancel().catch(() => undefined);
    throw new FeedFetchError(url, `HTTP ${response.status} ${response.statusText}`.trim());
  }
  return { response, timeout };
}

function describe(error: unknown, timeout: AbortSignal): string {
  if (timeout.aborted) return 'timed out';
  const e = error as Error & { cause?: Error };
  return e.cause?.message ?? e.message;
}

/**
 * The body whole, or undefined when it is over `max` bytes (read no further, the rest
 * cancelled). A broken connection throws as the stream does: the caller says what it means.
 */
export async function readBody(response: Response, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > max) {
      await response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Reads the body whole, refusing it past `max` bytes as it arrives. */
async function bounded(url: string, { response, timeout }: Opened, max: number): Promise<Buffer> {
  let body: Buffer | undefined;
  try {
    body = await readBody(response, max);
  } catch (error) {
    const reason = timeout.aborted ? 'timed out' : (error as Error).message;
    throw new FeedFetchError(url, `body: ${reason}`, { cause: error });
  }
  if (body === undefined) throw new FeedFetchError(url, `body over ${max} bytes`);
  return body;
}

/** The body as bytes, refused past `maxBytes` as it arrives. */
export async function httpBytes(url: string, opts: HttpOptions = {}): Promise<Buffer> {
  return bounded(url, await get(url, opts), opts.maxBytes ?? Number.POSITIVE_INFINITY);
}

/** A whole answer: its status, its headers and its body (empty for a 304). */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

/**
 * A GET with request headers, answered in full. A 304 is an answer when `headers` make the
 * request conditional (If-None-Match, If-Modified-Since); any other status outside 2xx is a
 * FeedFetchError naming the URL. The body is refused past `maxBytes` as it arrives.
 */
export async function httpGet(
  url: string,
  headers: Readonly<Record<string, string>>,
  opts: HttpOptions = {},
): Promise<HttpAnswer> {
  const opened = await get(url, opts, headers);
  const { status, headers: answered } = opened.response;
  if (status === 304) {
    await opened.response.body?.cancel().catch(() => undefined);
    return { status, headers: answered, body: Buffer.alloc(0) };
  }
  const body = await bounded(url, opened, opts.maxBytes ?? Number.POSITIVE_INFINITY);
  return { status, headers: answered, body };
}

/** Streams the body into `file`; never holds it in memory. */
export async function httpToFile(url: string, file: string, opts: HttpOptions = {}): Promise<void> {
  const { response } = await get(url, opts);
  if (response.body === null) throw new FeedFetchError(url, 'empty body');
  try {
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      createWriteStream(file),
    );
  } catch (error) {
    throw new FeedFetchError(url, `body: ${(error as Error).message}`, { cause: error });
  }
}

/** The body as lines, read as they arrive (the caller may stop early). */
export async function* httpLines(url: string, opts: HttpOptions = {}): AsyncGenerator<string> {
  const { response } = await get(url, opts);
  if (response.body === null) return;
  const decoder = new TextDecoder();
  let rest = '';
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        yield rest.slice(0, nl).replace(/\r$/, '');
        rest = rest.slice(nl + 1);
        nl = rest.indexOf('\n');
      }
    }
  } catch (error) {
    throw new FeedFetchError(url, `body: ${(error as Error).message}`, { cause: error });
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}
