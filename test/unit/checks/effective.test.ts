/**
 * The join of a running container's task definition and the image it runs
 * (shared/checks/effective.ts): `user` of the container definition ?? the image's default user.
 * The image side is what the image checks compute (shared/checks/user.ts) over Alpine 3.10's
 * real /etc/passwd; the task definitions are the documented examples of test/fixtures/ecs.
 */
import { execFileSync } from 'node:child_process';
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  effectiveChecks,
  type ImageUserFacts,
  workloadUser,
} from '../../../shared/checks/effective.js';
import { effectiveUser, parsePasswd } from '../../../shared/checks/user.js';
import { alpine310Layer } from '../../support/check-images.js';
import { fixtureJson } from '../../support/fixtures.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
let passwd = '';
/** An Alpine image with the config's `User` as given, as the image checks resolve it. */
const alpine = (configUser: string, keepPasswd = false): ImageUserFacts => ({
  effective: effectiveUser(configUser, passwd),
  configUser,
  ...(keepPasswd
    ? { passwd: new Map(parsePasswd(passwd).map((e) => [e.name, e.uid] as const)) }
    : {}),
});

beforeAll(() => {
  passwd = execFileSync('tar', ['-x', '-O', 'etc/passwd'], { input: alpine310Layer() }).toString();
  // The real file: root is uid 0, nobody 65534, guest 405.
  expect(passwd).toMatch(/^root:x:0:0:/m);
  expect(passwd).toMatch(/^nobody:x:65534:/m);
});

/** The documented "Example: Amazon ECR image and task definition IAM role", one container. */
function definition(user?: string): TaskDefinition {
  const td = fixtureJson<TaskDefinition>('ecs/task-definitions/ecr-image-task-role.json');
  return {
    ...td,
    taskDefinitionArn: 'arn:aws:ecs:us-west-2:123456789012:task-definition/example_task_3:4',
    revision: 4,
    containerDefinitions: (td.containerDefinitions ?? []).map((c) => ({
      ...c,
      ...(user === undefined ? {} : { user }),
    })),
  };
}
const run = (td: TaskDefinition, image: ImageUserFacts | undefined) =>
  effectiveChecks({ taskDefinition: td, container: 'sample-app', digest: DIGEST }, image);

describe('runs as root: the task definition user ?? the image default user', () => {
  it.each([['0'], ['0:0'], ['00'], ['root'], ['0:1000']])(
    'a non-root image (USER nobody) run with user %j is root',
    (user) => {
      const [result, ...rest] = run(definition(user), alpine('nobody'));
      expect(rest).toEqual([]);
      expect(result).toMatchObject({
        id: 'ecs/root-user',
        severity: 'MEDIUM',
        evidence: {
          taskDefinition: 'arn:aws:ecs:us-west-2:123456789012:task-definition/example_task_3:4',
          container: 'sample-app',
          field: 'containerDefinitions[].user',
          value: user,
          userSource: 'task-definition',
        },
      });
      expect(result?.evidence.detail).toContain("over the image's non-root");
    },
  );

  it('a root image (no USER) run without user is root, from the image', () => {
    expect(run(definition(), alpine(''))).toEqual([
      expect.objectContaining({
        id: 'ecs/root-user',
        evidence: expect.objectContaining({
          field: 'config.User',
          value: '',
          userSource: 'image',
          detail: expect.stringContaining('no USER is set'),
        }),
      }),
    ]);
  });

  it('a non-root user in the task definition clears a root image', () => {
    for (const user of ['1000', '65534:65534', 'nobody'])
      expect(run(definition(user), alpine('', true)), user).toEqual([]);
    expect(workloadUser('1000', alpine('root'), DIGEST)).toMatchObject({
      kind: 'non-root',
      uid: 1000,
      source: 'task-definition',
    });
  });

  it('a non-root image without a task-definition user is not root', () => {
    expect(run(definition(), alpine('nobody'))).toEqual([]);
    expect(workloadUser(undefined, alpine('nobody'), DIGEST)).toMatchObject({
      kind: 'non-root',
      uid: 65534,
      source: 'image',
    });
  });

  it("resolves a named user through the image's passwd, or its own USER of the same name", () => {
    const toor = { ...alpine('nobody', true), passwd: new Map([['toor', 0]]) };
    expect(run(definition('toor'), toor)[0]?.id).toBe('ecs/root-user');
    expect(workloadUser('nobody', alpine('nobody'), DIGEST)).toMatchObject({
      kind: 'non-root',
      uid: 65534,
    });
  });
});

describe('an unknown user is said, never taken for non-root', () => {
  it('an image not scanned yet: ecs/user-unset naming the digest', () => {
    const [result, ...rest] = run(definition(), undefined);
    expect(rest).toEqual([]);
    expect(result).toMatchObject({
      id: 'ecs/user-unset',
      evidence: { userSource: 'image', field: 'config.User' },
    });
    expect(result?.evidence.detail).toContain(`${DIGEST} is not scanned yet`);
  });

  it('a named user whose uid only the unscanned image knows', () => {
    expect(run(definition('app'), undefined)).toEqual([
      expect.objectContaining({
        id: 'ecs/user-unset',
        evidence: expect.objectContaining({
          userSource: 'task-definition',
          value: 'app',
          detail: expect.stringContaining('its uid is not known'),
        }),
      }),
    ]);
  });

  it('an image whose USER is not in its passwd, and a digest ECS did not report', () => {
    expect(run(definition(), alpine('app'))[0]?.evidence.detail).toContain(
      "not in the image's /etc/passwd",
    );
    expect(workloadUser(undefined, undefined, undefined).why).toContain(
      'ECS did not report the digest',
    );
  });

  it('but a numeric user needs no image facts', () => {
    expect(run(definition('0'), undefined)[0]?.id).toBe('ecs/root-user');
    expect(run(definition('1000'), undefined)).toEqual([]);
  });
});

describe('where user does not apply', () => {
  it('says nothing of Windows containers', () => {
    const td = {
      ...definition('0'),
      runtimePlatform: { operatingSystemFamily: 'WINDOWS_SERVER_2019_CORE' as const },
    };
    expect(run(td, undefined)).toEqual([]);
  });

  it('says a container the definition does not have is not known', () => {
    const [result] = effectiveChecks(
      { taskDefinition: definition(), container: 'sidecar', digest: DIGEST },
      alpine('nobody'),
    );
    expect(result?.evidence.detail).toContain('no container named "sidecar"');
    expect(result?.id).toBe('ecs/user-unset');
  });
});
