/**
 * The sorted store (log above segments) answers every lookup and scan as one map would, through
 * flushes, tier merges, deletions that hide older segments, and reopening, for readers and the
 * writer. The flush size is made tiny so a few hundred changes go through many segments.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogChange } from '../../../shared/stores/embedded/log-file.js';
import { SortedStore } from '../../../shared/stores/embedded/sorted-store.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-sorted-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Keys of a few shapes the advisory store uses, with NUL-grouped index keys among them.
const key = fc.oneof(
  fc
    .constantFrom('h/', 'r/', 'cp/')
    .chain((p) => fc.integer({ min: 0, max: 60 }).map((n) => `${p}${n}`)),
  fc
    .tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 30 }))
    .map(([pkg, id]) => `p/"npm#pkg${pkg}"\u0000${id}`),
);
const change: fc.Arbitrary<LogChange> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(key, fc.string({ maxLength: 40 })) },
  { weight: 1, arbitrary: key.map((k) => [k] as const) },
);
const step = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.array(change, { minLength: 1, maxLength: 12 }).map((c) => ({ commit: c })),
  },
  { weight: 1, arbitrary: fc.constant({ reopen: true as const }) },
);

function expectSame(store: SortedStore, model: Map<string, string>): void {
  const sorted = [...model.keys()].sort();
  expect(store.keys('')).toEqual(sorted);
  for (const prefix of ['h/', 'p/"npm#pkg3"\u0000', 'p/"npm#pkg7"\u0000', 'cp/1'])
    expect(store.keys(prefix)).toEqual(sorted.filter((k) => k.startsWith(prefix)));
  for (const k of ['h/1', 'r/60', 'p/"npm#pkg0"\u00000', 'cp/33', 'absent'])
    expect(store.raw(k)).toEqual(model.get(k));
}

describe('sorted store', () => {
  it('reads as a map would through flushes, merges, deletions and reopening', () => {
    let run = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
        const dir = path.join(work, `run-${run++}`);
        const options = { flushBytes: 512 };
        let store = SortedStore.open(dir, 'kv', 'write', options);
        const model = new Map<string, string>();
        try {
          for (const s of steps) {
            if ('reopen' in s) {
              store.close();
              store = SortedStore.open(dir, 'kv', 'write', options);
              continue;
            }
            store.commit(s.commit);
            for (const c of s.commit) {
              if (c.length === 2) model.set(c[0], JSON.stringify(c[1]));
              else model.delete(c[0]);
            }
          }
          expectSame(store, model);
          const reader = SortedStore.open(dir, 'kv', 'read', options);
          expectSame(reader, model);
          reader.close();
        } finally {
          store.close();
        }
        // A reopened store matches too, and holds only the files its manifest names.
        const again = SortedStore.open(dir, 'kv', 'write', options);
        expectSame(again, model);
        const { log, segments } = again.files();
        again.close();
        // (The manifest appears with the first segment.)
        expect(
          readdirSync(dir)
            .filter((f) => f !== 'kv.manifest')
            .sort(),
        ).toEqual([log, ...segments.map((s) => s.file)].sort());
      }),
      { numRuns: 60, seed: 7, endOnFailure: true },
    );
  });

  it('reads segments written with the JSON block index (format 1) and merges them with new ones', () => {
    // test/fixtures/stores/segments-v1: a store written by the segment code before the binary
    // index (commit 681a34e): two segments of three blocks, the newer deleting keys of the older.
    const dir = path.join(work, 'v1');
    cpSync(path.join(PROJECT_ROOT, 'test/fixtures/stores/segments-v1'), dir, { recursive: true });
    const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<
      string,
      [number, number]
    >;
    const model = new Map(
      Object.entries(expected).map(([k, [round, i]]) => [
        k,
        JSON.stringify({ round, i, note: 'värde ✓'.repeat(40) }),
      ]),
    );
    const reader = SortedStore.open(dir, 'kv', 'read');
    expect(reader.files().segments).toHaveLength(2);
    expectSame(reader, model);
    reader.close();
    // New segments (format 2) above the old ones, then a merge of both formats into one: at
    // this flush size the old segments are of the lowest tier, merged four at a time.
    const writer = SortedStore.open(dir, 'kv', 'write', { flushBytes: 16_384 });
    for (let round = 0; round < 120; round++) {
      const changes: LogChange[] = [];
      for (let i = 0; i < 10; i++) {
        const k = i % 3 === 0 ? `h/ID-${(round * 13 + i) % 97}` : `r/N-${round}-${i}`;
        if ((round + i) % 5 === 0) {
          changes.push([k]);
          model.delete(k);
        } else {
          const value = { round, i, pad: 'y'.repeat(60) };
          changes.push([k, value]);
          model.set(k, JSON.stringify(value));
        }
      }
      writer.commit(changes);
    }
    const names = writer.files().segments.map((s) => s.file);
    expect(names).not.toContain('kv-1.seg');
    expect(names).not.toContain('kv-3.seg');
    expectSame(writer, model);
    writer.close();
    const again = SortedStore.open(dir, 'kv', 'read');
    expectSame(again, model);
    again.close();
  });

  it('finds keys with NULs, lone surrogates and non-ASCII text that start blocks of the index', () => {
    const dir = path.join(work, 'odd-keys');
    const store = SortedStore.open(dir, 'kv', 'write', { flushBytes: 1 << 20, closeFlushBytes: 0 });
    // Values of 9 KB put two lines in a 16 KB block, so most keys start a block.
    const big = 'x'.repeat(9000);
    const keys = [
      'a/plain',
      'p/"pypi#naïve"\u0000CVE-1',
      'p/"npm#\ud800"\u0000GHSA-2',
      'p/"npm#\udfff lone"\u0000GHSA-3',
      'r/😀',
      'r/日本',
      'r/\u0000',
      'z/\uffff',
    ];
    store.commit(keys.map((k, i) => [k, { i, big }] as const));
    store.close();
    // Written out on close: one segment of blocks.
    const reader = SortedStore.open(dir, 'kv', 'read');
    expect(reader.files().segments).toHaveLength(1);
    const sorted = [...keys].sort();
    expect(reader.keys('')).toEqual(sorted);
    keys.forEach((k, i) => {
      expect(JSON.parse(reader.raw(k) as string)).toEqual({ i, big });
      expect(reader.keys(k)).toEqual(sorted.filter((s) => s.startsWith(k)));
    });
    expect(reader.raw('p/"npm#\ud801"\u0000GHSA-2')).toBeUndefined();
    reader.close();
  });
});
