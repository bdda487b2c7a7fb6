/**
 * Contract of the provenance verdict store (shared/stores/provenance-store.ts), run on every
 * item-table adapter of the images table (the embedded one in the unit project, DynamoDB Local
 * in the integration project). The verdicts are decided by verifyImage on connaisseur's real
 * cosign `.sig` manifest signed with alice's key (test/support/provenance-verdicts.ts): nothing
 * is signed or written by hand here.
 */
import { describe, expect, it } from 'vitest';
import { ProvenanceVerificationError } from '../../shared/provenance/types.js';
import { decideVerdict, type Verdict } from '../../shared/provenance/verdict.js';
import { TABLE_KEYS } from '../../shared/stores/dynamodb/keys.js';
import { ImageStore } from '../../shared/stores/image-store.js';
import type { Item, ItemTable } from '../../shared/stores/item-table.js';
import {
  InvalidInstantError,
  MAX_STORED_VERDICT_BYTES,
  PROVENANCE_INDEX_KEY,
  type ProvenanceRecord,
  ProvenanceStore,
  storedVerdict,
} from '../../shared/stores/provenance-store.js';
import {
  POLICY,
  REPO,
  REPO_BOB,
  SIGNED,
  sha256,
  TRUST_VERSION,
  verdictOn,
} from '../support/provenance-verdicts.js';

const OTHER = `sha256:${'2'.repeat(64)}`;
const verify = (repository: string, tamper = false) =>
  verdictOn(repository, tamper ? 'tampered' : 'signed');

function recordOf(
  verdict: Verdict,
  checkedAt: string,
  extra: Partial<ProvenanceRecord> = {},
): ProvenanceRecord {
  return {
    digest: verdict.subjectDigest,
    repository: verdict.repository,
    status: verdict.status,
    policyVersion: verdict.policyVersion,
    trustVersion: TRUST_VERSION,
    checkedAt,
    verdict,
    ...extra,
  };
}

/**
 * DynamoDB's size of an item of string attributes: each name and value in UTF-8 bytes
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html#ItemSizeCalculations).
 */
function itemBytes(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (typeof value !== 'string') throw new Error(`${name} is not a string attribute`);
    size += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  return size;
}

/** DynamoDB's item size limit (400 KB, names included). */
export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;

/**
 * A verdict on SIGNED with 2,000 failures and 2,000 unread signatures, each with a 5,000
 * character message in text that JSON escapes or UTF-8 widens (control characters, quotes, CJK,
 * emoji, and plain ASCII): megabytes as decided, far past what an item holds.
 */
export function hugeVerdict(): Verdict {
  const fillers = ['\u0001', '"', '漢', '😀', 'a'].map((c) => c.repeat(5_000));
  const message = (i: number) => `${i}: ${fillers[i % fillers.length] as string}`;
  return decideVerdict({
    subjectDigest: SIGNED,
    repository: REPO,
    policy: POLICY,
    rule: POLICY.default,
    outcomes: Array.from({ length: 2_000 }, (_, i) => ({
      source: `${sha256(Buffer.from(String(i)))}#0`,
      authority: 'alice',
      result: new ProvenanceVerificationError('INVALID_SIGNATURE', message(i)),
    })),
    unread: Array.from({ length: 2_000 }, (_, i) => ({
      where: `${REPO}:sha256-${i}.sig`,
      message: message(i),
    })),
  });
}

