/**
 * The message a feed sync sends to the rescan queue: one package whose advisories changed.
 * Ecosystems are OSV's names, with the release where the ecosystem has one (`Debian:12`).
 */
import * as z from 'zod';

export const packageChange = z.object({
  ecosystem: z.string().min(1).max(100),
  name: z.string().min(1).max(1000),
  change: z.enum(['added', 'modified', 'withdrawn']),
  advisoryIds: z.array(z.string().min(1)).min(1).max(1000),
});

export const rescanMessage = z.object({
  version: z.literal(1),
  source: z.string().min(1),
  changes: z.array(packageChange).min(1).max(500),
});

export type PackageChange = z.infer<typeof packageChange>;
export type RescanMessage = z.infer<typeof rescanMessage>;

/**
 * What the schedule sends the rescan queue (infra/constructs/rescan.ts): sweep the suppressions
 * and VEX documents that expired since the last sweep (pipeline/decisions.ts).
 */
export const decisionSweepMessage = z.object({
  version: z.literal(1),
  kind: z.literal('sweep-expired-decisions'),
});

/** Either message the rescan queue carries. */
export const rescanQueueMessage = z.union([rescanMessage, decisionSweepMessage]);
export type RescanQueueMessage = z.infer<typeof rescanQueueMessage>;
