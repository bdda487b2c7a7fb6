/**
 * The audit use case (shared/pipeline/audit.ts) on the embedded stores, with the ECS task state
 * change event AWS documents (its container's image and digest set to the real test images of
 * test/support/pipeline.ts) and the scan use case for real: each judgement fires once when it
 * starts to hold, and not when it does not.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsTaskStateChangeEvent } from '../../../shared/events/ecs-task.js';
import { parseJsonEvent } from '../../../shared/events/parse.js';
import type { ScanRequest } from '../../../shared/events/scan-request.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import type { ImageSet } from '../../../shared/image/types.js';
import type { Notification } from '../../../shared/notifications/message.js';
import {
  type AuditDeps,
  observeWorkloads,
  readableRegistries,
} from '../../../shared/pipeline/audit.js';
import { type ScanDeps, scanImage } from '../../../shared/pipeline/scan.js';
import { loadTrust } from '../../../shared/provenance/check.js';
import { parseProvenancePolicy, selectRule } from '../../../shared/provenance/policy.js';
import { decideVerdict } from '../../../shared/provenance/verdict.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { FindingsStore } from '../../../shared/stores/findings-store.js';
import { ImageStore } from '../../../shared/stores/image-store.js';
import { InventoryStore } from '../../../shared/stores/inventory-store.js';
import { ProvenanceStore } from '../../../shared/stores/provenance-store.js';
import { WorkloadStore } from '../../../shared/stores/workload-store.js';
import { observationsOfTaskEvent } from '../../../shared/workloads/ecs.js';
import type { Observation } from '../../../shared/workloads/types.js';
import { dataDir, fixtureText } from '../../support/fixtures.js';
import {
  CONCAT_STREAM_ADVISORY,
  MutableAdvisories,
  npmAdvisories,
  RecordingNotifier,
  writeTestImage,
} from '../../support/pipeline.js';

const REGISTRY = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
const REPO = `${REGISTRY}/team/app`;
const work = mkdtempSync(path.join(tmpdir(), 'bosun-audit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const layouts = new Map<string, string>();
let app310 = '';
let app311 = '';

beforeAll(async () => {
  for (const kind of ['app-310', 'app-311'] as const) {
    const dir = path.join(work, kind);
    const { digest } = await writeTestImage(dir, kind);
    layouts.set(digest, dir);
    if (kind === 'app-310') app310 = digest;
    else app311 = digest;
  }
});

function setup(minSeverity: 'HIGH' | 'MEDIUM' = 'MEDIUM') {
  const dir = mkdtempSync(path.join(work, 'stores-'));
  const images = EmbeddedItemTable.open(dir, 'images');
  const queued: ScanRequest[] = [];
  const notifier = new RecordingNotifier();
  const deps: ScanDeps & AuditDeps = {
    images: new ImageStore(images),
    inventories: new InventoryStore(EmbeddedItemTable.open(dir, 'inventories')),
    findings: new FindingsStore(EmbeddedItemTable.open(dir, 'findings')),
    advisories: new MutableAdvisories(npmAdvisories()),
    notifier,
    leaseWaitMs: 2_000,
    openImage: async (r): Promise<ImageSet> =>
      new OciLayoutSource(layouts.get(r.digest) as string, 'latest').images(),
    audit: {
      workloads: new WorkloadStore(images),
      queueScans: async (requests) => void queued.push(...requests),
      minSeverity,
      unreadable: readableRegistries(),
      verdicts: new ProvenanceStore(images),
    },
  };
  return { deps, notifier, queued };
}

/** The documented running event, its container running `image` at `digest` in task `task`. */
function running(
  image: string,
  digest: string | undefined,
  task = 'c13b4cb40f1f4fe4a2971f76ae5a47ad',
) {
  const event = JSON.parse(fixtureText('ecs/task-state-change/running.json'));
  const container = event.detail.containers[0];
  container.image = image;
  if (digest === undefined) delete container.imageDigest;
  else container.imageDigest = digest;
  event.detail.taskArn = event.detail.taskArn.replace('c13b4cb40f1f4fe4a2971f76ae5a47ad', task);
  return observationsOfTaskEvent(
    parseJsonEvent(ecsTaskStateChangeEvent, 'ECS', JSON.stringify(event)),
  );
}
const push = (digest: string, tag?: string, action: 'PUSH' | 'DELETE' = 'PUSH'): ScanRequest => ({
  action,
  registry: REGISTRY,
  repository: 'team/app',
  digest,
  ...(tag === undefined ? {} : { tag }),
  eventTime: new Date().toISOString(),
  eventId: `${action}-${digest.slice(7, 15)}-${tag ?? ''}`,
});
const running_ = (n: Notification[]) => n.filter((m) => m.eventType.startsWith('RUNNING_'));

