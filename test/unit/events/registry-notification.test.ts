import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../shared/errors.js';
import {
  parseRegistryNotification,
  scanRequestsFromNotification,
} from '../../../shared/events/registry-notification.js';
import { fixtureJson, fixtureText } from '../../support/fixtures.js';

const FIXTURE = 'events/registry-notification/multi-platform-push.json';
type Envelope = { events: Record<string, unknown>[] };

describe('registry notifications', () => {
  it('asks for a scan of each pushed manifest and of nothing else', () => {
    const envelope = parseRegistryNotification(fixtureText(FIXTURE));
    const { requests, skipped } = scanRequestsFromNotification(envelope);
    const manifests = envelope.events.filter(
      (e) => e.target.mediaType !== 'application/octet-stream',
    );
    expect(requests.map((r) => r.digest)).toEqual(manifests.map((e) => e.target.digest));
    expect(requests[0]).toEqual({
      action: 'PUSH',
      registry: '127.0.0.1:5000',
      repository: 'team/app',
      digest: manifests[0]?.target.digest,
      manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      eventTime: manifests[0]?.timestamp,
      eventId: manifests[0]?.id,
    });
    expect(skipped).toEqual([
      { id: envelope.events[0]?.id, reason: 'not an image manifest (application/octet-stream)' },
    ]);
  });

  it('turns deletes into DELETE requests, skips pulls and mounts, and repeats nothing', () => {
    const envelope = fixtureJson<Envelope>(FIXTURE);
    const manifest = envelope.events[1] as Record<string, unknown>;
    const events = [
      manifest,
      { ...manifest, id: 'again' },
      { ...manifest, id: 'pull-1', action: 'pull' },
      { ...manifest, id: 'mount-1', action: 'mount' },
      {
        ...manifest,
        id: 'delete-1',
        action: 'delete',
        target: { digest: (manifest.target as { digest: string }).digest, repository: 'team/app' },
      },
    ];
    const { requests, skipped } = scanRequestsFromNotification(
      parseRegistryNotification(JSON.stringify({ events })),
    );
    expect(requests.map((r) => [r.action, r.eventId])).toEqual([
      ['PUSH', manifest.id],
      ['DELETE', 'delete-1'],
    ]);
    expect(skipped.map((s) => `${s.id}: ${s.reason}`)).toEqual([
      'again: duplicate in this envelope',
      'pull-1: action pull',
      'mount-1: action mount',
    ]);
  });

  it('skips events of registries the webhook does not serve, whatever Host the pusher sent', () => {
    const envelope = parseRegistryNotification(fixtureText(FIXTURE));
    const served = scanRequestsFromNotification(envelope, new Set(['127.0.0.1:5000']));
    expect(served.requests).toHaveLength(4);
    const elsewhere = scanRequestsFromNotification(envelope, new Set(['registry.internal:443']));
    expect(elsewhere.requests).toEqual([]);
    expect(elsewhere.skipped.map((s) => s.reason)).toContain(
      'registry 127.0.0.1:5000 is not one this webhook serves',
    );
  });

  it('refuses a malformed envelope, naming the field', () => {
    const envelope = fixtureJson<Envelope>(FIXTURE);
    const bad = structuredClone(envelope);
    (bad.events[1]?.target as Record<string, unknown>).digest = 'sha256:nothex';
    expect(() => parseRegistryNotification(JSON.stringify(bad))).toThrow(InvalidEventError);
    expect(() => parseRegistryNotification(JSON.stringify(bad))).toThrow(
      /events\.1\.target\.digest/,
    );
    const host = structuredClone(envelope);
    (host.events[0]?.request as Record<string, unknown>).host = 'evil host/with space';
    expect(() => parseRegistryNotification(JSON.stringify(host))).toThrow(/request\.host/);
    const repo = structuredClone(envelope);
    (repo.events[1]?.target as Record<string, unknown>).repository = 'Team/App#1';
    expect(() => parseRegistryNotification(JSON.stringify(repo))).toThrow(/target\.repository/);
    expect(() => parseRegistryNotification('{"nope":1}')).toThrow(/events/);
    expect(() => parseRegistryNotification('not json')).toThrow(InvalidEventError);
  });
});
