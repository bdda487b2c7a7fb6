/**
 * Contract of the checks store and its lifecycle (shared/stores/checks-store.ts,
 * shared/pipeline/checks-lifecycle.ts), run on every item-table adapter of the findings table
 * (the embedded one in the unit project, DynamoDB Local in the integration project). The
 * results are the image checks of an image built at test time from real files
 * (test/support/check-images.ts: Alpine 3.10's layer, AWS's documented example credentials in a
 * file a later layer deletes and in Env), walked as a scan walks it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checksCollector } from '../../shared/checks/collect.js';
import { parseChecksConfig } from '../../shared/checks/config.js';
import { layerFactsOf } from '../../shared/checks/facts.js';
import { checkImage } from '../../shared/checks/image.js';
import { sha256Hex } from '../../shared/checks/secrets.js';
import type { CheckResult } from '../../shared/checks/types.js';
import type { EffectiveUser } from '../../shared/checks/user.js';
import { OciLayoutSource } from '../../shared/image/oci-layout.js';
import type { Image } from '../../shared/image/types.js';
import { inventoryAndWalk } from '../../shared/inventory/inventory.js';
import { type ChecksDeps, reconcileChecks } from '../../shared/pipeline/checks-lifecycle.js';
import { ChecksStore, subjectPartition } from '../../shared/stores/checks-store.js';
import { FindingsStore } from '../../shared/stores/findings-store.js';
import type { ItemTable } from '../../shared/stores/item-table.js';
import { AWS_EXAMPLE_SECRET, PLANTED, writeSecretsImage } from '../support/check-images.js';
import { RecordingNotifier } from '../support/pipeline.js';

const OLD = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const FIXED = 'sha256:2222222222222222222222222222222222222222222222222222222222222222';
const image = (digest: string) => ({ digest, repositories: ['team-a/app'], tags: [] });
const ids = (checks: readonly { checkId: string }[]) => checks.map((c) => c.checkId).sort();
const ROOT = 'BOSUN-IMG-001';

let results: CheckResult[] = [];

/** The secrets image's checks, as the scan's walk computes them. */
async function secretsImageChecks(): Promise<CheckResult[]> {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'bosun-checks-store-')), 'image');
  await writeSecretsImage(dir);
  const target = (await new OciLayoutSource(dir).images()).images[0] as Image;
  const read = await inventoryAndWalk(target, { collect: checksCollector() });
  return checkImage(target, read.inventory, layerFactsOf(read.walk)).results;
}

