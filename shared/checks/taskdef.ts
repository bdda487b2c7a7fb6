/**
 * Least-privilege checks of an Amazon ECS task definition, read as the ECS API returns it
 * (DescribeTaskDefinition's TaskDefinition and ContainerDefinition:
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
 *
 * Anchors: AWS Config's ECS managed rules (ecs-containers-nonprivileged,
 * ecs-containers-readonly-access, ecs-no-environment-secrets, ecs-task-definition-nonroot-user,
 * ecs-task-definition-pid-mode-check), Checkov's ECS checks (CKV_AWS_249, CKV_AWS_334-336) and,
 * for severities, Trivy's Kubernetes equivalents (KSV003, KSV005, KSV008-010, KSV012, KSV014,
 * KSV017, KSV022). Their known misses are not repeated: Checkov's CKV_AWS_334 reads a key
 * `privilege` that ECS does not have (the key is `privileged`), its CKV_AWS_335 looks for
 * `pidMode` on containers (it is a task-level field), and a root check that compares with
 * "root" only lets `0` and `0:0` pass.
 *
 * "Runs as root" is a property of the workload, not of the definition alone: a container's
 * `user` wins, and without one the image's default user decides. The image side is an input
 * (`ImageUser`, from the image checks), so an image whose default user is not root but whose
 * definition says `user: "0"` runs as root, and a definition without `user` over a root image
 * does too.
 */
import type { ContainerDefinition, TaskDefinition } from '@aws-sdk/client-ecs';
import { matchEnvironmentSecret } from './taskdef-secrets.js';
import type { CheckDefinition, CheckResult, Evidence } from './types.js';

/** One check as the docs list it: the one table of ids, severities and anchors. */
export type TaskDefinitionCheck = CheckDefinition;

