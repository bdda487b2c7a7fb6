/**
 * The task-definition checks (shared/checks/taskdef.ts) on the task definitions the ECS
 * documentation prints (test/fixtures/ecs/task-definitions/README.md) and on variants of them
 * made here, one field at a time: each check fires and does not fire, the effective user of a
 * workload (the definition's `user` over the image's), and no secret value in any output.
 */

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerDefinition, TaskDefinition } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/checks/secrets.js';
import {
  checkTaskDefinition,
  type ImageUser,
  TASKDEF_CHECKS,
  uidOfUser,
} from '../../../shared/checks/taskdef.js';
import type { CheckResult } from '../../../shared/checks/types.js';
import { fixtureJson, PROJECT_ROOT } from '../../support/fixtures.js';

const documented = (name: string) =>
  fixtureJson<TaskDefinition>(`ecs/task-definitions/${name}.json`);
const helloWorld = () =>
  fixtureJson<{ taskDefinition: TaskDefinition }>('ecs/task-definitions/hello-world-describe.json')
    .taskDefinition;

/** The documented webserver with its one container changed. */
function webserver(change: Partial<ContainerDefinition>, task: Partial<TaskDefinition> = {}) {
  const td = documented('webserver-fargate');
  const [container] = td.containerDefinitions ?? [];
  return { ...td, ...task, containerDefinitions: [{ ...container, ...change }] };
}

const ids = (findings: CheckResult[]) => findings.map((f) => f.id);
const byId = (findings: CheckResult[], id: string) => findings.filter((f) => f.id === id);
/** A non-root image, so that only the check under test speaks about the user. */
const appImage: ImageUser = {
  configUser: 'app',
  passwd: new Map([
    ['root', 0],
    ['app', 1000],
  ]),
};
const users = (image: ImageUser) => ({ imageUsers: new Map([['sample-fargate-app', image]]) });

describe('documented task definitions', () => {
  it('finds in the documented web server a writable root, no dropped capabilities and no user', () => {
    const findings = checkTaskDefinition(documented('webserver-fargate'));
    expect(ids(findings)).toEqual([
      'ecs/user-unset',
      'ecs/writable-root-filesystem',
      'ecs/capabilities-not-dropped',
    ]);
    expect(findings[1]).toEqual({
      id: 'ecs/writable-root-filesystem',
      severity: 'LOW',
      title: 'container root filesystem is writable',
      evidence: {
        taskDefinition: 'fargate-task-definition',
        container: 'sample-fargate-app',
        field: 'containerDefinitions[].readonlyRootFilesystem',
        value: 'unset',
        detail:
          'container sample-fargate-app: containerDefinitions[].readonlyRootFilesystem is unset',
      },
      remediation: TASKDEF_CHECKS.writableRoot.remediation,
      anchors: [
        { tool: 'AWS Config', id: 'ecs-containers-readonly-access' },
        { tool: 'Checkov', id: 'CKV_AWS_336' },
        { tool: 'Trivy', id: 'KSV014' },
      ],
    });
  });

  it('says nothing of the Windows variant, where the Linux-only fields are not supported', () => {
    expect(checkTaskDefinition(documented('windows-webserver-fargate'))).toEqual([]);
  });

  it('keeps the documented read-only root and plain environment quiet', () => {
    expect(ids(checkTaskDefinition(documented('entrypoint-command')))).toEqual([
      'ecs/user-unset',
      'ecs/capabilities-not-dropped',
    ]);
    const dependency = checkTaskDefinition(documented('container-dependency'));
    expect(byId(dependency, 'ecs/environment-secret')).toEqual([]);
    expect(dependency.map((f) => f.evidence.container)).toEqual([
      'app',
      'app',
      'app',
      'envoy',
      'envoy',
      'envoy',
    ]);
  });

  it("finds the documented hello_world's MYSQL_ROOT_PASSWORD in plain environment, by its hash", () => {
    const [secret, ...rest] = byId(checkTaskDefinition(helloWorld()), 'ecs/environment-secret');
    expect(rest).toEqual([]);
    const taskDefinition = 'arn:aws:ecs:us-east-1:<aws_account_id>:task-definition/hello_world:8';
    const field = 'containerDefinitions[].environment.MYSQL_ROOT_PASSWORD';
    // The value rule takes "password" for a placeholder; AWS Config's name rule still finds it.
    expect(secret).toEqual({
      id: 'ecs/environment-secret',
      severity: 'HIGH',
      title:
        'secret passed in plain environment: MYSQL_ROOT_PASSWORD holds a secret: Variable named as a credential (secret-name)',
      evidence: {
        taskDefinition,
        container: 'mysql',
        field,
        detail: 'MYSQL_ROOT_PASSWORD holds a secret: Variable named as a credential (secret-name)',
      },
      remediation: TASKDEF_CHECKS.environmentSecret.remediation,
      anchors: [{ tool: 'AWS Config', id: 'ecs-no-environment-secrets' }],
      secret: {
        rule: 'secret-name',
        location: { kind: 'task-definition', taskDefinition, container: 'mysql', field },
        valueHash: sha256Hex('password'),
      },
    });
    expect(secret?.secret?.valueHash).toBe(
      '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8',
    );
  });
});

