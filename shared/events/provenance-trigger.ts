/**
 * What invokes the provenance function, as EventBridge delivers it: its daily schedule (expiry,
 * revocation), an S3 "Object Created" event on the policy or a trust object, and a Parameter
 * Store change of the policy parameter. A change means the material is read again at once; the
 * schedule may use what the container read within the last minutes.
 *
 * - Scheduled events: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
 * - S3 events: https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
 * - Parameter Store events: https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html#SSM-Parameter-Store-event-types
 */
import * as z from 'zod';

const envelope = {
  version: z.string(),
  id: z.string().min(1),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
};

const scheduled = z.object({
  ...envelope,
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
});

const objectCreated = z.object({
  ...envelope,
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  detail: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({ key: z.string().min(1) }),
  }),
});

const parameterChanged = z.object({
  ...envelope,
  source: z.literal('aws.ssm'),
  'detail-type': z.literal('Parameter Store Change'),
  detail: z.object({ name: z.string().min(1), operation: z.string().min(1) }),
});

export const provenanceTriggerEvent = z.union([scheduled, objectCreated, parameterChanged]);
export type ProvenanceTriggerEvent = z.infer<typeof provenanceTriggerEvent>;

export interface ProvenanceTrigger {
  readonly kind: 'schedule' | 'object' | 'parameter';
  /** Read the policy and trust material again before the pass (it changed). */
  readonly fresh: boolean;
  /** What changed: `s3://bucket/key`, the parameter's name; undefined for the schedule. */
  readonly changed?: string;
}

export function triggerOf(event: ProvenanceTriggerEvent): ProvenanceTrigger {
  switch (event.source) {
    case 'aws.events':
      return { kind: 'schedule', fresh: false };
    case 'aws.s3':
      return {
        kind: 'object',
        fresh: true,
        changed: `s3://${event.detail.bucket.name}/${event.detail.object.key}`,
      };
    case 'aws.ssm':
      return { kind: 'parameter', fresh: true, changed: event.detail.name };
  }
}
