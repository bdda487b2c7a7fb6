/**
 * The message on the feed-sync queue: the schedule sends `{"version":1}` (sync every configured
 * source); a sync that runs out of time sends `{"version":1,"source":"osv:PyPI"}` to continue
 * that source from its checkpoint.
 */
import * as z from 'zod';

export const feedSyncMessage = z
  .object({ version: z.literal(1), source: z.string().min(1).max(200).optional() })
  .strict();

export type FeedSyncMessage = z.infer<typeof feedSyncMessage>;
