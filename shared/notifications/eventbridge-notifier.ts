/**
 * Every notification as an EventBridge event too (issue 22, docs/integrations.md): `source` is
 * the deployment's (`bosun` by default), `detail-type` the event type in words (`Findings New`),
 * `detail` the findings topic's message itself, so a rule can match any field of the body
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html).
 *
 * PutEvents takes 10 entries per call, each under 256 KB counted as the API's entry size
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html), and answers
 * 200 with per-entry errors (`FailedEntryCount`): only the failed entries are sent again.
 */
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { backoffMs, sleep } from '../concurrency.js';
import { BosunError } from '../errors.js';
import { EVENT_TYPES, type EventType, type Notifier, type OutgoingMessage } from './message.js';

/** Entries in one PutEvents call at most. */
export const MAX_ENTRIES_PER_CALL = 10;
/** An entry's size must stay under 256 KB; so must a whole request's entries. */
export const MAX_ENTRY_BYTES = 256 * 1024 - 1;
/** `source` when the deployment names none; `aws.` is reserved for AWS services. */
export const DEFAULT_EVENT_SOURCE = 'bosun';

/** PutEvents still failed for some entries after every attempt, or an entry cannot be sent. */
export class EventDeliveryError extends BosunError {
  readonly fatal = false;
}

/** `FINDINGS_NEW` → `Findings New`: the detail-type of each event type. */
export function detailTypeOf(eventType: EventType): string {
  return eventType
    .split('_')
    .map((w) => `${w.charAt(0)}${w.slice(1).toLowerCase()}`)
    .join(' ');
}

/** Every detail-type Bosun sends, by event type (new event types of message.ts flow through). */
export const DETAIL_TYPES: Readonly<Record<EventType, string>> = Object.fromEntries(
  EVENT_TYPES.map((t) => [t, detailTypeOf(t)]),
) as Record<EventType, string>;

/** The entry size as EventBridge counts it: Time 14 bytes, then the UTF-8 bytes of each string. */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((n, r) => n + bytes(r), 0)
  );
}

/** Entries in calls of at most 10 whose sizes together stay under the limit, in order. */
export function entryBatches(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const batches: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    const n = entrySize(entry);
    if (n > MAX_ENTRY_BYTES)
      throw new EventDeliveryError(
        `event ${entry.DetailType} of ${n} bytes is over PutEvents' ${MAX_ENTRY_BYTES}-byte entry limit`,
      );
    if (current.length === MAX_ENTRIES_PER_CALL || size + n > MAX_ENTRY_BYTES) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += n;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export interface PutEventsOptions {
  /** Calls per batch, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** First backoff before a retry of failed entries. @default 200 ms */
  readonly baseDelayMs?: number;
}

/**
 * Sends entries in batches within PutEvents' limits, retrying the entries a call reports failed
 * (throttling, internal failures) with exponential backoff. Resolves to the event ids in the
 * entries' order; throws EventDeliveryError naming the error codes of what never went through.
 */
export async function putEvents(
  client: Pick<EventBridgeClient, 'send'>,
  entries: readonly PutEventsRequestEntry[],
  options: PutEventsOptions = {},
): Promise<string[]> {
  const attempts = options.maxAttempts ?? 4;
  const ids: string[] = [];
  const batches = entryBatches(entries);
  // Loaded on first use, like the client (config/clients.ts).
  const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
  for (const batch of batches) {
    const batchIds: (string | undefined)[] = batch.map(() => undefined);
    let pending = batch.map((_, i) => i);
    let errors: string[] = [];
    for (let attempt = 0; pending.length > 0 && attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(backoffMs(attempt - 1, options.baseDelayMs ?? 200, 5_000));
      const out = await client.send(
        new PutEventsCommand({ Entries: pending.map((i) => batch[i] as PutEventsRequestEntry) }),
      );
      // Result entries are in the order of the request's entries.
      const results = out.Entries ?? [];
      const failed: number[] = [];
      errors = [];
      pending.forEach((index, position) => {
        const result = results[position];
        if (result?.EventId !== undefined && result.ErrorCode === undefined)
          batchIds[index] = result.EventId;
        else {
          failed.push(index);
          errors.push(`${result?.ErrorCode ?? 'no result'}: ${result?.ErrorMessage ?? ''}`);
        }
      });
      pending = failed;
    }
    if (pending.length > 0)
      throw new EventDeliveryError(
        `PutEvents failed for ${pending.length} of ${batch.length} events after ${attempts} attempts (${[...new Set(errors)].join('; ')})`,
      );
    ids.push(...batchIds.map((id) => id ?? ''));
  }
  return ids;
}

export interface EventBridgeTarget {
  /** The bus's name or ARN (an ARN reaches another account's bus). @default the default bus */
  readonly eventBus?: string;
  /** @default DEFAULT_EVENT_SOURCE */
  readonly source?: string;
}

/** The PutEvents entry of one message: its body as `detail`, its time as the event's. */
export function eventEntry(
  message: OutgoingMessage,
  target: EventBridgeTarget = {},
): PutEventsRequestEntry {
  const occurredAt = (JSON.parse(message.body) as { occurredAt?: unknown }).occurredAt;
  const time = typeof occurredAt === 'string' ? new Date(occurredAt) : undefined;
  return {
    Source: target.source ?? DEFAULT_EVENT_SOURCE,
    DetailType: DETAIL_TYPES[message.attributes.eventType],
    // The body is already bounded (message.ts keeps it under 200 KiB), so it fits an entry.
    Detail: message.body,
    ...(target.eventBus === undefined ? {} : { EventBusName: target.eventBus }),
    ...(time === undefined || Number.isNaN(time.getTime()) ? {} : { Time: time }),
  };
}

export class EventBridgeNotifier implements Notifier {
  constructor(
    private readonly client: Pick<EventBridgeClient, 'send'>,
    private readonly target: EventBridgeTarget = {},
    private readonly options: PutEventsOptions = {},
  ) {}

  async publish(message: OutgoingMessage): Promise<string> {
    const [id] = await putEvents(this.client, [eventEntry(message, this.target)], this.options);
    return id ?? '';
  }
}
