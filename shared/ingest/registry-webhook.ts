/**
 * The registry webhook's work: check the shared secret, read the notification envelope, and
 * send one scan request per pushed or deleted manifest to the scan queue. The Lambda handler
 * (functions/registry-webhook) only adapts the function URL event to this.
 *
 * The registry is configured to send `Authorization: Bearer <secret>` with each notification
 * (distribution's endpoint `headers` setting).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { InvalidEventError } from '../errors.js';
import {
  parseRegistryNotification,
  scanRequestsFromNotification,
} from '../events/registry-notification.js';
import { scanRequestBody } from '../events/scan-request.js';
import { QueueSendError, sendMessages } from '../queues/send.js';

export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export interface WebhookRequest {
  readonly method: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

export interface WebhookResponse {
  readonly statusCode: number;
  readonly body: string;
}

/** Compares in constant time (both sides hashed first, so their lengths are equal). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const reply = (statusCode: number, body: unknown): WebhookResponse => ({
  statusCode,
  body: JSON.stringify(body),
});

export async function handleRegistryWebhook(
  request: WebhookRequest,
  deps: {
    secret: string;
    sqs: SQSClient;
    scanQueueUrl: string;
    /** Registry hosts (`host[:port]`) whose notifications are accepted. */
    registries: ReadonlySet<string>;
  },
): Promise<WebhookResponse & { requests?: number; skipped?: number }> {
  if (request.method !== 'POST') return reply(405, { error: 'POST only' });
  const auth = request.headers.authorization ?? '';
  if (!auth.startsWith('Bearer ') || !sameSecret(auth.slice(7), deps.secret))
    return reply(401, { error: 'missing or wrong shared secret' });
  if (Buffer.byteLength(request.body) > MAX_WEBHOOK_BODY_BYTES)
    return reply(413, { error: `body over ${MAX_WEBHOOK_BODY_BYTES} bytes` });
  let envelope: ReturnType<typeof parseRegistryNotification>;
  try {
    envelope = parseRegistryNotification(request.body);
  } catch (error) {
    if (error instanceof InvalidEventError) return reply(400, { error: error.message });
    throw error;
  }
  const { requests, skipped } = scanRequestsFromNotification(envelope, deps.registries);
  try {
    await sendMessages(deps.sqs, deps.scanQueueUrl, requests.map(scanRequestBody), 3);
  } catch (error) {
    // The registry retries a notification it could not deliver; a 5xx makes it do so.
    if (error instanceof QueueSendError)
      return reply(503, { error: 'scan queue did not accept every request' });
    throw error;
  }
  return {
    ...reply(202, { requests: requests.length, skipped: skipped.length }),
    requests: requests.length,
    skipped: skipped.length,
  };
}
