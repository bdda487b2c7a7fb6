/**
 * PROVENANCE_VERIFIED, PROVENANCE_FAILED and PROVENANCE_UNSIGNED messages: built by buildMessage
 * from real verdicts (connaisseur's cosign signature, test/support/provenance-verdicts.ts), valid
 * against docs/notification.schema.json, whose `provenance` definition is the NotifiedProvenance
 * type field for field; and the SNS publish that carries their `provenance` and `provenanceMode`
 * attributes, within SNS's ten.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildMessage,
  dedupeKey,
  EVENT_TYPES,
  type EventType,
  MAX_BODY_BYTES,
  type MessageInput,
  type Notification,
  type NotifiedProvenance,
  type Trigger,
} from '../../../shared/notifications/message.js';
import type { Verdict } from '../../../shared/provenance/verdict.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';
import { notificationErrors } from '../../support/notification-schema.js';
import {
  REGISTRY,
  REPO,
  REPO_AUDIT,
  REPO_BOB,
  SIGNED,
  TRUST_VERSION,
  verdictOn,
} from '../../support/provenance-verdicts.js';
import { PUBLISHED_MESSAGE_ID, publishToFake } from '../../support/sns-publish.js';

const SCHEMA = JSON.parse(
  readFileSync(path.join(PROJECT_ROOT, 'docs/notification.schema.json'), 'utf8'),
) as {
  properties: Record<string, { enum?: string[] }>;
  definitions: Record<
    string,
    { enum?: string[]; required?: string[]; properties?: Record<string, unknown> }
  >;
};
const CHECKED_AT = '2026-11-29T02:47:31.204Z';
const PREVIOUS = `sha256:${'cd'.repeat(32)}`;

/** The verdict as announceProvenance (shared/pipeline/provenance.ts) puts it in a message. */
function notified(v: Verdict, extra: Partial<NotifiedProvenance> = {}): NotifiedProvenance {
  return {
    status: v.status,
    mode: v.mode,
    repository: v.repository,
    rule: v.rule,
    policyVersion: v.policyVersion,
    trustVersion: TRUST_VERSION,
    checkedAt: CHECKED_AT,
    reasons: v.reasons,
    requirements: v.requirements,
    ...extra,
  };
}

function message(eventType: EventType, trigger: Trigger, provenance: NotifiedProvenance) {
  const name = provenance.repository.slice(REGISTRY.length + 1);
  const input: MessageInput = {
    eventType,
    dedupeKey: dedupeKey(eventType, SIGNED, [provenance.repository, provenance.status]),
    occurredAt: provenance.checkedAt,
    trigger,
    image: { digest: SIGNED, registry: REGISTRY, repositories: [name], tags: [`${name}:v1`] },
    findings: [],
    provenance,
  };
  return buildMessage(input);
}

