/**
 * A new ECS task-definition revision, as EventBridge delivers it.
 *
 * Amazon ECS sends no task-definition event of its own: the events it documents are container
 * instance, task, deployment state changes and service actions
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html), and the
 * EventBridge schema registry's `aws.ecs` schemas are those plus `AWS API Call via CloudTrail`.
 * A registration reaches EventBridge as that CloudTrail event
 * (https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html,
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html):
 * `eventSource` `ecs.amazonaws.com`, `eventName` `RegisterTaskDefinition`, the request in
 * `requestParameters` and RegisterTaskDefinition's response
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html)
 * in `responseElements`. Only the fields that say which revision to read are validated; the
 * definition itself is read with DescribeTaskDefinition (checks/taskdef-reader.ts), so what is
 * checked is what ECS stored, not what a request asked for.
 */
import * as z from 'zod';

export const ecsTaskDefinitionRegisteredEvent = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  source: z.literal('aws.ecs'),
  account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().min(1),
  resources: z.array(z.string()),
  detail: z.object({
    eventSource: z.literal('ecs.amazonaws.com'),
    eventName: z.literal('RegisterTaskDefinition'),
    eventTime: z.iso.datetime({ offset: true }),
    awsRegion: z.string().min(1),
    // A refused call (AccessDenied, ClientException) is recorded too, with no response.
    errorCode: z.string().optional(),
    errorMessage: z.string().optional(),
    requestParameters: z.object({ family: z.string().min(1) }).nullish(),
    // null when the record carries no response (CloudTrail's record contents allow it); the
    // request's family then still names the task definition.
    responseElements: z
      .object({
        taskDefinition: z.object({
          taskDefinitionArn: z.string().startsWith('arn:'),
          family: z.string().optional(),
          revision: z.number().int().positive().optional(),
        }),
      })
      .nullish(),
  }),
});

export type EcsTaskDefinitionRegisteredEvent = z.infer<typeof ecsTaskDefinitionRegisteredEvent>;

/**
 * Which revision to read: the registered revision's ARN; the family (its latest ACTIVE
 * revision) when CloudTrail left the response out; nothing when the call failed.
 */
export function revisionToRead(event: EcsTaskDefinitionRegisteredEvent): string | undefined {
  const d = event.detail;
  if (d.errorCode !== undefined) return undefined;
  return d.responseElements?.taskDefinition.taskDefinitionArn ?? d.requestParameters?.family;
}