describe('privileged', () => {
  it('fires on the real key and not on Checkov\'s "privilege"', () => {
    const on = checkTaskDefinition(webserver({ privileged: true }), users(appImage));
    expect(byId(on, 'ecs/privileged')).toEqual([
      expect.objectContaining({
        severity: 'HIGH',
        evidence: expect.objectContaining({
          field: 'containerDefinitions[].privileged',
          value: 'true',
        }),
      }),
    ]);
    // Privileged has every capability: not dropping them is not said again.
    expect(byId(on, 'ecs/capabilities-not-dropped')).toEqual([]);
    expect(
      ids(checkTaskDefinition(webserver({ privileged: false }), users(appImage))),
    ).not.toContain('ecs/privileged');
    const checkovKey = webserver({}) as TaskDefinition;
    (checkovKey.containerDefinitions?.[0] as Record<string, unknown>).privilege = true;
    expect(ids(checkTaskDefinition(checkovKey, users(appImage)))).not.toContain('ecs/privileged');
  });
});

describe('the effective user', () => {
  const rootOf = (change: Partial<ContainerDefinition>, image?: ImageUser) =>
    byId(
      checkTaskDefinition(webserver(change), image === undefined ? {} : users(image)),
      'ecs/root-user',
    );

  it('is root for root, 0, 0:0, 00, root:root and a name the image maps to uid 0', () => {
    for (const user of ['root', '0', '0:0', ' 0 ', '00', 'root:root', '0:1000'])
      expect(rootOf({ user }, appImage), user).toHaveLength(1);
    const toor: ImageUser = {
      configUser: 'app',
      passwd: new Map([
        ['toor', 0],
        ['app', 1000],
      ]),
    };
    expect(rootOf({ user: 'toor' }, toor)).toHaveLength(1);
    expect(uidOfUser('toor:wheel', toor.passwd)).toBe(0);
  });

  it('is not root for a uid, a uid:gid or a named non-root user', () => {
    for (const user of ['1000', '1000:1000', 'app', 'app:0', 'nobody'])
      expect(rootOf({ user }, appImage), user).toEqual([]);
  });

  it("is the definition's root user over an image whose default user is not root", () => {
    const [f] = rootOf({ user: '0' }, appImage);
    expect(f).toEqual({
      id: 'ecs/root-user',
      severity: 'MEDIUM',
      title:
        'container runs as root: user "0" set by the task definition (overrides the image\'s user "app")',
      evidence: {
        taskDefinition: 'fargate-task-definition',
        container: 'sample-fargate-app',
        field: 'containerDefinitions[].user',
        value: '0',
        userSource: 'task-definition',
        detail: 'user "0" set by the task definition (overrides the image\'s user "app")',
      },
      remediation: TASKDEF_CHECKS.rootUser.remediation,
      anchors: TASKDEF_CHECKS.rootUser.anchors,
    });
  });

  it("is the image's when the definition sets none: root for '', 0:0 and root, not for app", () => {
    for (const configUser of ['', 'root', '0:0']) {
      const [f] = rootOf({}, { configUser });
      expect(f?.evidence, configUser).toEqual({
        taskDefinition: 'fargate-task-definition',
        container: 'sample-fargate-app',
        field: 'config.User',
        value: configUser,
        userSource: 'image',
        detail: `no user in the task definition, and the image's default user ${JSON.stringify(configUser)} is root`,
      });
    }
    expect(rootOf({}, appImage)).toEqual([]);
    // Unknown image, no user: said as such, not guessed.
    expect(ids(checkTaskDefinition(webserver({})))).toContain('ecs/user-unset');
    expect(ids(checkTaskDefinition(webserver({}), users(appImage)))).not.toContain(
      'ecs/user-unset',
    );
  });
});