describe('RUNNING_UNSCANNED', () => {
  it('queues the scan of a running digest Bosun never saw, announces it once, and the scan turns it RUNNING_VULNERABLE', async () => {
    const { deps, notifier, queued } = setup();
    const observed = running(`${REPO}:1.0`, app310);
    expect((await observeWorkloads(deps, observed)).messages).toBe(1);
    const [unscanned] = notifier.of('RUNNING_UNSCANNED');
    expect(unscanned?.workload).toMatchObject({
      source: 'ecs',
      workload: observed[0]?.workload,
      image: `${REPO}:1.0`,
      reason: 'never scanned by Bosun; its scan is queued',
      account: '111122223333',
      region: 'us-west-2',
    });
    expect(unscanned?.image).toMatchObject({
      digest: app310,
      registry: REGISTRY,
      repositories: ['team/app'],
    });
    expect(notifier.sent[0]?.attributes).toMatchObject({
      eventType: 'RUNNING_UNSCANNED',
      workloadSource: 'ecs',
    });
    expect(queued).toEqual([
      expect.objectContaining({
        action: 'PUSH',
        registry: REGISTRY,
        repository: 'team/app',
        digest: app310,
      }),
    ]);
    // Seen again: nothing more.
    await observeWorkloads(deps, observed);
    expect(notifier.sent).toHaveLength(1);
    expect(queued).toHaveLength(1);

    await scanImage(queued[0] as ScanRequest, deps);
    const [vulnerable] = notifier.of('RUNNING_VULNERABLE');
    expect(vulnerable?.findings.map((f) => f.id)).toEqual([CONCAT_STREAM_ADVISORY]);
    expect(vulnerable?.trigger).toBe('push');
    expect(vulnerable?.workload?.reason).toBe(
      '1 active findings at or above MEDIUM or known exploited (1 MEDIUM)',
    );
    const judgements = await deps.audit.workloads.judgements({
      digest: app310,
      source: 'ecs',
      workload: observed[0]?.workload as string,
    });
    expect(Object.keys(judgements?.holding ?? {})).toEqual(['RUNNING_VULNERABLE']);
    expect(Object.keys(judgements?.cleared ?? {})).toEqual(['RUNNING_UNSCANNED']);
    await observeWorkloads(deps, observed);
    expect(running_(notifier.bodies()).map((m) => m.eventType)).toEqual([
      'RUNNING_UNSCANNED',
      'RUNNING_VULNERABLE',
    ]);
  });

  it('says why an image from a registry Bosun cannot read is not scanned, and queues nothing', async () => {
    const { deps, notifier, queued } = setup();
    await observeWorkloads(deps, running('nginx:1.27', app311));
    expect(notifier.of('RUNNING_UNSCANNED')[0]?.workload?.reason).toBe(
      'never scanned: Bosun cannot read docker.io: it pulls from Amazon ECR and the registries it is configured for',
    );
    expect(queued).toEqual([]);
  });

  it('reports an observation without a digest instead of judging it', async () => {
    const { deps, notifier } = setup();
    const outcome = await observeWorkloads(deps, running('amazon/aws-xray-daemon', undefined));
    expect(outcome.undigested).toEqual([
      { workload: expect.stringContaining('#FargateApp'), image: 'amazon/aws-xray-daemon' },
    ]);
    expect(notifier.sent).toEqual([]);
  });
});

describe('judgements of scanned images', () => {
  it('RUNNING_VULNERABLE does not fire below the severity (HIGH by default)', async () => {
    const { deps, notifier } = setup('HIGH');
    await scanImage(push(app310, '1'), deps);
    await observeWorkloads(deps, running(`${REPO}:1`, app310));
    expect(running_(notifier.bodies())).toEqual([]);
  });

  it('RUNNING_STALE when the tag the workload runs is pushed onto another digest', async () => {
    const { deps, notifier } = setup('HIGH');
    await scanImage(push(app310, '1'), deps);
    await observeWorkloads(deps, running(`${REPO}:1`, app310));
    await scanImage(push(app311, '1'), deps);
    const [stale] = notifier.of('RUNNING_STALE');
    expect(stale?.image.digest).toBe(app310);
    expect(stale?.workload?.reason).toMatch(
      new RegExp(`^tag team/app:1 now points to ${app311} \\(moved at `),
    );
    // Not for a workload that names the digest, not the tag.
    const other = setup('HIGH');
    await scanImage(push(app310, '1'), other.deps);
    await observeWorkloads(other.deps, running(`${REPO}@${app310}`, app310));
    await scanImage(push(app311, '1'), other.deps);
    expect(other.notifier.of('RUNNING_STALE')).toEqual([]);
  });

  it('RUNNING_DELETED when the digest is deleted from the repository the workload names', async () => {
    const { deps, notifier } = setup('HIGH');
    await scanImage(push(app310, '1'), deps);
    await observeWorkloads(deps, running(`${REPO}:1`, app310));
    expect(notifier.of('RUNNING_DELETED')).toEqual([]);
    await scanImage(push(app310, undefined, 'DELETE'), deps);
    const [deleted] = notifier.of('RUNNING_DELETED');
    expect(deleted?.trigger).toBe('deleted');
    expect(deleted?.workload?.reason).toMatch(/^deleted from team\/app at .* while running$/);
  });
});

