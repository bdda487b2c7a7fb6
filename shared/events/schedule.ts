/**
 * The event EventBridge Scheduler or a scheduled rule delivers to `feed-sync`:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
 */
import { z } from 'zod';

export const scheduledEvent = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('Scheduled Event'),
  source: z.literal('aws.events'),
  account: z.string().regex(/^\d{12}$/),
  time: z.iso.datetime({ offset: true }),
  region: z.string().min(1),
  resources: z.array(z.string()),
  detail: z.record(z.string(), z.unknown()),
});

export type ScheduledEvent = z.infer<typeof scheduledEvent>;
