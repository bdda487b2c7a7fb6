/**
 * The read API's function (functions/api/index.ts over shared/api) answering API Gateway REST
 * proxy events, on DynamoDB Local, every route: two real images scanned by the scan use case
 * (Alpine 3.10 and 3.11 with the real npm lockfile; concat-stream 1.5.0 matched by the real
 * NSWG-ECO-392), pushed to two teams' repositories, a tag moved between them. What is pinned:
 * each route's answer from the stored state; typed 400s and 404s (never a 500); keyset
 * pagination over 1,000 findings seeing each once, with a half-written generation hidden;
 * suppressions written through the API turn the next rescan's finding SUPPRESSED with one
 * message, their deletion or expiry ACTIVE again; the author is the caller's IAM ARN.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import { rescanPackages } from '../../../shared/pipeline/rescan.js';
import { scanImage } from '../../../shared/pipeline/scan.js';
import type { FindingRecord, StoredFinding } from '../../../shared/stores/findings-store.js';
import { CONCAT_STREAM_ADVISORY, writeTestImage } from '../../support/pipeline.js';
import {
  type ApiWorld,
  CALLER,
  call,
  event,
  loadHandler,
  REGISTRY,
  startWorld,
} from './support.js';

const TEAM_A = `${REGISTRY}/team-a/app`;
const TEAM_B = `${REGISTRY}/team-b/app`;
let world: ApiWorld;
let d310 = '';
let d311 = '';
const layouts = new Map<string, string>();

const push = (digest: string, repository: string, tag: string, at: string) =>
  scanImage(
    {
      action: 'PUSH',
      registry: REGISTRY,
      repository: repository.slice(REGISTRY.length + 1),
      digest,
      tag,
      eventTime: at,
      eventId: `${repository}-${tag}-${at}`,
    },
    world.scan,
  );

beforeAll(async () => {
  world = await startWorld(async (request) =>
    new OciLayoutSource(layouts.get(request.digest) ?? '', 'latest').images(),
  );
  for (const kind of ['app-310', 'app-311'] as const) {
    const dir = path.join(world.work, kind);
    layouts.set((await writeTestImage(dir, kind)).digest, dir);
  }
  [d310, d311] = [...layouts.keys()] as [string, string];
  await push(d310, TEAM_A, '1', '2025-01-01T00:00:00.000Z');
  await push(d310, TEAM_B, 'x', '2025-01-01T00:05:00.000Z');
  await push(d311, TEAM_A, '1', '2025-01-02T00:00:00.000Z');
  await world.scan.audit?.workloads.record({
    digest: d310,
    source: 'ecs',
    workload: 'arn:aws:ecs:us-west-2:111122223333:task/web/0123456789abcdef0123456789abcdef#app',
    image: `${TEAM_B}:x`,
    registry: REGISTRY,
    repository: 'team-b/app',
    seenAt: new Date().toISOString(),
  });
  await loadHandler(world);
}, 120_000);

afterAll(async () => world?.stop(), 30_000);

describe('images', () => {
  it('GET /images/{digest}: record, repositories and tags, use, a findings summary, report links', async () => {
    const { status, json } = await call(event('GET', '/images/{digest}', { digest: d310 }));
    expect(status).toBe(200);
    expect(json.digest).toBe(d310);
    expect(json.scan).toMatchObject({ status: 'COMPLETE', os: expect.stringMatching(/alpine/i) });
    expect(
      (json.repositories as { repository: string; tags: string[] }[]).map((r) => [
        r.repository,
        r.tags,
      ]),
    ).toEqual([
      [TEAM_A, []],
      [TEAM_B, ['x']],
    ]);
    expect(json.inUse).toMatchObject({ inUseCount: 1 });
    expect((json.workloads as { image: string }[]).map((w) => w.image)).toEqual([`${TEAM_B}:x`]);
    const findings = json.findings as { total: number; byStatus: Record<string, number> };
    expect(findings.byStatus.ACTIVE).toBeGreaterThan(0);
    expect(json.report).toBeUndefined();
  });

  it('GET /repositories/{repository}/images/{digest}: only what that repository sees; 404 elsewhere', async () => {
    const a = await call(
      event('GET', '/repositories/{repository}/images/{digest}', {
        repository: TEAM_A,
        digest: d310,
      }),
    );
    expect(a.status).toBe(200);
    expect((a.json.repositories as { repository: string }[]).map((r) => r.repository)).toEqual([
      TEAM_A,
    ]);
    expect(a.json.workloads).toEqual([]);
    const other = await call(
      event('GET', '/repositories/{repository}/images/{digest}', {
        repository: `${REGISTRY}/team-c/app`,
        digest: d310,
      }),
    );
    expect(other.status).toBe(404);
    expect(other.json).toMatchObject({ error: 'NotFound' });
  });

  it('GET /repositories/{repository}/images: the images pushed there, by push time', async () => {
    const { status, json } = await call(
      event('GET', '/repositories/{repository}/images', { repository: TEAM_A }),
    );
    expect(status).toBe(200);
    expect(
      (json.items as { digest: string; status: string }[]).map((i) => [i.digest, i.status]),
    ).toEqual([
      [d310, 'COMPLETE'],
      [d311, 'COMPLETE'],
    ]);
  });

  it('GET tags and a tag history: the tag moved from the 3.10 image to the 3.11 image', async () => {
    const tags = await call(
      event('GET', '/repositories/{repository}/tags', { repository: TEAM_A }),
    );
    expect(tags.json).toEqual({ items: [{ tag: '1', digest: d311 }] });
    const history = await call(
      event('GET', '/repositories/{repository}/tags/{tag}/history', {
        repository: TEAM_A,
        tag: '1',
      }),
    );
    expect(history.json).toEqual({
      repository: TEAM_A,
      tag: '1',
      digest: d311,
      moves: [
        { digest: d310, movedAt: '2025-01-01T00:00:00.000Z' },
        { digest: d311, previousDigest: d310, movedAt: '2025-01-02T00:00:00.000Z' },
      ],
    });
    const unknown = await call(
      event('GET', '/repositories/{repository}/tags/{tag}/history', {
        repository: TEAM_A,
        tag: 'nope',
      }),
    );
    expect(unknown.status).toBe(404);
  });
});

describe('findings', () => {
  it('of a digest and of a repository, with filters', async () => {
    const own = await call(event('GET', '/images/{digest}/findings', { digest: d310 }));
    const items = own.json.items as FindingRecord[];
    expect(items.map((f) => f.packageName)).toContain('concat-stream');
    expect(own.json.nextCursor).toBeUndefined();
    const scoped = await call(
      event('GET', '/repositories/{repository}/images/{digest}/findings', {
        repository: TEAM_B,
        digest: d310,
      }),
    );
    expect(scoped.json.items).toEqual(items);
    const repo = await call(
      event('GET', '/repositories/{repository}/findings', { repository: TEAM_A }),
    );
    // Both images of team-a have the lockfile, so each has the concat-stream finding.
    expect(
      (repo.json.items as FindingRecord[])
        .filter((f) => f.packageName === 'concat-stream')
        .map((f) => f.digest),
    ).toEqual([d310, d311].sort());
    const filtered = async (query: Record<string, string>) =>
      (
        (await call(event('GET', '/images/{digest}/findings', { digest: d310 }, { query }))).json
          .items as FindingRecord[]
      ).length;
    const severities = [...new Set(items.map((f) => f.severity.severity))];
    expect(await filtered({ severity: severities.join(',') })).toBe(items.length);
    expect(await filtered({ status: 'CLOSED' })).toBe(0);
    expect(await filtered({ kev: 'true' })).toBe(items.filter((f) => f.kev !== undefined).length);
    expect(
      (await filtered({ fixAvailable: 'true' })) + (await filtered({ fixAvailable: 'false' })),
    ).toBe(items.length);
  });

  it('GET /vulns/{id}/images: the images an advisory affects, their repositories and use', async () => {
    const { status, json } = await call(
      event('GET', '/vulns/{id}/images', { id: CONCAT_STREAM_ADVISORY }),
    );
    expect(status).toBe(200);
    const images = json.items as {
      digest: string;
      running: boolean;
      repositories: { repository: string }[];
    }[];
    expect(
      images.map((i) => [i.digest, i.running, i.repositories.map((r) => r.repository)]),
    ).toEqual(
      [
        [d310, true, [TEAM_A, TEAM_B]],
        [d311, false, [TEAM_A]],
      ].sort(),
    );
  });

  it('pages over 1,000 findings: each seen once, none twice, an uncommitted generation hidden', {
    timeout: 120_000,
  }, async () => {
    const digest = `sha256:${'f'.repeat(64)}`;
    const repository = `${REGISTRY}/team-a/big`;
    await world.scan.images.recordPush(digest, repository, 'big', '2025-02-01T00:00:00.000Z');
    await world.scan.images.putImage(
      { digest, status: 'COMPLETE', findingsGeneration: 1 },
      undefined,
    );
    const finding = (i: number, generation: number, prior?: FindingRecord): StoredFinding => ({
      digest,
      packageKey: `npm#pkg-${String(i).padStart(4, '0')}`,
      packageName: `pkg-${String(i).padStart(4, '0')}`,
      installedVersion: '1.0.0',
      vulnerabilityId: `GHSA-test-${i}`,
      ids: [`GHSA-test-${i}`],
      advisoryIds: [`GHSA-test-${i}`],
      status: 'ACTIVE',
      severity: { severity: i % 2 === 0 ? 'HIGH' : 'LOW', source: 'none' },
      firstObservedAt: '2025-02-01T00:00:00.000Z',
      lastObservedAt: '2025-02-01T00:00:00.000Z',
      generation,
      ...(prior === undefined ? {} : { prior }),
    });
    const committed = Array.from({ length: 1000 }, (_, i) => finding(i, 1));
    // A run stopped before its commit: one finding rewritten (its prior shows), one added (hidden).
    const { generation: _g, prior: _p, ...first } = committed[0] as StoredFinding;
    committed[0] = { ...finding(0, 2, first), status: 'SUPPRESSED' };
    await world.scan.findings.write([...committed, finding(1000, 2)]);

    for (const route of [
      '/images/{digest}/findings',
      '/repositories/{repository}/findings',
    ] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const query: Record<string, string> = {
          limit: '97',
          ...(cursor === undefined ? {} : { cursor }),
        };
        const { status, json } = await call(event('GET', route, { digest, repository }, { query }));
        expect(status).toBe(200);
        const items = json.items as FindingRecord[];
        expect(items.length).toBeLessThanOrEqual(97);
        for (const f of items) {
          expect(f.status, f.vulnerabilityId).toBe('ACTIVE');
          seen.push(f.vulnerabilityId);
        }
        cursor = json.nextCursor as string | undefined;
        pages++;
      } while (cursor !== undefined);
      expect(pages).toBe(11);
      expect(seen).toHaveLength(1000);
      expect(new Set(seen).size).toBe(1000);
      expect(seen).not.toContain('GHSA-test-1000');
    }
    // A filter pages the same way; a cursor is tied to its filters.
    const high = await call(
      event(
        'GET',
        '/images/{digest}/findings',
        { digest },
        { query: { severity: 'HIGH', limit: '400' } },
      ),
    );
    expect((high.json.items as FindingRecord[]).length).toBe(400);
    const reused = await call(
      event(
        'GET',
        '/images/{digest}/findings',
        { digest },
        { query: { cursor: high.json.nextCursor as string } },
      ),
    );
    expect(reused.status).toBe(400);
    expect(reused.json.problems).toEqual(['cursor: made for another route or other filters']);
  });
});

describe('requests the API refuses', () => {
  const cases: [string, ReturnType<typeof event>, number, RegExp][] = [
    [
      'a digest that is not one',
      event('GET', '/images/{digest}', { digest: 'sha256:abc' }),
      400,
      /path\.digest/,
    ],
    [
      'an unknown digest',
      event('GET', '/images/{digest}', { digest: `sha256:${'0'.repeat(64)}` }),
      404,
      /not known/,
    ],
    [
      'a repository walking up',
      event('GET', '/repositories/{repository}/tags', {
        repository: `${REGISTRY}/team-a/../team-b/app`,
      }),
      400,
      /path\.repository/,
    ],
    [
      'a repository with no registry host',
      event('GET', '/repositories/{repository}/tags', { repository: 'app' }),
      400,
      /path\.repository/,
    ],
    [
      'a limit of 0',
      event(
        'GET',
        '/images/{digest}/findings',
        { digest: `sha256:${'f'.repeat(64)}` },
        { query: { limit: '0' } },
      ),
      400,
      /query\.limit/,
    ],
    [
      'a limit above 500',
      event(
        'GET',
        '/repositories/{repository}/tags',
        { repository: TEAM_A },
        { query: { limit: '501' } },
      ),
      400,
      /query\.limit/,
    ],
    [
      'an unknown query parameter',
      event(
        'GET',
        '/repositories/{repository}/tags',
        { repository: TEAM_A },
        { query: { sort: 'tag' } },
      ),
      400,
      /query/,
    ],
    [
      'an unknown severity',
      event(
        'GET',
        '/repositories/{repository}/findings',
        { repository: TEAM_A },
        { query: { severity: 'SEVERE' } },
      ),
      400,
      /query\.severity/,
    ],
    [
      'a forged cursor',
      event(
        'GET',
        '/repositories/{repository}/tags',
        { repository: TEAM_A },
        { query: { cursor: 'eyJ2IjoxfQ.AAAAAAAA' } },
      ),
      400,
      /cursor/,
    ],
    ['an unknown route', event('GET', '/nothing/{here}', { here: 'x' }), 404, /no route/],
    ['a body that is not JSON', event('POST', '/suppressions', {}, { body: '{nope' }), 400, /body/],
    [
      'an author in the body',
      event(
        'POST',
        '/suppressions',
        {},
        { body: { vulnerabilityId: 'CVE-2024-3094', reason: 'r', author: 'mallory' } },
      ),
      400,
      /author/,
    ],
    [
      'an expiry in the past',
      event(
        'POST',
        '/suppressions',
        {},
        {
          body: {
            vulnerabilityId: 'CVE-2024-3094',
            reason: 'r',
            expiresAt: '2020-01-01T00:00:00Z',
          },
        },
      ),
      400,
      /expiresAt/,
    ],
    [
      'a write with no IAM principal',
      event(
        'POST',
        '/suppressions',
        {},
        { body: { vulnerabilityId: 'CVE-2024-3094', reason: 'r' }, userArn: null },
      ),
      403,
      /IAM principal/,
    ],
    [
      'deleting a suppression that is not there',
      event('DELETE', '/suppressions/{vulnerabilityId}', { vulnerabilityId: 'CVE-2024-3094' }),
      404,
      /no suppression/,
    ],
  ];
  it.each(cases)('%s', async (_name, e, status, message) => {
    const { status: got, json, raw } = await call(e);
    expect(got).toBe(status);
    expect(JSON.stringify(json)).toMatch(message);
    expect(raw).not.toMatch(/\n\s+at /);
  });
});

describe('suppressions', () => {
  const change = {
    version: 1 as const,
    source: 'test',
    changes: [
      {
        ecosystem: 'npm',
        name: 'concat-stream',
        change: 'modified' as const,
        advisoryIds: [CONCAT_STREAM_ADVISORY],
      },
    ],
  };
  const concatOf = async (digest: string) => {
    const { json } = await call(event('GET', '/images/{digest}/findings', { digest }));
    return (json.items as FindingRecord[]).find(
      (f) => f.packageName === 'concat-stream',
    ) as FindingRecord;
  };
  /** Runs a rescan and returns the messages it published about d311 (team-a only). */
  const rescan = async () => {
    const before = world.notifier.sent.length;
    await rescanPackages(change, world.scan);
    return world.notifier
      .bodies()
      .slice(before)
      .filter((m) => m.image.digest === d311);
  };

  it('a repository suppression written through the API closes the finding at the next rescan, its deletion reopens it', {
    timeout: 60_000,
  }, async () => {
    const target = await concatOf(d311);
    expect(target.status).toBe('ACTIVE');
    const created = await call(
      event(
        'POST',
        '/repositories/{repository}/suppressions',
        { repository: TEAM_A },
        {
          body: {
            vulnerabilityId: target.vulnerabilityId,
            packageKey: target.packageKey,
            reason: 'not reachable: stream never concatenated',
          },
        },
      ),
    );
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      scope: 'team-a/app',
      author: CALLER,
      packageKey: 'npm#concat-stream',
    });

    const listed = await call(
      event('GET', '/repositories/{repository}/suppressions', { repository: TEAM_A }),
    );
    expect((listed.json.items as unknown[]).length).toBe(1);

    const closing = await rescan();
    expect(closing).toHaveLength(1);
    expect((await concatOf(d311)).status).toBe('SUPPRESSED');
    expect((await concatOf(d311)).statusReason).toBe(
      'suppressed: not reachable: stream never concatenated',
    );
    // The 3.10 image is in team-a/app too: a repository's suppression covers every image in it.
    expect((await concatOf(d310)).status).toBe('SUPPRESSED');

    const deleted = await call(
      event(
        'DELETE',
        '/repositories/{repository}/suppressions/{vulnerabilityId}',
        { repository: TEAM_A, vulnerabilityId: target.vulnerabilityId },
        { query: { packageKey: target.packageKey } },
      ),
    );
    expect(deleted.status).toBe(204);
    const reopening = await rescan();
    expect(reopening).toHaveLength(1);
    expect((await concatOf(d311)).status).toBe('ACTIVE');
  });

  it('an expired suppression no longer applies: the next rescan reopens the finding', {
    timeout: 60_000,
  }, async () => {
    const target = await concatOf(d311);
    // Expiries are kept in epoch seconds (the table's TTL attribute, docs/data-model.md).
    const expiresAt = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000).toISOString();
    const created = await call(
      event(
        'POST',
        '/images/{digest}/suppressions',
        { digest: d311 },
        {
          body: {
            vulnerabilityId: target.vulnerabilityId,
            reason: 'accepted until the next release',
            expiresAt,
          },
        },
      ),
    );
    expect(created.json).toMatchObject({ scope: d311, packageKey: '*', expiresAt });
    expect(await rescan()).toHaveLength(1);
    expect((await concatOf(d311)).status).toBe('SUPPRESSED');

    await new Promise((r) => setTimeout(r, Date.parse(expiresAt) - Date.now() + 1100));
    const listed = await call(event('GET', '/images/{digest}/suppressions', { digest: d311 }));
    expect(listed.json).toEqual({ items: [] });
    expect(await rescan()).toHaveLength(1);
    expect((await concatOf(d311)).status).toBe('ACTIVE');
  });

  it('global suppressions: list, write, delete', async () => {
    const body = {
      vulnerabilityId: 'CVE-2024-3094',
      packageKey: 'Debian:12#xz-utils',
      reason: 'not shipped',
    };
    expect((await call(event('POST', '/suppressions', {}, { body }))).status).toBe(201);
    const listed = await call(event('GET', '/suppressions'));
    expect(listed.json).toMatchObject({ items: [{ ...body, scope: '*', author: CALLER }] });
    const del = await call(
      event(
        'DELETE',
        '/suppressions/{vulnerabilityId}',
        { vulnerabilityId: body.vulnerabilityId },
        { query: { packageKey: body.packageKey } },
      ),
    );
    expect(del.status).toBe(204);
    expect((await call(event('GET', '/suppressions'))).json).toEqual({ items: [] });
  });
});