describe('reconcile', () => {
  it('removes the workloads its pass did not see, clearing what held, and keeps the others', async () => {
    const { deps, notifier } = setup();
    await scanImage(push(app310, '1'), deps);
    const first = running(`${REPO}:1`, app310, 'aaaa0000000000000000000000000001');
    const second = running(`${REPO}:1`, app310, 'bbbb0000000000000000000000000002');
    await observeWorkloads(deps, [...first, ...second]);
    expect(notifier.of('RUNNING_VULNERABLE')).toHaveLength(2);
    expect((await deps.audit.workloads.inUse(app310)).inUseCount).toBe(2);

    const startedAt = '2026-11-29T10:00:00.000Z';
    const pass: Observation[] = second.map((o) => ({ ...o, seenAt: '2026-11-29T10:00:01.000Z' }));
    const outcome = await observeWorkloads(deps, pass, { reconcile: { source: 'ecs', startedAt } });
    expect(outcome).toMatchObject({ recorded: 1, removed: 1, messages: 0 });
    expect(await deps.audit.workloads.inUse(app310)).toMatchObject({ inUseCount: 1 });
    const gone = { digest: app310, source: 'ecs', workload: first[0]?.workload as string };
    expect(await deps.audit.workloads.get(gone)).toMatchObject({ stoppedAt: startedAt });
    expect(await deps.audit.workloads.judgements(gone)).toMatchObject({
      holding: {},
      cleared: { RUNNING_VULNERABLE: expect.any(String) },
    });
    expect(
      notifier.sent.filter((m) => m.attributes.eventType === 'RUNNING_VULNERABLE'),
    ).toHaveLength(2);
  });
});

describe('RUNNING_UNVERIFIED', () => {
  // Real P-256 key (connaisseur's alice), so that the policy parses; no signature is made: the
  // verdicts are decided from what discovery would have found (nothing), as the scan decides.
  const key = JSON.stringify(
    readFileSync(
      path.join(dataDir(), 'provenance/connaisseur/test/testdata/cosign/alice.key'),
      'utf8',
    ),
  );
  const policy = (mode: 'enforce' | 'audit') =>
    parseProvenancePolicy(
      `apiVersion: provenance.bosun.dev/v1\nmode: ${mode}\nauthorities:\n  alice: { key: ${key} }\ndefault:\n  signatures: alice\n`,
    );
  async function storeVerdict(deps: AuditDeps, digest: string, mode: 'enforce' | 'audit') {
    const p = policy(mode);
    const verdict = decideVerdict({
      subjectDigest: digest,
      repository: REPO,
      policy: p,
      rule: selectRule(p, REPO),
      outcomes: [],
    });
    await deps.audit.verdicts?.put({
      digest,
      repository: REPO,
      status: verdict.status,
      policyVersion: p.version,
      trustVersion: loadTrust({}).version,
      checkedAt: new Date().toISOString(),
      verdict,
      announcedStatus: verdict.status,
    });
  }

  it('judges a running digest whose provenance fails under enforce, once', async () => {
    const { deps, notifier } = setup('HIGH');
    await scanImage(push(app311, '1'), deps);
    await storeVerdict(deps, app311, 'enforce');
    await observeWorkloads(deps, running(`${REPO}:1`, app311));
    const [unverified] = notifier.of('RUNNING_UNVERIFIED');
    expect(unverified?.workload?.reason).toBe(
      `provenance UNSIGNED in team/app (rule default): no signature or attestation found for ${app311}`,
    );
    await observeWorkloads(deps, running(`${REPO}:1`, app311));
    expect(notifier.of('RUNNING_UNVERIFIED')).toHaveLength(1);
  });

  it('does not judge a verdict under an audit rule, nor a digest with no verdict', async () => {
    const { deps, notifier } = setup('HIGH');
    await scanImage(push(app311, '1'), deps);
    await observeWorkloads(deps, running(`${REPO}:1`, app311));
    await storeVerdict(deps, app311, 'audit');
    await observeWorkloads(deps, running(`${REPO}:1`, app311, 'dddd0000000000000000000000000004'));
    expect(notifier.of('RUNNING_UNVERIFIED')).toEqual([]);
  });
});