describe('read-only root filesystem', () => {
  it('fires when false or unset and not when true', () => {
    const f = byId(
      checkTaskDefinition(webserver({ readonlyRootFilesystem: false })),
      'ecs/writable-root-filesystem',
    );
    expect(f.map((x) => x.evidence.value)).toEqual(['false']);
    expect(
      byId(
        checkTaskDefinition(webserver({ readonlyRootFilesystem: true })),
        'ecs/writable-root-filesystem',
      ),
    ).toEqual([]);
  });
});

describe('capabilities', () => {
  const caps = (add: string[], drop?: string[]) =>
    checkTaskDefinition(
      webserver({ linuxParameters: { capabilities: { add, drop } } }),
      users(appImage),
    ).filter((f) => f.id.includes('capabilit'));

  it('calls SYS_ADMIN, NET_ADMIN (with or without CAP_) and ALL dangerous, SYS_NICE added', () => {
    expect(
      caps(['SYS_ADMIN', 'CAP_NET_ADMIN', 'ALL', 'SYS_NICE'], ['ALL']).map((f) => [
        f.id,
        f.evidence.value,
      ]),
    ).toEqual([
      ['ecs/dangerous-capability', 'SYS_ADMIN'],
      ['ecs/dangerous-capability', 'NET_ADMIN'],
      ['ecs/dangerous-capability', 'ALL'],
      ['ecs/capability-added', 'SYS_NICE'],
    ]);
  });

  it('accepts drop ALL with a default capability added back, and says when ALL is not dropped', () => {
    expect(caps(['NET_BIND_SERVICE'], ['all'])).toEqual([]);
    expect(caps([], ['NET_RAW']).map((f) => [f.id, f.evidence.value])).toEqual([
      ['ecs/capabilities-not-dropped', 'NET_RAW'],
    ]);
  });
});

describe('host namespaces', () => {
  it('fires on pidMode, ipcMode and networkMode host, at the task level', () => {
    const host = checkTaskDefinition(
      webserver({}, { pidMode: 'host', ipcMode: 'host', networkMode: 'host' }),
      users(appImage),
    );
    expect(host.slice(0, 3).map((f) => [f.id, f.severity, f.evidence])).toEqual([
      [
        'ecs/host-pid',
        'HIGH',
        {
          taskDefinition: 'fargate-task-definition',
          field: 'pidMode',
          value: 'host',
          detail: 'pidMode is host',
        },
      ],
      [
        'ecs/host-ipc',
        'HIGH',
        {
          taskDefinition: 'fargate-task-definition',
          field: 'ipcMode',
          value: 'host',
          detail: 'ipcMode is host',
        },
      ],
      [
        'ecs/host-network',
        'HIGH',
        {
          taskDefinition: 'fargate-task-definition',
          field: 'networkMode',
          value: 'host',
          detail: 'networkMode is host',
        },
      ],
    ]);
    const task = checkTaskDefinition(
      webserver({}, { pidMode: 'task', ipcMode: 'none', networkMode: 'bridge' }),
      users(appImage),
    );
    expect(ids(task).filter((id) => id.startsWith('ecs/host-'))).toEqual([]);
  });
});

