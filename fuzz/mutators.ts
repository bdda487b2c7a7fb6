/**
 * Byte-level mutators over real seed files. fast-check only generates the plan of a case (which
 * seed, which mutations at which offsets); applying a plan to the seed bytes is ours, so a case
 * is a pure function of (seeds, plan) and any case can be rebuilt from its seed and index.
 *
 * The mutations are the ones that find bugs in binary parsers (AFL's havoc stage:
 * https://github.com/google/AFL/blob/master/docs/technical_details.txt, "Fuzzing strategies"):
 * bit flips, random bytes, inserts, deletes, a chunk duplicated elsewhere, "interesting"
 * boundary integers written over length fields, truncation, and a splice with a second seed.
 * Text formats get a dictionary of their structural tokens inserted, as libFuzzer's -dict does.
 */
import fc from 'fast-check';

/** Integers at the edges of signed and unsigned widths: what length and offset fields break on. */
export const INTERESTING: readonly bigint[] = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x10000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x7fffffffffffffffn,
  0xffffffffffffffffn,
];

/** Tokens that open, close or separate structure in the text formats the parsers read. */
export const TEXT_TOKENS: readonly string[] = [
  '\n',
  '\n\n',
  '\r\n',
  '\0',
  ' ',
  ':',
  ': ',
  '"',
  "'",
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  '-',
  '- ',
  '#',
  '&a ',
  '*a',
  '!!binary ',
  '<',
  '>',
  '</',
  '/>',
  '<!--',
  '<![CDATA[',
  ']]>',
  '&amp;',
  '&#0;',
  '<!DOCTYPE x [<!ENTITY e "ee">]>',
  'null',
  'true',
  '1e999',
  '-0',
  '9007199254740993',
  '__proto__',
  'constructor',
  '../',
  '/',
  '%00',
  '\u{10ffff}',
  '\ud800',
  '[['.repeat(64),
  '{"a":'.repeat(64),
];

/** One mutation; positions are fractions of the current length (in 2^-32) so they fit any seed. */
export type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'byte'; readonly at: number; readonly value: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | {
      readonly op: 'duplicate';
      readonly from: number;
      readonly length: number;
      readonly to: number;
    }
  | {
      readonly op: 'boundary';
      readonly at: number;
      readonly width: 1 | 2 | 4 | 8;
      readonly littleEndian: boolean;
      readonly value: number;
      readonly minus: boolean;
    }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'splice'; readonly at: number; readonly other: number; readonly otherAt: number }
  | { readonly op: 'token'; readonly at: number; readonly token: number; readonly repeat: number };

/** What one case does: which seed, and the mutations applied to it in order. */
export interface CasePlan {
  readonly seed: number;
  readonly mutations: readonly Mutation[];
}

const FRACTION = 2 ** 32;
const frac = fc.nat({ max: FRACTION - 1 });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('flip' as const), at: frac, bit: fc.nat(7) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('byte' as const), at: frac, value: fc.nat(255) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      at: frac,
      bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 16 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('delete' as const),
      at: frac,
      length: fc.integer({ min: 1, max: 512 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('duplicate' as const),
      from: frac,
      length: fc.integer({ min: 1, max: 4096 }),
      to: frac,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('boundary' as const),
      at: frac,
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      littleEndian: fc.boolean(),
      value: fc.nat(INTERESTING.length - 1),
      minus: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: frac }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('splice' as const),
      at: frac,
      other: fc.nat(),
      otherAt: frac,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('token' as const),
      at: frac,
      token: fc.nat(TEXT_TOKENS.length - 1),
      repeat: fc.constantFrom(1, 1, 1, 2, 16, 1024),
    }),
  },
);

/** Plans over `seeds` seed files: one to eight mutations each, most cases one or two. */
export function casePlan(seeds: number): fc.Arbitrary<CasePlan> {
  return fc.record({
    seed: fc.nat(seeds - 1),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 8, size: 'small' }),
  });
}

/**
 * The plan of case `index` of a run: drawn by fast-check from a seed derived from the run's seed
 * and the index, so any case is rebuilt alone, without drawing the ones before it.
 */
