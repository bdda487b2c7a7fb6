/**
 * Notifications as EventBridge events: the entry each message makes (source, detail-type in
 * words, the message as detail, the bus, the event's time), PutEvents' limits (10 entries and
 * 256 KB per call, the largest message fitting one entry), and failed entries sent again alone.
 * EventBridge is a real SDK client answered at its request handler (sdk-fakes.ts).
 */
import { describe, expect, it } from 'vitest';
import { rate } from '../../../shared/advisories/severity.js';
import {
  DETAIL_TYPES,
  EventBridgeNotifier,
  EventDeliveryError,
  entrySize,
  eventEntry,
  MAX_ENTRY_BYTES,
  putEvents,
} from '../../../shared/notifications/eventbridge-notifier.js';
import {
  buildMessage,
  dedupeKey,
  EVENT_TYPES,
  type OutgoingMessage,
} from '../../../shared/notifications/message.js';
import type { FindingRecord } from '../../../shared/stores/findings-store.js';
import { npmAdvisories } from '../../support/pipeline.js';
import { fakeEventBridge, putEventsOk } from '../integrations/sdk-fakes.js';

const DIGEST = `sha256:${'cd'.repeat(32)}`;
const BUS = 'arn:aws:events:us-west-2:111122223333:event-bus/security';

/** One finding per real npm advisory, at `copies` long install paths. */
function findingsOf(copies: number): FindingRecord[] {
  return npmAdvisories().flatMap((record) => {
    const affected = record.affected?.[0];
    const name = affected?.package?.name ?? 'unknown';
    return Array.from({ length: copies }, (_, i) => ({
      digest: DIGEST,
      packageKey: `npm#${name}`,
      installedVersion: '0.0.1',
      vulnerabilityId: record.id,
      ids: [record.id, ...(record.aliases ?? [])].sort(),
      advisoryIds: [record.id],
      status: 'ACTIVE' as const,
      severity: rate(record, affected),
      packageName: name,
      location: `srv/app/${'node_modules/deeply/nested/'.repeat(80)}${name}/${i}/package.json`,
      firstObservedAt: '2026-11-29T00:00:00Z',
      lastObservedAt: '2026-11-29T00:00:00Z',
    }));
  });
}

function message(
  findings: readonly FindingRecord[],
  eventType = 'FINDINGS_NEW' as const,
): OutgoingMessage {
  return buildMessage({
    eventType,
    dedupeKey: dedupeKey(
      eventType,
      DIGEST,
      findings.map((f) => f.vulnerabilityId),
    ),
    occurredAt: '2026-12-01T10:00:00.000Z',
    trigger: 'push',
    image: {
      digest: DIGEST,
      registry: 'registry.example.test',
      repositories: ['team/app'],
      tags: [],
    },
    findings,
  });
}

describe('EventBridge events', () => {
  it('names every event type in words, within detail-type limits, one name each', () => {
    expect(Object.keys(DETAIL_TYPES)).toEqual([...EVENT_TYPES]);
    expect(DETAIL_TYPES.FINDINGS_NEW).toBe('Findings New');
    expect(DETAIL_TYPES.SCAN_COMPLETED).toBe('Scan Completed');
    const names = Object.values(DETAIL_TYPES);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(128);
  });

  it('sends a message as one event on the given bus: its body as detail, its time', async () => {
    const { client, seen } = fakeEventBridge(putEventsOk);
    const m = message(findingsOf(1).slice(0, 3));
    const id = await new EventBridgeNotifier(client, {
      eventBus: BUS,
      source: 'bosun.prod',
    }).publish(m);
    expect(id).toBe('event-0');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.target).toBe('PutEvents');
    const [entry] = (seen[0]?.body.Entries ?? []) as Record<string, unknown>[];
    expect(entry).toEqual({
      Source: 'bosun.prod',
      DetailType: 'Findings New',
      Detail: m.body,
      EventBusName: BUS,
      // awsJson timestamps are epoch seconds.
      Time: Date.parse('2026-12-01T10:00:00.000Z') / 1000,
    });
    expect(JSON.parse(entry?.Detail as string).dedupeKey).toBe(m.dedupeKey);
  });

  it('defaults to the source bosun on the default bus', () => {
    const entry = eventEntry(message([]), {});
    expect(entry.Source).toBe('bosun');
    expect(entry.EventBusName).toBeUndefined();
  });

  it('fits the largest message a notification can be in one entry', () => {
    const findings = findingsOf(20);
    const m = message(findings);
    // The message is bounded by its own size rule, not by the number of findings.
    expect(JSON.parse(m.body).findingsOmitted).toBeGreaterThan(0);
    expect(Buffer.byteLength(m.body)).toBeGreaterThan(180_000);
    expect(entrySize(eventEntry(m, { eventBus: BUS, source: 'bosun' }))).toBeLessThan(
      MAX_ENTRY_BYTES,
    );
  });

  it('sends 25 entries as calls of 10, 10 and 5, and large ones fewer per call', async () => {
    const { client, seen } = fakeEventBridge(putEventsOk);
    const small = eventEntry(message(findingsOf(1).slice(0, 1)));
    const ids = await putEvents(
      client,
      Array.from({ length: 25 }, () => small),
    );
    expect(ids).toHaveLength(25);
    expect(seen.map((c) => (c.body.Entries as unknown[]).length)).toEqual([10, 10, 5]);

    const big = eventEntry(message(findingsOf(20)));
    const large = fakeEventBridge(putEventsOk);
    await putEvents(large.client, [big, big, big]);
    const perCall = large.seen.map((c) => c.body.Entries as { Detail: string }[]);
    expect(perCall.length).toBe(3);
    for (const entries of perCall)
      expect(entries.reduce((n, e) => n + Buffer.byteLength(e.Detail), 0)).toBeLessThan(
        MAX_ENTRY_BYTES,
      );
  });

  it('sends again only the entries a call reports failed, keeping the ids in order', async () => {
    const entries = Array.from({ length: 4 }, (_, i) =>
      eventEntry(message(findingsOf(1).slice(i, i + 1))),
    );
    const { client, seen } = fakeEventBridge((call, index) => {
      const sent = call.body.Entries as unknown[];
      if (index === 0)
        return {
          body: {
            FailedEntryCount: 2,
            Entries: sent.map((_, i) =>
              i % 2 === 1
                ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }
                : { EventId: `first-${i}` },
            ),
          },
        };
      return {
        body: { FailedEntryCount: 0, Entries: sent.map((_, i) => ({ EventId: `retry-${i}` })) },
      };
    });
    const ids = await putEvents(client, entries, { baseDelayMs: 1 });
    expect(ids).toEqual(['first-0', 'retry-0', 'first-2', 'retry-1']);
    expect(seen.map((c) => (c.body.Entries as { Detail: string }[]).map((e) => e.Detail))).toEqual([
      entries.map((e) => e.Detail),
      [entries[1]?.Detail, entries[3]?.Detail],
    ]);
  });

  it('throws EventDeliveryError naming the error when entries keep failing', async () => {
    const { client, seen } = fakeEventBridge((call) => ({
      body: {
        FailedEntryCount: 1,
        Entries: (call.body.Entries as unknown[]).map(() => ({
          ErrorCode: 'InternalFailure',
          ErrorMessage: 'try again',
        })),
      },
    }));
    const notifier = new EventBridgeNotifier(client, {}, { maxAttempts: 3, baseDelayMs: 1 });
    const error = await notifier.publish(message([])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventDeliveryError);
    expect((error as Error).message).toContain('InternalFailure');
    expect(seen).toHaveLength(3);
  });
});
