/**
 * The harness's watchdog: a case that runs past its budget is a finding and the run goes on
 * with a new process from the next case, rather than stalling the pass.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CaseRunner, fuzzTarget } from '../../../fuzz/harness.js';

describe('the fuzz harness', () => {
  const runner = new CaseRunner();
  afterAll(() => runner.close());

  it('records a case past its CPU budget as a hang, kills its process and goes on with the next case', async () => {
    // Opening an rpm SQLite database (sql.js compiles its WebAssembly first) takes far more than
    // a millisecond of CPU: with that budget every case is a hang.
    const report = await fuzzTarget('rpm-sqlite', { runSeed: 17, cases: 2, budgetMs: 1 }, runner);
    expect(report.generated).toBe(2);
    const hangs = report.findings.filter((f) => f.kind === 'hang');
    expect(hangs.length).toBe(1);
    expect(hangs[0]?.ids).toEqual(['case 0', 'case 1']);
    expect(hangs[0]?.input.length).toBeGreaterThan(0);
  }, 120_000);
});