describe('decisions queue their rescans', () => {
  const concatOf = async (digest: string) => {
    const { json } = await call(event('GET', '/images/{digest}/findings', { digest }));
    return (json.items as FindingRecord[]).find(
      (f) => f.packageName === 'concat-stream',
    ) as FindingRecord;
  };
  /** An OpenVEX document about concat-stream in the 3.11 image, as a team would write it. */
  const openVex = (status: string) =>
    JSON.stringify({
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': `https://openvex.dev/docs/example/team-a-${status}`,
      author: 'team-a',
      timestamp: '2026-01-01T00:00:00Z',
      version: 1,
      statements: [
        {
          vulnerability: { name: CONCAT_STREAM_ADVISORY },
          products: [
            {
              '@id': `pkg:oci/app@${encodeURIComponent(d311)}`,
              subcomponents: [{ '@id': 'pkg:npm/concat-stream' }],
            },
          ],
          status,
          justification: 'vulnerable_code_not_in_execute_path',
        },
      ],
    });

  it('a suppression put or deleted through the API rescans its package at once', {
    timeout: 60_000,
  }, async () => {
    await world.runQueuedRescans();
    const before = world.notifier.sent.length;
    const target = await concatOf(d311);
    const body = {
      vulnerabilityId: target.vulnerabilityId,
      packageKey: target.packageKey,
      reason: 'accepted',
    };
    const created = await call(
      event('POST', '/images/{digest}/suppressions', { digest: d311 }, { body }),
    );
    expect(created.status).toBe(201);
    // Queued by the API itself: one message, for the npm package the finding is in.
    expect(await world.runQueuedRescans()).toBe(1);
    expect((await concatOf(d311)).status).toBe('SUPPRESSED');
    await call(
      event(
        'DELETE',
        '/images/{digest}/suppressions/{vulnerabilityId}',
        { digest: d311, vulnerabilityId: target.vulnerabilityId },
        { query: { packageKey: target.packageKey } },
      ),
    );
    expect(await world.runQueuedRescans()).toBe(1);
    expect((await concatOf(d311)).status).toBe('ACTIVE');
    // Closed, then opened again: one message each, about this image only.
    const about = world.notifier
      .bodies()
      .slice(before)
      .map((m) => [m.eventType, m.image.digest]);
    expect(about).toEqual([
      ['FINDINGS_RESOLVED', d311],
      ['FINDINGS_NEW', d311],
    ]);
  });

  it('a VEX document put for a repository suppresses what it says is not affected; deleted, it re-opens', {
    timeout: 60_000,
  }, async () => {
    await world.runQueuedRescans();
    const put = await call(
      event(
        'POST',
        '/repositories/{repository}/vex',
        { repository: TEAM_A },
        { body: openVex('not_affected') },
      ),
    );
    expect(put.status).toBe(201);
    expect(put.json).toMatchObject({
      scope: 'team-a/app',
      format: 'openvex',
      author: 'team-a',
      statements: 1,
      uploadedBy: CALLER,
      issues: [],
      rescans: 1,
    });
    await world.runQueuedRescans();
    const finding = await concatOf(d311);
    expect(finding.status).toBe('SUPPRESSED');
    expect(finding.statusReason).toBe(
      'vex: not_affected (vulnerable_code_not_in_execute_path) in https://openvex.dev/docs/example/team-a-not_affected',
    );
    // The document names the 3.11 image only: the 3.10 image in the same repository keeps it.
    expect((await concatOf(d310)).status).toBe('ACTIVE');

    const listed = await call(
      event('GET', '/repositories/{repository}/vex', { repository: TEAM_A }),
    );
    expect(listed.json).toMatchObject({ items: [{ id: put.json.id, statements: 1 }] });
    // Another team's listing does not show it.
    const other = await call(
      event('GET', '/repositories/{repository}/vex', { repository: TEAM_B }),
    );
    expect(other.json).toEqual({ items: [] });

    const deleted = await call(
      event('DELETE', '/repositories/{repository}/vex/{id}', {
        repository: TEAM_A,
        id: put.json.id as string,
      }),
    );
    expect(deleted.json).toEqual({ deleted: true, rescans: 1 });
    await world.runQueuedRescans();
    expect((await concatOf(d311)).status).toBe('ACTIVE');
  });

  it('a VEX statement with an expiry suppresses, then re-opens at the sweep after it expired', {
    timeout: 60_000,
  }, async () => {
    await world.runQueuedRescans();
    await world.sweepExpired();
    const before = world.notifier.sent.length;
    // Expiries are kept to the second (the table's TTL attribute).
    const expiresAt = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000).toISOString();
    const put = await call(
      event(
        'POST',
        '/repositories/{repository}/vex',
        { repository: TEAM_A },
        { body: openVex('fixed'), query: { expiresAt } },
      ),
    );
    expect(put.json).toMatchObject({ expiresAt, rescans: 1 });
    await world.runQueuedRescans();
    expect((await concatOf(d311)).statusReason).toBe(
      'vex: fixed (vulnerable_code_not_in_execute_path) in https://openvex.dev/docs/example/team-a-fixed',
    );
    // Before the expiry the sweep has nothing to do; after it, the finding is open again.
    expect((await world.sweepExpired()).expired).toBe(0);
    await new Promise((r) => setTimeout(r, Date.parse(expiresAt) - Date.now() + 1100));
    expect(await world.sweepExpired()).toMatchObject({ expired: 1, messages: 1 });
    expect((await concatOf(d311)).status).toBe('ACTIVE');
    const about = world.notifier
      .bodies()
      .slice(before)
      .map((m) => [m.eventType, m.image.digest, m.trigger]);
    expect(about).toEqual([
      ['FINDINGS_RESOLVED', d311, 'rescan'],
      ['FINDINGS_NEW', d311, 'rescan'],
    ]);
  });

  it('refuses a document that is not VEX, and an expiry in the past, with 400s', async () => {
    const notVex = await call(event('POST', '/vex', {}, { body: '{"spdxVersion":"SPDX-2.3"}' }));
    expect(notVex.status).toBe(400);
    expect(notVex.raw).toMatch(/neither an OpenVEX document/);
    const past = await call(
      event(
        'POST',
        '/vex',
        {},
        { body: openVex('fixed'), query: { expiresAt: '2020-01-01T00:00:00Z' } },
      ),
    );
    expect(past.status).toBe(400);
    expect(past.raw).toMatch(/not in the future/);
    const anonymous = await call(
      event('POST', '/vex', {}, { body: openVex('fixed'), userArn: null }),
    );
    expect(anonymous.status).toBe(403);
    expect((await call(event('GET', '/vex'))).json).toEqual({ items: [] });
  });
});
