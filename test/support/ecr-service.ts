/**
 * ECR has no local emulator: a real ECRClient whose requestHandler answers as the service does,
 * in the awsJson1_1 protocol (`X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Action>`,
 * JSON bodies, timestamps as epoch seconds, errors as HTTP 400 with `__type` and `message`:
 * https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html). The registry's content is
 * written with the SDK's own output types (Repository, ImageDetail), so a fake that drifts from
 * the API does not compile. Answers, per the API reference:
 * - DescribeRepositories: `repositories`, `nextToken`; `maxResults` 1–1000, 100 by default
 *   (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeRepositories.html).
 * - DescribeImages: `imageDetails`, `nextToken`; only ACTIVE images unless `filter.imageStatus`
 *   says otherwise; RepositoryNotFoundException for an unknown repository
 *   (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html).
 * - ListPullTimeUpdateExclusions / RegisterPullTimeUpdateExclusion: `pullTimeUpdateExclusions`,
 *   `nextToken` / `principalArn`, `createdAt`; ExclusionAlreadyExistsException,
 *   LimitExceededException past 100, InvalidParameterException for an ARN off the pattern
 *   (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_RegisterPullTimeUpdateExclusion.html).
 * A paginated answer's `nextToken` is opaque; here it is the offset, base64'd.
 */
import {
  ECRClient,
  type ECRClientConfig,
  type ImageDetail,
  type Repository,
} from '@aws-sdk/client-ecr';

export interface EcrContent {
  repositories: Repository[];
  images: ImageDetail[];
  exclusions: string[];
}

/** An error the fake answers with instead of the next call of `action`. */
export interface InjectedError {
  readonly action: string;
  readonly type: string;
  readonly message: string;
  readonly status?: number;
  /** Only for a call whose request body this accepts. */
  readonly when?: (body: Record<string, unknown>) => boolean;
}

export interface EcrCall {
  readonly action: string;
  readonly body: Record<string, unknown>;
}

const PRINCIPAL = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)\/[\w+=,.@-]+(\/[\w+=,.@-]+)*$/;

/** Dates as the awsJson protocols send them: epoch seconds. */
function wire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(wire);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v)]));
  return value;
}

function page<T>(all: readonly T[], body: Record<string, unknown>) {
  const size = typeof body.maxResults === 'number' ? body.maxResults : 100;
  const start =
    typeof body.nextToken === 'string'
      ? Number(Buffer.from(body.nextToken, 'base64').toString())
      : 0;
  const end = start + size;
  return {
    items: all.slice(start, end),
    ...(end < all.length ? { nextToken: Buffer.from(String(end)).toString('base64') } : {}),
  };
}

class Refusal {
  constructor(
    readonly type: string,
    readonly message: string,
    readonly status = 400,
  ) {}
}

function answer(content: EcrContent, action: string, body: Record<string, unknown>): unknown {
  switch (action) {
    case 'DescribeRepositories': {
      const p = page(content.repositories, body);
      return { repositories: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    }
    case 'DescribeImages': {
      const name = body.repositoryName as string;
      const repo = content.repositories.find((r) => r.repositoryName === name);
      if (repo === undefined)
        throw new Refusal(
          'RepositoryNotFoundException',
          `The repository with name '${name}' does not exist in the registry with id '${content.repositories[0]?.registryId ?? '000000000000'}'`,
        );
      const wanted = (body.filter as { imageStatus?: string } | undefined)?.imageStatus ?? 'ACTIVE';
      const images = content.images.filter(
        (i) =>
          i.repositoryName === name && (wanted === 'ANY' || (i.imageStatus ?? 'ACTIVE') === wanted),
      );
      const p = page(images, body);
      return { imageDetails: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    }
    case 'ListPullTimeUpdateExclusions': {
      const p = page(content.exclusions, body);
      return {
        pullTimeUpdateExclusions: p.items,
        ...(p.nextToken ? { nextToken: p.nextToken } : {}),
      };
    }
    case 'RegisterPullTimeUpdateExclusion': {
      const arn = body.principalArn as string;
      if (!PRINCIPAL.test(arn))
        throw new Refusal('InvalidParameterException', `Invalid parameter at 'principalArn'`);
      if (content.exclusions.includes(arn))
        throw new Refusal('ExclusionAlreadyExistsException', `Exclusion ${arn} already exists`);
      if (content.exclusions.length >= 100)
        throw new Refusal('LimitExceededException', 'The limit of 100 exclusions was reached');
      content.exclusions.push(arn);
      return { principalArn: arn, createdAt: new Date() };
    }
    default:
      throw new Refusal('UnknownOperationException', `${action} is not answered by this fake`);
  }
}

/**
 * A real ECRClient answered from `content`. `inject` lists errors answered, in order, instead
 * of the next call of their action; `calls` records every request. The SDK's own retries are
 * off (maxAttempts 1), so what is retried is retried by the code under test.
 */
export function fakeEcr(content: EcrContent, options: { region?: string } = {}) {
  const calls: EcrCall[] = [];
  const inject: InjectedError[] = [];
  const requestHandler = {
    async handle(request: { headers: Record<string, string>; body: string | Uint8Array }) {
      const text =
        typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
      const body = JSON.parse(text) as Record<string, unknown>;
      const action = (request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      calls.push({ action, body });
      let status = 200;
      let payload: unknown;
      const i = inject.findIndex((e) => e.action === action && (e.when?.(body) ?? true));
      try {
        if (i >= 0) {
          const [e] = inject.splice(i, 1);
          throw new Refusal(e?.type ?? '', e?.message ?? '', e?.status);
        }
        payload = answer(content, action, body);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        status = error.status;
        payload = { __type: error.type, message: error.message };
      }
      return {
        response: {
          statusCode: status,
          headers: { 'content-type': 'application/x-amz-json-1.1' },
          body: new TextEncoder().encode(JSON.stringify(wire(payload))),
        },
      };
    },
  };
  const ecr = new ECRClient({
    region: options.region ?? 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
    requestHandler: requestHandler as unknown as ECRClientConfig['requestHandler'],
  });
  return { ecr, calls, inject, content };
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** A repository as DescribeRepositories lists it. */
export function repository(registryId: string, region: string, name: string): Repository {
  return {
    repositoryArn: `arn:aws:ecr:${region}:${registryId}:repository/${name}`,
    registryId,
    repositoryName: name,
    repositoryUri: `${registryId}.dkr.ecr.${region}.amazonaws.com/${name}`,
    createdAt: new Date('2024-01-15T10:00:00Z'),
    imageTagMutability: 'MUTABLE',
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: { encryptionType: 'AES256' },
  };
}

/** An image as DescribeImages lists it. */
export function imageDetail(
  registryId: string,
  repositoryName: string,
  digest: string,
  extra: Partial<ImageDetail> = {},
): ImageDetail {
  return {
    registryId,
    repositoryName,
    imageDigest: digest,
    imageSizeInBytes: 29_123_456,
    imagePushedAt: new Date('2024-06-01T12:00:00Z'),
    imageManifestMediaType: OCI_MANIFEST,
    artifactMediaType: IMAGE_CONFIG,
    imageStatus: 'ACTIVE',
    ...extra,
  };
}