describe('provenance messages', () => {
  it('PROVENANCE_VERIFIED: a signature pushed after its image verifies with alice', async () => {
    const v = await verdictOn(REPO);
    expect(v.status).toBe('VERIFIED');
    const m = message(
      'PROVENANCE_VERIFIED',
      'signature',
      notified(v, { previousStatus: 'UNSIGNED' }),
    );
    expect(notificationErrors(m.body)).toEqual([]);
    const body = JSON.parse(m.body) as Notification;
    expect(body.provenance).toMatchObject({
      status: 'VERIFIED',
      previousStatus: 'UNSIGNED',
      mode: 'enforce',
      rule: 'default',
      reasons: [],
      requirements: [
        {
          requirement: 'alice',
          met: true,
          satisfiedBy: [{ authority: 'alice', trustRoot: expect.stringMatching(/^key:sha256:/) }],
        },
      ],
    });
    expect(m.attributes).toEqual({
      eventType: 'PROVENANCE_VERIFIED',
      maxSeverity: 'NONE',
      repository: ['team/app'],
      fixAvailable: 'false',
      kev: 'false',
      provenance: 'VERIFIED',
      provenanceMode: 'enforce',
    });
  });

  it('PROVENANCE_FAILED: a tag moved from a verified digest onto a tampered signature', async () => {
    const v = await verdictOn(REPO, 'tampered');
    expect(v.status).toBe('INVALID');
    const reason = `tag v1 moved from ${PREVIOUS}, whose provenance was verified, to this digest (INVALID)`;
    const m = message(
      'PROVENANCE_FAILED',
      'push',
      notified(v, {
        previousStatus: 'VERIFIED',
        reasons: [reason, ...v.reasons],
        tagMove: { tag: 'v1', previousDigest: PREVIOUS },
      }),
    );
    expect(notificationErrors(m.body)).toEqual([]);
    const body = JSON.parse(m.body) as Notification;
    expect(body.provenance?.tagMove).toEqual({ tag: 'v1', previousDigest: PREVIOUS });
    expect(body.provenance?.reasons[1]).toMatch(/DIGEST_MISMATCH/);
    expect(body.provenance?.requirements[0]).toMatchObject({ met: false, satisfiedBy: [] });
    expect(m.attributes).toMatchObject({ provenance: 'INVALID', provenanceMode: 'enforce' });
  });

  it('PROVENANCE_FAILED in audit mode, and for a signer the rule does not trust', async () => {
    const audit = message(
      'PROVENANCE_FAILED',
      'reverify',
      notified(await verdictOn(REPO_AUDIT, 'tampered')),
    );
    expect(notificationErrors(audit.body)).toEqual([]);
    expect(audit.attributes).toMatchObject({ provenance: 'INVALID', provenanceMode: 'audit' });
    const untrusted = message('PROVENANCE_FAILED', 'policy', notified(await verdictOn(REPO_BOB)));
    expect(notificationErrors(untrusted.body)).toEqual([]);
    expect(untrusted.attributes).toMatchObject({
      provenance: 'UNTRUSTED',
      provenanceMode: 'enforce',
      repository: ['team/bob'],
    });
  });

  it('PROVENANCE_UNSIGNED: nothing found for an image the policy wants signed', async () => {
    const v = await verdictOn(REPO, 'none');
    const m = message('PROVENANCE_UNSIGNED', 'push', notified(v));
    expect(notificationErrors(m.body)).toEqual([]);
    expect((JSON.parse(m.body) as Notification).provenance?.reasons[0]).toBe(
      `no signature or attestation found for ${SIGNED}`,
    );
    expect(m.attributes).toMatchObject({ provenance: 'UNSIGNED', provenanceMode: 'enforce' });
  });

  it('refuses a PROVENANCE_* message without its verdict, or with a field the type lacks', async () => {
    const m = message('PROVENANCE_VERIFIED', 'push', notified(await verdictOn(REPO)));
    const body = JSON.parse(m.body) as Notification & Record<string, unknown>;
    const { provenance, ...without } = body;
    for (const eventType of ['PROVENANCE_VERIFIED', 'PROVENANCE_FAILED', 'PROVENANCE_UNSIGNED'])
      expect(notificationErrors(JSON.stringify({ ...without, eventType }))).toEqual([
        " must have required property 'provenance'",
        ' must match "then" schema',
      ]);
    const bad = (p: unknown) => notificationErrors(JSON.stringify({ ...body, provenance: p }));
    expect(bad({ ...provenance, verdict: 'VERIFIED' })).not.toEqual([]);
    expect(bad({ ...provenance, status: 'SIGNED' })).not.toEqual([]);
    expect(bad({ ...provenance, mode: 'warn' })).not.toEqual([]);
    expect(bad({ ...provenance, tagMove: { tag: 'v1' } })).not.toEqual([]);
    expect(notificationErrors(JSON.stringify({ ...body, trigger: 'webhook' }))).not.toEqual([]);
  });

  it('keeps a verdict of hundreds of long reasons within the schema and the size budget', async () => {
    const v = await verdictOn(REPO, 'tampered');
    const long = (i: number) => `${i}: ${'signature of a hostile registry '.repeat(200)}`;
    const requirement = v.requirements[0] as Verdict['requirements'][number];
    const m = message(
      'PROVENANCE_FAILED',
      'push',
      notified(v, {
        reasons: Array.from({ length: 500 }, (_, i) => long(i)),
        requirements: Array.from({ length: 100 }, (_, i) => ({
          ...requirement,
          requirement: long(i),
          reason: long(i),
          satisfiedBy: Array.from({ length: 100 }, (_, j) => ({
            source: `${PREVIOUS}#${j}`,
            authority: 'alice',
            trustRoot: `key:${PREVIOUS}`,
          })),
        })),
      }),
    );
    expect(notificationErrors(m.body)).toEqual([]);
    expect(Buffer.byteLength(m.body)).toBeLessThan(MAX_BODY_BYTES);
    const p = (JSON.parse(m.body) as Notification).provenance as NotifiedProvenance;
    expect(p.reasons).toHaveLength(20);
    expect(p.reasons[0]).toBe(long(0).slice(0, 1_000));
    expect(p.requirements).toHaveLength(20);
    expect(p.requirements[0]?.satisfiedBy).toHaveLength(20);
  });
});

describe('docs/notifications.md', () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/notifications.md'), 'utf8');

  it('documents a provenance verdict that the schema accepts', async () => {
    const block = /## Provenance[\s\S]*?```json\n("provenance": [\s\S]*?)\n```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const { provenance } = JSON.parse(`{${block}}`) as { provenance: NotifiedProvenance };
    const m = message('PROVENANCE_FAILED', 'push', provenance);
    expect(notificationErrors(m.body)).toEqual([]);
    expect(JSON.parse(m.body).provenance).toEqual(provenance);
  });

  it('gives a provenance filter policy that matches the attributes sent', async () => {
    const policy = /```json\n(\{ "eventType": \["PROVENANCE_FAILED"\][^\n]*\})\n```/.exec(doc)?.[1];
    expect(policy).toBeDefined();
    const filter = JSON.parse(policy as string) as Record<string, string[]>;
    expect(filter).toEqual({ eventType: ['PROVENANCE_FAILED'], provenanceMode: ['enforce'] });
    // SNS's exact string match on each named attribute (all must match).
    const matches = (attributes: Record<string, unknown>) =>
      Object.entries(filter).every(([name, values]) => values.includes(attributes[name] as string));
    const enforced = message(
      'PROVENANCE_FAILED',
      'push',
      notified(await verdictOn(REPO, 'tampered')),
    );
    const audited = message(
      'PROVENANCE_FAILED',
      'push',
      notified(await verdictOn(REPO_AUDIT, 'tampered')),
    );
    const verified = message('PROVENANCE_VERIFIED', 'push', notified(await verdictOn(REPO)));
    expect([enforced, audited, verified].map((m) => matches(m.attributes))).toEqual([
      true,
      false,
      false,
    ]);
  });
});

