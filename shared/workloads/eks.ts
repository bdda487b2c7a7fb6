import { request as httpsRequest } from 'node:https';
import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { NodeSha256 } from '../checksum.js';
import { BosunError } from '../errors.js';
import { arnScope, type Observation, observation } from './types.js';

/** A Kubernetes API or DescribeCluster answer the reader cannot use. */
export class EksReadError extends BosunError {
  readonly fatal = false;
}

const TOKEN_PREFIX = 'k8s-aws-v1.';
const CLUSTER_ID_HEADER = 'x-k8s-aws-id';

/** The regional STS host (China regions are under amazonaws.com.cn). */
export function stsHost(region: string): string {
  return `sts.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/** An EKS bearer token for `cluster`, signed with `credentials` in `region`. */
export async function eksToken(
  cluster: string,
  region: string,
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
  signingDate = new Date(),
): Promise<string> {
  const hostname = stsHost(region);
  const signer = new SignatureV4({ credentials, region, service: 'sts', sha256: NodeSha256 });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: cluster },
    },
    { expiresIn: 60, signingDate },
  );
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(signed.query ?? {}))
    for (const value of Array.isArray(v) ? v : [v]) if (value !== null) query.append(k, value);
  const url = `https://${hostname}/?${query.toString()}`;
  return TOKEN_PREFIX + Buffer.from(url).toString('base64url');
}

/** A pod as the Kubernetes API returns it (core/v1 Pod), the fields read here. */
interface Pod {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly status?: {
    readonly containerStatuses?: readonly {
      readonly name?: string;
      readonly image?: string;
      readonly imageID?: string;
      readonly state?: { readonly running?: { readonly startedAt?: string } };
    }[];
  };
}

interface PodList {
  readonly kind?: string;
  readonly metadata?: { readonly continue?: string };
  readonly items?: readonly Pod[];
}

/**
 * The digest in a kubelet `imageID`: `<repo>@sha256:…`, with `docker-pullable://` under
 * dockershim. A bare `sha256:…` is the local image ID (the config digest), not a manifest
 * digest, and is not used.
 */
export function digestOfImageId(imageId: string | undefined): string | undefined {
  const at = imageId?.lastIndexOf('@') ?? -1;
  if (imageId === undefined || at < 0) return undefined;
  const digest = imageId.slice(at + 1);
  return /^sha256:[a-f0-9]{64}$/.test(digest) ? digest : undefined;
}

export interface EksReadOptions {
  /** Cluster names, in the EKS client's region. */
  readonly clusters: readonly string[];
  /** What signs the token. @default the EKS client's credentials */
  readonly credentials?: AwsCredentialIdentityProvider;
  /** Pods per page. @default 500 */
  readonly pageSize?: number;
  readonly now?: () => Date;
}

/** Every running container of every pod of the clusters named. */
export async function readEksWorkloads(
  eks: EKSClient,
  options: EksReadOptions,
): Promise<Observation[]> {
  const region = await eks.config.region();
  const credentials = options.credentials ?? eks.config.credentials;
  const out: Observation[] = [];
  for (const name of options.clusters) {
    const { cluster } = await eks.send(new DescribeClusterCommand({ name }));
    const endpoint = cluster?.endpoint;
    const ca = cluster?.certificateAuthority?.data;
    if (cluster?.arn === undefined || endpoint === undefined || ca === undefined)
      throw new EksReadError(`EKS cluster ${name} has no endpoint or certificate authority yet`);
    const token = () => eksToken(name, region, credentials);
    const pods = await listPods(endpoint, Buffer.from(ca, 'base64').toString(), token, options);
    const seenAt = (options.now?.() ?? new Date()).toISOString();
    for (const pod of pods) out.push(...podObservations(cluster.arn, pod, seenAt));
  }
  return out;
}

function podObservations(clusterArn: string, pod: Pod, seenAt: string): Observation[] {
  const { name, namespace } = pod.metadata ?? {};
  if (name === undefined || namespace === undefined) return [];
  return (pod.status?.containerStatuses ?? []).flatMap((s) =>
    s.state?.running === undefined || s.name === undefined || s.image === undefined
      ? []
      : [
          observation(
            {
              source: 'eks',
              workload: `${clusterArn}/${namespace}/${name}/${s.name}`,
              image: s.image,
              ...arnScope(clusterArn),
              seenAt,
              state: 'RUNNING',
            },
            digestOfImageId(s.imageID),
          ),
        ],
  );
}

async function listPods(
  endpoint: string,
  ca: string,
  token: () => Promise<string>,
  options: EksReadOptions,
): Promise<Pod[]> {
  for (let restart = 0; ; restart++) {
    const pods: Pod[] = [];
    let next: string | undefined;
    let expired = false;
    do {
      const url = new URL('/api/v1/pods', endpoint);
      url.searchParams.set('limit', String(options.pageSize ?? 500));
      if (next !== undefined) url.searchParams.set('continue', next);
      const { status, body } = await getJson(url, ca, await token());
      // 410 Gone: the continue token expired (etcd compacted); the list starts again once.
      if (status === 410 && next !== undefined && restart === 0) {
        expired = true;
        break;
      }
      if (status !== 200)
        throw new EksReadError(
          `GET ${url.pathname} on ${url.host} answered ${status}: ${body.slice(0, 300)}`,
        );
      const page = JSON.parse(body) as PodList;
      if (page.kind !== 'PodList')
        throw new EksReadError(`GET ${url.pathname} on ${url.host} did not return a PodList`);
      pods.push(...(page.items ?? []));
      next = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
    } while (next !== undefined);
    if (!expired) return pods;
  }
}

/** One GET with the cluster's CA as the only trusted root; the body at most 64 MiB. */
function getJson(url: URL, ca: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'GET',
        ca,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > 64 * 1024 * 1024)
            req.destroy(new EksReadError(`${url.host}: pod list over 64 MiB`));
          else chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new EksReadError(`${url.host}: no answer in 30 s`)));
    req.on('error', reject);
    req.end();
  });
}
