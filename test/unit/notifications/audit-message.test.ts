/**
 * RUNNING_* messages: valid against docs/notification.schema.json, whose `workload` definition
 * is the NotifiedWorkload type field for field; the workloadSource attribute in the SNS Publish
 * (a real SNSClient answered at its request handler, as provenance-message.test.ts does); and
 * docs/notifications.md's example and filter policy.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildMessage,
  dedupeKey,
  type EventType,
  type Notification,
  type NotifiedWorkload,
} from '../../../shared/notifications/message.js';
import { JUDGEMENTS } from '../../../shared/pipeline/audit.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';
import { notificationErrors } from '../../support/notification-schema.js';
import { publishedAttributes } from '../../support/sns-publish.js';

const SCHEMA = JSON.parse(
  readFileSync(path.join(PROJECT_ROOT, 'docs/notification.schema.json'), 'utf8'),
) as { definitions: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
const DIGEST = 'sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6';
const WORKLOAD: NotifiedWorkload = {
  source: 'ecs',
  workload:
    'arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad#FargateApp',
  image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/hello-repository:latest',
  reason: 'never scanned by Bosun; its scan is queued',
  account: '111122223333',
  region: 'us-west-2',
  since: '2020-01-23T17:57:58.103Z',
};
const message = (eventType: EventType, workload: NotifiedWorkload = WORKLOAD) =>
  buildMessage({
    eventType,
    dedupeKey: dedupeKey(eventType, DIGEST, [workload.source, workload.workload, workload.since]),
    occurredAt: workload.since,
    trigger: 'workload',
    image: {
      digest: DIGEST,
      registry: '111122223333.dkr.ecr.us-west-2.amazonaws.com',
      repositories: ['hello-repository'],
      tags: [],
    },
    findings: [],
    workload,
  });

describe('RUNNING_* messages', () => {
  it('are valid for every judgement, with the workloadSource attribute', () => {
    for (const type of JUDGEMENTS) {
      const m = message(type);
      expect(notificationErrors(m.body), type).toEqual([]);
      expect(m.attributes).toEqual({
        eventType: type,
        maxSeverity: 'NONE',
        repository: ['hello-repository'],
        fixAvailable: 'false',
        kev: 'false',
        workloadSource: 'ecs',
      });
    }
  });

  it('require the workload, and refuse a source or field the type lacks', () => {
    const body = JSON.parse(message('RUNNING_STALE').body) as Notification &
      Record<string, unknown>;
    const { workload, ...without } = body;
    expect(notificationErrors(JSON.stringify(without))).toEqual([
      " must have required property 'workload'",
      ' must match "then" schema',
    ]);
    const bad = (w: unknown) => notificationErrors(JSON.stringify({ ...body, workload: w }));
    expect(bad({ ...workload, source: 'fargate' })).not.toEqual([]);
    expect(bad({ ...workload, cluster: 'web' })).not.toEqual([]);
    expect(bad({ ...workload, account: '1234' })).not.toEqual([]);
  });

  it("has NotifiedWorkload's fields in the schema, the optional ones not required", () => {
    // Every field: a field added to NotifiedWorkload without one here does not compile.
    const every: Required<NotifiedWorkload> = {
      source: 'ecs',
      workload: WORKLOAD.workload,
      image: WORKLOAD.image,
      reason: WORKLOAD.reason,
      account: '111122223333',
      region: 'us-west-2',
      since: WORKLOAD.since,
    };
    const definition = SCHEMA.definitions.workload;
    expect(Object.keys(definition?.properties ?? {}).sort()).toEqual(Object.keys(every).sort());
    expect([...(definition?.required ?? [])].sort()).toEqual(
      ['image', 'reason', 'since', 'source', 'workload'].sort(),
    );
  });

  it('cut a hostile long reason to the schema', () => {
    const m = message('RUNNING_UNSCANNED', { ...WORKLOAD, reason: 'x'.repeat(10_000) });
    expect(notificationErrors(m.body)).toEqual([]);
  });
});

describe('docs/notifications.md', () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/notifications.md'), 'utf8');
  it('documents a workload the schema accepts', () => {
    const block = /## Running workloads[\s\S]*?```json\n("workload": [\s\S]*?)\n```/.exec(doc)?.[1];
    const { workload } = JSON.parse(`{${block}}`) as { workload: NotifiedWorkload };
    const m = message('RUNNING_STALE', workload);
    expect(notificationErrors(m.body)).toEqual([]);
    expect(JSON.parse(m.body).workload).toEqual(workload);
  });
  it('gives a filter policy that matches the attributes sent', () => {
    const policy = /```json\n(\{ "eventType": \["RUNNING_VULNERABLE"[^\n]*\})\n```/.exec(doc)?.[1];
    const filter = JSON.parse(policy as string) as Record<string, string[]>;
    const matches = (a: Record<string, unknown>) =>
      Object.entries(filter).every(([name, values]) => values.includes(a[name] as string));
    expect(
      [
        message('RUNNING_VULNERABLE'),
        message('RUNNING_STALE', { ...WORKLOAD, source: 'lambda' }),
        message('RUNNING_UNSCANNED'),
      ].map((m) => matches(m.attributes)),
    ).toEqual([true, false, false]);
  });
});

describe('SNS publish of a RUNNING_* message', () => {
  it('sends workloadSource as a String attribute, seven in all', async () => {
    const m = message('RUNNING_VULNERABLE', { ...WORKLOAD, source: 'eks' });
    const names = await publishedAttributes(m);
    expect(names).toEqual({
      eventType: 'RUNNING_VULNERABLE',
      maxSeverity: 'NONE',
      fixAvailable: 'false',
      kev: 'false',
      repository: '["hello-repository"]',
      dedupeKey: m.dedupeKey,
      workloadSource: 'eks',
    });
  });
});
