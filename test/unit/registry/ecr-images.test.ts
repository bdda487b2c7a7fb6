/**
 * The ECR reader (shared/registry/ecr-images.ts) and the pull-time exclusion
 * (shared/registry/pull-time-exclusion.ts) against a real ECRClient answered at its request
 * handler as ECR answers (test/support/ecr-service.ts).
 */
import { describe, expect, it } from 'vitest';
import { logger } from '../../../shared/observability.js';
import { EcrImageReader, EcrThrottledError } from '../../../shared/registry/ecr-images.js';
import {
  ensurePullTimeExclusion,
  PullTimeExclusionError,
  type WarningLog,
} from '../../../shared/registry/pull-time-exclusion.js';
import {
  DOCKER_MANIFEST,
  type EcrContent,
  fakeEcr,
  imageDetail,
  OCI_INDEX,
  repository,
} from '../../support/ecr-service.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

function registry(): EcrContent {
  return {
    repositories: ['team-a/api', 'team-a/web', 'team-b/job', 'tools/ci', 'base'].map((n) =>
      repository(ACCOUNT, REGION, n),
    ),
    images: [
      imageDetail(ACCOUNT, 'team-a/api', digest(1), { imageTags: ['1.0', 'latest'] }),
      // An index and its two platform manifests, as ECR lists them: the index tagged, the
      // platform manifests untagged, each an image of its own.
      imageDetail(ACCOUNT, 'team-a/api', digest(2), {
        imageTags: ['2.0'],
        imageManifestMediaType: OCI_INDEX,
        artifactMediaType: undefined,
      }),
      imageDetail(ACCOUNT, 'team-a/api', digest(3)),
      imageDetail(ACCOUNT, 'team-a/api', digest(4), {
        imageManifestMediaType: DOCKER_MANIFEST,
        artifactMediaType: 'application/vnd.docker.container.image.v1+json',
      }),
      imageDetail(ACCOUNT, 'team-a/api', digest(5), { imageStatus: 'ARCHIVED' }),
    ],
    exclusions: [],
  };
}

const noSleep = () => {
  const slept: number[] = [];
  return { slept, sleep: async (ms: number) => void slept.push(ms) };
};

describe('EcrImageReader', () => {
  it('pages through DescribeRepositories with nextToken', async () => {
    const { ecr, calls } = fakeEcr(registry());
    const reader = new EcrImageReader(ecr, { pageSize: 2, ratePerSecond: 1000 });
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await reader.repositories(token);
      expect(page.unreadable).toBe(0);
      names.push(...page.items.map((r) => r.name));
      token = page.nextToken;
    } while (token !== undefined);
    expect(names).toEqual(['team-a/api', 'team-a/web', 'team-b/job', 'tools/ci', 'base']);
    expect(calls.map((c) => c.action)).toEqual(Array(3).fill('DescribeRepositories'));
    expect(calls.map((c) => c.body.nextToken)).toEqual([
      undefined,
      expect.any(String),
      expect.any(String),
    ]);
    expect(calls.every((c) => c.body.maxResults === 2)).toBe(true);
  });

  it('lists an index and its platform manifests, with tags, media types and push times', async () => {
    const { ecr, calls } = fakeEcr(registry());
    const reader = new EcrImageReader(ecr, { pageSize: 3, ratePerSecond: 1000 });
    const first = await reader.images('team-a/api');
    const second = await reader.images('team-a/api', first.nextToken);
    expect(second.nextToken).toBeUndefined();
    const all = [...first.items, ...second.items];
    // ECR lists only ACTIVE images when no filter is given: the archived one is not there.
    expect(all.map((i) => i.digest)).toEqual([digest(1), digest(2), digest(3), digest(4)]);
    expect(all[0]).toEqual({
      registryId: ACCOUNT,
      repository: 'team-a/api',
      digest: digest(1),
      tags: ['1.0', 'latest'],
      pushedAt: new Date('2024-06-01T12:00:00Z'),
      manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
      status: 'ACTIVE',
    });
    expect(all[1]?.manifestMediaType).toBe(OCI_INDEX);
    expect(all[1]?.artifactMediaType).toBeUndefined();
    expect(all[2]?.tags).toEqual([]);
    expect(calls[1]?.body).toEqual({
      repositoryName: 'team-a/api',
      maxResults: 3,
      nextToken: first.nextToken,
    });
  });

  it('backs off once on a ThrottlingException, then reads the page', async () => {
    const { ecr, calls, inject } = fakeEcr(registry());
    inject.push({
      action: 'DescribeImages',
      type: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    const { slept, sleep } = noSleep();
    const reader = new EcrImageReader(ecr, { ratePerSecond: 1e6, baseDelayMs: 100, sleep });
    const page = await reader.images('team-a/api');
    expect(page.items).toHaveLength(4);
    expect(calls.map((c) => c.action)).toEqual(['DescribeImages', 'DescribeImages']);
    // A backoff (full jitter: under the base delay for a first retry) before the second call.
    expect(slept.length).toBeGreaterThanOrEqual(1);
    expect(slept.every((ms) => ms <= 100)).toBe(true);
  });

  it('gives up with EcrThrottledError when ECR throttles every attempt', async () => {
    const { ecr, calls, inject } = fakeEcr(registry());
    for (let i = 0; i < 3; i++)
      inject.push({
        action: 'DescribeRepositories',
        type: 'ThrottlingException',
        message: 'Rate exceeded',
      });
    const reader = new EcrImageReader(ecr, { attempts: 3, ratePerSecond: 1000, ...noSleep() });
    const error = await reader.repositories().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EcrThrottledError);
    expect((error as Error).message).toBe(
      'ECR DescribeRepositories still throttled after 3 attempts',
    );
    expect(calls).toHaveLength(3);
  });

  it('paces calls to its rate', async () => {
    const { ecr } = fakeEcr(registry());
    const { slept, sleep } = noSleep();
    const reader = new EcrImageReader(ecr, { ratePerSecond: 2, sleep });
    await reader.repositories();
    await reader.repositories();
    await reader.repositories();
    // The fake sleep does not pass time: each call waits one more interval of 500 ms.
    expect(slept).toHaveLength(2);
    expect(slept[0]).toBeGreaterThan(400);
    expect(slept[1]).toBeGreaterThan(900);
  });

  it("passes on ECR's RepositoryNotFoundException by name", async () => {
    const { ecr } = fakeEcr(registry());
    const reader = new EcrImageReader(ecr, { ratePerSecond: 1000 });
    const error = await reader.images('gone').catch((e: unknown) => e);
    expect((error as Error).name).toBe('RepositoryNotFoundException');
  });
});

