/**
 * The registry webhook's work: find which registry sent the request by the secret it proves,
 * refuse replays, read the notification envelope, and send one scan request per pushed or
 * deleted manifest of that registry to the scan queue. The Lambda handler
 * (functions/registry-webhook) only adapts the function URL event to this.
 *
 * Each registry has a secret of its own, and proves it one of two ways:
 * - signed (preferred): `X-Bosun-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 *   "<t>.<body>")>`; the timestamp is signed, so a request older than the replay window is
 *   refused whole, and the secret never travels;
 * - bearer, for registries that can only send fixed headers (CNCF distribution's endpoint
 *   `headers`): `Authorization: Bearer <secret>`; each event's own `timestamp` must then be
 *   within the replay window.
 * Either way each event id is recorded once (a conditional put, kept longer than the window):
 * a replayed or redelivered event queues nothing, so a replayed `delete` cannot close findings.
 * The registry is the one whose secret matched; an event naming another host is skipped, so one
 * registry cannot speak for another.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { mapLimit } from '../concurrency.js';
import { InvalidEventError } from '../errors.js';
import {
  parseRegistryNotification,
  scanRequestsFromNotification,
} from '../events/registry-notification.js';
import { type ScanRequest, scanRequestBody } from '../events/scan-request.js';
import { QueueSendError, sendMessages } from '../queues/send.js';

export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
/** Default replay window: Stripe's and Slack's choice for signed webhooks. */
export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;
export const SIGNATURE_HEADER = 'x-bosun-signature';

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

/** One registry the webhook serves and the secrets it may prove. */
export interface RegistryCredentials {
  /** `host[:port]`, as the registry's events name it (`request.host`). */
  readonly host: string;
  /**
   * The accepted secrets: the current one, and the previous one during its grace after a
   * rotation. `fresh` asks to read them again (after a request matched none: a rotation).
   */
  secrets(fresh?: boolean): Promise<readonly string[]>;
}

/** Where event ids are recorded (shared/ingest/event-ledger.ts). */
export interface EventLedger {
  /** Records the event until `expiresAt` (epoch seconds); false when it already was. */
  claim(registry: string, eventId: string, expiresAt: number): Promise<boolean>;
  /** Forgets a claim whose scan request could not be queued, so the redelivery is taken. */
  release(registry: string, eventId: string): Promise<void>;
}

