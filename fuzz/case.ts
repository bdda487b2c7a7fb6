/**
 * Rebuilds and runs one case, to debug a finding:
 *   npx tsx fuzz/case.ts TARGET INDEX [SEED] [--out FILE]   (a generated case)
 *   npx tsx fuzz/case.ts TARGET --input FILE               (a saved fixture's input)
 * Prints the plan, the outcome and the time, on this thread (no watchdog).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { classify, loadSeeds, targetNamed } from './classify.js';
import { buildCase, caseAt } from './mutators.js';
import { SHORT_SEED } from './short.js';

const { values, positionals } = parseArgs({
  options: { input: { type: 'string' }, out: { type: 'string' } },
  allowPositionals: true,
});
const [name, index, seed] = positionals;
if (name === undefined) throw new Error('usage: fuzz/case.ts TARGET (INDEX [SEED] | --input FILE)');
const target = targetNamed(name);
let input: Buffer;
if (values.input !== undefined) input = readFileSync(values.input);
else {
  const seeds = await loadSeeds(target);
  const i = Number(index);
  const plan = caseAt(seeds.length, seed === undefined ? SHORT_SEED : Number(seed), i);
  process.stdout.write(
    `seed file: ${seeds[plan.seed]?.name}\nplan: ${JSON.stringify(plan.mutations)}\n`,
  );
  input = buildCase(
    plan,
    seeds.map((s) => s.bytes),
  );
}
if (values.out !== undefined) writeFileSync(values.out, input);
const t0 = performance.now();
const finding = await classify(target, input);
process.stdout.write(
  `${input.length} bytes, ${(performance.now() - t0).toFixed(0)} ms: ${finding === undefined ? 'no finding' : `${finding.kind}: ${finding.error}\n${finding.stack}`}\n`,
);