export function caseAt(seeds: number, runSeed: number, index: number): CasePlan {
  // A 32-bit mix of the two (Murmur3's finalizer), so that neighbouring cases share no seed.
  let h = Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) ^ index;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  const [plan] = fc.sample(casePlan(seeds), { seed: h, numRuns: 1 });
  if (plan === undefined) throw new Error('fast-check drew no plan');
  return plan;
}

/** The plans of cases [0, count) of a run. */
export function casePlans(seeds: number, runSeed: number, count: number): CasePlan[] {
  return Array.from({ length: count }, (_, i) => caseAt(seeds, runSeed, i));
}

const offset = (at: number, length: number) => Math.floor((at / FRACTION) * (length + 1));

function writeInteger(out: Buffer, at: number, width: 1 | 2 | 4 | 8, le: boolean, v: bigint) {
  const bits = BigInt(width * 8);
  let value = BigInt.asUintN(Number(bits), v);
  for (let i = 0; i < width; i++) {
    const index = le ? at + i : at + width - 1 - i;
    if (index < out.length) out[index] = Number(value & 0xffn);
    value >>= 8n;
  }
}

/**
 * Applies one mutation to `input`; `seeds` are the splice partners. In place only when `owned`
 * (the input is a copy no one else reads): a 5.8 MB seed was copied once per mutation, most of
 * what a docker-archive case cost. The bytes are the same either way.
 */
export function mutate(
  input: Buffer,
  m: Mutation,
  seeds: readonly Buffer[],
  owned = false,
): Buffer {
  const n = input.length;
  const copy = () => (owned ? input : Buffer.from(input));
  switch (m.op) {
    case 'flip': {
      if (n === 0) return input;
      const out = copy();
      const i = Math.min(offset(m.at, n), n - 1);
      out[i] = (out[i] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'byte': {
      if (n === 0) return Buffer.from([m.value]);
      const out = copy();
      out[Math.min(offset(m.at, n), n - 1)] = m.value;
      return out;
    }
    case 'insert': {
      const i = offset(m.at, n);
      return Buffer.concat([input.subarray(0, i), Buffer.from(m.bytes), input.subarray(i)]);
    }
    case 'delete': {
      const i = offset(m.at, n);
      return Buffer.concat([input.subarray(0, i), input.subarray(i + m.length)]);
    }
    case 'duplicate': {
      const from = offset(m.from, n);
      const chunk = input.subarray(from, from + m.length);
      const to = offset(m.to, n);
      return Buffer.concat([input.subarray(0, to), chunk, input.subarray(to)]);
    }
    case 'boundary': {
      if (n === 0) return input;
      const out = copy();
      const base = INTERESTING[m.value] ?? 0n;
      writeInteger(
        out,
        Math.min(offset(m.at, n), n - 1),
        m.width,
        m.littleEndian,
        m.minus ? -base : base,
      );
      return out;
    }
    case 'truncate':
      return input.subarray(0, offset(m.at, n));
    case 'splice': {
      const other = seeds[m.other % seeds.length] ?? input;
      return Buffer.concat([
        input.subarray(0, offset(m.at, n)),
        other.subarray(offset(m.otherAt, other.length)),
      ]);
    }
    case 'token': {
      const i = offset(m.at, n);
      const token = Buffer.from((TEXT_TOKENS[m.token] ?? '').repeat(m.repeat), 'utf8');
      return Buffer.concat([input.subarray(0, i), token, input.subarray(i)]);
    }
  }
}

/** The bytes of a case: its seed with every mutation of its plan applied in order. */
export function buildCase(plan: CasePlan, seeds: readonly Buffer[]): Buffer {
  const seed = seeds[plan.seed] ?? Buffer.alloc(0);
  let out = seed;
  for (const m of plan.mutations) {
    // Owned once it no longer shares memory with a seed (a truncation of a seed still does).
    const owned = out.buffer !== seed.buffer && !seeds.some((s) => s.buffer === out.buffer);
    out = mutate(out, m, seeds, owned);
  }
  return out;
}
