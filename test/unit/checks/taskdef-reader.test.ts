/**
 * From a registration to findings: the documented RegisterTaskDefinition event names the
 * revision, DescribeTaskDefinition reads it through a real ECSClient answered at its request
 * handler as the ECS API reference documents it (awsJson1_1, bodies typed by the SDK), and the
 * checks run on what ECS answered.
 */
import type { DescribeTaskDefinitionCommandOutput, TaskDefinition } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { checkTaskDefinition } from '../../../shared/checks/taskdef.js';
import {
  readTaskDefinition,
  TaskDefinitionReadError,
} from '../../../shared/checks/taskdef-reader.js';
import {
  ecsTaskDefinitionRegisteredEvent,
  revisionToRead,
} from '../../../shared/events/ecs-task-definition.js';
import { parseJsonEvent } from '../../../shared/events/parse.js';
import { fixtureJson, fixtureText } from '../../support/fixtures.js';
import { type Answer, fakeEcs, type SeenRequest } from '../workloads/sdk-fakes.js';

type Out<T> = Omit<T, '$metadata'>;
const REGION = 'us-east-1';
const ACCOUNT = '111122223333';

/** An ECS that holds the given registrations (documented inputs), as DescribeTaskDefinition answers. */
function ecsHolding(registered: TaskDefinition[]) {
  const stored = registered.map((td, i) => ({
    ...td,
    taskDefinitionArn:
      td.taskDefinitionArn ??
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${td.family}:${i + 1}`,
    revision: td.revision ?? i + 1,
    status: 'ACTIVE' as const,
  }));
  return fakeEcs((r: SeenRequest): Answer => {
    const wanted = r.body.taskDefinition as string;
    const found = stored.find(
      (td) =>
        td.taskDefinitionArn === wanted ||
        `${td.family}:${td.revision}` === wanted ||
        td.family === wanted,
    );
    if (r.target !== 'DescribeTaskDefinition' || found === undefined)
      return {
        status: 400,
        body: { __type: 'ClientException', message: 'Unable to describe task definition.' },
      };
    return { body: { taskDefinition: found } satisfies Out<DescribeTaskDefinitionCommandOutput> };
  });
}

const documented = (name: string) =>
  fixtureJson<TaskDefinition>(`ecs/task-definitions/${name}.json`);

describe('registered task definitions, read and checked', () => {
  it('checks the revision the documented registration event names', async () => {
    const event = parseJsonEvent(
      ecsTaskDefinitionRegisteredEvent,
      'RegisterTaskDefinition',
      fixtureText('ecs/task-definitions/cloudtrail/register-sleep360.json'),
    );
    const registered = event.detail.responseElements?.taskDefinition as TaskDefinition;
    const response = fixtureJson<{
      detail: { responseElements: { taskDefinition: TaskDefinition } };
    }>('ecs/task-definitions/cloudtrail/register-sleep360.json').detail.responseElements
      .taskDefinition;
    const { client, seen } = ecsHolding([response]);
    const arn = revisionToRead(event) as string;
    const td = await readTaskDefinition(client, arn);
    expect(seen.map((r) => [r.target, r.body])).toEqual([
      ['DescribeTaskDefinition', { taskDefinition: arn }],
    ]);
    expect(td?.taskDefinitionArn).toBe(registered.taskDefinitionArn);
    expect(
      checkTaskDefinition(td as TaskDefinition).map((f) => [f.id, f.evidence.container]),
    ).toEqual([
      ['ecs/user-unset', 'sleep'],
      ['ecs/writable-root-filesystem', 'sleep'],
      ['ecs/capabilities-not-dropped', 'sleep'],
    ]);
    client.destroy();
  });

  it('reads each documented example back as registered, and finds the same by its ARN', async () => {
    const names = [
      'webserver-fargate',
      'windows-webserver-fargate',
      'ecr-image-task-role',
      'entrypoint-command',
      'container-dependency',
    ];
    const { client } = ecsHolding(names.map(documented));
    for (const [i, name] of names.entries()) {
      const td = await readTaskDefinition(client, `${documented(name).family}:${i + 1}`);
      expect(td?.containerDefinitions, name).toEqual(documented(name).containerDefinitions);
      const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${documented(name).family}:${i + 1}`;
      expect(
        checkTaskDefinition(td as TaskDefinition).map((f) => f.evidence.taskDefinition),
        name,
      ).toEqual(checkTaskDefinition(documented(name)).map(() => arn));
    }
    client.destroy();
  });

  it('finds the documented hello_world secret through the client', async () => {
    const { client } = ecsHolding([
      fixtureJson<{ taskDefinition: TaskDefinition }>(
        'ecs/task-definitions/hello-world-describe.json',
      ).taskDefinition,
    ]);
    const td = await readTaskDefinition(client, 'hello_world:8');
    const secrets = checkTaskDefinition(td as TaskDefinition).filter(
      (f) => f.id === 'ecs/environment-secret',
    );
    expect(secrets.map((f) => f.evidence.container)).toEqual(['mysql']);
    client.destroy();
  });

  it('answers nothing for a revision ECS cannot describe, and a typed error for a refusal', async () => {
    const { client } = ecsHolding([]);
    expect(await readTaskDefinition(client, 'sleep360:404')).toBeUndefined();
    client.destroy();
    const denied = fakeEcs(() => ({
      status: 400,
      body: {
        __type: 'AccessDeniedException',
        message: 'User is not authorized to perform: ecs:DescribeTaskDefinition',
      },
    }));
    const refused = readTaskDefinition(denied.client, 'sleep360:19');
    await expect(refused).rejects.toBeInstanceOf(TaskDefinitionReadError);
    await expect(refused).rejects.toThrow(/sleep360:19: AccessDeniedException/);
    denied.client.destroy();
    const empty = fakeEcs(() => ({ body: {} }));
    await expect(readTaskDefinition(empty.client, 'sleep360:19')).rejects.toThrow(
      /has no taskDefinition/,
    );
    empty.client.destroy();
  });
});
