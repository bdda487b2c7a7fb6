/**
 * One notification, several destinations (the findings topic, then EventBridge: issue 22). Each
 * destination is delivered, and recorded as delivered, on its own: announce.ts's sendOnce keeps
 * a dedupe record per destination, so when one fails the others' deliveries stand and a retry
 * sends only what is missing. The first destination's record keeps the message's bare dedupe
 * key, which is the record deployments before the fan-out wrote: an upgrade resends nothing.
 */
import { BosunError } from '../errors.js';
import type { Notifier, OutgoingMessage } from './message.js';

export interface NotificationTarget {
  /** Names the target in its dedupe records (`<dedupe key>#<name>`) and in errors. */
  readonly name: string;
  readonly notifier: Notifier;
}

/** One destination of a message, with the dedupe record that says it was delivered. */
export interface Delivery {
  readonly target: string;
  readonly dedupeKey: string;
  readonly notifier: Notifier;
}

/** Some destinations of a message failed; the others were delivered (and recorded). */
export class NotificationDeliveryError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly failures: readonly { target: string; error: unknown }[],
    dedupeKey: string,
  ) {
    super(
      `message ${dedupeKey} was not delivered to ${failures
        .map((f) => `${f.target} (${(f.error as Error).message ?? String(f.error)})`)
        .join(', ')}`,
      { cause: failures[0]?.error },
    );
  }
}

export class FanOutNotifier implements Notifier {
  readonly targets: readonly NotificationTarget[];

  constructor(targets: readonly NotificationTarget[]) {
    if (targets.length === 0) throw new Error('a fan-out needs at least one target');
    const names = targets.map((t) => t.name);
    if (new Set(names).size !== names.length)
      throw new Error(`fan-out target names repeat: ${names.join(', ')}`);
    this.targets = targets;
  }

  /** The deliveries of one message: the first target under the bare key, the rest suffixed. */
  deliveries(dedupeKey: string): Delivery[] {
    return this.targets.map((t, i) => ({
      target: t.name,
      dedupeKey: i === 0 ? dedupeKey : `${dedupeKey}#${t.name}`,
      notifier: t.notifier,
    }));
  }

  /**
   * Without dedupe records (sendOnce keeps them): every target is tried, and a failure of any is
   * thrown after the rest were tried. Resolves to the first target's message id.
   */
  async publish(message: OutgoingMessage): Promise<string> {
    const ids: string[] = [];
    const failures: { target: string; error: unknown }[] = [];
    for (const t of this.targets) {
      try {
        ids.push(await t.notifier.publish(message));
      } catch (error) {
        failures.push({ target: t.name, error });
      }
    }
    if (failures.length > 0) throw new NotificationDeliveryError(failures, message.dedupeKey);
    return ids[0] ?? '';
  }
}

/** The deliveries of a message through any notifier: one, or a fan-out's several. */
export function deliveriesOf(notifier: Notifier, dedupeKey: string): Delivery[] {
  return notifier instanceof FanOutNotifier
    ? notifier.deliveries(dedupeKey)
    : [{ target: 'notifier', dedupeKey, notifier }];
}

/** Where deliveries are recorded: the findings table's `NOTIFY#` items (FindingsStore). */
export interface DeliveryLedger {
  notified(dedupeKey: string): Promise<boolean>;
  markNotified(dedupeKey: string, messageId: string, sentAt: string): Promise<boolean>;
}

/**
 * Publishes a message to each destination that has not had it yet, recording each delivery:
 * with a fan-out every destination has its own record, so a destination that fails neither
 * loses the others' deliveries nor makes a retry send them twice. True when the first
 * destination (the topic) was sent to now; throws, after trying every destination, when any
 * failed (a single notifier's own error, a fan-out's NotificationDeliveryError).
 */
export async function deliverOnce(
  notifier: Notifier,
  ledger: DeliveryLedger,
  message: OutgoingMessage,
  sentAt: string,
): Promise<boolean> {
  let sent = false;
  const failures: { target: string; error: unknown }[] = [];
  for (const [index, delivery] of deliveriesOf(notifier, message.dedupeKey).entries()) {
    if (await ledger.notified(delivery.dedupeKey)) continue;
    try {
      const id = await delivery.notifier.publish(message);
      // A stop between publish and this write is the one way a message goes out twice; it
      // carries the same dedupeKey (body and attribute), so subscribers can drop the copy.
      await ledger.markNotified(delivery.dedupeKey, id, sentAt);
      if (index === 0) sent = true;
    } catch (error) {
      failures.push({ target: delivery.target, error });
    }
  }
  if (failures.length === 0) return sent;
  if (failures.length === 1 && !(notifier instanceof FanOutNotifier)) throw failures[0]?.error;
  throw new NotificationDeliveryError(failures, message.dedupeKey);
}
