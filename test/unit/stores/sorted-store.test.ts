/**
 * The sorted store (log above segments) answers every lookup and scan as one map would, through
 * flushes, tier merges, deletions that hide older segments, and reopening, for readers and the
 * writer. The flush size is made tiny so a few hundred changes go through many segments.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogChange } from '../../../shared/stores/embedded/log-file.js';
import { SortedStore } from '../../../shared/stores/embedded/sorted-store.js';

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
});
