/**
 * The registry webhook's edge (shared/ingest/registry-webhook.ts) on a real notification of the
 * CNCF distribution registry: which registry sent it (by the secret it proves), replays (a
 * signed timestamp, event times, event ids recorded in the embedded item table) and the
 * release of ids whose scan requests the queue refused. SQS is faked at the SDK boundary.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it, vi } from 'vitest';
import { parseScanMessage, type ScanRequest } from '../../../shared/events/scan-request.js';
import { ItemTableEventLedger } from '../../../shared/ingest/event-ledger.js';
import {
  handleRegistryWebhook,
  type RegistryCredentials,
  SIGNATURE_HEADER,
  signWebhookBody,
  type WebhookDeps,
} from '../../../shared/ingest/registry-webhook.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { fixtureText } from '../../support/fixtures.js';

const BODY = fixtureText('events/registry-notification/multi-platform-push.json');
// The real clock: the ledger's items expire by it (the embedded table hides expired items).
const SENT_AT = Date.now();
const LOCAL = '127.0.0.1:5000';
const OTHER = 'registry.other.example';
const SECRETS: Record<string, string> = {
  [LOCAL]: 'b7Xq2mT9vLr4Kp8Zs1Wn6Yd3Hf5Gc0Ja7Ue2Ri9Oq4Vt8Bm',
  [OTHER]: 'Qm4Tz8Lw1Xc6Vb3Nj9Hr2Kf7Pd5Sg0Ya8Ue1Io4Wq7Ez2Rt',
};
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/Bosun-ScanQueue';

function registries(): RegistryCredentials[] {
  return Object.entries(SECRETS).map(([host, secret]) => ({ host, secrets: async () => [secret] }));
}

function setup(over: Partial<WebhookDeps> = {}) {
  const sqs = new SQSClient({ region: 'us-east-1' });
  const sent: ScanRequest[] = [];
  let refuse = false;
  vi.spyOn(sqs, 'send').mockImplementation(async (command) => {
    if (!(command instanceof SendMessageBatchCommand)) throw new Error('unexpected command');
    const entries = command.input.Entries ?? [];
    if (refuse)
      return {
        Successful: [],
        Failed: entries.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
      } as never;
    for (const e of entries) sent.push(parseScanMessage(e.MessageBody ?? '') as ScanRequest);
    return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] } as never;
  });
  const table = EmbeddedItemTable.open(mkdtempSync(path.join(tmpdir(), 'bosun-webhook-')), 'f');
  const deps: WebhookDeps = {
    registries: registries(),
    ledger: new ItemTableEventLedger(table),
    sqs,
    scanQueueUrl: QUEUE,
    now: () => SENT_AT,
    ...over,
  };
  return {
    deps,
    sent,
    refuseSends: (v: boolean) => {
      refuse = v;
    },
  };
}

const signed = (host: string, body = BODY, at = SENT_AT) => ({
  method: 'POST',
  headers: {
    [SIGNATURE_HEADER]: signWebhookBody(SECRETS[host] ?? '', Math.floor(at / 1000), body),
  },
  body,
});
const bearer = (secret: string, body = BODY) => ({
  method: 'POST',
  headers: { authorization: `Bearer ${secret}` },
  body,
});

/** The fixture with its events' times and ids rewritten (a later push of the same images). */
function withEvents(change: (e: { id: string; timestamp: string }, i: number) => void): string {
  const envelope = JSON.parse(BODY) as { events: { id: string; timestamp: string }[] };
  envelope.events.forEach(change);
  return JSON.stringify(envelope);
}

