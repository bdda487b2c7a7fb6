/**
 * Amazon ECS's EventBridge "ECS Task State Change" event, as AWS documents it:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
 * Its `detail` resembles DescribeTasks' Task
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html) with ISO timestamps;
 * `imageDigest` is on a container once its image was pulled. Only the fields the workload
 * inventory reads are validated; AWS adds fields over time, and unknown ones are ignored.
 */
import * as z from 'zod';
import { imageDigest } from './ecr.js';

/** Task and container states: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html */
const ecsStatus = z.string().min(1);

export const ecsContainer = z.object({
  name: z.string().min(1),
  containerArn: z.string().optional(),
  image: z.string().min(1).optional(),
  imageDigest: imageDigest.optional(),
  lastStatus: ecsStatus.optional(),
  taskArn: z.string().optional(),
});

export const ecsTaskStateChangeEvent = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('ECS Task State Change'),
  source: z.literal('aws.ecs'),
  account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().min(1),
  resources: z.array(z.string()),
  detail: z.object({
    clusterArn: z.string().startsWith('arn:'),
    taskArn: z.string().startsWith('arn:'),
    taskDefinitionArn: z.string().startsWith('arn:'),
    lastStatus: ecsStatus,
    desiredStatus: ecsStatus,
    containers: z.array(ecsContainer),
    group: z.string().optional(),
    updatedAt: z.iso.datetime({ offset: true }).optional(),
    stoppedAt: z.iso.datetime({ offset: true }).optional(),
    stoppedReason: z.string().optional(),
    // Bumped by every change of the task: events can arrive out of order.
    version: z.number().int().nonnegative(),
  }),
});

export type EcsTaskStateChangeEvent = z.infer<typeof ecsTaskStateChangeEvent>;