export const TASKDEF_CHECKS = {
  privileged: {
    id: 'ecs/privileged',
    severity: 'HIGH',
    title: 'container runs privileged',
    remediation: 'Remove "privileged": true; add only the capabilities the container needs.',
    anchors: [
      { tool: 'AWS Config', id: 'ecs-containers-nonprivileged' },
      { tool: 'Checkov', id: 'CKV_AWS_334' },
      { tool: 'Trivy', id: 'KSV017' },
    ],
  },
  rootUser: {
    id: 'ecs/root-user',
    severity: 'MEDIUM',
    title: 'container runs as root',
    remediation:
      'Set "user" to a non-root uid (e.g. "1000:1000") in the container definition or USER in the image.',
    anchors: [
      { tool: 'AWS Config', id: 'ecs-task-definition-nonroot-user' },
      { tool: 'Trivy', id: 'KSV012' },
    ],
  },
  userUnset: {
    id: 'ecs/user-unset',
    severity: 'MEDIUM',
    title: 'container sets no user and its image default user is not known',
    remediation: 'Set "user" to a non-root uid in the container definition.',
    anchors: [{ tool: 'AWS Config', id: 'ecs-task-definition-nonroot-user' }],
  },
  writableRoot: {
    id: 'ecs/writable-root-filesystem',
    severity: 'LOW',
    title: 'container root filesystem is writable',
    remediation: 'Set "readonlyRootFilesystem": true; mount a volume or tmpfs where it must write.',
    anchors: [
      { tool: 'AWS Config', id: 'ecs-containers-readonly-access' },
      { tool: 'Checkov', id: 'CKV_AWS_336' },
      { tool: 'Trivy', id: 'KSV014' },
    ],
  },
  dangerousCapability: {
    id: 'ecs/dangerous-capability',
    severity: 'HIGH',
    title: 'container adds a capability that gives control of the host or its network',
    remediation: 'Remove it from linuxParameters.capabilities.add.',
    anchors: [{ tool: 'Trivy', id: 'KSV005' }],
  },
  capabilityAdded: {
    id: 'ecs/capability-added',
    severity: 'MEDIUM',
    title: 'container adds a capability beyond the default set',
    remediation: 'Remove it from linuxParameters.capabilities.add unless the container needs it.',
    anchors: [{ tool: 'Trivy', id: 'KSV022' }],
  },
  capabilitiesNotDropped: {
    id: 'ecs/capabilities-not-dropped',
    severity: 'LOW',
    title: 'container does not drop all capabilities',
    remediation:
      'Set linuxParameters.capabilities.drop to ["ALL"] and add back only what is needed.',
    anchors: [{ tool: 'Trivy', id: 'KSV003' }],
  },
  hostPid: {
    id: 'ecs/host-pid',
    severity: 'HIGH',
    title: "task shares the host's process namespace",
    remediation: 'Remove "pidMode": "host" (or use "task").',
    anchors: [
      { tool: 'AWS Config', id: 'ecs-task-definition-pid-mode-check' },
      { tool: 'Checkov', id: 'CKV_AWS_335' },
      { tool: 'Trivy', id: 'KSV010' },
    ],
  },
  hostIpc: {
    id: 'ecs/host-ipc',
    severity: 'HIGH',
    title: "task shares the host's IPC namespace",
    remediation: 'Remove "ipcMode": "host" (use "none" or "task").',
    anchors: [{ tool: 'Trivy', id: 'KSV008' }],
  },
  hostNetwork: {
    id: 'ecs/host-network',
    severity: 'HIGH',
    title: "task uses the host's network",
    remediation: 'Use "networkMode": "awsvpc" (or "bridge").',
    anchors: [
      { tool: 'AWS Config', id: 'ecs-task-definition-network-mode-not-in-list' },
      { tool: 'Trivy', id: 'KSV009' },
    ],
  },
  environmentSecret: {
    id: 'ecs/environment-secret',
    severity: 'HIGH',
    title: 'secret passed in plain environment',
    remediation:
      'Move it to "secrets" with valueFrom a Secrets Manager secret or SSM SecureString parameter, and rotate it.',
    anchors: [{ tool: 'AWS Config', id: 'ecs-no-environment-secrets' }],
  },
  sameRole: {
    id: 'ecs/same-task-and-execution-role',
    severity: 'MEDIUM',
    title: 'task role and execution role are the same role',
    remediation:
      'Give the task its own role: the execution role pulls images and reads secrets for ECS, the task role is what the code may do.',
    anchors: [{ tool: 'Checkov', id: 'CKV_AWS_249' }],
  },
  versionConsistency: {
    id: 'ecs/version-consistency-disabled',
    severity: 'LOW',
    title: 'image tag not resolved to a digest at deployment',
    remediation:
      'Remove "versionConsistency": "disabled" (or reference the image by digest) so every task runs the image that was scanned.',
    anchors: [],
  },
} as const satisfies Record<string, TaskDefinitionCheck>;

/** What the image checks know of a container's image: its default user and its users. */
export interface ImageUser {
  /** The image config's `User` as written; '' when the image sets none (Docker runs as root). */
  readonly configUser: string;
  /** Name to uid from the image's own /etc/passwd, to resolve a named user. */
  readonly passwd?: ReadonlyMap<string, number>;
}

export interface TaskDefinitionCheckInput {
  /** The image facts of each container, by container name (absent: not known yet). */
  readonly imageUsers?: ReadonlyMap<string, ImageUser>;
}

/**
 * Docker's default capability set
 * (https://github.com/moby/moby/blob/master/oci/caps/defaults.go): adding one of these back
 * after dropping ALL is the least-privilege pattern, not a finding.
 */
const DEFAULT_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

/** Capabilities that amount to control of the host, its kernel or its network. */
const DANGEROUS_CAPABILITIES = new Set([
  'ALL',
  'SYS_ADMIN',
  'NET_ADMIN',
  'SYS_PTRACE',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_BOOT',
  'SYS_TIME',
  'DAC_READ_SEARCH',
  'BPF',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
]);

/** ECS takes capability names without the CAP_ prefix; Docker accepts both. */
const capability = (c: string) => c.trim().toUpperCase().replace(/^CAP_/, '');

