/**
 * The short fuzz pass (issue 17): every target of fuzz/targets.ts replays its saved regression
 * inputs (test/fixtures/fuzz/<target>/) and then a fixed-seed run of mutated real seeds. Any
 * throw that is not the parser's typed error, any broken invariant, any case past its time
 * budget and any case that takes its process down fails the target's test, which prints the
 * finding and how to rebuild it (`npx tsx fuzz/case.ts TARGET INDEX 17`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CaseRunner, type FindingGroup, fuzzTarget } from '../../../fuzz/harness.js';
import { SHORT_SEED, shortCases } from '../../../fuzz/short.js';
import { TARGETS } from '../../../fuzz/targets.js';

const describeFinding = (f: FindingGroup) =>
  `${f.kind} ×${f.count}: ${f.error}\n  first: ${f.ids[0]} (${f.input.length} bytes)\n  ${f.stack.split('\n').slice(0, 6).join('\n  ')}`;

describe('the short fuzz pass', () => {
  const runner = new CaseRunner();
  afterAll(() => runner.close());

  for (const target of TARGETS) {
    const cases = shortCases(target);
    it(`${target.name}: its regression inputs and ${cases} mutations of real seeds neither crash, hang nor break its invariants`, async () => {
      const report = await fuzzTarget(target.name, { runSeed: SHORT_SEED, cases }, runner);
      expect(report.findings.map(describeFinding)).toEqual([]);
      expect(report.generated).toBe(cases);
    }, 300_000);
  }
});
