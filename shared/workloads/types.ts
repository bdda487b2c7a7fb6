/**
 * What the workload readers (ECS, Lambda, EKS) turn AWS into: one observation per running
 * container and the image it runs (issue 20, docs/audit.md). The workload inventory
 * (stores/workload-store.ts) keeps them per workload and digest.
 */
import { parseReference } from '../registry/reference.js';

export const WORKLOAD_SOURCES = ['ecs', 'lambda', 'eks'] as const;
export type WorkloadSource = (typeof WORKLOAD_SOURCES)[number];

export interface Observation {
  readonly source: WorkloadSource;
  /**
   * Stable id of the container: `<task ARN>#<container name>` (ECS), the function ARN
   * (Lambda), `<cluster ARN>/<namespace>/<pod>/<container>` (EKS).
   */
  readonly workload: string;
  /** The image as the workload names it (task definition, function, pod spec). */
  readonly image: string;
  /** The manifest digest it runs, when the source says it. */
  readonly digest?: string;
  readonly registry?: string;
  readonly repository?: string;
  readonly tag?: string;
  readonly account?: string;
  readonly region?: string;
  /** When the source saw it in this state (ISO instant). */
  readonly seenAt: string;
  /** ECS: the task definition revision (ARN) the task runs; its checks join the image's. */
  readonly taskDefinition?: string;
  /** STOPPED: the source says the container stopped (an ECS STOPPED event). */
  readonly state: 'RUNNING' | 'STOPPED';
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Registry, repository and tag of an image string as Docker reads it (a bare `nginx` is
 * `docker.io/library/nginx:latest`); nothing when it is not a reference (an image ID).
 */
export function imageParts(
  image: string,
): { registry: string; repository: string; tag?: string; digest?: string } | undefined {
  try {
    const ref = parseReference(image);
    return {
      registry: ref.registry,
      repository: ref.repository,
      ...(ref.tag === undefined ? {} : { tag: ref.tag }),
      ...(ref.digest === undefined || !DIGEST.test(ref.digest) ? {} : { digest: ref.digest }),
    };
  } catch {
    return undefined;
  }
}

/**
 * An observation of `image` with the parts it parses to; `digest` (what the runtime reports)
 * wins over a digest written in the image string.
 */
export function observation(
  base: Omit<Observation, 'registry' | 'repository' | 'tag' | 'digest'>,
  digest: string | undefined,
): Observation {
  const parts = imageParts(base.image);
  const resolved = digest !== undefined && DIGEST.test(digest) ? digest : parts?.digest;
  return {
    ...base,
    ...(resolved === undefined ? {} : { digest: resolved }),
    ...(parts === undefined
      ? {}
      : {
          registry: parts.registry,
          repository: parts.repository,
          ...(parts.tag === undefined ? {} : { tag: parts.tag }),
        }),
  };
}

/** Account and region of an ARN (`arn:<partition>:<service>:<region>:<account>:…`). */
export function arnScope(arn: string): { account?: string; region?: string } {
  const [, , , region, account] = arn.split(':');
  return {
    ...(account === undefined || account === '' ? {} : { account }),
    ...(region === undefined || region === '' ? {} : { region }),
  };
}

/**
 * Spaces calls to a control-plane API at least `intervalMs` apart (the SDK's own retries
 * answer ThrottlingException; this keeps a reconcile of thousands of tasks from causing it).
 */
export class Pacer {
  private next = 0;
  constructor(private readonly intervalMs: number) {}
  async wait(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }
}
