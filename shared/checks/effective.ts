/**
 * Effective findings of a workload: what a running container is, joined from its task
 * definition and the image it actually runs (issue 21, "effective findings per workload").
 *
 * "Runs as root" is the container definition's `user` if it sets one, else the image's default
 * user (the config's `User` resolved through the image's own /etc/passwd, shared/checks/user.ts),
 * as the runtime decides it: ECS passes `user` to Docker's `--user`, which replaces the image's
 * `USER` (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html,
 * `user`). So a non-root image run with `user: "0"` is root, and `user: "1000"` over a root image
 * is not. An image Bosun has not scanned yet has no known default user: the result says
 * "unknown" (`ecs/user-unset`, with the reason), never non-root.
 */
import type { ContainerDefinition, TaskDefinition } from '@aws-sdk/client-ecs';
import { TASKDEF_CHECKS, taskDefinitionResource } from './taskdef.js';
import type { CheckResult, Evidence } from './types.js';
import type { EffectiveUser } from './user.js';

/** What the image checks recorded of an image's default user. */
export interface ImageUserFacts {
  /** The default user as the image checks resolved it (shared/checks/user.ts). */
  readonly effective: EffectiveUser;
  /** The config's `User` as written ('' when the image sets none). */
  readonly configUser?: string;
  /** Name to uid from the image's /etc/passwd, when kept: resolves a definition's named user. */
  readonly passwd?: ReadonlyMap<string, number>;
}

/** Where the image facts come from (the checks store); undefined: the digest is not scanned yet. */
export interface ImageUserSource {
  imageUser(digest: string): Promise<ImageUserFacts | undefined>;
}

export type WorkloadUser =
  | { readonly kind: 'root'; readonly source: UserSource; readonly why: string }
  | {
      readonly kind: 'non-root';
      readonly uid: number;
      readonly source: UserSource;
      readonly why: string;
    }
  | { readonly kind: 'unknown'; readonly source: UserSource; readonly why: string };
type UserSource = 'task-definition' | 'image';

const NUMBER = /^\d+$/;

/**
 * Who the container runs as. `user` is the container definition's (`user`, `uid`,
 * `user:group`, `uid:gid`); `image` the image's facts, undefined when not scanned; `digest`
 * names the image in the reason.
 */
export function workloadUser(
  user: string | undefined,
  image: ImageUserFacts | undefined,
  digest: string | undefined,
): WorkloadUser {
  const raw = (user ?? '').trim();
  // An empty `user` is no `--user`: the image decides.
  if (raw !== '') return definitionUser(raw, image, digest);
  const source = 'image';
  if (image === undefined)
    return {
      kind: 'unknown',
      source,
      why:
        digest === undefined
          ? 'no user in the task definition, and ECS did not report the digest of the image, so its default user is not known'
          : `no user in the task definition, and the image ${digest} is not scanned yet: its default user is not known`,
    };
  const e = image.effective;
  if (e.kind === 'root') return { kind: 'root', source, why: `the image's default user: ${e.why}` };
  if (e.kind === 'user')
    return { kind: 'non-root', uid: e.uid, source, why: `the image's default user: ${e.why}` };
  return { kind: 'unknown', source, why: `the image's default user: ${e.why}` };
}

function definitionUser(
  raw: string,
  image: ImageUserFacts | undefined,
  digest: string | undefined,
): WorkloadUser {
  const source = 'task-definition';
  const said = `user ${JSON.stringify(raw)} set by the task definition`;
  const name = (raw.split(':')[0] ?? '').trim();
  // `:1000` sets a group only; the user part is then the image's, as Docker reads it.
  if (name === '') {
    const fromImage = workloadUser(undefined, image, digest);
    return { ...fromImage, why: `${said} names no user; ${fromImage.why}` };
  }
  const overrides =
    image?.effective.kind === 'user' ? ` (over the image's non-root ${image.effective.why})` : '';
  if (NUMBER.test(name)) {
    const uid = Number(name);
    return uid === 0
      ? { kind: 'root', source, why: `${said}: uid 0${overrides}` }
      : { kind: 'non-root', uid, source, why: `${said}: uid ${uid}` };
  }
  if (name === 'root') return { kind: 'root', source, why: `${said}: root${overrides}` };
  const uid = namedUid(name, image);
  if (uid !== undefined)
    return uid === 0
      ? { kind: 'root', source, why: `${said}: ${name} has uid 0 in the image's /etc/passwd` }
      : { kind: 'non-root', uid, source, why: `${said}: ${name} has uid ${uid}` };
  return {
    kind: 'unknown',
    source,
    why:
      image === undefined
        ? `${said}: a name, and the image ${digest ?? '(digest not reported)'} is not scanned yet, so its uid is not known`
        : `${said}: ${JSON.stringify(name)} is not resolved by what Bosun kept of the image's /etc/passwd`,
  };
}

/** A name's uid: the image's passwd, or the image's own USER when it is the same name. */
function namedUid(name: string, image: ImageUserFacts | undefined): number | undefined {
  const fromPasswd = image?.passwd?.get(name);
  if (fromPasswd !== undefined) return fromPasswd;
  const configName = (image?.configUser ?? '').split(':')[0]?.trim();
  if (configName !== name) return undefined;
  if (image?.effective.kind === 'user') return image.effective.uid;
  if (image?.effective.kind === 'root') return 0;
  return undefined;
}

/** One running container of a task, and what it runs. */
export interface WorkloadContainer {
  readonly taskDefinition: TaskDefinition;
  /** The container definition's `name`. */
  readonly container: string;
  /** The manifest digest it runs, as ECS reported it. */
  readonly digest?: string;
}

/**
 * The effective findings of one running container: `ecs/root-user` when it runs as root,
 * `ecs/user-unset` when who it runs as is not known; nothing when it runs as another uid, or
 * on Windows (where `user` is not supported: ContainerDefinition reference).
 */
export function effectiveChecks(
  w: WorkloadContainer,
  image: ImageUserFacts | undefined,
): CheckResult[] {
  const td = w.taskDefinition;
  if (td.runtimePlatform?.operatingSystemFamily?.startsWith('WINDOWS') === true) return [];
  const definition: ContainerDefinition | undefined = td.containerDefinitions?.find(
    (c) => c.name === w.container,
  );
  // A container the definition does not name (the task runs another revision than read?):
  // its `user` is not known, so neither is who it runs as.
  const user: WorkloadUser =
    definition === undefined
      ? {
          kind: 'unknown',
          source: 'task-definition',
          why: `the task definition has no container named ${JSON.stringify(w.container)}`,
        }
      : workloadUser(definition.user, image, w.digest);
  if (user.kind === 'non-root') return [];
  const check = user.kind === 'root' ? TASKDEF_CHECKS.rootUser : TASKDEF_CHECKS.userUnset;
  const evidence: Evidence = {
    taskDefinition: taskDefinitionResource(td),
    container: w.container,
    ...(user.source === 'task-definition'
      ? { field: 'containerDefinitions[].user', value: definition?.user ?? '' }
      : {
          field: 'config.User',
          ...(image?.configUser === undefined ? {} : { value: image.configUser }),
        }),
    userSource: user.source,
    detail: user.why,
  };
  return [
    {
      id: check.id,
      severity: check.severity,
      title: check.title,
      evidence,
      remediation: check.remediation,
      anchors: check.anchors,
    },
  ];
}