export interface WebhookDeps {
  readonly registries: readonly RegistryCredentials[];
  readonly ledger: EventLedger;
  readonly sqs: SQSClient;
  readonly scanQueueUrl: string;
  /** @default DEFAULT_REPLAY_WINDOW_SECONDS */
  readonly replayWindowSeconds?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

export interface WebhookOutcome extends WebhookResponse {
  readonly registry?: string;
  readonly auth?: 'signed' | 'bearer';
  readonly requests?: number;
  readonly skipped?: number;
}

/** Compares in constant time (both sides hashed first, so their lengths are equal). */
function same(given: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The signature a registry holding `secret` sends for `body` at `timestamp`. */
export function signWebhookBody(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

const reply = (statusCode: number, body: unknown): WebhookResponse => ({
  statusCode,
  body: JSON.stringify(body),
});

type Proof =
  | { readonly kind: 'signed'; readonly timestamp: number; readonly mac: string }
  | { readonly kind: 'bearer'; readonly secret: string };

function proofOf(request: WebhookRequest): Proof | string {
  const signature = request.headers[SIGNATURE_HEADER];
  if (signature !== undefined) {
    const parts = new Map(
      signature.split(',').map((p) => {
        const at = p.indexOf('=');
        return [p.slice(0, at).trim(), p.slice(at + 1).trim()] as const;
      }),
    );
    const t = parts.get('t') ?? '';
    const mac = parts.get('v1') ?? '';
    if (!/^\d{1,12}$/.test(t) || !/^[a-f0-9]{64}$/.test(mac))
      return `${SIGNATURE_HEADER} is not t=<unix seconds>,v1=<hex HMAC-SHA256>`;
    return { kind: 'signed', timestamp: Number(t), mac };
  }
  const auth = request.headers.authorization ?? '';
  if (auth.startsWith('Bearer ') && auth.length > 7)
    return { kind: 'bearer', secret: auth.slice(7) };
  return `missing ${SIGNATURE_HEADER} or Authorization: Bearer`;
}

function proves(proof: Proof, secret: string, body: string): boolean {
  if (proof.kind === 'bearer') return same(proof.secret, secret);
  const expected = createHmac('sha256', secret).update(`${proof.timestamp}.${body}`).digest();
  return same(Buffer.from(proof.mac, 'hex'), expected);
}

/**
 * The registry whose secret the proof matches, 'unavailable' when none matched and a secret
 * could not be read (the registry retries a 5xx), or undefined.
 */
async function matchRegistry(
  proof: Proof,
  body: string,
  registries: readonly RegistryCredentials[],
  fresh: boolean,
): Promise<RegistryCredentials | 'unavailable' | undefined> {
  const read = await Promise.allSettled(registries.map((r) => r.secrets(fresh)));
  let unavailable = false;
  for (const [i, result] of read.entries()) {
    if (result.status === 'rejected') {
      unavailable = true;
      continue;
    }
    // Every secret is tried (no early exit), so timing does not tell which registry is near.
    let matched = false;
    for (const secret of result.value) if (proves(proof, secret, body)) matched = true;
    if (matched) return registries[i];
  }
  return unavailable ? 'unavailable' : undefined;
}

/**
 * Forgets claims whose requests were not queued, so the registry's retry is taken. A release
 * that fails too leaves its id recorded until the item expires (that event's retry is skipped
 * as received); it is a single-item delete right after a put that succeeded.
 */
async function release(
  ledger: EventLedger,
  host: string,
  requests: readonly ScanRequest[],
): Promise<void> {
  await mapLimit(requests, 8, (r) => ledger.release(host, r.eventId).catch(() => undefined));
}

export async function handleRegistryWebhook(
  request: WebhookRequest,
  deps: WebhookDeps,
): Promise<WebhookOutcome> {
  if (request.method !== 'POST') return reply(405, { error: 'POST only' });
  if (Buffer.byteLength(request.body) > MAX_WEBHOOK_BODY_BYTES)
    return reply(413, { error: `body over ${MAX_WEBHOOK_BODY_BYTES} bytes` });
  const proof = proofOf(request);
  if (typeof proof === 'string') return reply(401, { error: proof });
  const window = deps.replayWindowSeconds ?? DEFAULT_REPLAY_WINDOW_SECONDS;
  const nowMs = (deps.now ?? Date.now)();
  const nowSeconds = Math.floor(nowMs / 1000);
  // Checked before any secret is read: a stale signed request costs nothing.
  if (proof.kind === 'signed' && Math.abs(nowSeconds - proof.timestamp) > window)
    return reply(401, { error: `signed timestamp outside the ${window} s replay window` });

  let registry = await matchRegistry(proof, request.body, deps.registries, false);
  // A secret rotated since the container read it: read once more (rate-limited by the reader).
  if (registry === undefined)
    registry = await matchRegistry(proof, request.body, deps.registries, true);
  if (registry === 'unavailable')
    return reply(503, { error: 'a registry secret could not be read; try again' });
  if (registry === undefined) return reply(401, { error: 'no registry secret matches' });

  let envelope: ReturnType<typeof parseRegistryNotification>;
  try {
    envelope = parseRegistryNotification(request.body);
  } catch (error) {
    if (error instanceof InvalidEventError) return reply(400, { error: error.message });
    throw error;
  }
  const host = registry.host;
  const found = scanRequestsFromNotification(envelope, new Set([host]));
  // Events naming a host other than the one whose secret matched are skipped there.
  const skipped = [...found.skipped];

  let fresh: ScanRequest[] = found.requests;
  if (proof.kind === 'bearer') {
    // Nothing in a bearer request is signed but the events' own times.
    fresh = [];
    for (const r of found.requests) {
      const at = Date.parse(r.eventTime);
      if (Number.isFinite(at) && Math.abs(nowMs - at) <= window * 1000) fresh.push(r);
      else skipped.push({ id: r.eventId, reason: `event time outside the ${window} s window` });
    }
  }

  // Kept past the last moment a replay could still pass the window check (a timestamp up to
  // `window` ahead of now, accepted for `window` after that).
  const expiresAt = nowSeconds + 2 * window + 60;
  const claims = await mapLimit(fresh, 8, (r) =>
    deps.ledger.claim(host, r.eventId, expiresAt).then(
      (claimed) => ({ claimed }),
      (error: unknown) => ({ claimed: false, error }),
    ),
  );
  if (claims.some((c) => 'error' in c)) {
    // The store failed part way: forget what was claimed, so the registry's retry is whole.
    await release(
      deps.ledger,
      host,
      fresh.filter((_, i) => claims[i]?.claimed),
    );
    return reply(503, { error: 'event ids could not be recorded; try again' });
  }
  const requests = fresh.filter((_, i) => claims[i]?.claimed);
  for (const [i, r] of fresh.entries())
    if (!claims[i]?.claimed) skipped.push({ id: r.eventId, reason: 'event id already received' });

  try {
    await sendMessages(deps.sqs, deps.scanQueueUrl, requests.map(scanRequestBody), 3);
  } catch (error) {
    // The registry retries a notification it could not deliver; a 5xx makes it do so, and the
    // released ids let that retry through.
    if (error instanceof QueueSendError) {
      await release(deps.ledger, host, requests);
      return reply(503, { error: 'scan queue did not accept every request' });
    }
    throw error;
  }
  return {
    ...reply(202, { requests: requests.length, skipped: skipped.length }),
    registry: host,
    auth: proof.kind,
    requests: requests.length,
    skipped: skipped.length,
  };
}
