import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCase, caseAt, casePlan, casePlans, mutate } from '../../../fuzz/mutators.js';

const seeds = [
  Buffer.from('Package: zlib1g\nVersion: 1:1.2.13\n'),
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
];

describe('the fuzz mutators', () => {
  it('draw a case from its run seed and index alone, and other cases for other seeds', () => {
    const few = casePlans(2, 17, 10);
    expect(caseAt(2, 17, 7)).toEqual(few[7]);
    expect(casePlans(2, 17, 10)).toEqual(few);
    expect(casePlans(2, 18, 10)).not.toEqual(few);
    expect(new Set(few.map((p) => JSON.stringify(p))).size).toBe(10);
  });

  it('build the same bytes from the same plan', () => {
    const [plan] = casePlans(2, 17, 1);
    if (plan === undefined) throw new Error('no plan');
    expect(buildCase(plan, seeds).equals(buildCase(plan, seeds))).toBe(true);
  });

  it('apply every mutation to any seed, empty ones included, without throwing or changing the seed', () => {
    const before = seeds.map((s) => Buffer.from(s));
    fc.assert(
      fc.property(casePlan(3), (plan) => {
        const all = [...seeds, Buffer.alloc(0)];
        let out: Buffer = all[plan.seed] ?? Buffer.alloc(0);
        for (const m of plan.mutations) out = mutate(out, m, all);
        expect(Buffer.isBuffer(out)).toBe(true);
      }),
      { seed: 17, numRuns: 2000 },
    );
    expect(seeds).toEqual(before);
  });

  it('write boundary integers at the chosen width and byte order', () => {
    const zero = Buffer.alloc(8);
    // INTERESTING[4] is 0xff; minus makes it -0xff, 0xffffff01 in 32 bits.
    const out = mutate(
      zero,
      { op: 'boundary', at: 0, width: 4, littleEndian: true, value: 4, minus: true },
      [],
    );
    expect([...out.subarray(0, 4)]).toEqual([0x01, 0xff, 0xff, 0xff]);
    const be = mutate(
      zero,
      { op: 'boundary', at: 0, width: 2, littleEndian: false, value: 6, minus: false },
      [],
    );
    expect([...be.subarray(0, 2)]).toEqual([0x7f, 0xff]);
  });
});
