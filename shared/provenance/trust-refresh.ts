/**
 * Keeps Sigstore trusted roots fresh where verification reads them (an S3 object each): on a
 * schedule, fetch `trusted_root.json` from the instance's TUF repository (tuf-client.ts: full
 * TUF verification from a trusted TUF root), refuse it unless parseTrustedRoot accepts it, and
 * write it only when its bytes changed. Verification itself never reaches TUF or Rekor: it reads
 * the object (issue 19: "no network call to TUF or Rekor at verification time").
 *
 * Writing only on a change matters beyond the saved request: the object's creation event is
 * what re-verifies stored verdicts, so an unchanged root must not look like a new one. A refresh
 * that fails leaves the object as it was and is a TrustRefreshError naming the root, the mirror
 * and why, for the handler to log and count (docs/provenance-trust-refresh.md).
 */
import { createHash } from 'node:crypto';
import { BosunError } from '../errors.js';
import { parseTrustedRoot } from './trusted-root.js';
import { fetchTufTarget, type TufFailure, TufFetchError } from './tuf-client.js';

/** The TUF target Sigstore publishes its TrustedRoot as. */
export const TRUSTED_ROOT_TARGET = 'trusted_root.json';

/** Objects by location (`s3://bucket/key`): the port trusted roots are read and written through. */
export interface TrustRootObjects {
  /** The object's bytes, or undefined when there is none. */
  get(location: string): Promise<Uint8Array | undefined>;
  put(location: string, bytes: Uint8Array): Promise<void>;
}

/** One trusted root to keep fresh. */
export interface TrustRefreshSource {
  /** The name policies give the root (`public-good`). */
  readonly name: string;
  /** The object verification reads it from. */
  readonly location: string;
  /** The TUF repository it is published in. */
  readonly mirrorUrl: string;
  /**
   * The TUF root.json trusted first: its bytes (shippedTufRoot for the public-good instance), or
   * the location of an object holding it (a private Sigstore's root, read through `objects`).
   */
  readonly tufRoot: Uint8Array | string;
}

export interface TrustRefreshOptions {
  readonly objects: TrustRootObjects;
  /** Where the TUF client keeps its metadata between runs of a warm function (under /tmp). */
  readonly cacheDir: string;
  readonly timeoutMs?: number;
  readonly retries?: number;
}

export interface TrustRefreshOutcome {
  readonly name: string;
  readonly location: string;
  /** `written`: the object is new or changed; `unchanged`: it already held these bytes. */
  readonly status: 'written' | 'unchanged';
  /** `sha256:<hex>` of the root now in the object, and of the one it replaced. */
  readonly digest: string;
  readonly previousDigest?: string;
  readonly targetsVersion: number;
  readonly tufRootVersion: number;
}

/**
 * Why a refresh failed: the TUF fetch's failures, a verified target Bosun refuses as a
 * trusted root (REFUSED), or the object could not be read or written (STORE).
 */
export type TrustRefreshFailure = TufFailure | 'REFUSED' | 'STORE';

/** A trusted root that was not refreshed; its object was left as it was. */
export class TrustRefreshError extends BosunError {
  // One root's failure: the others are still refreshed.
  readonly fatal = false;
  constructor(
    readonly root: string,
    readonly failure: TrustRefreshFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`trusted root ${root} not refreshed (${failure}): ${message}`, options);
  }
}

/** Refreshes one trusted root; throws TrustRefreshError. */
export async function refreshTrustedRoot(
  source: TrustRefreshSource,
  options: TrustRefreshOptions,
): Promise<TrustRefreshOutcome> {
  const fail = (failure: TrustRefreshFailure, why: string, cause?: unknown): never => {
    throw new TrustRefreshError(source.name, failure, why, { cause });
  };
  let tufRoot: Uint8Array | undefined;
  if (typeof source.tufRoot === 'string') {
    try {
      tufRoot = await options.objects.get(source.tufRoot);
    } catch (error) {
      return fail(
        'STORE',
        `TUF root ${source.tufRoot} could not be read: ${message(error)}`,
        error,
      );
    }
    if (tufRoot === undefined) return fail('STORE', `TUF root ${source.tufRoot} does not exist`);
  } else tufRoot = source.tufRoot;

  let fetched: Awaited<ReturnType<typeof fetchTufTarget>>;
  try {
    fetched = await fetchTufTarget({
      mirrorUrl: source.mirrorUrl,
      trustedRoot: tufRoot,
      target: TRUSTED_ROOT_TARGET,
      cacheDir: options.cacheDir,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.retries === undefined ? {} : { retries: options.retries }),
    });
  } catch (error) {
    if (error instanceof TufFetchError) return fail(error.failure, error.message, error);
    return fail('VERIFICATION', `${source.mirrorUrl}: ${message(error)}`, error);
  }
  const text = utf8(fetched.bytes);
  if (text === undefined) return fail('REFUSED', `${TRUSTED_ROOT_TARGET} is not UTF-8`);
  try {
    // The same parse the verifiers load it with: what it refuses would refuse every verdict.
    parseTrustedRoot(text, `${source.mirrorUrl} ${TRUSTED_ROOT_TARGET}`);
  } catch (error) {
    return fail('REFUSED', message(error), error);
  }

  let current: Uint8Array | undefined;
  try {
    current = await options.objects.get(source.location);
  } catch (error) {
    return fail('STORE', `${source.location} could not be read: ${message(error)}`, error);
  }
  const digest = sha256(fetched.bytes);
  const previousDigest = current === undefined ? undefined : sha256(current);
  const base = {
    name: source.name,
    location: source.location,
    digest,
    ...(previousDigest === undefined ? {} : { previousDigest }),
    targetsVersion: fetched.targetsVersion,
    tufRootVersion: fetched.rootVersion,
  };
  if (previousDigest === digest) return { ...base, status: 'unchanged' };
  try {
    await options.objects.put(source.location, fetched.bytes);
  } catch (error) {
    return fail('STORE', `${source.location} could not be written: ${message(error)}`, error);
  }
  return { ...base, status: 'written' };
}

export interface TrustRefreshRun {
  readonly outcomes: readonly TrustRefreshOutcome[];
  readonly failures: readonly TrustRefreshError[];
}

/** Refreshes each root in turn; one root's failure does not stop the others. */
export async function refreshTrustedRoots(
  sources: readonly TrustRefreshSource[],
  options: TrustRefreshOptions,
): Promise<TrustRefreshRun> {
  const outcomes: TrustRefreshOutcome[] = [];
  const failures: TrustRefreshError[] = [];
  for (const source of sources) {
    try {
      outcomes.push(await refreshTrustedRoot(source, options));
    } catch (error) {
      if (!(error instanceof TrustRefreshError)) throw error;
      failures.push(error);
    }
  }
  return { outcomes, failures };
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
