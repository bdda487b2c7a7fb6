/**
 * The "ECS Task State Change" event schema (shared/events/ecs-task.ts) on the event AWS
 * documents and the scenarios built from it (test/fixtures/ecs/README.md).
 */
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../shared/errors.js';
import { ecsTaskStateChangeEvent } from '../../../shared/events/ecs-task.js';
import { parseJsonEvent } from '../../../shared/events/parse.js';
import { fixtureText } from '../../support/fixtures.js';

const parse = (body: string) =>
  parseJsonEvent(ecsTaskStateChangeEvent, 'ECS Task State Change', body);
const scenario = (name: string) => fixtureText(`ecs/task-state-change/${name}.json`);

describe('ECS Task State Change', () => {
  it('reads the documented example: the task, its definition and the container digest', () => {
    const event = parse(scenario('running'));
    expect(event.detail).toMatchObject({
      clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster',
      taskArn:
        'arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad',
      taskDefinitionArn: 'arn:aws:ecs:us-west-2:111122223333:task-definition/sample-fargate:1',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      version: 4,
    });
    expect(event.detail.containers).toEqual([
      {
        name: 'FargateApp',
        containerArn:
          'arn:aws:ecs:us-west-2:111122223333:container/cf159fd6-3e3f-4a9e-84f9-66cbe726af01',
        image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/hello-repository:latest',
        imageDigest: 'sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6',
        lastStatus: 'RUNNING',
        taskArn:
          'arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad',
      },
    ]);
  });

  it('reads a pending task without a digest and a stopped one with its times', () => {
    expect(parse(scenario('pending')).detail.containers[0]?.imageDigest).toBeUndefined();
    const stopped = parse(scenario('stopped')).detail;
    expect(stopped).toMatchObject({
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stoppedAt: '2020-01-23T18:12:03.655Z',
      stoppedReason: 'Essential container in task exited',
    });
  });

  it('refuses another detail type, a digest that is not sha256 and a task without its ARN', () => {
    const event = JSON.parse(scenario('running'));
    const bad = (change: (e: typeof event) => void) => {
      const copy = structuredClone(event);
      change(copy);
      return () => parse(JSON.stringify(copy));
    };
    expect(bad((e) => (e['detail-type'] = 'ECS Container Instance State Change'))).toThrow(
      InvalidEventError,
    );
    expect(bad((e) => (e.detail.containers[0].imageDigest = 'sha256:74b2'))).toThrow(
      /sha256:<64 hex digits>/,
    );
    expect(bad((e) => delete e.detail.taskArn)).toThrow(/taskArn/);
  });
});
