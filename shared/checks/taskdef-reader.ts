/**
 * Reads one task-definition revision with DescribeTaskDefinition
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html):
 * by full ARN or `family:revision` for that revision, by family alone for the latest ACTIVE
 * one. An INACTIVE revision can be described only while a task or service still uses it, so a
 * revision that is gone is an answer (`undefined`), not a failure; other refusals are errors.
 */
import {
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  type ECSClient,
  ECSServiceException,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { BosunError } from '../errors.js';

/** DescribeTaskDefinition refused or answered without a task definition. */
export class TaskDefinitionReadError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly taskDefinition: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read task definition ${taskDefinition}: ${reason}`, options);
  }
}

/**
 * ECS answers a revision that does not exist (or no longer can be described) with a
 * ClientException whose message says so; there is no dedicated error code.
 */
const GONE = /unable to describe task definition|does not exist|not found/i;

export async function readTaskDefinition(
  ecs: ECSClient,
  taskDefinition: string,
): Promise<TaskDefinition | undefined> {
  let answer: DescribeTaskDefinitionCommandOutput;
  try {
    answer = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  } catch (cause) {
    if (
      cause instanceof ECSServiceException &&
      cause.name === 'ClientException' &&
      GONE.test(cause.message)
    )
      return undefined;
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new TaskDefinitionReadError(taskDefinition, reason, { cause });
  }
  if (answer.taskDefinition === undefined)
    throw new TaskDefinitionReadError(taskDefinition, 'the answer has no taskDefinition');
  return answer.taskDefinition;
}