/** The task definition's name in evidence. */
export function taskDefinitionResource(td: TaskDefinition): string {
  if (td.taskDefinitionArn !== undefined) return td.taskDefinitionArn;
  if (td.family !== undefined && td.revision !== undefined) return `${td.family}:${td.revision}`;
  return td.family ?? '(unnamed task definition)';
}

type Check = (typeof TASKDEF_CHECKS)[keyof typeof TASKDEF_CHECKS];
/** Evidence before its words: `detail` is made from it when the check has none of its own. */
type Seen = Omit<Evidence, 'detail'> & { readonly taskDefinition: string; readonly field: string };

function finding(
  check: Check,
  seen: Seen,
  detail?: string,
  secret?: CheckResult['secret'],
): CheckResult {
  return {
    id: check.id,
    severity: check.severity,
    title: detail === undefined ? check.title : `${check.title}: ${detail}`,
    evidence: {
      ...seen,
      detail:
        detail ??
        `${seen.container === undefined ? '' : `container ${seen.container}: `}${seen.field} is ${seen.value ?? 'set'}`,
    },
    remediation: check.remediation,
    anchors: check.anchors,
    ...(secret === undefined ? {} : { secret }),
  };
}

/** Every finding of a task definition, task-level first, then container by container. */
export function checkTaskDefinition(
  td: TaskDefinition,
  input: TaskDefinitionCheckInput = {},
): CheckResult[] {
  const taskDefinition = taskDefinitionResource(td);
  // user, readonlyRootFilesystem, privileged and linuxParameters are not supported for Windows
  // containers (ContainerDefinition reference), so they say nothing there.
  const windows = td.runtimePlatform?.operatingSystemFamily?.startsWith('WINDOWS') === true;
  const out = taskFindings(td, taskDefinition);
  for (const c of td.containerDefinitions ?? []) {
    const at = { taskDefinition, container: c.name ?? '(unnamed)' };
    if (!windows) {
      out.push(...linuxFindings(c, at, input.imageUsers?.get(at.container)));
    }
    out.push(...environmentFindings(c, at));
    if (c.versionConsistency === 'disabled')
      out.push(
        finding(
          TASKDEF_CHECKS.versionConsistency,
          { ...at, field: 'containerDefinitions[].versionConsistency', value: 'disabled' },
          c.image,
        ),
      );
  }
  return out;
}

function taskFindings(td: TaskDefinition, taskDefinition: string): CheckResult[] {
  const out: CheckResult[] = [];
  if (td.pidMode === 'host')
    out.push(finding(TASKDEF_CHECKS.hostPid, { taskDefinition, field: 'pidMode', value: 'host' }));
  if (td.ipcMode === 'host')
    out.push(finding(TASKDEF_CHECKS.hostIpc, { taskDefinition, field: 'ipcMode', value: 'host' }));
  if (td.networkMode === 'host')
    out.push(
      finding(TASKDEF_CHECKS.hostNetwork, { taskDefinition, field: 'networkMode', value: 'host' }),
    );
  if (
    td.taskRoleArn !== undefined &&
    td.taskRoleArn !== '' &&
    td.taskRoleArn === td.executionRoleArn
  )
    out.push(
      finding(TASKDEF_CHECKS.sameRole, {
        taskDefinition,
        field: 'taskRoleArn',
        value: td.taskRoleArn,
      }),
    );
  return out;
}

type At = { readonly taskDefinition: string; readonly container: string };

function linuxFindings(c: ContainerDefinition, at: At, image: ImageUser | undefined) {
  const out: CheckResult[] = [];
  if (c.privileged === true)
    out.push(
      finding(TASKDEF_CHECKS.privileged, {
        ...at,
        field: 'containerDefinitions[].privileged',
        value: 'true',
      }),
    );
  const user = userFinding(c, at, image);
  if (user !== undefined) out.push(user);
  if (c.readonlyRootFilesystem !== true)
    out.push(
      finding(TASKDEF_CHECKS.writableRoot, {
        ...at,
        field: 'containerDefinitions[].readonlyRootFilesystem',
        value: String(c.readonlyRootFilesystem ?? 'unset'),
      }),
    );
  out.push(...capabilityFindings(c, at));
  return out;
}

