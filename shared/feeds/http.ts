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

async function get(url: string, opts: HttpOptions): Promise<Response> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal]);
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    throw new FeedFetchError(url, describe(error, timeout), { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new FeedFetchError(url, `HTTP ${response.status} ${response.statusText}`.trim());
  }
  return response;
}

function describe(error: unknown, timeout: AbortSignal): string {
  if (timeout.aborted) return 'timed out';
  const e = error as Error & { cause?: Error };
  return e.cause?.message ?? e.message;
}

/** The body as bytes, refused past `maxBytes` as it arrives. */
export async function httpBytes(url: string, opts: HttpOptions = {}): Promise<Buffer> {
  const response = await get(url, opts);
  const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > max) break;
      chunks.push(Buffer.from(chunk));
    }
  } catch (error) {
    throw new FeedFetchError(url, `body: ${(error as Error).message}`, { cause: error });
  }
  if (size > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new FeedFetchError(url, `body over ${max} bytes`);
  }
  return Buffer.concat(chunks);
}

/** Streams the body into `file`; never holds it in memory. */
export async function httpToFile(url: string, file: string, opts: HttpOptions = {}): Promise<void> {
  const response = await get(url, opts);
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
  const response = await get(url, opts);
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
