/**
 * What invokes the audit function, as EventBridge delivers it: an ECS "Task State Change"
 * (shared/events/ecs-task.ts), a RegisterTaskDefinition call through CloudTrail
 * (shared/events/ecs-task-definition.ts) or its reconcile schedule's "Scheduled Event"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html).
 */
import * as z from 'zod';
import { ecsTaskStateChangeEvent } from './ecs-task.js';
import { ecsTaskDefinitionRegisteredEvent } from './ecs-task-definition.js';

export const auditScheduleEvent = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('Scheduled Event'),
  source: z.literal('aws.events'),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
});

export const auditTriggerEvent = z.union([
  ecsTaskStateChangeEvent,
  auditScheduleEvent,
  // A new task-definition revision (CloudTrail): its checks (pipeline/taskdef-checks.ts).
  ecsTaskDefinitionRegisteredEvent,
]);
export type AuditTriggerEvent = z.infer<typeof auditTriggerEvent>;