describe('ensurePullTimeExclusion', () => {
  const ROLE = `arn:aws:iam::${ACCOUNT}:role/bosun/ScannerScanRole-1A2B3C`;
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  const log: WarningLog = { warn: (message, fields) => void warnings.push({ message, fields }) };

  it('registers a principal that is not listed', async () => {
    const content = registry();
    content.exclusions = Array.from(
      { length: 40 },
      (_, i) => `arn:aws:iam::${ACCOUNT}:role/other-${i}`,
    );
    const { ecr, calls } = fakeEcr(content);
    expect(await ensurePullTimeExclusion(ecr, ROLE)).toEqual({ status: 'registered' });
    expect(content.exclusions).toContain(ROLE);
    // One page holds the account's whole list (at most 100; a page takes up to 1000).
    expect(calls.map((c) => c.action)).toEqual([
      'ListPullTimeUpdateExclusions',
      'RegisterPullTimeUpdateExclusion',
    ]);
    expect(calls[1]?.body).toEqual({ principalArn: ROLE });
  });

  it('does nothing for a principal already listed, on a later page', async () => {
    const content = registry();
    content.exclusions = [
      ...Array.from({ length: 3 }, (_, i) => `arn:aws:iam::${ACCOUNT}:user/u${i}`),
      ROLE,
    ];
    const { ecr, calls } = fakeEcr(content);
    expect(await ensurePullTimeExclusion(ecr, ROLE)).toEqual({ status: 'present' });
    expect(calls.map((c) => c.action)).toEqual(['ListPullTimeUpdateExclusions']);
  });

  it('takes a registration made concurrently (ExclusionAlreadyExistsException) as present', async () => {
    const { ecr, inject } = fakeEcr(registry());
    inject.push({
      action: 'RegisterPullTimeUpdateExclusion',
      type: 'ExclusionAlreadyExistsException',
      message: 'The specified pull time update exclusion already exists for the registry.',
    });
    expect(await ensurePullTimeExclusion(ecr, ROLE)).toEqual({ status: 'present' });
  });

  it('returns and logs a typed failure when the account has its 100 exclusions', async () => {
    const content = registry();
    content.exclusions = Array.from(
      { length: 100 },
      (_, i) => `arn:aws:iam::${ACCOUNT}:role/r${i}`,
    );
    const { ecr } = fakeEcr(content);
    warnings.length = 0;
    const outcome = await ensurePullTimeExclusion(ecr, ROLE, log);
    expect(outcome.status).toBe('failed');
    const error = 'error' in outcome ? outcome.error : undefined;
    expect(error).toBeInstanceOf(PullTimeExclusionError);
    expect(error?.problem).toBe('LIMIT');
    expect(error?.message).toBe(
      `pull-time exclusion of ${ROLE}: LimitExceededException: The limit of 100 exclusions was reached`,
    );
    expect(warnings).toEqual([
      {
        message: 'pull-time exclusion not registered',
        fields: { principalArn: ROLE, problem: 'LIMIT', error: error?.message },
      },
    ]);
  });

  it('refuses an STS session ARN before calling ECR', async () => {
    const { ecr, calls } = fakeEcr(registry());
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/ScannerScanRole-1A2B3C/bosun-scan`;
    const outcome = await ensurePullTimeExclusion(ecr, session, logger);
    expect(outcome.status).toBe('failed');
    expect('error' in outcome && outcome.error.problem).toBe('INVALID_PRINCIPAL');
    expect(calls).toEqual([]);
  });

  it('maps ValidationException and AccessDeniedException, and throws a server error', async () => {
    const { ecr, inject } = fakeEcr(registry());
    inject.push({
      action: 'RegisterPullTimeUpdateExclusion',
      type: 'ValidationException',
      message: 'bad',
    });
    const invalid = await ensurePullTimeExclusion(ecr, ROLE);
    expect('error' in invalid && invalid.error.problem).toBe('INVALID_PRINCIPAL');
    inject.push({
      action: 'ListPullTimeUpdateExclusions',
      type: 'AccessDeniedException',
      message: 'not authorized to perform: ecr:ListPullTimeUpdateExclusions',
    });
    const denied = await ensurePullTimeExclusion(ecr, ROLE);
    expect('error' in denied && denied.error.problem).toBe('UNAVAILABLE');
    inject.push({
      action: 'ListPullTimeUpdateExclusions',
      type: 'ServerException',
      message: 'internal error',
      status: 500,
    });
    const thrown = await ensurePullTimeExclusion(ecr, ROLE).catch((e: unknown) => e);
    expect((thrown as Error).name).toBe('ServerException');
  });
});
