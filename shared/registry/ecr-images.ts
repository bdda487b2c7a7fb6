/**
 * What is already in an ECR registry: its repositories (DescribeRepositories) and each one's
 * images (DescribeImages), a page at a time, so a caller can keep the page token and go on
 * later (the backfill, shared/pipeline/backfill.ts).
 *
 * - DescribeRepositories: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeRepositories.html
 * - DescribeImages: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
 *   (only ACTIVE images unless a filter asks otherwise; an image index and each of its platform
 *   manifests are listed as images of their own, the platform manifests usually untagged).
 *
 * Throttling: ECR applies a token bucket per API action, account and region
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html); its quota page
 * publishes rates for the push and pull actions only, none for the Describe actions. So calls
 * are paced (at most `ratePerSecond` a reader, 5 by default: a backfill is never urgent and
 * shares the buckets with the account's own tooling), and a ThrottlingException is retried
 * after an exponential backoff with full jitter, as the SDKs' guide recommends
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
 */
import {
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeRepositoriesCommand,
  type ECRClient,
  type ImageDetail,
} from '@aws-sdk/client-ecr';
import { backoffMs, sleep as realSleep } from '../concurrency.js';
import { BosunError } from '../errors.js';

/** ECR kept throttling after every attempt allowed; the caller stops and goes on later. */
export class EcrThrottledError extends BosunError {
  readonly fatal = true;
}

/** One image as ECR lists it, reduced to what a scan request needs. */
export interface EcrImage {
  readonly registryId: string;
  readonly repository: string;
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt?: Date;
  readonly manifestMediaType?: string;
  readonly artifactMediaType?: string;
  /** ACTIVE, ARCHIVED or ACTIVATING (an archived image cannot be pulled). */
  readonly status?: string;
}

export interface EcrRepository {
  readonly registryId: string;
  readonly name: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass to the next call; undefined after the last page. */
  readonly nextToken?: string;
  /** Entries ECR listed without the fields that identify them (name, registry, digest). */
  readonly unreadable: number;
}

export interface EcrReaderOptions {
  /** The registry (account id); ECR's default: the caller's account. */
  readonly registryId?: string;
  /** Results a page (1 to 1000). @default 100, ECR's own default */
  readonly pageSize?: number;
  /** @default 5 */
  readonly ratePerSecond?: number;
  /** Attempts of one call while ECR throttles it. @default 8 */
  readonly attempts?: number;
  /** @default 200 */
  readonly baseDelayMs?: number;
  /** @default 20_000, the SDKs' maximum backoff */
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/** The names AWS services use for a throttled call, and the HTTP status some return. */
const THROTTLING = new Set([
  'ThrottlingException',
  'ThrottleException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

export function isThrottling(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & {
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  return (
    THROTTLING.has(e.name) ||
    e.$retryable?.throttling === true ||
    e.$metadata?.httpStatusCode === 429
  );
}

/** The name of an ECR error (RepositoryNotFoundException, InvalidParameterException, ...). */
export const ecrErrorName = (error: unknown): string | undefined =>
  error instanceof Error ? error.name : undefined;

export class EcrImageReader {
  private nextCallAt = 0;
  private readonly sleep: (ms: number) => Promise<unknown>;

  constructor(
    private readonly ecr: ECRClient,
    private readonly options: EcrReaderOptions = {},
  ) {
    this.sleep = options.sleep ?? realSleep;
  }

  /** One page of the registry's repositories. */
  async repositories(nextToken?: string): Promise<Page<EcrRepository>> {
    const out = await this.call('DescribeRepositories', () =>
      this.ecr.send(
        new DescribeRepositoriesCommand({
          ...this.registry(),
          maxResults: this.pageSize(),
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      ),
    );
    const listed = out.repositories ?? [];
    const items: EcrRepository[] = [];
    for (const r of listed)
      if (r.repositoryName !== undefined && r.registryId !== undefined)
        items.push({ registryId: r.registryId, name: r.repositoryName });
    return pageOf(items, listed.length, out.nextToken);
  }

  /**
   * One page of a repository's images. Throws ECR's RepositoryNotFoundException when the
   * repository was deleted since it was listed (see ecrErrorName).
   */
  async images(repository: string, nextToken?: string): Promise<Page<EcrImage>> {
    const out: DescribeImagesCommandOutput = await this.call('DescribeImages', () =>
      this.ecr.send(
        new DescribeImagesCommand({
          ...this.registry(),
          repositoryName: repository,
          maxResults: this.pageSize(),
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      ),
    );
    const listed = out.imageDetails ?? [];
    return pageOf(
      listed.flatMap((d) => imageOf(d, repository)),
      listed.length,
      out.nextToken,
    );
  }

  private registry() {
    return this.options.registryId === undefined ? {} : { registryId: this.options.registryId };
  }

  private pageSize(): number {
    return Math.min(1000, Math.max(1, this.options.pageSize ?? 100));
  }

  /** Paces the call, and retries it while ECR throttles it. */
  private async call<T>(action: string, send: () => Promise<T>): Promise<T> {
    const attempts = this.options.attempts ?? 8;
    for (let attempt = 0; ; attempt++) {
      await this.pace();
      try {
        return await send();
      } catch (error) {
        if (!isThrottling(error)) throw error;
        if (attempt + 1 >= attempts)
          throw new EcrThrottledError(`ECR ${action} still throttled after ${attempts} attempts`, {
            cause: error,
          });
        await this.sleep(
          backoffMs(attempt, this.options.baseDelayMs ?? 200, this.options.maxDelayMs ?? 20_000),
        );
      }
    }
  }

  private async pace(): Promise<void> {
    const interval = 1000 / Math.max(0.01, this.options.ratePerSecond ?? 5);
    const now = Date.now();
    const wait = this.nextCallAt - now;
    this.nextCallAt = Math.max(now, this.nextCallAt) + interval;
    if (wait > 0) await this.sleep(wait);
  }
}

function pageOf<T>(items: T[], listed: number, nextToken: string | undefined): Page<T> {
  return { items, unreadable: listed - items.length, ...(nextToken ? { nextToken } : {}) };
}

/** An image detail as an EcrImage; none when ECR left out its digest. */
function imageOf(d: ImageDetail, repository: string): EcrImage[] {
  if (d.imageDigest === undefined || d.registryId === undefined) return [];
  return [
    {
      registryId: d.registryId,
      repository: d.repositoryName ?? repository,
      digest: d.imageDigest,
      tags: d.imageTags ?? [],
      ...(d.imagePushedAt === undefined ? {} : { pushedAt: d.imagePushedAt }),
      ...(d.imageManifestMediaType === undefined
        ? {}
        : { manifestMediaType: d.imageManifestMediaType }),
      ...(d.artifactMediaType === undefined ? {} : { artifactMediaType: d.artifactMediaType }),
      ...(d.imageStatus === undefined ? {} : { status: d.imageStatus }),
    },
  ];
}