/** The uid a `user` string names: `user`, `uid`, `user:group`, `uid:gid` (ContainerDefinition). */
export function uidOfUser(user: string, passwd?: ReadonlyMap<string, number>): number | undefined {
  const name = (user.split(':')[0] ?? '').trim();
  // Docker runs a container without a user as root.
  if (name === '') return 0;
  if (/^\d+$/.test(name)) return Number(name);
  if (name === 'root') return 0;
  return passwd?.get(name);
}

function userFinding(
  c: ContainerDefinition,
  at: At,
  image: ImageUser | undefined,
): CheckResult | undefined {
  const field = 'containerDefinitions[].user';
  if (c.user !== undefined) {
    const uid = uidOfUser(c.user, image?.passwd);
    if (uid !== 0) return undefined;
    const overrides =
      image !== undefined && uidOfUser(image.configUser, image.passwd) !== 0
        ? ` (overrides the image's user ${JSON.stringify(image.configUser)})`
        : '';
    return finding(
      TASKDEF_CHECKS.rootUser,
      { ...at, field, value: c.user, userSource: 'task-definition' },
      `user ${JSON.stringify(c.user)} set by the task definition${overrides}`,
    );
  }
  if (image === undefined)
    return finding(TASKDEF_CHECKS.userUnset, { ...at, field, value: 'unset' });
  if (uidOfUser(image.configUser, image.passwd) !== 0) return undefined;
  return finding(
    TASKDEF_CHECKS.rootUser,
    { ...at, field: 'config.User', value: image.configUser, userSource: 'image' },
    `no user in the task definition, and the image's default user ${JSON.stringify(image.configUser)} is root`,
  );
}

function capabilityFindings(c: ContainerDefinition, at: At): CheckResult[] {
  const out: CheckResult[] = [];
  const caps = c.linuxParameters?.capabilities;
  for (const raw of caps?.add ?? []) {
    const cap = capability(raw);
    const evidence = {
      ...at,
      field: 'containerDefinitions[].linuxParameters.capabilities.add',
      value: cap,
    };
    if (DANGEROUS_CAPABILITIES.has(cap))
      out.push(finding(TASKDEF_CHECKS.dangerousCapability, evidence, cap));
    else if (!DEFAULT_CAPABILITIES.has(cap))
      out.push(finding(TASKDEF_CHECKS.capabilityAdded, evidence, cap));
  }
  // Privileged already has every capability; saying it twice adds nothing.
  if (c.privileged !== true && !(caps?.drop ?? []).some((d) => capability(d) === 'ALL'))
    out.push(
      finding(TASKDEF_CHECKS.capabilitiesNotDropped, {
        ...at,
        field: 'containerDefinitions[].linuxParameters.capabilities.drop',
        value: (caps?.drop ?? []).map(capability).join(',') || 'unset',
      }),
    );
  return out;
}

function environmentFindings(c: ContainerDefinition, at: At): CheckResult[] {
  const out: CheckResult[] = [];
  for (const variable of c.environment ?? []) {
    if (variable.name === undefined) continue;
    const match = matchEnvironmentSecret(variable.name, variable.value);
    if (match === undefined) continue;
    // The variable's name is not the secret; its value is never kept, only its hash.
    const field = `containerDefinitions[].environment.${variable.name}`;
    out.push(
      finding(
        TASKDEF_CHECKS.environmentSecret,
        { ...at, field },
        `${variable.name} holds a secret: ${match.title} (${match.rule})`,
        {
          rule: match.rule,
          location: { kind: 'task-definition', ...at, field },
          valueHash: match.valueHash,
        },
      ),
    );
  }
  return out;
}