/** Keys of T that are not optional. */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

describe('the schema and the message types', () => {
  it("has NotifiedProvenance's fields, and requires exactly those that are not optional", () => {
    // Every field: a field added to NotifiedProvenance without one here does not compile.
    const every: Required<NotifiedProvenance> = {
      status: 'VERIFIED',
      previousStatus: 'UNSIGNED',
      mode: 'enforce',
      repository: REPO,
      rule: 'default',
      policyVersion: 'v',
      trustVersion: TRUST_VERSION,
      checkedAt: CHECKED_AT,
      reasons: [],
      requirements: [],
      tagMove: { tag: 'v1', previousDigest: PREVIOUS },
    };
    const required = [
      'status',
      'mode',
      'repository',
      'rule',
      'policyVersion',
      'trustVersion',
      'checkedAt',
      'reasons',
      'requirements',
    ] as const satisfies readonly RequiredKeys<NotifiedProvenance>[];
    // And every field that is not optional is in `required` (else this does not compile).
    type Unlisted = Exclude<RequiredKeys<NotifiedProvenance>, (typeof required)[number]>;
    const listsAll: [Unlisted] extends [never] ? true : Unlisted = true;
    expect(listsAll).toBe(true);

    const definition = SCHEMA.definitions.provenance;
    expect(Object.keys(definition?.properties ?? {}).sort()).toEqual(Object.keys(every).sort());
    expect([...(definition?.required ?? [])].sort()).toEqual([...required].sort());
  });

  it('lists every event type, trigger and verdict status the code sends', () => {
    const triggers = {
      push: true,
      rescan: true,
      deleted: true,
      'out-of-window': true,
      signature: true,
      policy: true,
      reverify: true,
      workload: true,
    } satisfies Record<Trigger, true>;
    const statuses = {
      VERIFIED: true,
      UNSIGNED: true,
      INVALID: true,
      UNTRUSTED: true,
      POLICY_FAILED: true,
    } satisfies Record<NotifiedProvenance['status'] | Verdict['status'], true>;
    expect(SCHEMA.properties.eventType?.enum).toEqual([...EVENT_TYPES]);
    expect(SCHEMA.properties.trigger?.enum).toEqual(Object.keys(triggers));
    expect(SCHEMA.definitions.provenanceStatus?.enum).toEqual(Object.keys(statuses));
  });
});

describe('SNS publish of a provenance message', () => {
  const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:bosun-findings';

  it('sends provenance and provenanceMode as String attributes, eight in all', async () => {
    const m = message(
      'PROVENANCE_FAILED',
      'reverify',
      notified(await verdictOn(REPO_AUDIT, 'tampered')),
    );
    const { id, form, attributes } = await publishToFake(m, TOPIC);
    expect(id).toBe(PUBLISHED_MESSAGE_ID);
    expect(form.get('Action')).toBe('Publish');
    expect(form.get('TopicArn')).toBe(TOPIC);
    expect(form.get('Message')).toBe(m.body);
    expect(attributes).toEqual({
      eventType: { type: 'String', value: 'PROVENANCE_FAILED' },
      maxSeverity: { type: 'String', value: 'NONE' },
      fixAvailable: { type: 'String', value: 'false' },
      kev: { type: 'String', value: 'false' },
      repository: { type: 'String.Array', value: '["team/audit"]' },
      dedupeKey: { type: 'String', value: m.dedupeKey },
      provenance: { type: 'String', value: 'INVALID' },
      provenanceMode: { type: 'String', value: 'audit' },
    });
  });

  it('stays within SNS’s ten attributes with every optional attribute set', async () => {
    // No message has both, but a Publish with more than ten attributes is refused outright.
    const m = buildMessage({
      eventType: 'SCAN_COMPLETED',
      dedupeKey: dedupeKey('SCAN_COMPLETED', SIGNED, ['generation:1']),
      occurredAt: CHECKED_AT,
      trigger: 'push',
      image: { digest: SIGNED, registry: REGISTRY, repositories: ['team/app'], tags: [] },
      findings: [],
      coverage: { complete: true, gaps: [] },
      provenance: notified(await verdictOn(REPO)),
    });
    const names = Object.keys((await publishToFake(m, TOPIC)).attributes);
    expect(names).toContain('provenanceMode');
    expect(names).toContain('coverage');
    expect(names.length).toBeLessThanOrEqual(10);
  });
});