export function provenanceStoreContract(name: string, open: () => Promise<ItemTable>): void {
  describe(`${name} provenance store contract`, () => {
    it('round-trips a verdict decided on a real cosign signature', async () => {
      const store = new ProvenanceStore(await open());
      const verdict = await verify(REPO);
      expect(verdict.status).toBe('VERIFIED');
      expect(verdict.requirements[0]?.satisfiedBy[0]?.trustRoot).toMatch(
        /^key:sha256:[a-f0-9]{64}$/,
      );
      const record = recordOf(verdict, '2026-11-01T00:00:00.000Z', { announcedStatus: 'UNSIGNED' });
      await store.put(record);
      expect(await store.get(SIGNED, REPO)).toEqual(record);
      expect(await store.get(SIGNED, REPO_BOB)).toBeUndefined();
      expect(await store.get(OTHER, REPO)).toBeUndefined();
    });

    it('keeps one item per digest and repository: the last write replaces it whole', async () => {
      const table = await open();
      const store = new ProvenanceStore(table);
      const verified = recordOf(await verify(REPO), '2026-11-01T00:00:00.000Z');
      const invalid = recordOf(await verify(REPO, true), '2026-11-01T01:00:00.000Z');
      const untrusted = recordOf(await verify(REPO_BOB), '2026-11-01T02:00:00.000Z');
      expect([invalid.status, untrusted.status]).toEqual(['INVALID', 'UNTRUSTED']);
      expect(invalid.verdict.failures[0]?.failure).toBe('DIGEST_MISMATCH');
      await store.put({
        ...verified,
        announcedStatus: 'UNSIGNED',
        pending: { eventType: 'PROVENANCE_VERIFIED', trigger: 'signature' },
      });
      await store.put(invalid);
      await store.put(untrusted);
      // The second write for REPO left neither the first's announced status nor its pending.
      expect(await store.get(SIGNED, REPO)).toEqual(invalid);
      expect(await store.ofDigest(SIGNED)).toEqual([invalid, untrusted]);
      expect(await table.query(`DIGEST#${SIGNED}`, { prefix: 'PROVENANCE#' })).toHaveLength(2);
      expect((await store.checkedBefore('2026-11-02T00:00:00Z')).map((r) => r.status)).toEqual([
        'INVALID',
        'UNTRUSTED',
      ]);
    });

    it("lists only that digest's verdicts, never its image or repository records", async () => {
      const table = await open();
      const store = new ProvenanceStore(table);
      const images = new ImageStore(table);
      expect(await images.putImage({ digest: SIGNED, status: 'COMPLETE' }, undefined)).toBe(true);
      await images.recordPush(SIGNED, REPO, 'v1', '2026-10-31T00:00:00Z');
      await images.recordPush(SIGNED, REPO_BOB, 'v1', '2026-10-31T00:00:00Z');
      await images.recordPush(OTHER, REPO, 'v2', '2026-10-31T00:00:01Z');
      const mine = [
        recordOf(await verify(REPO), '2026-11-01T00:00:00.000Z'),
        recordOf(await verify(REPO_BOB), '2026-11-01T00:00:00.000Z'),
      ];
      const other = recordOf(
        { ...(await verify(REPO)), subjectDigest: OTHER, status: 'UNSIGNED' },
        '2026-11-01T00:00:00.000Z',
      );
      for (const r of [...mine, other]) await store.put(r);
      expect(await store.ofDigest(SIGNED)).toEqual(mine);
      expect(await store.ofDigest(OTHER)).toEqual([other]);
      expect(await store.ofDigest(`sha256:${'9'.repeat(64)}`)).toEqual([]);
      // The image's own records read as before, with no verdict among them.
      expect(await images.getImage(SIGNED)).toMatchObject({ status: 'COMPLETE', revision: 1 });
      expect((await images.repositoriesOf(SIGNED)).map((r) => r.repository)).toEqual([
        REPO,
        REPO_BOB,
      ]);
      expect((await images.imagesInRepository(REPO)).map((r) => [r.digest, r.repository])).toEqual([
        [SIGNED, REPO],
        [OTHER, REPO],
      ]);
      // The verdicts are in the index under a partition no `host/name` repository can have.
      const indexed = await table.queryIndex(TABLE_KEYS.images.byRepository, PROVENANCE_INDEX_KEY);
      expect(indexed.map((i) => i.sk)).toEqual([
        `PROVENANCE#${REPO}`,
        `PROVENANCE#${REPO_BOB}`,
        `PROVENANCE#${REPO}`,
      ]);
    });

    it('lists verdicts checked up to the bound, oldest first, and nothing else of the table', async () => {
      const table = await open();
      const store = new ProvenanceStore(table);
      const images = new ImageStore(table);
      const verdict = await verify(REPO);
      const at = (digit: string, checkedAt: string) =>
        recordOf({ ...verdict, subjectDigest: `sha256:${digit.repeat(64)}` }, checkedAt);
      const newest = at('c', '2026-11-03T00:00:00.000Z');
      const oldest = at('a', '2026-11-01T00:00:00.000Z');
      const middle = at('b', '2026-11-02T00:00:00.000Z');
      // Half a second past the middle one: after a bound given in whole seconds.
      const justAfter = at('d', '2026-11-02T00:00:00.500Z');
      for (const r of [newest, oldest, justAfter, middle]) await store.put(r);
      // Image and repository records of the same table, pushed before every bound.
      await images.putImage({ digest: oldest.digest, status: 'COMPLETE' }, undefined);
      await images.recordPush(oldest.digest, REPO, 'latest', '2026-10-01T00:00:00Z');

      expect(await store.checkedBefore('2026-10-31T23:59:59.999Z')).toEqual([]);
      expect(await store.checkedBefore('2026-11-02T00:00:00.000Z')).toEqual([oldest, middle]);
      expect(await store.checkedBefore('2026-11-02T00:00:00Z')).toEqual([oldest, middle]);
      expect(await store.checkedBefore('2026-11-02T01:00:00+01:00')).toEqual([oldest, middle]);
      expect(await store.checkedBefore('2026-11-02T00:00:00.500Z')).toEqual([
        oldest,
        middle,
        justAfter,
      ]);
      expect(await store.checkedBefore('2026-12-01T00:00:00.000Z')).toEqual([
        oldest,
        middle,
        justAfter,
        newest,
      ]);
      expect((await images.imagesInRepository(REPO)).map((r) => r.digest)).toEqual([oldest.digest]);
    });

    it('orders by the instant whatever the form checkedAt was written in', async () => {
      const store = new ProvenanceStore(await open());
      const verdict = await verify(REPO);
      const late = recordOf(verdict, '2026-11-01T00:00:00.250Z');
      // 23:30 the day before in UTC, written with an offset: after `late` as a string.
      const early = recordOf({ ...verdict, subjectDigest: OTHER }, '2026-11-01T00:30:00+01:00');
      await store.put(late);
      await store.put(early);
      expect(await store.checkedBefore('2026-11-01T00:00:00.000Z')).toEqual([early]);
      expect(await store.checkedBefore('2026-11-01T00:00:01Z')).toEqual([early, late]);
      // The record keeps checkedAt as written.
      expect((await store.get(OTHER, REPO))?.checkedAt).toBe('2026-11-01T00:30:00+01:00');
    });

    it('refuses a checkedAt or a bound that is not an instant, writing nothing', async () => {
      const store = new ProvenanceStore(await open());
      const record = recordOf(await verify(REPO), 'yesterday');
      await expect(store.put(record)).rejects.toThrow(InvalidInstantError);
      await expect(store.put(record)).rejects.toThrow(/checkedAt "yesterday" is not an instant/);
      expect(await store.get(SIGNED, REPO)).toBeUndefined();
      await expect(store.checkedBefore('')).rejects.toThrow(InvalidInstantError);
    });

    it('keeps a pending announcement across the round trip until it is cleared', async () => {
      const store = new ProvenanceStore(await open());
      const verdict = await verify(REPO, true);
      const previousDigest = `sha256:${'e'.repeat(64)}`;
      const pending: NonNullable<ProvenanceRecord['pending']> = {
        eventType: 'PROVENANCE_FAILED',
        trigger: 'push',
        reason: `tag v2 moved from ${previousDigest}, whose provenance was verified, to this digest (INVALID)`,
        tagMove: { tag: 'v2', previousDigest },
      };
      const record = recordOf(verdict, '2026-11-04T00:00:00.000Z', {
        announcedStatus: 'VERIFIED',
        pending,
      });
      await store.put(record);
      expect(await store.get(SIGNED, REPO)).toEqual(record);
      expect((await store.ofDigest(SIGNED))[0]?.pending).toEqual(pending);
      expect((await store.checkedBefore('2026-11-05T00:00:00Z'))[0]?.pending).toEqual(pending);
      // What announceProvenance writes once it has published: the record without `pending`.
      const { pending: _sent, ...announced } = record;
      await store.put({ ...announced, announcedStatus: 'INVALID' });
      const after = await store.get(SIGNED, REPO);
      expect(after).toEqual({ ...announced, announcedStatus: 'INVALID' });
      expect(after).not.toHaveProperty('pending');
    });

    it('stores a verdict of thousands of long failures cut to fit an item', async () => {
      const table = await open();
      const store = new ProvenanceStore(table);
      const huge = hugeVerdict();
      expect(huge.status).toBe('INVALID');
      expect(huge.failures).toHaveLength(2_000);
      // Its failures' messages alone, as JSON, would fill ten items.
      const messageBytes = huge.failures.reduce(
        (n, f) => n + Buffer.byteLength(JSON.stringify(f.message)),
        0,
      );
      expect(messageBytes).toBeGreaterThan(10 * DYNAMODB_MAX_ITEM_BYTES);
      const cut = storedVerdict(huge);
      expect(Buffer.byteLength(JSON.stringify(cut))).toBeLessThanOrEqual(MAX_STORED_VERDICT_BYTES);
      // What the verdict is and why, first things first, is kept.
      expect(cut).toMatchObject({
        status: 'INVALID',
        rule: 'default',
        mode: huge.mode,
        policyVersion: POLICY.version,
      });
      expect(cut.failures.length).toBeGreaterThan(0);
      expect(cut.failures[0]).toMatchObject({
        source: huge.failures[0]?.source,
        authority: 'alice',
        failure: 'INVALID_SIGNATURE',
      });
      expect(
        huge.failures[0]?.message.startsWith(cut.failures[0]?.message.slice(0, -1) ?? '?'),
      ).toBe(true);
      expect(cut.reasons[0]?.slice(0, 20)).toBe(huge.reasons[0]?.slice(0, 20));
      expect(cut.unread?.length).toBeGreaterThan(0);
      // No message is cut inside a surrogate pair (the emoji filler).
      for (const f of cut.failures)
        expect(f.message).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);

      const record = recordOf(huge, '2026-11-05T00:00:00.000Z', {
        pending: { eventType: 'PROVENANCE_FAILED', trigger: 'reverify' },
      });
      await store.put(record);
      expect(await store.get(SIGNED, REPO)).toEqual({ ...record, verdict: cut });
      const item = await table.get({ pk: `DIGEST#${SIGNED}`, sk: `PROVENANCE#${REPO}` });
      expect(itemBytes(item as Item)).toBeLessThan(DYNAMODB_MAX_ITEM_BYTES);
      expect((await store.checkedBefore('2026-11-06T00:00:00Z')).map((r) => r.status)).toEqual([
        'INVALID',
      ]);
    });

    it('leaves a small verdict as decided', async () => {
      const verdict = await verify(REPO, true);
      expect(storedVerdict(verdict)).toEqual(verdict);
    });

    it('deletes one verdict, leaving the others', async () => {
      const table = await open();
      const store = new ProvenanceStore(table);
      const images = new ImageStore(table);
      await images.recordPush(SIGNED, REPO, 'v1', '2026-10-31T00:00:00Z');
      const here = recordOf(await verify(REPO), '2026-11-01T00:00:00.000Z');
      const there = recordOf(await verify(REPO_BOB), '2026-11-01T00:00:01.000Z');
      await store.put(here);
      await store.put(there);
      await store.delete(SIGNED, REPO);
      expect(await store.get(SIGNED, REPO)).toBeUndefined();
      expect(await store.ofDigest(SIGNED)).toEqual([there]);
      expect(await store.checkedBefore('2026-12-01T00:00:00Z')).toEqual([there]);
      // The repository record of the same digest and repository stays.
      expect((await images.repositoriesOf(SIGNED)).map((r) => r.repository)).toEqual([REPO]);
      // Deleting what is not there is not an error.
      await store.delete(SIGNED, REPO);
      await store.delete(OTHER, REPO);
      expect(await store.ofDigest(SIGNED)).toEqual([there]);
    });
  });
}
