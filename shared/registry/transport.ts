/**
 * HTTP to a registry, below authentication: retries with backoff and Retry-After, redirects
 * followed by hand, timeouts, bounded body reads, and which failures are worth retrying.
 * It knows nothing of manifests, blobs or tokens.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  HostNotAllowedError,
  NotFoundError,
  RegistryAuthError,
  RegistryError,
  TooLargeError,
} from './errors.js';
import type { HostPolicy } from './hosts.js';

export interface RetryOptions {
  /** Attempts per request, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** Budget for all attempts of one request, waits included. @default 60 s */
  readonly maxElapsedMs?: number;
  /** First backoff step; each later one doubles, with full jitter. @default 200 ms */
  readonly baseDelayMs?: number;
  /** @default 10 s */
  readonly maxDelayMs?: number;
}

/**
 * A total deadline for each transfer, on top of the idle timeout: a body trickling a byte every
 * few seconds is never idle long enough to be stopped, and would hold a scan forever. The
 * deadline is `floorMs` plus the time the transfer's size takes at `minBytesPerSecond`.
 */
export interface TransferDeadline {
  /** @default 30 s */
  readonly floorMs?: number;
  /** The slowest rate a transfer may average. @default 1 MiB/s (8 Mbit/s) */
  readonly minBytesPerSecond?: number;
}

export interface TransportOptions {
  readonly retry?: RetryOptions;
  /** Time to wait for response headers, and between two chunks of a body. @default 30 s */
  readonly timeoutMs?: number;
  readonly transferDeadline?: TransferDeadline;
  readonly fetch?: typeof fetch;
  readonly userAgent?: string;
}

export type Method = 'GET' | 'HEAD';

/**
 * Statuses that say "try again later" rather than "no": request timeout, too many requests
 * (the distribution spec's TOOMANYREQUESTS) and the transient 5xx of a server or its proxy.
 * https://www.rfc-editor.org/rfc/rfc9110#name-status-codes
 */
export const RETRY_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
/** Connection-level failures (Node's and undici's codes) that a new connection may not meet. */
export const RETRY_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/** A failure worth another attempt; internal to the retry loop, never thrown to callers. */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Retry-After is seconds or an HTTP date: https://www.rfc-editor.org/rfc/rfc9110#field.retry-after */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The system error code of a failed fetch. fetch wraps it (`TypeError: fetch failed`, whose
 * cause carries the code), so the cause chain is searched a few levels deep.
 */
export function networkCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = e.cause;
  }
  return undefined;
}

/** Whether another attempt may succeed where this one failed. */
export function isRetryable(error: unknown): boolean {
  const code = networkCode(error);
  return error instanceof RetryableError || (code !== undefined && RETRY_CODES.has(code));
}

/**
 * Throws the error a non-2xx answer of the registry API stands for, after releasing its body:
 * 404 is NotFoundError, 403 RegistryAuthError, a retryable status RetryableError (with the
 * wait the registry asked for), anything else RegistryError.
 */
export async function rejectResponse(response: Response, what: string): Promise<never> {
  await response.body?.cancel();
  if (response.status === 404) throw new NotFoundError(`${what}: not found`, 404);
  if (response.status === 403) throw new RegistryAuthError(`${what}: access denied (HTTP 403)`);
  if (RETRY_STATUS.has(response.status)) {
    throw new RetryableError(
      `HTTP ${response.status}`,
      parseRetryAfter(response.headers.get('retry-after')),
      response.status,
    );
  }
  throw new RegistryError(`${what}: HTTP ${response.status}`, response.status);
}

export class Transport {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  private readonly retry: Required<RetryOptions>;
  private readonly userAgent: string;
  private readonly deadline: Required<TransferDeadline>;

  constructor(options: TransportOptions = {}) {
    this.fetch = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.deadline = {
      floorMs: options.transferDeadline?.floorMs ?? 30_000,
      minBytesPerSecond: options.transferDeadline?.minBytesPerSecond ?? 1024 * 1024,
    };
    this.retry = {
      maxAttempts: options.retry?.maxAttempts ?? 5,
      maxElapsedMs: options.retry?.maxElapsedMs ?? 60_000,
      baseDelayMs: options.retry?.baseDelayMs ?? 200,
      maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
    };
    this.userAgent = options.userAgent ?? 'bosun';
  }

  /** The total time a transfer of `bytes` may take (TransferDeadline). */
  deadlineMs(bytes: number): number {
    return this.deadline.floorMs + Math.ceil((bytes / this.deadline.minBytesPerSecond) * 1000);
  }

