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
