/**
 * Contract of the image, inventory and findings stores, run on every item-table adapter (the
 * embedded one in the unit project, DynamoDB Local in the integration project).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { InventoryPackage } from '../../shared/matcher/types.js';
import { type FindingRecord, FindingsStore } from '../../shared/stores/findings-store.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import { InventoryStore } from '../../shared/stores/inventory-store.js';
import type { ItemTable } from '../../shared/stores/item-table.js';
import { VexStore, VexTooLargeError } from '../../shared/stores/vex-store.js';

export type TableKind = 'images' | 'inventories' | 'findings';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const REPO = '127.0.0.1:5000/team/app';

// Packages as the apk extractor reports them for the real alpine:3.10 image (trivy's golden list).
const ALPINE: InventoryPackage[] = [
  {
    name: 'musl',
    version: '1.1.22-r3',
    ecosystem: 'Alpine:v3.10',
    sourceName: 'musl',
    location: 'lib/apk/db/installed',
  },
  {
    name: 'musl-utils',
    version: '1.1.22-r3',
    ecosystem: 'Alpine:v3.10',
    sourceName: 'musl',
    location: 'lib/apk/db/installed',
  },
  {
    name: 'libcrypto1.1',
    version: '1.1.1c-r0',
    ecosystem: 'Alpine:v3.10',
    sourceName: 'openssl',
    location: 'lib/apk/db/installed',
  },
];

export function itemStoresContract(
  name: string,
  open: (kind: TableKind) => Promise<ItemTable>,
): void {
  describe(`${name} image store contract`, () => {
    it('writes an image record only at the revision the writer read', async () => {
      const images = new ImageStore(await open('images'));
      const record = { digest: D1, status: 'PENDING' as const };
      expect(await images.putImage(record, undefined)).toBe(true);
      expect(await images.putImage(record, undefined)).toBe(false);
      expect(await images.putImage({ ...record, status: 'IN_PROGRESS' }, 1)).toBe(true);
      expect(await images.putImage({ ...record, status: 'FAILED', reason: 'late' }, 1)).toBe(false);
      expect(await images.getImage(D1)).toEqual({ digest: D1, status: 'IN_PROGRESS', revision: 2 });
      expect(await images.getImage(D2)).toBeUndefined();
    });

    it('tracks pushes, tags and every tag move with the previous digest', async () => {
      const images = new ImageStore(await open('images'));
      expect(await images.recordPush(D1, REPO, 'latest', '2026-11-01T00:00:00Z')).toEqual({
        repository: REPO,
        tag: 'latest',
        digest: D1,
        movedAt: '2026-11-01T00:00:00Z',
      });
      expect(await images.recordPush(D1, REPO, 'latest', '2026-11-01T00:05:00Z')).toBeUndefined();
      expect(await images.recordPush(D1, REPO, 'v1', '2026-11-01T00:06:00Z')).toMatchObject({
        tag: 'v1',
      });
      expect(await images.recordPush(D2, REPO, 'latest', '2026-11-02T00:00:00Z')).toEqual({
        repository: REPO,
        tag: 'latest',
        digest: D2,
        previousDigest: D1,
        movedAt: '2026-11-02T00:00:00Z',
      });
      expect(await images.tagDigest(REPO, 'latest')).toBe(D2);
      expect(await images.tags(REPO)).toEqual([
        { tag: 'latest', digest: D2 },
        { tag: 'v1', digest: D1 },
      ]);
      expect(
        (await images.tagHistory(REPO, 'latest')).map((m) => [m.digest, m.previousDigest]),
      ).toEqual([
        [D1, undefined],
        [D2, D1],
      ]);
      expect((await images.repositoriesOf(D1)).map((r) => r.tags)).toEqual([['v1']]);
      const all = await images.imagesInRepository(REPO);
      expect(all.map((r) => [r.digest, r.pushedAt])).toEqual([
        [D1, '2026-11-01T00:00:00Z'],
        [D2, '2026-11-02T00:00:00Z'],
      ]);
      expect(
        (await images.imagesInRepository(REPO, '2026-11-01T12:00:00Z')).map((r) => r.digest),
      ).toEqual([D2]);

      await images.markDeleted(D1, REPO, '2026-11-03T00:00:00Z');
      expect(await images.repositoriesOf(D1)).toEqual([
        expect.objectContaining({ tags: [], deletedAt: '2026-11-03T00:00:00Z' }),
      ]);
      expect(await images.tags(REPO)).toEqual([{ tag: 'latest', digest: D2 }]);
    });

    it('keeps one consistent history when two pushes move the same tag at once', async () => {
      const images = new ImageStore(await open('images'));
      await Promise.all([
        images.recordPush(D1, REPO, 'race', '2026-11-05T00:00:00Z'),
        images.recordPush(D2, REPO, 'race', '2026-11-05T00:00:01Z'),
      ]);
      // The newer push holds the tag whichever lands first; when the older lands second it
      // does not take the tag back, so the history is either D1 then D2, or D2 alone.
      expect(await images.tagDigest(REPO, 'race')).toBe(D2);
      const history = (await images.tagHistory(REPO, 'race')).sort((a, b) =>
        a.movedAt < b.movedAt ? -1 : 1,
      );
      expect(history.at(-1)?.digest).toBe(D2);
      expect(history[0]?.previousDigest).toBeUndefined();
      for (let i = 1; i < history.length; i++)
        expect(history[i]?.previousDigest).toBe(history[i - 1]?.digest);
      expect([1, 2]).toContain(history.length);
    });

    it('does not let an older push take back a tag that a newer push moved', async () => {
      const images = new ImageStore(await open('images'));
      await images.recordPush(D1, REPO, 'late', '2026-11-07T00:00:00Z');
      await images.recordPush(D2, REPO, 'late', '2026-11-07T00:00:05Z');
      // D1's push event delivered again (or late), and one from the same second as D2's.
      expect(await images.recordPush(D1, REPO, 'late', '2026-11-07T00:00:00Z')).toBeUndefined();
      expect(
        await images.recordPush(D3, REPO, 'late', '2026-11-07T00:00:05.000+00:00'),
      ).toBeUndefined();
      expect(await images.tagDigest(REPO, 'late')).toBe(D2);
      expect((await images.repositoriesOf(D1)).flatMap((r) => r.tags)).not.toContain('late');
    });

    it('keeps both tags when one digest is pushed under two tags at once', async () => {
      const images = new ImageStore(await open('images'));
      await Promise.all([
        images.recordPush(D3, REPO, 'a', '2026-11-06T00:00:00Z'),
        images.recordPush(D3, REPO, 'b', '2026-11-06T00:00:00Z'),
      ]);
      expect((await images.repositoriesOf(D3)).map((r) => r.tags)).toEqual([['a', 'b']]);
    });
  });

  describe(`${name} inventory store contract`, () => {
    it('reads an inventory only once its header is written, and indexes packages by source', async () => {
      const table = await open('inventories');
      const inventories = new InventoryStore(table);
      const header = {
        digest: D1,
        scanId: 'scan-1',
        os: 'alpine 3.10.2',
        packageCount: 3,
        extractors: 'os/apk/installed@1',
        committedAt: '2026-11-01T00:00:00Z',
      };
      await inventories.putInventory(header, ALPINE);
      const got = await inventories.getInventory(D1, 'scan-1');
      expect(got?.header).toEqual(header);
      expect(got?.packages.map((p) => p.name).sort()).toEqual([
        'libcrypto1.1',
        'musl',
        'musl-utils',
      ]);
      expect(await inventories.imagesWithPackage('Alpine:v3.10#musl')).toEqual([
        { digest: D1, scanId: 'scan-1' },
      ]);
      expect(await inventories.imagesWithPackage('Alpine:v3.10#openssl')).toEqual([
        { digest: D1, scanId: 'scan-1' },
      ]);
      // A binary package is found by its own name too (distro advisories name those as well).
      expect(await inventories.imagesWithPackage('Alpine:v3.10#libcrypto1.1')).toEqual([
        { digest: D1, scanId: 'scan-1' },
      ]);
      expect(
        (
          await inventories.packagesWithKeys(D1, 'scan-1', [
            'Alpine:v3.10#libcrypto1.1',
            'Alpine:v3.10#openssl',
          ])
        ).map((p) => p.name),
      ).toEqual(['libcrypto1.1']);
      expect(
        (await inventories.packagesWithKeys(D1, 'scan-1', ['Alpine:v3.10#musl']))
          .map((p) => p.name)
          .sort(),
      ).toEqual(['musl', 'musl-utils']);
      expect(await inventories.packagesWithKeys(D1, 'scan-2', ['Alpine:v3.10#musl'])).toEqual([]);

      // A package matched against further ecosystems (Red Hat's per repository) is found by
      // each of them, by source and by own name.
      const baseos = 'Red Hat:enterprise_linux:9::baseos';
      const appstream = 'Red Hat:enterprise_linux:9::appstream';
      await inventories.putInventory({ ...header, digest: D3, scanId: 'scan-3', packageCount: 1 }, [
        {
          name: 'python3-pyyaml',
          version: '5.4.1-6.el9',
          ecosystem: baseos,
          extraEcosystems: [appstream],
          sourceName: 'PyYAML',
          sourceVersion: '5.4.1-6.el9',
          location: 'var/lib/rpm/rpmdb.sqlite',
        },
      ]);
      for (const key of [
        `${baseos}#PyYAML`,
        `${appstream}#PyYAML`,
        `${appstream}#python3-pyyaml`,
      ]) {
        expect(await inventories.imagesWithPackage(key), key).toEqual([
          { digest: D3, scanId: 'scan-3' },
        ]);
        expect(
          (await inventories.packagesWithKeys(D3, 'scan-3', [key])).map((p) => p.name),
          key,
        ).toEqual(['python3-pyyaml']);
      }

      // A scan that stopped after its packages and before its header is not an inventory.
      await table.batch([
        {
          put: {
            pk: `DIGEST#${D2}`,
            sk: 'PKG#scan-9#Alpine:v3.10#musl#1#x',
            packageKey: 'Alpine:v3.10#musl',
            digest: D2,
            scanId: 'scan-9',
            package: ALPINE[0],
          },
        },
      ]);
      expect(await inventories.getInventory(D2, 'scan-9')).toBeUndefined();

      await inventories.putInventory(
        { ...header, digest: D3, scanId: 'scan-2' },
        ALPINE.slice(0, 1),
      );
      expect(
        (await inventories.imagesWithPackage('Alpine:v3.10#musl')).map((r) => r.digest).sort(),
      ).toEqual([D1, D2, D3]);
      await inventories.deleteInventory(D1, 'scan-1');
      expect(await inventories.getInventory(D1, 'scan-1')).toBeUndefined();
      expect(await inventories.imagesWithPackage('Alpine:v3.10#openssl')).toEqual([]);
    });
  });

  describe(`${name} findings store contract`, () => {
    const finding = (digest: string, status: FindingRecord['status']): FindingRecord => ({
      digest,
      packageKey: 'Alpine:v3.10#musl',
      installedVersion: '1.1.22-r2',
      vulnerabilityId: 'CVE-2019-14697',
      ids: ['ALPINE-CVE-2019-14697', 'CVE-2019-14697'],
      advisoryIds: ['ALPINE-CVE-2019-14697'],
      status,
      severity: { severity: 'UNKNOWN', source: 'none' },
      fixedVersion: '1.1.22-r3',
      packageName: 'musl',
      firstObservedAt: '2026-11-01T00:00:00Z',
      lastObservedAt: '2026-11-02T00:00:00Z',
      ...(status === 'CLOSED' ? { statusReason: 'fixed', closedAt: '2026-11-02T00:00:00Z' } : {}),
    });

    it('keeps findings per image and finds them by advisory', async () => {
      const findings = new FindingsStore(await open('findings'));
      await findings.write([finding(D1, 'ACTIVE'), finding(D2, 'ACTIVE')]);
      expect(await findings.findings(D1, 0)).toEqual([finding(D1, 'ACTIVE')]);
      await findings.write([finding(D2, 'CLOSED')]);
      expect(await findings.findings(D2, 0)).toEqual([finding(D2, 'CLOSED')]);
      expect(
        (await findings.byAdvisory('ALPINE-CVE-2019-14697')).map((f) => [f.digest, f.status]),
      ).toEqual([
        [D1, 'ACTIVE'],
        [D2, 'CLOSED'],
      ]);
    });

    it('keeps one finding per copy of a package installed at two places', async () => {
      const findings = new FindingsStore(await open('findings'));
      const a = { ...finding(D3, 'ACTIVE'), location: 'app/node_modules/x/package.json' };
      const b = { ...a, location: 'app/node_modules/y/node_modules/x/package.json' };
      await findings.write([a, b]);
      expect((await findings.findings(D3, 0)).map((f) => f.location).sort()).toEqual(
        [a.location, b.location].sort(),
      );
    });

    it('records a notification once; a second claim of the same change is refused', async () => {
      const findings = new FindingsStore(await open('findings'));
      expect(await findings.notified('D1-new-CVE')).toBe(false);
      expect(await findings.markNotified('D1-new-CVE', 'msg-1', '2026-11-01T00:00:00Z')).toBe(true);
      expect(await findings.markNotified('D1-new-CVE', 'msg-2', '2026-11-01T00:00:01Z')).toBe(
        false,
      );
      expect(await findings.notified('D1-new-CVE')).toBe(true);
    });

    it('lists the unexpired suppressions of a scope', async () => {
      const findings = new FindingsStore(await open('findings'));
      const keep = {
        scope: REPO,
        vulnerabilityId: 'CVE-2019-14697',
        packageKey: '*',
        reason: 'not reachable',
        author: 'sec-team',
      };
      await findings.putSuppression(keep);
      await findings.putSuppression({ ...keep, vulnerabilityId: 'CVE-2018-0001', expiresAt: 1 });
      expect(await findings.suppressions(REPO)).toEqual([keep]);
      await findings.deleteSuppression(keep);
      expect(await findings.suppressions(REPO)).toEqual([]);
    });

    it('keeps VEX documents by scope, hides expired ones, and refuses one too large whole', async () => {
      const vex = new VexStore(await open('findings'));
      const statement = {
        vulnerability: 'CVE-2019-14697',
        aliases: [],
        products: [{ ids: ['pkg:apk/alpine/musl'], sha256: [], subcomponents: [] }],
        status: 'not_affected' as const,
        justification: 'vulnerable_code_not_present',
        timestamp: '2026-01-01T00:00:00Z',
      };
      const doc = {
        scope: 'team/app',
        id: 'doc-1',
        format: 'openvex' as const,
        statements: [statement],
        uploadedBy: 'arn:aws:iam::123456789012:user/alice',
        uploadedAt: '2026-11-01T00:00:00Z',
      };
      await vex.put(doc);
      await vex.put({ ...doc, id: 'doc-2', expiresAt: 1 });
      await vex.put({ ...doc, scope: '*', id: 'doc-3' });
      expect(await vex.documents('team/app')).toEqual([doc]);
      expect(await vex.statementsFor(['*', 'team/app', 'team/other'])).toEqual([
        statement,
        statement,
      ]);
      // Statements that do not compress under the item limit (distinct random-looking ids).
      const many = Array.from({ length: 20_000 }, (_, i) => ({
        ...statement,
        vulnerability: `CVE-2026-${createHash('sha256').update(String(i)).digest('hex')}`,
      }));
      await expect(vex.put({ ...doc, id: 'doc-4', statements: many })).rejects.toThrow(
        VexTooLargeError,
      );
      expect(await vex.get('team/app', 'doc-4')).toBeUndefined();
      await vex.delete('team/app', 'doc-1');
      expect(await vex.documents('team/app')).toEqual([]);
    });
  });
}