export function checksStoreContract(name: string, open: () => Promise<ItemTable>): void {
  describe(`${name} checks store contract`, () => {
    beforeAll(async () => {
      results = await secretsImageChecks();
      // The image has a root user, two file secrets and a config secret at least.
      expect(results.some((r) => r.id === ROOT)).toBe(true);
      expect(results.filter((r) => r.secret !== undefined).length).toBeGreaterThanOrEqual(3);
    }, 60_000);

    // Times ahead of the clock: stores never return an item whose expiresAt has passed.
    async function setup(start = '2030-03-01T00:00:00.000Z') {
      const table = await open();
      let now = new Date(start);
      const notifier = new RecordingNotifier();
      const deps: ChecksDeps = {
        checks: new ChecksStore(table),
        findings: new FindingsStore(table),
        notifier,
        now: () => now,
      };
      return {
        table,
        deps,
        notifier,
        at: (iso: string) => {
          now = new Date(iso);
        },
      };
    }

    it('stores a first scan as new, announces it once, and keeps the image user', async () => {
      const { deps, notifier } = await setup();
      const user: EffectiveUser = {
        kind: 'root',
        why: 'no USER is set: the runtime default is root (uid 0)',
      };
      const context = {
        complete: true,
        repositories: ['team-a/app'],
        image: image(OLD),
        imageUser: user,
      } as const;
      const first = await reconcileChecks(deps, OLD, results, context);
      expect(ids(first.new)).toEqual(ids(results.map((r) => ({ checkId: r.id }))));
      expect(first.resolved).toEqual([]);
      expect(first.messages).toBe(1);
      expect(notifier.of('CHECKS_NEW', OLD)).toHaveLength(1);
      expect(notifier.of('CHECKS_NEW')[0]?.checks?.total).toBe(results.length);
      expect(notifier.sent[0]?.attributes.checkIds).toContain(ROOT);
      const stored = await deps.checks.open(OLD);
      expect(stored).toHaveLength(results.length);
      expect(stored.every((c) => c.status === 'ACTIVE' && c.announce === undefined)).toBe(true);
      expect(await deps.checks.imageUser(OLD)).toEqual(user);
      // The same results again: nothing changes, nothing is announced.
      const again = await reconcileChecks(deps, OLD, results, context);
      expect([again.new, again.resolved, again.messages]).toEqual([[], [], 0]);
      expect(notifier.sent).toHaveLength(1);
    });

    it('keeps a fixed image pushed as a new digest as its own subject', async () => {
      const { deps, notifier } = await setup();
      const context = { complete: true, repositories: ['team-a/app'] };
      await reconcileChecks(deps, OLD, results, { ...context, image: image(OLD) });
      const fixed = results.filter((r) => r.id !== ROOT);
      const next = await reconcileChecks(deps, FIXED, fixed, { ...context, image: image(FIXED) });
      expect(next.new).toHaveLength(fixed.length);
      expect(next.resolved).toEqual([]);
      // The old digest still runs as root: its checks are its own.
      expect(ids(await deps.checks.open(OLD))).toContain(ROOT);
      expect(ids(await deps.checks.open(FIXED))).not.toContain(ROOT);
      expect(notifier.of('CHECKS_NEW', FIXED)).toHaveLength(1);
      expect(notifier.of('CHECKS_RESOLVED')).toEqual([]);
    });

    it('moves checks of the same digest to resolved and new when the configuration or the results change', async () => {
      const { deps, notifier, at } = await setup();
      const base = { complete: true, repositories: ['team-a/app'], image: image(OLD) };
      await reconcileChecks(deps, OLD, results, base);
      at('2030-03-02T00:00:00.000Z');
      const config = parseChecksConfig(
        JSON.stringify({
          rules: [
            { repositories: ['team-a/*'], disable: [ROOT], severity: { 'BOSUN-IMG-032': 'HIGH' } },
          ],
        }),
        'test',
      );
      // The same digest, the configuration changed: applied to what is stored, no new pull.
      const changed = await reconcileChecks(deps, OLD, 'stored', { ...base, config });
      expect(ids(changed.resolved)).toEqual([ROOT]);
      expect(changed.resolved[0]?.resolvedReason).toBe('disabled');
      expect(changed.new).toEqual([]);
      const stored = await deps.checks.checks(OLD);
      expect(stored.find((c) => c.checkId === 'BOSUN-IMG-032')?.severity).toBe('HIGH');
      const resolved = notifier.of('CHECKS_RESOLVED', OLD);
      expect(resolved).toHaveLength(1);
      expect(resolved[0]?.checks?.listed.map((c) => c.id)).toEqual([ROOT]);
      // Another repository's rule does not apply.
      const other = await reconcileChecks(deps, OLD, 'stored', {
        ...base,
        repositories: ['team-b/app'],
        config,
      });
      expect(ids(other.new)).toEqual([ROOT]);
      // A new analyzer finds one check fewer: it resolves as not found.
      at('2030-03-03T00:00:00.000Z');
      const fewer = results.filter((r) => r.id !== 'BOSUN-IMG-030');
      const rescanned = await reconcileChecks(deps, OLD, fewer, base);
      expect(ids(rescanned.resolved)).toEqual(['BOSUN-IMG-030']);
      expect(rescanned.resolved[0]).toMatchObject({
        status: 'RESOLVED',
        resolvedReason: 'not-found',
        resolvedAt: '2030-03-03T00:00:00.000Z',
      });
      expect(notifier.of('CHECKS_RESOLVED', OLD)).toHaveLength(2);
    });

    it('suppresses a secret by its value hash until the suppression expires, then reopens it as new', async () => {
      const { deps, notifier, at } = await setup();
      const hash = sha256Hex(AWS_EXAMPLE_SECRET);
      const config = parseChecksConfig(
        JSON.stringify({
          suppressions: [
            {
              valueHash: `sha256:${hash}`,
              reason: "AWS's documented example key, not a credential",
              author: 'security@example.com',
              expiresAt: '2030-04-01T00:00:00Z',
            },
          ],
        }),
        'test',
      );
      const base = { complete: true, repositories: ['team-a/app'], image: image(OLD), config };
      const first = await reconcileChecks(deps, OLD, results, base);
      const suppressed = first.suppressed.map((c) => c.result.secret?.valueHash);
      expect(suppressed.length).toBeGreaterThan(0);
      expect(suppressed.every((h) => h === hash)).toBe(true);
      expect(first.new.some((c) => c.result.secret?.valueHash === hash)).toBe(false);
      expect(
        notifier.of('CHECKS_NEW')[0]?.checks?.listed.some((c) => c.secret?.valueHash === hash),
      ).toBe(false);
      const stored = (await deps.checks.checks(OLD)).filter((c) => c.status === 'SUPPRESSED');
      expect(stored[0]?.suppression).toEqual({
        reason: "AWS's documented example key, not a credential",
        author: 'security@example.com',
        expiresAt: '2030-04-01T00:00:00.000Z',
      });
      // After the expiry, the same digest's next reconcile opens them again, as new.
      at('2030-04-01T00:00:01.000Z');
      const reopened = await reconcileChecks(deps, OLD, 'stored', base);
      expect(reopened.new.map((c) => c.result.secret?.valueHash).sort()).toEqual(
        [...suppressed].sort(),
      );
      expect(notifier.of('CHECKS_NEW', OLD)).toHaveLength(2);
    });

    it('never resolves a check from a reading that could not see every file', async () => {
      const { deps, notifier, at } = await setup();
      const base = { repositories: ['team-a/app'], image: image(OLD) };
      await reconcileChecks(deps, OLD, results, { ...base, complete: true });
      at('2030-03-02T00:00:00.000Z');
      const partial = results.filter((r) => r.secret === undefined);
      const incomplete = await reconcileChecks(deps, OLD, partial, { ...base, complete: false });
      expect(incomplete.resolved).toEqual([]);
      expect(await deps.checks.open(OLD)).toHaveLength(results.length);
      expect((await deps.checks.header(OLD))?.complete).toBe(false);
      expect(notifier.of('CHECKS_RESOLVED')).toEqual([]);
    });

    it('announces a change a stopped run left pending, once', async () => {
      const { deps, notifier } = await setup();
      const context = { complete: true, repositories: [], image: image(OLD) };
      notifier.failNext = 1;
      await expect(reconcileChecks(deps, OLD, results, context)).rejects.toThrow(/SNS/);
      const pending = await deps.checks.checks(OLD);
      expect(pending.every((c) => c.announce === 'NEW')).toBe(true);
      const next = await reconcileChecks(deps, OLD, results, context);
      expect(next.messages).toBe(1);
      expect(notifier.of('CHECKS_NEW', OLD)).toHaveLength(1);
      expect((await deps.checks.checks(OLD)).every((c) => c.announce === undefined)).toBe(true);
    });

    it('keeps task-definition and workload subjects in partitions of their own', () => {
      expect(subjectPartition(OLD)).toBe(`DIGEST#${OLD}`);
      expect(subjectPartition('taskdef:web:7')).toBe('CHECKS#taskdef:web:7');
      expect(subjectPartition('workload:ecs:arn:aws:ecs:us-east-1:1:task/c/1#web')).toBe(
        'CHECKS#workload:ecs:arn:aws:ecs:us-east-1:1:task/c/1#web',
      );
    });

    it('stores no planted secret value in any item or message', async () => {
      const { table, deps, notifier } = await setup();
      await reconcileChecks(deps, OLD, results, {
        complete: true,
        repositories: [],
        image: image(OLD),
        imageUser: { kind: 'root', why: 'no USER' },
      });
      const items = await table.query(`DIGEST#${OLD}`);
      expect(items.length).toBe(results.length + 1);
      const everything = [JSON.stringify(items), JSON.stringify(notifier.sent)].join('\n');
      for (const value of PLANTED) expect(everything.includes(value), value).toBe(false);
    });
  });
}
