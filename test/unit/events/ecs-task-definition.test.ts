/**
 * A task-definition registration as EventBridge delivers it (shared/events/ecs-task-definition.ts),
 * on the CloudTrail events built from the documented RegisterTaskDefinition example
 * (test/fixtures/ecs/task-definitions/README.md): which revision to read.
 */
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../shared/errors.js';
import {
  ecsTaskDefinitionRegisteredEvent,
  revisionToRead,
} from '../../../shared/events/ecs-task-definition.js';
import { parseJsonEvent } from '../../../shared/events/parse.js';
import { fixtureText } from '../../support/fixtures.js';

const parse = (body: string) =>
  parseJsonEvent(ecsTaskDefinitionRegisteredEvent, 'RegisterTaskDefinition', body);
const scenario = (name: string) => fixtureText(`ecs/task-definitions/cloudtrail/${name}.json`);

describe('RegisterTaskDefinition through EventBridge', () => {
  it('reads the registered revision by the ARN of the response', () => {
    const event = parse(scenario('register-sleep360'));
    expect(event.detail.responseElements?.taskDefinition).toEqual({
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:111122223333:task-definition/sleep360:19',
      family: 'sleep360',
      revision: 1,
    });
    expect(revisionToRead(event)).toBe(
      'arn:aws:ecs:us-east-1:111122223333:task-definition/sleep360:19',
    );
  });

  it('reads nothing for a refused call, and the family when the record has no response', () => {
    expect(revisionToRead(parse(scenario('register-refused')))).toBeUndefined();
    expect(revisionToRead(parse(scenario('register-without-response')))).toBe('sleep360');
  });

  it('refuses another call, another detail type and a response ARN that is not one', () => {
    const event = JSON.parse(scenario('register-sleep360'));
    const bad = (change: (e: typeof event) => void) => {
      const copy = structuredClone(event);
      change(copy);
      return () => parse(JSON.stringify(copy));
    };
    expect(bad((e) => (e.detail.eventName = 'DeregisterTaskDefinition'))).toThrow(
      InvalidEventError,
    );
    expect(bad((e) => (e['detail-type'] = 'ECS Task State Change'))).toThrow(/detail-type/);
    expect(
      bad((e) => (e.detail.responseElements.taskDefinition.taskDefinitionArn = 'sleep360:19')),
    ).toThrow(/taskDefinitionArn/);
  });
});