describe('registry webhook', () => {
  it('queues a signed notification under the registry whose secret signed it', async () => {
    const { deps, sent } = setup();
    const out = await handleRegistryWebhook(signed(LOCAL), deps);
    expect(out).toMatchObject({ statusCode: 202, registry: LOCAL, auth: 'signed', requests: 4 });
    expect(new Set(sent.map((r) => r.registry))).toEqual(new Set([LOCAL]));
  });

  it('skips events naming another registry than the one whose secret matched', async () => {
    // The events say 127.0.0.1:5000; the secret is registry.other.example's.
    const { deps, sent } = setup();
    const out = await handleRegistryWebhook(signed(OTHER), deps);
    expect(out).toMatchObject({ statusCode: 202, registry: OTHER, requests: 0, skipped: 5 });
    expect(sent).toEqual([]);
  });

  it('refuses a signed request whose timestamp is outside the replay window, whole', async () => {
    const { deps, sent } = setup({ now: () => SENT_AT + 301_000 });
    const out = await handleRegistryWebhook(signed(LOCAL), deps);
    expect(out.statusCode).toBe(401);
    expect(out.body).toContain('replay window');
    expect(sent).toEqual([]);
  });

  it('refuses a signature over another body or timestamp, and no proof at all', async () => {
    const { deps, sent } = setup();
    const asDelete = withEvents((e, i) => {
      if (i === 1) (e as { action?: string }).action = 'delete';
    });
    const tampered = { ...signed(LOCAL), body: asDelete };
    expect((await handleRegistryWebhook(tampered, deps)).statusCode).toBe(401);
    // A captured signature with its timestamp moved forward (to pass the window).
    const t = Math.floor(SENT_AT / 1000);
    const sig = signWebhookBody(SECRETS[LOCAL] ?? '', t - 3600, BODY).replace(
      `t=${t - 3600}`,
      `t=${t}`,
    );
    const moved = { method: 'POST', headers: { [SIGNATURE_HEADER]: sig }, body: BODY };
    expect((await handleRegistryWebhook(moved, deps)).statusCode).toBe(401);
    expect((await handleRegistryWebhook(bearer('wrong'), deps)).statusCode).toBe(401);
    const none = { method: 'POST', headers: {}, body: BODY };
    expect((await handleRegistryWebhook(none, deps)).statusCode).toBe(401);
    expect(
      (await handleRegistryWebhook({ ...signed(LOCAL), method: 'GET' }, deps)).statusCode,
    ).toBe(405);
    expect(sent).toEqual([]);
  });

  it('queues a replayed request once: each event id is received once per registry', async () => {
    const { deps, sent } = setup();
    expect(await handleRegistryWebhook(signed(LOCAL), deps)).toMatchObject({ requests: 4 });
    const replay = await handleRegistryWebhook(signed(LOCAL, BODY, SENT_AT + 60_000), {
      ...deps,
      now: () => SENT_AT + 60_000,
    });
    expect(replay).toMatchObject({ statusCode: 202, requests: 0, skipped: 5 });
    expect(sent).toHaveLength(4);
  });

  it('does not let a replayed delete close findings twice', async () => {
    const { deps, sent } = setup();
    const deletes = withEvents((e) => {
      (e as { action?: string }).action = 'delete';
    });
    expect(await handleRegistryWebhook(signed(LOCAL, deletes), deps)).toMatchObject({
      requests: 5,
    });
    expect(await handleRegistryWebhook(signed(LOCAL, deletes), deps)).toMatchObject({
      requests: 0,
    });
    expect(sent.map((r) => r.action)).toEqual(Array(5).fill('DELETE'));
  });

  it('accepts bearer requests only for events whose own time is within the window', async () => {
    const secret = SECRETS[LOCAL] ?? '';
    // The fixture's events as if pushed a second before now.
    const recent = withEvents((e) => {
      e.timestamp = new Date(SENT_AT - 1000).toISOString();
    });
    const late = setup({ now: () => SENT_AT + 600_000 });
    expect(await handleRegistryWebhook(bearer(secret, recent), late.deps)).toMatchObject({
      statusCode: 202,
      auth: 'bearer',
      requests: 0,
      skipped: 5,
    });
    const prompt = setup();
    expect(await handleRegistryWebhook(bearer(secret, recent), prompt.deps)).toMatchObject({
      requests: 4,
    });
    // The fixture as recorded (events days old): a replay, whatever its secret.
    expect(await handleRegistryWebhook(bearer(secret), setup().deps)).toMatchObject({
      requests: 0,
    });
    // The same bearer request again, still within the window: nothing new.
    expect(await handleRegistryWebhook(bearer(secret, recent), prompt.deps)).toMatchObject({
      requests: 0,
    });
  });

  it("releases the event ids the queue refused, so the registry's retry is taken", async () => {
    const { deps, sent, refuseSends } = setup();
    refuseSends(true);
    expect((await handleRegistryWebhook(signed(LOCAL), deps)).statusCode).toBe(503);
    refuseSends(false);
    expect(await handleRegistryWebhook(signed(LOCAL), deps)).toMatchObject({
      statusCode: 202,
      requests: 4,
    });
    expect(sent).toHaveLength(4);
  });

  it('forgets the ids it recorded when the store fails part way, so the retry is whole', async () => {
    const { deps, sent } = setup();
    let claims = 0;
    const failing: typeof deps.ledger = {
      claim: (registry, id, expiresAt) =>
        ++claims === 3
          ? Promise.reject(new Error('ProvisionedThroughputExceededException'))
          : deps.ledger.claim(registry, id, expiresAt),
      release: (registry, id) => deps.ledger.release(registry, id),
    };
    expect(
      (await handleRegistryWebhook(signed(LOCAL), { ...deps, ledger: failing })).statusCode,
    ).toBe(503);
    expect(sent).toEqual([]);
    expect(await handleRegistryWebhook(signed(LOCAL), deps)).toMatchObject({ requests: 4 });
  });

  it('answers 503 when no secret matched and a registry secret could not be read', async () => {
    const { deps } = setup({
      registries: [
        { host: OTHER, secrets: async () => [SECRETS[OTHER] ?? ''] },
        {
          host: LOCAL,
          secrets: async () => {
            throw new Error('AccessDeniedException');
          },
        },
      ],
    });
    expect((await handleRegistryWebhook(signed(LOCAL), deps)).statusCode).toBe(503);
    // Another registry's requests still go through.
    expect((await handleRegistryWebhook(signed(OTHER), deps)).statusCode).toBe(202);
  });

  it('reads the secrets again when a request matches none (a rotation since the last read)', async () => {
    let current = 'old-secret-old-secret-old-secret';
    const reads: boolean[] = [];
    const { deps } = setup({
      registries: [
        {
          host: LOCAL,
          secrets: async (fresh = false) => {
            reads.push(fresh);
            return [current];
          },
        },
      ],
    });
    current = SECRETS[LOCAL] ?? '';
    // The first read (not fresh) is stale in a real reader; the fresh one sees the new value.
    expect((await handleRegistryWebhook(signed(LOCAL), deps)).statusCode).toBe(202);
    expect(reads).toEqual([false]);
    const wrong = await handleRegistryWebhook(bearer('not-a-secret'), deps);
    expect(wrong.statusCode).toBe(401);
    expect(reads).toEqual([false, false, true]);
  });

  it('refuses a malformed envelope from a registry with the right secret', async () => {
    const { deps, sent } = setup();
    const out = await handleRegistryWebhook(signed(LOCAL, '{"events":[{"id":1}]}'), deps);
    expect(out.statusCode).toBe(400);
    expect(sent).toEqual([]);
  });
});
