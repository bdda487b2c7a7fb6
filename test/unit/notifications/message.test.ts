/**
 * The notification message: valid against docs/notification.schema.json, under SNS's size
 * limit whatever the number of findings (worst listed first, the rest counted), and attributes
 * that filter policies can match.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rate } from '../../../shared/advisories/severity.js';
import {
  buildMessage,
  dedupeKey,
  MAX_BODY_BYTES,
  MAX_LISTED_FINDINGS,
  type Notification,
} from '../../../shared/notifications/message.js';
import type { FindingRecord } from '../../../shared/stores/findings-store.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';
import { notificationErrors } from '../../support/notification-schema.js';
import { npmAdvisories } from '../../support/pipeline.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A finding per real npm advisory, each at `copies` install locations with long paths. */
function findingsOf(copies: number): FindingRecord[] {
  const out: FindingRecord[] = [];
  for (const record of npmAdvisories()) {
    const affected = record.affected?.[0];
    const name = affected?.package?.name ?? 'unknown';
    for (let i = 0; i < copies; i++)
      out.push({
        digest: DIGEST,
        packageKey: `npm#${name}`,
        installedVersion: '0.0.1',
        vulnerabilityId: record.id,
        ids: [record.id, ...(record.aliases ?? [])].sort(),
        advisoryIds: [record.id],
        status: 'ACTIVE',
        severity: rate(record, affected),
        packageName: name,
        purl: `pkg:npm/${name}@0.0.1`,
        location: `srv/app/${'node_modules/deeply/nested/'.repeat(8)}${name}/${i}/package.json`,
        firstObservedAt: '2026-11-29T00:00:00Z',
        lastObservedAt: '2026-11-29T00:00:00Z',
      });
  }
  return out;
}

const image = {
  digest: DIGEST,
  registry: 'registry.example.test',
  repositories: ['team/app'],
  tags: ['team/app:1'],
};