  /**
   * Runs `attempt` until it succeeds, fails in a way retrying cannot cure, or the attempts or
   * the time budget run out; then throws RegistryError with the last failure as its cause.
   * An aborted `controller` (a timeout, the caller) stops the retries.
   */
  async withRetries<T>(
    what: string,
    controller: AbortController,
    attempt: () => Promise<T>,
  ): Promise<T> {
    const started = Date.now();
    let lastError: unknown;
    for (let n = 1; n <= this.retry.maxAttempts; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isRetryable(error) || controller.signal.aborted) throw error;
        lastError = error;
        const backoff =
          Math.random() * Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (n - 1));
        const wait =
          error instanceof RetryableError && error.retryAfterMs !== undefined
            ? error.retryAfterMs
            : backoff;
        if (n === this.retry.maxAttempts || Date.now() - started + wait > this.retry.maxElapsedMs)
          break;
        await sleep(wait);
      }
    }
    const status = lastError instanceof RetryableError ? lastError.status : undefined;
    throw new RegistryError(
      `${what}: gave up after ${Math.round((Date.now() - started) / 100) / 10} s: ${(lastError as Error)?.message ?? 'unknown error'}`,
      status,
      { cause: lastError },
    );
  }

  /**
   * Sends one request and follows its redirects by hand: the registry's Authorization header
   * goes only to the registry's own host, never to the storage a blob is redirected to (ECR
   * serves layers from S3). Registries may answer a blob GET with a 307 to another service:
   * https://distribution.github.io/distribution/spec/api/#pulling-a-layer
   * A redirect goes only where `policy` allows (hosts.ts), and never from HTTPS to plain HTTP.
   * Returns the first response that is not a redirect, whatever its status.
   */
  async follow(
    url: string,
    method: Method,
    headers: Record<string, string>,
    authorization: string | undefined,
    controller: AbortController,
    what: string,
    policy?: HostPolicy,
  ): Promise<Response> {
    const origin = new URL(url).origin;
    let current = url;
    for (let hop = 0; hop <= 5; hop++) {
      // Scheme, host and port: the credentials of https://r go neither to http://r nor to r:8443.
      const sameHost = new URL(current).origin === origin;
      const timer = setTimeout(
        () => controller.abort(new RetryableError(`no response within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      let response: Response;
      try {
        response = await this.fetch(current, {
          method,
          redirect: 'manual',
          signal: controller.signal,
          headers: {
            ...headers,
            'User-Agent': this.userAgent,
            ...(authorization !== undefined && sameHost ? { Authorization: authorization } : {}),
          },
        });
      } catch (error) {
        if (controller.signal.aborted && controller.signal.reason instanceof RetryableError) {
          throw new RegistryError(`${what}: ${controller.signal.reason.message}`, undefined, {
            cause: error,
          });
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) return response;
      await response.body?.cancel();
      const from = new URL(current);
      const next = new URL(location, from);
      const downgrade = from.protocol === 'https:' && next.protocol !== 'https:';
      if (downgrade || (policy !== undefined && !policy.allows(next, from))) {
        throw new HostNotAllowedError(
          `${what}: refused a redirect to ${next.origin}: ${
            downgrade
              ? 'a redirect from HTTPS to plain HTTP'
              : `not an allowed host for ${policy?.registry} (allow it: bosun --allow-host REGISTRY=HOST, or the construct's registryAllowedHosts)`
          }`,
          response.status,
        );
      }
      current = next.toString();
    }
    throw new RegistryError(`${what}: more than 5 redirects`, undefined);
  }
}

/**
 * Aborts `controller` when `body` has delivered no data for `idleMs`, or has not ended within
 * `deadlineMs`, so a stalled or trickling transfer fails instead of holding the scan. Returns
 * the function that stops watching; it also stops by itself when the body ends, fails or closes.
 */
export function abortWhenIdle(
  body: Readable,
  controller: AbortController,
  idleMs: number,
  what: string,
  deadlineMs = Number.POSITIVE_INFINITY,
): () => void {
  // One timer per transfer, not one per chunk: it re-arms itself from the last chunk's time.
  let lastData = Date.now();
  body.on('data', () => {
    lastData = Date.now();
  });
  const check = () => {
    const quiet = Date.now() - lastData;
    if (quiet >= idleMs) {
      controller.abort(new RegistryError(`${what}: no data for ${idleMs} ms`, undefined));
    } else {
      idle = setTimeout(check, idleMs - quiet);
    }
  };
  let idle = setTimeout(check, idleMs);
  // setTimeout holds at most 2^31-1 ms (24.8 days); a longer deadline is none.
  const total =
    deadlineMs < 2 ** 31
      ? setTimeout(
          () =>
            controller.abort(
              new RegistryError(`${what}: not received within ${deadlineMs} ms`, undefined),
            ),
          deadlineMs,
        )
      : undefined;
  const done = () => {
    clearTimeout(idle);
    clearTimeout(total);
  };
  body.on('end', done).on('error', done).on('close', done);
  return done;
}

/**
 * Reads a whole response body of at most `maxBytes`, refusing a larger declared length up front,
 * failing when no chunk arrives for `idleMs` and when the whole body has not come within
 * `deadlineMs` (a trickle is never idle).
 */
export async function readBounded(
  response: Response,
  maxBytes: number,
  what: string,
  idleMs: number,
  deadlineMs = Number.POSITIVE_INFINITY,
): Promise<Buffer> {
  const endAt = Date.now() + deadlineMs;
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new TooLargeError(
      `${what}: ${declared} bytes is over the ${maxBytes}-byte limit`,
      response.status,
    );
  }
  if (response.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    let timeout: NodeJS.Timeout | undefined;
    const left = endAt - Date.now();
    const timer = new Promise<never>((_, reject) => {
      timeout = setTimeout(
        () =>
          reject(
            new RegistryError(
              left < idleMs
                ? `${what}: not received within ${deadlineMs} ms`
                : `${what}: no data for ${idleMs} ms`,
              undefined,
            ),
          ),
        Math.max(0, Math.min(idleMs, left)),
      );
    });
    let result: Awaited<ReturnType<typeof reader.read>>;
    try {
      result = await Promise.race([reader.read(), timer]);
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timeout);
    }
    const { done, value } = result;
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TooLargeError(`${what}: more than ${maxBytes} bytes`, response.status);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}