describe('roles', () => {
  it('fires when the task role is the execution role, not when they differ or one is missing', () => {
    const role = 'arn:aws:iam::123456789012:role/AmazonECSTaskS3BucketRole';
    const same = { ...documented('ecr-image-task-role'), executionRoleArn: role };
    expect(byId(checkTaskDefinition(same), 'ecs/same-task-and-execution-role')).toEqual([
      expect.objectContaining({
        evidence: {
          taskDefinition: 'example_task_3',
          field: 'taskRoleArn',
          value: role,
          detail: `taskRoleArn is ${role}`,
        },
      }),
    ]);
    expect(ids(checkTaskDefinition(documented('ecr-image-task-role')))).not.toContain(
      'ecs/same-task-and-execution-role',
    );
    const different = {
      ...same,
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    };
    expect(ids(checkTaskDefinition(different))).not.toContain('ecs/same-task-and-execution-role');
    // The documented register example's empty task role is no role.
    expect(
      ids(checkTaskDefinition({ family: 'sleep360', taskRoleArn: '', executionRoleArn: '' })),
    ).toEqual([]);
  });
});

describe('version consistency', () => {
  it('fires on disabled only', () => {
    expect(
      byId(
        checkTaskDefinition(webserver({ versionConsistency: 'disabled' })),
        'ecs/version-consistency-disabled',
      ),
    ).toEqual([
      expect.objectContaining({ severity: 'LOW', title: expect.stringContaining('httpd:2.4') }),
    ]);
    expect(ids(checkTaskDefinition(webserver({ versionConsistency: 'enabled' })))).not.toContain(
      'ecs/version-consistency-disabled',
    );
  });
});

describe('secrets in environment', () => {
  // AWS's documented example credentials, a key made here by Node, the documented placeholder.
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const planted = {
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    TLS_KEY_PEM: pem,
    DB_PASSWORD: 'password',
  };
  /** What each is hashed as: a private key's body without whitespace, as the image checks do. */
  const hashed = (value: string) =>
    sha256Hex(
      value.startsWith('-----BEGIN')
        ? value.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')
        : value,
    );
  const quiet = {
    DB_PASSWORD_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf',
    API_KEY: '',
    ENVOY_LOG_LEVEL: 'info',
    AWS_REGION: 'us-east-1',
  };
  const env = (vars: Record<string, string>) =>
    webserver({ environment: Object.entries(vars).map(([name, value]) => ({ name, value })) });

  it('names each by its rule and its hash, and leaves references, empty values and settings alone', () => {
    const found = byId(
      checkTaskDefinition(env({ ...planted, ...quiet })),
      'ecs/environment-secret',
    );
    expect(
      found.map((f) => [f.evidence.field?.split('.').pop(), f.secret?.rule, f.secret?.valueHash]),
    ).toEqual(
      Object.entries(planted).map(([name, value], i) => [
        name,
        ['aws-access-key-id', 'aws-secret-access-key', 'private-key', 'secret-name'][i],
        hashed(value),
      ]),
    );
  });

  it('never puts a secret value in any string it produces', () => {
    const findings = checkTaskDefinition(env(planted));
    const everything = JSON.stringify(findings);
    expect(byId(findings, 'ecs/environment-secret')).toHaveLength(4);
    for (const value of Object.values(planted)) {
      expect(everything).not.toContain(value);
      for (const f of findings)
        for (const s of [f.title, f.remediation, ...Object.values(f.evidence)])
          expect(String(s)).not.toContain(value.trim());
    }
    // Pieces of them neither (a key id inside a longer string).
    expect(everything).not.toContain('IOSFODNN7');
    expect(everything).not.toContain('bPxRfiCY');
  });
});

describe('the checks table and docs/checks.md', () => {
  it('has unique ids, and the docs list every id with its severity', () => {
    const checks = Object.values(TASKDEF_CHECKS);
    expect(new Set(checks.map((c) => c.id)).size).toBe(checks.length);
    const docs = readFileSync(path.join(PROJECT_ROOT, 'docs/checks.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## Task definitions'));
    for (const c of checks)
      expect(section, c.id).toMatch(new RegExp(`\\| \`${c.id}\` +\\| ${c.severity} +\\|`));
  });
});