describe('notification messages', () => {
  it('stays under the size limit with thousands of findings, listing the worst and counting all', () => {
    const findings = findingsOf(20);
    expect(findings.length).toBeGreaterThan(9_000);
    const message = buildMessage({
      eventType: 'FINDINGS_NEW',
      dedupeKey: dedupeKey('FINDINGS_NEW', DIGEST, ['generation:1']),
      occurredAt: '2026-11-29T00:00:00.000Z',
      trigger: 'push',
      image,
      findings,
    });
    expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(notificationErrors(message.body)).toEqual([]);
    const body = JSON.parse(message.body) as Notification;
    expect(body.summary.total).toBe(findings.length);
    expect(body.findings.length).toBe(MAX_LISTED_FINDINGS);
    expect(body.findings.length + body.findingsOmitted).toBe(findings.length);
    expect(Object.values(body.summary.bySeverity).reduce((a, b) => a + b)).toBe(findings.length);
    // Worst first: nothing omitted is more severe than the last one listed.
    const order = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'];
    const last = order.indexOf(body.findings.at(-1)?.severity as string);
    const worse = order
      .slice(0, last)
      .reduce((n, s) => n + body.summary.bySeverity[s as 'HIGH'], 0);
    expect(worse).toBeLessThanOrEqual(body.findings.length);
    expect(message.attributes.maxSeverity).toBe(body.findings[0]?.severity);
  });

  it('cuts the list by size when findings are large', () => {
    const huge = findingsOf(1).map((f) => ({
      ...f,
      location: `${'x/'.repeat(2_000)}package.json`,
    }));
    const message = buildMessage({
      eventType: 'SCAN_COMPLETED',
      dedupeKey: dedupeKey('SCAN_COMPLETED', DIGEST, ['generation:1']),
      occurredAt: '2026-11-29T00:00:00.000Z',
      trigger: 'push',
      image,
      findings: huge,
    });
    const body = JSON.parse(message.body) as Notification;
    expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(body.findings.length).toBeLessThan(MAX_LISTED_FINDINGS);
    expect(body.findingsOmitted).toBe(huge.length - body.findings.length);
    expect(notificationErrors(message.body)).toEqual([]);
  });

  it('has the filterable attributes, and no finding for a tag move', () => {
    const message = buildMessage({
      eventType: 'TAG_MOVED',
      dedupeKey: dedupeKey('TAG_MOVED', DIGEST, ['team/app', '1']),
      occurredAt: '2026-11-29T00:00:00.000Z',
      trigger: 'push',
      image,
      findings: [],
      tagMove: {
        repository: 'team/app',
        tag: '1',
        digest: DIGEST,
        previousDigest: `sha256:${'cd'.repeat(32)}`,
        movedAt: '2026-11-29T00:00:00.000Z',
      },
    });
    expect(message.attributes).toEqual({
      eventType: 'TAG_MOVED',
      maxSeverity: 'NONE',
      repository: ['team/app'],
      fixAvailable: 'false',
      kev: 'false',
    });
    expect(notificationErrors(message.body)).toEqual([]);
    // A TAG_MOVED without its move is not a valid message.
    const { tagMove: _t, ...withoutMove } = JSON.parse(message.body) as Notification;
    expect(notificationErrors(JSON.stringify(withoutMove))).not.toEqual([]);
  });

  it('says in `reachable` whether every finding is known not to be linked, never hiding the unknown', () => {
    const [a, b] = findingsOf(1) as [FindingRecord, FindingRecord];
    const unreachable = {
      reachable: false,
      precision: 'symbol',
      source: 'go-pclntab',
    } as const;
    const build = (findings: FindingRecord[]) =>
      buildMessage({
        eventType: 'FINDINGS_NEW',
        dedupeKey: dedupeKey(
          'FINDINGS_NEW',
          DIGEST,
          findings.map((f) => f.vulnerabilityId),
        ),
        occurredAt: '2026-11-29T00:00:00.000Z',
        trigger: 'push',
        image,
        findings,
      }).attributes.reachable;
    expect(
      build([
        { ...a, reachability: unreachable },
        { ...b, reachability: unreachable },
      ]),
    ).toBe('false');
    // One finding whose code could not be told, or was never judged: the message may matter.
    expect(
      build([
        { ...a, reachability: unreachable },
        { ...b, reachability: { ...unreachable, reachable: 'unknown' } },
      ]),
    ).toBe('true');
    expect(build([{ ...a, reachability: unreachable }, b])).toBe('true');
  });

  it('gives the same change the same dedupe key, whatever the order of its parts', () => {
    expect(dedupeKey('FINDINGS_NEW', DIGEST, ['a', 'b'])).toBe(
      dedupeKey('FINDINGS_NEW', DIGEST, ['b', 'a']),
    );
    expect(dedupeKey('FINDINGS_NEW', DIGEST, ['a'])).not.toBe(
      dedupeKey('FINDINGS_RESOLVED', DIGEST, ['a']),
    );
  });

  it('documents a message that the schema accepts', () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/notifications.md'), 'utf8');
    const example = /## Example\s+```json\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    expect(notificationErrors(example as string)).toEqual([]);
  });

  it('lists at most 50 repositories and tags, counting the rest, and cuts a long failure reason', () => {
    const repositories = Array.from(
      { length: 500 },
      (_, i) => `team-${i}/service-with-a-long-name`,
    );
    const tags = repositories.flatMap((r) => [`${r}:1.0.${r.length}`, `${r}:latest`]);
    const message = buildMessage({
      eventType: 'SCAN_FAILED',
      dedupeKey: dedupeKey('SCAN_FAILED', DIGEST, ['x']),
      occurredAt: '2026-11-29T00:00:00.000Z',
      trigger: 'push',
      image: { ...image, repositories, tags },
      findings: [],
      failure: { reason: `layer 0 could not be read: ${'x'.repeat(20_000)}` },
    });
    const body = JSON.parse(message.body) as Notification;
    expect(notificationErrors(message.body)).toEqual([]);
    expect(body.image.repositories).toHaveLength(50);
    expect(body.image.repositoriesOmitted).toBe(450);
    expect(body.image.tagsOmitted).toBe(950);
    // The filter attribute keeps them all (a policy may name the 500th).
    expect(message.attributes.repository).toHaveLength(500);
    expect(body.failure?.reason.length).toBe(2_000);
    expect(Buffer.byteLength(message.body)).toBeLessThan(MAX_BODY_BYTES);
  });
});
