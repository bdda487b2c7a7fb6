/**
 * npm run fuzz [-- --long] [--target NAME[,NAME…]] [--cases N] [--seed S] [--no-save] [--json FILE]
 *
 * The default is the short pass CI runs (test/unit/fuzz/short-pass.test.ts): a fixed seed and
 * each target's own small budget, about a minute in all. --long runs 100,000 cases per target.
 * New findings are saved as regression fixtures under test/fixtures/fuzz/<target>/ (not with
 * --no-save). Exits 1 when any target has a finding.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CaseRunner, fuzzTarget, type TargetReport } from './harness.js';
import { SHORT_SEED, shortCases } from './short.js';
import { TARGETS } from './targets.js';

const LONG_CASES = 100_000;

const { values } = parseArgs({
  options: {
    long: { type: 'boolean', default: false },
    target: { type: 'string', multiple: true },
    cases: { type: 'string' },
    seed: { type: 'string' },
    'budget-ms': { type: 'string' },
    'max-seconds': { type: 'string' },
    'no-save': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
  strict: true,
});

const names =
  values.target === undefined
    ? TARGETS.map((t) => t.name)
    : values.target.flatMap((t) => t.split(','));
const runSeed = values.seed === undefined ? SHORT_SEED : Number(values.seed);
const reports: TargetReport[] = [];
const started = Date.now();
const runner = new CaseRunner();

for (const name of names) {
  const target = TARGETS.find((t) => t.name === name);
  if (target === undefined) {
    process.stderr.write(
      `no fuzz target ${name}; targets: ${TARGETS.map((t) => t.name).join(' ')}\n`,
    );
    process.exit(2);
  }
  const cases =
    values.cases !== undefined
      ? Number(values.cases)
      : values.long
        ? LONG_CASES
        : shortCases(target);
  const command = `npm run fuzz -- --target ${name} --seed ${runSeed} --cases ${cases}`;
  let printed = 0;
  const report = await fuzzTarget(
    name,
    {
      runSeed,
      cases,
      save: !values['no-save'],
      command,
      ...(values['budget-ms'] === undefined ? {} : { budgetMs: Number(values['budget-ms']) }),
      ...(values['max-seconds'] === undefined ? {} : { maxSeconds: Number(values['max-seconds']) }),
      onProgress: (done) => {
        if (!values.long || done < printed + 10_000) return;
        printed = done - (done % 10_000);
        process.stderr.write(`  ${name}: ${printed} cases\n`);
      },
    },
    runner,
  );
  reports.push(report);
  const found = report.findings.reduce((n, f) => n + f.count, 0);
  process.stdout.write(
    `${name.padEnd(28)} ${String(report.generated).padStart(7)} cases  ${String(report.replayed).padStart(3)} replayed  ` +
      `${String(found).padStart(5)} findings  ${report.seconds.toFixed(1).padStart(7)} s  slowest ${report.slowestMs.toFixed(0)} ms\n`,
  );
  for (const f of report.findings)
    process.stdout.write(
      `  ${f.kind} ×${f.count}: ${f.error.slice(0, 240)}\n    ${f.signature}\n    first: ${f.ids[0]}${f.saved === undefined ? '' : `, saved ${f.saved}`}\n`,
    );
  if (values.json !== undefined)
    writeFileSync(
      values.json,
      `${JSON.stringify(
        {
          date: new Date(started).toISOString(),
          runSeed,
          long: values.long,
          reports: reports.map((r) => ({
            ...r,
            findings: r.findings.map(({ input, ...f }) => ({ ...f, inputBytes: input.length })),
          })),
        },
        null,
        2,
      )}\n`,
    );
}

runner.close();
const failing = reports.filter((r) => r.findings.length > 0);
process.stdout.write(
  `${reports.length} targets, ${reports.reduce((n, r) => n + r.generated, 0)} cases, ` +
    `${failing.length} with findings${failing.length === 0 ? '' : `: ${failing.map((r) => r.target).join(', ')}`}\n`,
);
process.exitCode = failing.length === 0 ? 0 : 1;
