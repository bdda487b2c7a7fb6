/**
 * CHECKS_NEW and CHECKS_RESOLVED messages (shared/notifications/message.ts): valid against
 * docs/notification.schema.json, whose `check` definition has NotifiedCheck's fields; the
 * `checks` part required on them; worst first and cut to SNS's size with the rest counted; the
 * attributes (maxSeverity the worst check's, checkIds); and docs/notifications.md's example and
 * filter policy.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_CHECKS } from '../../../shared/checks/definitions.js';
import { sha256Hex } from '../../../shared/checks/secrets.js';
import type { CheckResult } from '../../../shared/checks/types.js';
import {
  buildMessage,
  dedupeKey,
  type EventType,
  MAX_BODY_BYTES,
  type Notification,
  type NotifiedCheck,
} from '../../../shared/notifications/message.js';
import { locationKeyOf, type StoredCheck } from '../../../shared/stores/checks-store.js';
import { AWS_EXAMPLE_SECRET, PLANTED } from '../../support/check-images.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';
import { notificationErrors } from '../../support/notification-schema.js';
import { publishedAttributes } from '../../support/sns-publish.js';

const SCHEMA = JSON.parse(
  readFileSync(path.join(PROJECT_ROOT, 'docs/notification.schema.json'), 'utf8'),
) as { definitions: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
const DIGEST = 'sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6';
const AT = '2030-03-01T00:00:00.000Z';

function stored(result: CheckResult, status: StoredCheck['status'] = 'ACTIVE'): StoredCheck {
  return {
    subject: DIGEST,
    checkId: result.id,
    locationKey: locationKeyOf(result),
    status,
    ...(status === 'RESOLVED' ? { resolvedReason: 'not-found' as const, resolvedAt: AT } : {}),
    severity: result.severity,
    result,
    firstObservedAt: AT,
    lastObservedAt: AT,
    changedAt: AT,
  };
}
const of = (name: keyof typeof IMAGE_CHECKS, evidence: CheckResult['evidence']): CheckResult => {
  const d = IMAGE_CHECKS[name];
  return { ...d, anchors: d.anchors, evidence };
};
const ROOT = of('rootUser', { configField: 'config.User', detail: 'no USER is set' });
const SECRET: CheckResult = {
  ...of('fileSecret', { layer: { index: 1 }, path: 'root/.aws/credentials', detail: 'AWS file' }),
  severity: 'CRITICAL',
  secret: {
    rule: 'aws-credentials-file',
    location: {
      kind: 'file',
      layer: { index: 1 },
      path: 'root/.aws/credentials',
      line: 3,
      deletedBy: 2,
    },
    valueHash: sha256Hex(AWS_EXAMPLE_SECRET),
  },
};
const message = (eventType: EventType, records: StoredCheck[]) =>
  buildMessage({
    eventType,
    dedupeKey: dedupeKey(
      eventType,
      DIGEST,
      records.map((r) => r.locationKey),
    ),
    occurredAt: AT,
    trigger: 'push',
    image: { digest: DIGEST, repositories: ['team-a/app'], tags: ['team-a/app:1.0'] },
    findings: [],
    checks: { subject: DIGEST, records },
  });

describe('CHECKS_* messages', () => {
  it('are valid, worst first, with maxSeverity the worst check and the check ids', () => {
    const m = message('CHECKS_NEW', [stored(ROOT), stored(SECRET)]);
    expect(notificationErrors(m.body)).toEqual([]);
    const body = JSON.parse(m.body) as Notification;
    expect(body.checks?.listed.map((c) => c.id)).toEqual(['BOSUN-IMG-011', 'BOSUN-IMG-001']);
    expect(body.checks).toMatchObject({
      subject: DIGEST,
      total: 2,
      bySeverity: { CRITICAL: 1, HIGH: 0, MEDIUM: 1, LOW: 0 },
      omitted: 0,
    });
    expect(m.attributes).toEqual({
      eventType: 'CHECKS_NEW',
      maxSeverity: 'CRITICAL',
      repository: ['team-a/app'],
      fixAvailable: 'false',
      kev: 'false',
      checkIds: ['BOSUN-IMG-001', 'BOSUN-IMG-011'],
    });
    expect(notificationErrors(message('CHECKS_RESOLVED', [stored(ROOT, 'RESOLVED')]).body)).toEqual(
      [],
    );
  });

  it('are published with checkIds as a String.Array attribute, for filter policies', async () => {
    const m = message('CHECKS_NEW', [stored(ROOT), stored(SECRET)]);
    expect(await publishedAttributes(m)).toEqual({
      eventType: 'CHECKS_NEW',
      maxSeverity: 'CRITICAL',
      fixAvailable: 'false',
      kev: 'false',
      repository: '["team-a/app"]',
      dedupeKey: m.dedupeKey,
      checkIds: '["BOSUN-IMG-001","BOSUN-IMG-011"]',
    });
  });

  it('require the checks part, and refuse a status or field the type lacks', () => {
    const body = JSON.parse(message('CHECKS_NEW', [stored(ROOT)]).body) as Notification &
      Record<string, unknown>;
    const { checks, ...without } = body;
    expect(notificationErrors(JSON.stringify(without))).toContain(
      " must have required property 'checks'",
    );
    const listed = checks?.listed[0] as NotifiedCheck;
    const bad = (c: unknown) =>
      notificationErrors(JSON.stringify({ ...body, checks: { ...checks, listed: [c] } }));
    expect(bad({ ...listed, status: 'CLOSED' })).not.toEqual([]);
    expect(bad({ ...listed, secretValue: 'x' })).not.toEqual([]);
    expect(bad({ ...listed, severity: 'NONE' })).not.toEqual([]);
  });

  it("has NotifiedCheck's fields in the schema", () => {
    const every: Required<NotifiedCheck> = {
      id: 'x',
      severity: 'LOW',
      title: 't',
      status: 'RESOLVED',
      resolvedReason: 'disabled',
      evidence: { detail: 'd' },
      secret: SECRET.secret as NonNullable<CheckResult['secret']>,
      remediation: 'r',
      firstObservedAt: AT,
      resolvedAt: AT,
    };
    expect(Object.keys(SCHEMA.definitions.check?.properties ?? {}).sort()).toEqual(
      Object.keys(every).sort(),
    );
  });

  it('stay under the size limit with many long checks, counting what is not listed', () => {
    const many = Array.from({ length: 3_000 }, (_, i) =>
      stored(
        of('setuid', {
          layer: { index: 0 },
          path: `usr/bin/${'x'.repeat(900)}${i}`,
          detail: 'y'.repeat(2_000),
        }),
      ),
    );
    const m = message('CHECKS_NEW', many);
    expect(Buffer.byteLength(m.body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(notificationErrors(m.body)).toEqual([]);
    const body = JSON.parse(m.body) as Notification;
    expect(body.checks?.total).toBe(3_000);
    expect((body.checks?.listed.length ?? 0) + (body.checks?.omitted ?? 0)).toBe(3_000);
    expect(body.checks?.listed.length).toBeGreaterThan(0);
  });

  it('carry a secret by its rule, location and value hash only', () => {
    const m = message('CHECKS_NEW', [stored(SECRET)]);
    for (const value of PLANTED) expect(m.body.includes(value), value).toBe(false);
    expect((JSON.parse(m.body) as Notification).checks?.listed[0]?.secret?.valueHash).toBe(
      sha256Hex(AWS_EXAMPLE_SECRET),
    );
  });
});

describe('docs/notifications.md', () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/notifications.md'), 'utf8');
  it('documents a checks part the schema accepts', () => {
    const block = /## Hardening checks[\s\S]*?```json\n(\{\n {2}"version"[\s\S]*?)\n```/.exec(
      doc,
    )?.[1];
    expect(notificationErrors(block as string)).toEqual([]);
  });
  it('gives a filter policy that matches the attributes sent', () => {
    const policy = /```json\n(\{ "eventType": \["CHECKS_NEW"[^\n]*\})\n```/.exec(doc)?.[1];
    const filter = JSON.parse(policy as string) as Record<string, string[]>;
    const matches = (a: Record<string, unknown>) =>
      Object.entries(filter).every(([name, values]) => values.includes(a[name] as string));
    expect(
      [
        message('CHECKS_NEW', [stored(SECRET)]),
        message('CHECKS_NEW', [stored(ROOT)]),
        message('CHECKS_RESOLVED', [stored(SECRET, 'RESOLVED')]),
      ].map((m) => matches(m.attributes)),
    ).toEqual([true, false, false]);
  });
});
